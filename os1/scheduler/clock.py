"""The scheduler's sense of time: the real clock, or one a test moves by hand.

Waiting is done in short steps against the wall clock, not one long monotonic
sleep, so a laptop that slept through a reminder notices as soon as it wakes.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Protocol

MAX_NAP = 15.0
"""Longest single sleep (seconds): how late a reminder can be noticed after a suspend."""


class Clock(Protocol):
    def now(self) -> datetime: ...

    async def sleep_until(self, when: datetime, wake: asyncio.Event) -> None:
        """Return at `when`, when `wake` is set, or a little early; never much later."""


class SystemClock:
    """The computer's clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep_until(self, when: datetime, wake: asyncio.Event) -> None:
        seconds = (when - self.now()).total_seconds()
        if seconds <= 0:
            return
        try:
            await asyncio.wait_for(wake.wait(), timeout=min(seconds, MAX_NAP))
        except TimeoutError:
            pass


class FakeClock:
    """A clock for tests: time stands still until `advance` or `set` moves it."""

    def __init__(self, start: datetime) -> None:
        self._now = start
        self._moved = asyncio.Event()

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when
        self._moved.set()

    def advance(self, **delta: float) -> None:
        self.set(self._now + timedelta(**delta))

    async def sleep_until(self, when: datetime, wake: asyncio.Event) -> None:
        if when <= self._now:
            return
        self._moved.clear()
        waits = [asyncio.ensure_future(self._moved.wait()), asyncio.ensure_future(wake.wait())]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()
