"""Her side of a turn in words: answer each final transcript, streamed as speakable chunks.

The reply may start early, from the turn so far (`prefetch`), and if it is still not ready
a moment after the user's words are understood she says a short acknowledgement first.
"""

from __future__ import annotations

import asyncio
import contextlib
import re

from .frames import (
    Frame,
    ReplyDone,
    ReplyText,
    SpeechPaused,
    SpeechResumed,
    SpeechStarted,
    Transcript,
)
from .interfaces import PrefetchFn, ReplyFn, close_stream
from .pipeline import Processor
from .sentences import SentenceSplitter


class Reply(Processor):
    """Answers each final transcript with `reply`, streamed out as speakable `ReplyText`.

    Runs as a data frame, so an interruption cancels it (closing the reply stream, which
    tells the Companion the reply was interrupted). An early transcript, while the user is
    still silent, goes to `prefetch`, so the answer can start before the turn is confirmed
    over; speech resuming drops that guess (`prefetch("")`).

    If the answer's first chunk is not ready `acknowledge_ms` after the turn's transcript,
    she first says a short acknowledgement ("Hmm," to a question, "I see." otherwise), as
    people do while they think; None: never.
    """

    def __init__(
        self,
        reply: ReplyFn,
        first_clause_words: int = 3,
        prefetch: PrefetchFn | None = None,
        acknowledge_ms: int | None = None,
    ) -> None:
        super().__init__()
        self.reply, self.prefetch = reply, prefetch
        self.first_clause_words = first_clause_words
        self.acknowledge_ms = acknowledge_ms
        self.reply_id = 0
        self._paused = False
        self._acks = 0

    async def process(self, frame: Frame) -> None:
        await self.push(frame)
        if isinstance(frame, SpeechPaused):
            self._paused = True
        elif isinstance(frame, SpeechResumed | SpeechStarted):
            if self._paused and self.prefetch is not None:
                await self.prefetch("")
            self._paused = False
        if not (isinstance(frame, Transcript) and frame.text.strip()):
            return
        if not frame.final:
            if self._paused and self.prefetch is not None:
                await self.prefetch(frame.text)
            return
        self._paused = False
        await self._answer(frame.text)

    def acknowledgement(self, heard: str) -> str:
        """A short sound of attention that fits what was said, varied from turn to turn."""
        options = QUESTION_ACKS if _is_question(heard) else STATEMENT_ACKS
        self._acks += 1
        return options[(self._acks - 1) % len(options)]

    async def _answer(self, heard: str) -> None:
        self.reply_id += 1
        reply_id, index = self.reply_id, 0
        splitter = SentenceSplitter(self.first_clause_words)
        answering = asyncio.Event()

        async def say(chunk: str, acknowledgement: bool = False) -> None:
            nonlocal index
            await self.push(ReplyText(chunk, reply_id, index, acknowledgement))
            index += 1

        async def stream_out() -> None:
            stream = self.reply(heard)
            try:
                async for piece in stream:
                    for chunk in splitter.feed(piece):
                        await say(chunk)
                        answering.set()
            finally:
                await close_stream(stream)
            for chunk in splitter.flush():
                await say(chunk)

        task = asyncio.create_task(stream_out())
        ready = asyncio.create_task(answering.wait())
        try:
            if self.acknowledge_ms is not None:
                done, _ = await asyncio.wait({task, ready}, timeout=self.acknowledge_ms / 1000)
                if not done:
                    await say(self.acknowledgement(heard), acknowledgement=True)
            await task
        finally:
            ready.cancel()
            if not task.done():  # interrupted: stop the answer (its stream closes itself)
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.push(ReplyDone(reply_id))


#: What she says while thinking, in turn: to a question or request, and to anything else.
QUESTION_ACKS = ("Hmm,", "Let me see,", "Well,")
STATEMENT_ACKS = ("I see.", "Mm,", "Oh,")
ACKNOWLEDGEMENTS = QUESTION_ACKS + STATEMENT_ACKS
_QUESTION_START = re.compile(
    r"^(what|who|whom|whose|when|where|why|how|which|can|could|would|will|should|shall|"
    r"do|does|did|is|are|was|were|have|has|may|might|"
    r"tell|give|show|explain|describe|help|suggest|recommend|let's|let us)\b",
    re.IGNORECASE,
)


def _is_question(text: str) -> bool:
    text = text.strip()
    return text.endswith("?") or bool(_QUESTION_START.match(text))
