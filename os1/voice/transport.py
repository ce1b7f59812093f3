"""Transports: where the user's audio comes from, where her voice goes, and how a talk ends.

A transport gives the pipeline microphone frames (`frames`, ending when the user hangs up
or the file ends), takes her audio (`speaker`), and hears about what happened (`event`:
transcripts, her reply text, what was heard, for a display or a browser). `talk` runs one
`VoiceSession` over any transport, so the file, the local sound card and a WebSocket (the
web front door) all share the same pipeline unchanged.

A live transport (`live = True`) delivers frames at the speed of speech and stops when the
user hangs up (then she stops too: nobody hears the rest, and only what was heard is kept);
a file (`live = False`) is fed as fast as the pipeline works, then silence until she has
finished answering. Besides audio, a transport may deliver the talk key (`TalkKeyPressed`,
`TalkKeyReleased`) for push-to-talk, in order with the audio around it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Protocol

from .frames import (
    AudioIn,
    EndFrame,
    Frame,
    Heard,
    Interruption,
    ReplyText,
    TalkKeyPressed,
    TalkKeyReleased,
    Transcript,
)
from .interfaces import Speaker
from .playback import Playback
from .session import VoiceSession
from .turns import TurnDetector, TurnSettings
from .wavfile import WavSpeaker, wav_frames

#: What a transport delivers: microphone audio and, for push-to-talk, the talk key.
InputFrame = AudioIn | TalkKeyPressed | TalkKeyReleased


class Transport(Protocol):
    """One conversation's audio in and out."""

    #: Where her audio goes.
    speaker: Speaker
    #: Whether frames come at the speed of speech (a microphone, a socket) or from a file.
    live: bool
    #: The rate her audio must be played at (a sound device's), or None for the voice's own.
    output_rate: int | None

    def frames(self) -> AsyncIterator[InputFrame]:
        """The user's audio as 16 kHz int16 mono frames (and talk-key frames, in order),
        until they hang up."""
        ...

    def event(self, event: dict[str, Any]) -> None:
        """Something the other side may show: see `event_for`. Must not block."""
        ...


def event_for(frame: Frame) -> dict[str, Any] | None:
    """The JSON-able event for a frame leaving the pipeline, if it is one worth telling."""
    if isinstance(frame, Transcript):
        # An early one (`final` false) may still change; a display can show it greyed.
        return {"type": "transcript", "text": frame.text, "final": frame.final}
    if isinstance(frame, ReplyText):
        return {"type": "reply", "text": frame.text, "reply_id": frame.reply_id}
    if isinstance(frame, Heard):
        return {
            "type": "heard",
            "text": frame.text,
            "reply_id": frame.reply_id,
            "interrupted": frame.interrupted,
        }
    return None


async def talk(
    session: VoiceSession,
    transport: Transport,
    *,
    turns: TurnSettings | None = None,
    max_tail_s: float = 120.0,
) -> list[Frame]:
    """Run the voice loop for `session` over `transport` until its frames end.

    Returns everything the pipeline put out. Raises `PipelineError` if a step failed.
    """

    def notify(frame: Frame) -> None:
        event = event_for(frame)
        if event is not None:
            transport.event(event)

    pipeline = session.pipeline(
        transport.speaker, on_output=notify, turns=turns, output_rate=transport.output_rate
    )
    detector = next(p for p in pipeline.processors if isinstance(p, TurnDetector))
    playback = next(p for p in pipeline.processors if isinstance(p, Playback))
    try:
        last = AudioIn(b"")
        async for frame in transport.frames():
            pipeline.put(frame)
            if isinstance(frame, AudioIn):
                last = frame
            if not transport.live:
                await pipeline.idle()
        if transport.live:
            pipeline.put(Interruption())  # hung up: she stops, and only what was heard is kept
        else:
            if detector.key_held:
                pipeline.put(TalkKeyReleased())  # the file ended: so did the user's turn
            # A file ends where the user stopped: keep the clock going until she is done.
            silence = AudioIn(bytes(len(last.pcm) or 1024), last.sample_rate)
            tail = 0.0
            while detector.in_turn or pipeline.busy() or playback.speaking():
                if tail >= max_tail_s:
                    break
                pipeline.put(silence)
                await pipeline.idle()
                tail += silence.samples / silence.sample_rate
        pipeline.put(EndFrame())
        return await pipeline.run()
    finally:
        await pipeline.stop()


class FileTransport:
    """A WAV file in (any rate and channels), her speech out to another WAV file."""

    live = False
    output_rate: int | None = None

    def __init__(self, in_path: Path | str, out_path: Path | str) -> None:
        self._frames = wav_frames(in_path)  # read (and checked) before any engine loads
        self.speaker = WavSpeaker(out_path)
        self.events: list[dict[str, Any]] = []

    async def frames(self) -> AsyncIterator[AudioIn]:
        for frame in self._frames:
            yield frame

    def event(self, event: dict[str, Any]) -> None:
        self.events.append(event)

    def close(self) -> None:
        """Write the answer file."""
        self.speaker.close()
