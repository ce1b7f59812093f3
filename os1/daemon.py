"""The long-running part of OS1: the scheduler, mail sync and calendar sync, at most one per home.

One lock file per OS1 home (`daemon.lock`, an advisory `flock`) decides who runs the
scheduler: `os1 daemon`, or, when no daemon runs, a terminal conversation for as long as
it is open. A second daemon finds the lock taken and says which process holds it. The
kernel drops the lock when its holder dies, even by kill -9, so a crash never leaves a
stale lock behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from .companion import Companion
from .config import Config
from .scheduler.channels import available_channels
from .scheduler.clock import Clock, SystemClock
from .scheduler.initiative import Initiative
from .scheduler.runner import Scheduler

Log = Callable[[str], None]


class AlreadyRunning(Exception):
    """Another process holds this home's scheduler; the message says which."""


class SchedulerLock:
    """The home's `daemon.lock`: held by whoever runs the scheduler."""

    def __init__(self, home: Path) -> None:
        self.path = home / "daemon.lock"
        self._file: IO[str] | None = None

    def acquire(self, who: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise AlreadyRunning(f"the scheduler is already running here ({holder})") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{who}, pid {os.getpid()}, since {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.truncate(0)
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    @property
    def held(self) -> bool:
        return self._file is not None


def holder(home: Path) -> str | None:
    """Who runs the scheduler for this home right now, or None."""
    lock = SchedulerLock(home)
    try:
        lock.acquire("a check")
    except AlreadyRunning as e:
        return str(e).split("(", 1)[-1].rstrip(")")
    lock.release()
    return None


def make_scheduler(companion: Companion, clock: Clock | None = None) -> Scheduler:
    scheduler = Scheduler(
        companion.store,
        clock=clock or SystemClock(),
        default_tz=companion.config.timezone,
        channels=available_channels(),
        compose=Initiative(companion),
    )
    # Tools that add a reminder in this process wake the scheduler at once.
    companion.scheduler_wake = scheduler.wake
    return scheduler


@dataclass(frozen=True)
class Intervals:
    mail: float = 300.0
    calendars: float = 900.0


async def _every(seconds: float, stop: asyncio.Event, job: Callable[[], Awaitable[None]]) -> None:
    while not stop.is_set():
        try:
            await job()
        except asyncio.CancelledError:
            raise
        except Exception:  # one failed round is logged by the job; the next one tries again
            pass
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=seconds)


async def _users(companion: Companion) -> list[str]:
    return [r["id"] for r in await companion.store.query("SELECT id FROM users ORDER BY id")]


async def sync_mail(companion: Companion, log: Log) -> None:
    """One IMAP sync of every account of every user, then invitations found in new mail."""
    from .calendar import invitations
    from .mail import accounts as mailaccounts
    from .mail.imap import sync_account

    for user in await _users(companion):
        for account in await mailaccounts.accounts(companion.store, user):
            if not account.imap_host:
                continue
            try:
                me = frozenset(await mailaccounts.my_addresses(companion.store, user))
                report = await sync_account(companion.store, user, account, me=me)
                if report.new:
                    log(f"{user}: {report.new} new message(s) in {account.name}")
            except Exception as e:
                log(f"{user}: mail sync of {account.name} failed: {e}")
        try:
            found = await invitations.scan(companion, user)
            for inv in found:
                log(f"{user}: invitation “{inv.summary}” proposed (action {inv.action_id})")
        except Exception as e:
            log(f"{user}: reading invitations failed: {e}")


async def sync_calendars(companion: Companion, log: Log) -> None:
    """One CalDAV sync of every calendar that has a server."""
    from .calendar import caldav
    from .calendar.tools import user_zone

    for user in await _users(companion):
        tz = await user_zone(companion.store, user, companion.config.timezone)

        def report(r: caldav.SyncReport, u: str = user) -> None:
            log(f"{u}: {r.summary()}")

        try:
            await caldav.sync_all(companion.store, user, tz=tz, on_report=report)
        except Exception as e:
            log(f"{user}: calendar sync failed: {e}")


async def run_daemon(
    config: Config,
    stop: asyncio.Event,
    log: Log,
    *,
    intervals: Intervals = Intervals(),
    companion: Companion | None = None,
) -> None:
    """Hold the lock and run the scheduler and the syncs until `stop` is set."""
    lock = SchedulerLock(config.home)
    lock.acquire("os1 daemon")
    own = companion is None
    if companion is None:
        companion = await Companion.open(config, embedder=None)
    try:
        scheduler = make_scheduler(companion)
        log(f"OS1 daemon running for {config.home} (time zone {config.timezone}).")
        await asyncio.gather(
            scheduler.run(stop),
            _every(intervals.mail, stop, lambda: sync_mail(companion, log)),
            _every(intervals.calendars, stop, lambda: sync_calendars(companion, log)),
        )
    finally:
        if own:
            await companion.close()
        lock.release()
        log("OS1 daemon stopped.")
