"""What she says on her own, in an open conversation: reminders as they ring, briefings, check-ins.

While `os1` is open it shows new notifications as they arrive. If no `os1 daemon` runs
for this home, the conversation runs the scheduler itself for as long as it is open,
so a reminder set by talking rings even without a daemon; the home's lock makes sure
only one process ever fires reminders.
"""

from __future__ import annotations

import asyncio
import contextlib

import click

from ..companion import Companion
from ..daemon import AlreadyRunning, SchedulerLock, make_scheduler
from ..scheduler import channels as chans

POLL_SECONDS = 2.0


class Inbox:
    def __init__(self, companion: Companion, user: str, who: str) -> None:
        self.companion = companion
        self.user = user
        self.who = who
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._lock = SchedulerLock(companion.config.home)

    async def start(self) -> None:
        with contextlib.suppress(AlreadyRunning):
            self._lock.acquire("an os1 conversation")
        if self._lock.held:
            scheduler = make_scheduler(self.companion)
            self._tasks.append(asyncio.ensure_future(scheduler.run(self._stop)))
        await self.show(first=True)
        self._tasks.append(asyncio.ensure_future(self._poll()))

    async def show(self, first: bool = False) -> int:
        notes = await chans.unseen(self.companion.store, self.user)
        if not notes:
            return 0
        if first:
            click.secho("While you were away:", fg="cyan", err=True)
        for note in notes:
            # A late one's body says so, with the time it was due.
            click.secho(f"{self.who}: ⏰ {note.title}", fg="cyan", bold=True)
            if note.body:
                click.echo(f"  {note.body}")
        await chans.mark_seen(self.companion.store, self.user, [n.id for n in notes])
        return len(notes)

    async def _poll(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=POLL_SECONDS)
            if not self._stop.is_set():
                with contextlib.suppress(Exception):  # the inbox never ends a conversation
                    await self.show()

    async def stop(self) -> None:
        self._stop.set()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, timeout=5)
        self._lock.release()
