"""The engine slots of the voice pipeline: what a VAD, recogniser, synthesiser and speaker are.

Engines (os1/voice/engines/) implement these protocols; the pipeline only uses them
through these methods, so any engine (local, cloud, a fake in tests) plugs in.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

import numpy as np

#: The Companion's reply stream for one user utterance: text pieces as they are generated.
ReplyFn = Callable[[str], AsyncIterator[str]]

#: Told an early transcript (the turn so far, at a pause) to get a reply ready; "" drops it.
PrefetchFn = Callable[[str], Awaitable[None]]


class VoiceActivity(Protocol):
    """Voice activity detection on fixed-size frames of 16 kHz mono audio."""

    #: Samples per frame `process` expects (Silero: 512 at 16 kHz).
    frame_size: int

    def process(self, frame: np.ndarray) -> float:
        """Probability (0..1) that the float32 frame (values in -1..1) holds speech."""
        ...


class Recogniser(Protocol):
    """Speech to text for one whole utterance."""

    async def transcribe(self, pcm: bytes, sample_rate: int) -> str:
        """The words in `pcm` (int16 mono); an empty string when nothing was said."""
        ...


class Synthesiser(Protocol):
    """Text to speech, streamed: an async generator method."""

    def synthesize(self, text: str) -> AsyncIterator[tuple[bytes, int]]:
        """Yield (int16 mono PCM, sample rate) chunks speaking `text`, the first one early."""
        ...


class Speaker(Protocol):
    """Where her audio goes: a sound card, a browser over a socket, a WAV file."""

    async def play(self, pcm: bytes, sample_rate: int) -> None:
        """Queue int16 mono PCM for playback."""
        ...

    async def clear(self) -> None:
        """Barge-in: drop whatever is buffered but not yet played."""
        ...


async def close_stream(stream: AsyncIterator[Any]) -> None:
    """Close an async stream now if it can be (an async generator), so its `finally` runs."""
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        await aclose()
