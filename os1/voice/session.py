"""Voice for one user of the Companion: her engines, her spoken replies, and what was heard.

A front door (the `os1 voice` command, later the web server) builds a `VoiceSession` and
plugs it into the pipeline: the engines follow the persona's chosen voice, replies stream
from `Companion.reply` (outward actions stay proposals: nobody can say yes by voice yet),
a failing model or an empty transcript gets a short spoken apology instead of a crash, and
after a barge-in the stored reply keeps only the words the user heard.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..companion import Companion, EmptyMessage
from ..models import ModelError
from .conversation import _close, build_pipeline, converse
from .engines import Engines, default_engines
from .frames import Frame, Heard, ReplyText, SpeechStopped, Transcript
from .interfaces import Speaker
from .pipeline import Pipeline
from .wavfile import WavSpeaker, wav_frames

SORRY_MODEL = "I'm sorry, I can't think clearly right now. Could you ask me again in a moment?"
SORRY_UNHEARD = "Sorry, I didn't catch that. Could you say it again?"


@dataclass
class Summary:
    """One spoken exchange: what she heard, what she said, what the user heard of it.

    `timings` are wall-clock seconds on this machine: `recognition` (end of the user's turn
    to transcript), `first_text` (transcript to the reply's first speakable clause),
    `first_audio` (that clause to its first synthesised audio), `total` (the whole run).
    `error` says what went wrong when she had to apologise instead of answering.
    """

    transcript: str
    reply: str
    heard: str
    interrupted: bool
    timings: dict[str, float] = field(default_factory=dict)
    error: str | None = None


async def engines_for(companion: Companion, user: str, **options: Any) -> Engines:
    """The best installed engines, speaking in the voice chosen in the install interview."""
    found = await companion.persona(user)
    return default_engines(found[0].voice if found else "neutral", **options)


class _Timed:
    """A synthesiser that notes when each reply chunk's first audio comes out."""

    def __init__(self, tts: Any, mark: Any) -> None:
        self.tts, self.mark = tts, mark

    async def synthesize(self, text: str) -> AsyncIterator[tuple[bytes, int]]:
        stream = self.tts.synthesize(text)
        try:
            async for chunk in stream:
                self.mark("audio")
                yield chunk
        finally:
            await _close(stream)


class VoiceSession:
    """The Companion seen from the voice pipeline, for one user."""

    def __init__(
        self, companion: Companion, user: str, engines: Engines, *, incognito: bool = False
    ) -> None:
        self.companion, self.user, self.engines = companion, user, engines
        self.incognito = incognito
        self.errors: list[str] = []
        self.marks: dict[str, float] = {}
        self._conversation: int | None = None

    def mark(self, what: str) -> None:
        self.marks.setdefault(what, time.monotonic())

    async def reply(self, text: str) -> AsyncIterator[str]:
        """Her answer to one transcript, as text pieces; an apology if she cannot answer."""
        if self._conversation is None and not self.incognito:
            self._conversation = await self.companion.start_conversation(self.user, "voice")
        try:
            stream = self.companion.reply(
                self.user,
                text,
                conversation_id=self._conversation,
                approve=None,  # actions stay proposals until there is a way to say yes by voice
                incognito=self.incognito,
            )
            async for piece in stream:
                yield piece
        except EmptyMessage:
            yield SORRY_UNHEARD
        except ModelError as e:
            self.errors.append(f"the model failed: {e}")
            yield " " + SORRY_MODEL

    async def on_heard(self, heard: Heard) -> None:
        """Cut off mid-reply: the stored reply becomes what the user actually heard."""
        if heard.interrupted and not self.incognito:
            await self.companion.heard(self.user, heard.text)

    def _output(self, frame: Frame) -> None:
        if isinstance(frame, SpeechStopped):
            self.marks.pop("audio", None)
            self.marks.pop("text", None)
            self.marks["stopped"] = time.monotonic()
        elif isinstance(frame, Transcript):
            self.marks["transcript"] = time.monotonic()
        elif isinstance(frame, ReplyText):
            self.mark("text")

    def pipeline(
        self, speaker: Speaker, on_output: Callable[[Frame], None] | None = None, **options: Any
    ) -> Pipeline:
        """The whole voice loop for this user, speaking to `speaker`.

        `on_output` also sees each frame that leaves the pipeline (a transport's events).
        """
        vad, stt, tts = self.engines

        def output(frame: Frame) -> None:
            self._output(frame)
            if on_output is not None:
                on_output(frame)

        return build_pipeline(
            self.reply, vad, stt, _Timed(tts, self.mark), speaker,
            on_heard=self.on_heard, on_output=output, **options,
        )  # fmt: skip

    def timings(self) -> dict[str, float]:
        m = self.marks
        spans = {
            "recognition": ("stopped", "transcript"),
            "first_text": ("transcript", "text"),
            "first_audio": ("text", "audio"),
        }
        return {k: round(m[b] - m[a], 3) for k, (a, b) in spans.items() if a in m and b in m}

    async def close(self) -> None:
        aclose = getattr(self.engines.synthesiser, "aclose", None)
        if aclose is not None:
            await aclose()


async def _speak_to_file(tts: Any, text: str, out_wav: Path) -> None:
    speaker = WavSpeaker(out_wav)
    try:
        async for pcm, rate in tts.synthesize(text):
            await speaker.play(pcm, rate)
    finally:
        speaker.close()


async def answer_file(
    companion: Companion,
    user: str,
    in_wav: Path,
    out_wav: Path,
    *,
    engines: Engines | None = None,
    incognito: bool = False,
) -> Summary:
    """One exchange from a WAV file to a WAV file, offline.

    Raises `WavError` for a file that is not readable audio (before any engine loads) and
    `EngineUnavailable` when no recogniser or synthesiser is installed. If no speech is found
    she asks, in `out_wav`, to hear it again, and `error` says so.
    """
    started = time.monotonic()
    frames = wav_frames(in_wav)
    if engines is None:
        engines = await engines_for(companion, user)
    session = VoiceSession(companion, user, engines, incognito=incognito)
    speaker = WavSpeaker(out_wav)
    try:
        try:
            out = await converse(session.pipeline(speaker), frames)
        finally:
            speaker.close()
        transcript = " ".join(f.text for f in out if isinstance(f, Transcript))
        said = [f for f in out if isinstance(f, ReplyText)]
        heard = [f for f in out if isinstance(f, Heard)]
        if not transcript:
            await _speak_to_file(engines.synthesiser, SORRY_UNHEARD, out_wav)
            session.errors.append(f"no speech was found in {in_wav}")
            said = [ReplyText(SORRY_UNHEARD)]
            heard = [Heard(SORRY_UNHEARD)]
    finally:
        await session.close()
    timings = session.timings() | {"total": round(time.monotonic() - started, 3)}
    return Summary(
        transcript=transcript,
        reply=" ".join(f.text for f in said),
        heard=" ".join(f.text for f in heard if f.text),
        interrupted=any(f.interrupted for f in heard),
        timings=timings,
        error="; ".join(session.errors) or None,
    )
