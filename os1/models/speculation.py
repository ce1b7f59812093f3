"""Model calls started before they are asked for, handed over to the identical call that follows.

In a spoken conversation the user's words are known a few hundred milliseconds before
their turn is confirmed over (the silence that ends a turn has to last). A `Speculation`
starts the model on the prompt the reply would have, in the background; when the reply
then makes exactly that call, it takes over the stream already under way (chunks produced
so far first, then the rest as it comes), so the model's prefill and first words overlap
the wait. Any difference in the call (other words, another memory retrieved, other
parameters) means the guess was wrong: it is cancelled and the call runs as usual.

The speculative stream is one sample from the same call, so handing it over changes
nothing about what she says; it only changes when. Nothing is stored by a speculation:
the Companion builds its prompt read-only.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from .base import Chunk, Message, Model

#: A speculation not claimed within this many seconds is stale (the user walked away).
MAX_AGE_S = 30.0


class Speculation:
    """One `model.stream(messages, **params)` running ahead, replayable once."""

    def __init__(self, model: Model, messages: Sequence[Message], params: dict[str, Any]) -> None:
        self.messages, self.params = list(messages), dict(params)
        self.started = time.monotonic()
        self._chunks: list[Chunk] = []
        self._error: BaseException | None = None
        self._done = False
        self._changed = asyncio.Event()
        self._task = asyncio.create_task(self._run(model))

    def matches(self, messages: Sequence[Message], params: dict[str, Any]) -> bool:
        fresh = time.monotonic() - self.started < MAX_AGE_S
        return fresh and self.params == params and self.messages == list(messages)

    async def _run(self, model: Model) -> None:
        try:
            async for chunk in model.stream(self.messages, **self.params):
                self._chunks.append(chunk)
                self._changed.set()
        except Exception as e:  # handed to whoever claims it, as the call itself would raise
            self._error = e
        finally:
            self._done = True
            self._changed.set()

    async def replay(self) -> AsyncIterator[Chunk]:
        """The stream as if the call were made now; closing it stops the model."""
        i = 0
        try:
            while True:
                while i < len(self._chunks):
                    yield self._chunks[i]
                    i += 1
                if self._done:
                    if self._error is not None:
                        raise self._error
                    return
                self._changed.clear()
                if i == len(self._chunks) and not self._done:
                    await self._changed.wait()
        finally:
            self.cancel()

    def cancel(self) -> None:
        if not self._task.done():
            self._task.cancel()

    async def wait_cancelled(self) -> None:
        self.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


class Speculations:
    """At most one speculation per user (a user only has one turn in flight)."""

    def __init__(self) -> None:
        self._by_user: dict[str, Speculation] = {}
        self.started = self.claimed = 0  # for benchmarks and `os1 doctor`

    def start(
        self, user: str, model: Model, messages: Sequence[Message], params: dict[str, Any]
    ) -> None:
        current = self._by_user.get(user)
        if current is not None and current.matches(messages, params):
            return  # the same guess again: keep the one already running
        self.drop(user)
        self._by_user[user] = Speculation(model, messages, params)
        self.started += 1

    def claim(
        self, user: str, messages: Sequence[Message], params: dict[str, Any]
    ) -> AsyncIterator[Chunk] | None:
        """The running stream for exactly this call, or None (and any other guess dropped)."""
        found = self._by_user.pop(user, None)
        if found is None:
            return None
        if not found.matches(messages, params):
            found.cancel()
            return None
        self.claimed += 1
        return found.replay()

    def drop(self, user: str) -> None:
        found = self._by_user.pop(user, None)
        if found is not None:
            found.cancel()

    async def close(self) -> None:
        for found in list(self._by_user.values()):
            await found.wait_cancelled()
        self._by_user.clear()
