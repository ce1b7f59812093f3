"""Voice for one user of the Companion: her engines, her spoken replies, and what was heard.

A front door (the `os1 voice` command, later the web server) builds a `VoiceSession` and
plugs it into the pipeline: the engines follow the persona's chosen voice, replies stream
from `Companion.reply`, an action that needs a yes is asked about and the user's next turn
answers it (`approval`), a failing model or an empty transcript gets a short spoken
apology instead of a crash, and after a barge-in the stored reply keeps only the words the
user heard.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..companion import Companion, EmptyMessage
from ..models import ModelError
from .approval import ANSWER_WITHIN_S, VoiceApproval
from .conversation import build_pipeline, converse
from .engines import Engines, default_engines
from .expression import hint
from .frames import Frame, Heard, ReplyText, SpeechStopped, Transcript
from .interfaces import Speaker, close_stream
from .pipeline import Pipeline
from .settings import VoiceSettings
from .settings import load as load_settings
from .wavfile import WavSpeaker, wav_frames

SORRY_MODEL = "I'm sorry, I can't think clearly right now. Could you ask me again in a moment?"
SORRY_UNHEARD = "Sorry, I didn't catch that. Could you say it again?"
#: How long she may be silent after the user's turn before a short acknowledgement.
ACKNOWLEDGE_MS = 250


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


async def settings_for(companion: Companion, user: str) -> VoiceSettings:
    """The user's saved voice settings (`os1 voice settings`), read once per session."""
    return await companion.store.read(lambda c: load_settings(c, user))


class _Timed:
    """A synthesiser that notes when each reply chunk's first audio comes out."""

    def __init__(self, tts: Any, mark: Any) -> None:
        self.tts, self.mark = tts, mark

    def __getattr__(self, name: str) -> Any:
        # What the engine can do beyond speaking (its rate, its own laughs) stays visible.
        return getattr(self.tts, name)

    async def synthesize(self, text: str) -> AsyncIterator[tuple[bytes, int]]:
        stream = self.tts.synthesize(text)
        try:
            async for chunk in stream:
                self.mark("audio")
                yield chunk
        finally:
            await close_stream(stream)


class VoiceSession:
    """The Companion seen from the voice pipeline, for one user."""

    def __init__(
        self,
        companion: Companion,
        user: str,
        engines: Engines,
        *,
        incognito: bool = False,
        settings: VoiceSettings | None = None,
        answer_within_s: float = ANSWER_WITHIN_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.companion, self.user, self.engines = companion, user, engines
        self.incognito = incognito
        self.settings = settings or VoiceSettings()
        self.style = hint(self.settings.expressive)  # the model knows it is heard, not read
        self.errors: list[str] = []
        self.marks: dict[str, float] = {}
        self._conversation: int | None = None
        self.approval = VoiceApproval(companion, user, answer_within_s=answer_within_s, clock=clock)

    def mark(self, what: str) -> None:
        self.marks.setdefault(what, time.monotonic())

    async def reply(self, text: str) -> AsyncIterator[str]:
        """Her answer to one transcript, as text pieces; an apology if she cannot answer.

        If her last reply asked "Shall I go ahead?" and this is a clear yes or no, the
        answer decides the action; anything else is a message for the Companion.
        """
        decided = await self.approval.answer(text, self._conversation)
        if decided is not None:
            await self.companion.prefetch(self.user, "")  # no model reply is coming
            yield decided
            return
        if self._conversation is None and not self.incognito:
            self._conversation = await self.companion.start_conversation(self.user, "voice")
        self.approval.begin_reply()
        said: list[str] = []
        try:
            stream = self.companion.reply(
                self.user,
                text,
                conversation_id=self._conversation,
                approve=self.approval.ask,  # she asks; the next turn answers
                incognito=self.incognito,
                style=self.style,
            )
            async for piece in stream:
                said.append(piece)
                yield piece
        except EmptyMessage:
            yield SORRY_UNHEARD
        except ModelError as e:
            self.errors.append(f"the model failed: {e}")
            yield " " + SORRY_MODEL
        else:
            # Only a question she has actually put into words can be answered.
            for asked in self.approval.finish_reply("".join(said)):
                yield "\n" + asked

    async def prefetch(self, text: str) -> None:
        """An early transcript (the turn so far, at a pause): let the Companion start
        preparing the reply it would give, with no side effects; `text=""` drops it."""
        await self.companion.prefetch(self.user, text, incognito=self.incognito, style=self.style)

    async def on_heard(self, heard: Heard) -> None:
        """Cut off mid-reply: the stored reply becomes what the user actually heard, and a
        question cut off before its end can no longer be answered with a yes."""
        if heard.interrupted:
            self.approval.heard(heard.text)
        if heard.interrupted and not self.incognito:
            await self.companion.heard(self.user, heard.text)

    def _output(self, frame: Frame) -> None:
        if isinstance(frame, SpeechStopped):
            self.marks.pop("audio", None)
            self.marks.pop("text", None)
            self.marks["stopped"] = time.monotonic()
        elif isinstance(frame, Transcript) and frame.final:
            self.marks["transcript"] = time.monotonic()
        elif isinstance(frame, ReplyText) and not frame.acknowledgement:
            self.mark("text")

    def pipeline(
        self, speaker: Speaker, on_output: Callable[[Frame], None] | None = None, **options: Any
    ) -> Pipeline:
        """The whole voice loop for this user, speaking to `speaker`.

        `on_output` also sees each frame that leaves the pipeline (a transport's events);
        `options` go to `build_pipeline` (the user's voice settings fill in the rest).
        """
        vad, stt, tts = self.engines
        options.setdefault("expressive", self.settings.expressive)
        if self.settings.smart_turn:
            options.setdefault("end_of_turn", self.engines.end_of_turn)
        options.setdefault("acknowledge_ms", ACKNOWLEDGE_MS if self.settings.acknowledge else None)

        def output(frame: Frame) -> None:
            self._output(frame)
            if on_output is not None:
                on_output(frame)

        return build_pipeline(
            self.reply, vad, stt, _Timed(tts, self.mark), speaker,
            on_heard=self.on_heard, on_output=output, prefetch=self.prefetch, **options,
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
    settings = await settings_for(companion, user)
    session = VoiceSession(companion, user, engines, incognito=incognito, settings=settings)
    speaker = WavSpeaker(out_wav)
    try:
        try:
            out = await converse(session.pipeline(speaker), frames)
        finally:
            speaker.close()
        transcript = " ".join(f.text for f in out if isinstance(f, Transcript) and f.final)
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
