"""Fake engines for the voice pipeline's unit tests (the real engines have their own tests)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

import numpy as np

from os1.voice.audio import to_pcm

RATE = 16000
FRAME = 512  # samples per microphone frame and per VAD window
WORD = 3200  # samples of her speech per word (0.2 s)


class AmplitudeVAD:
    """Speech wherever the frame is loud: the test audio is noise bursts and silence."""

    frame_size = FRAME

    def __init__(self) -> None:
        self.frames = 0

    def process(self, frame: np.ndarray) -> float:
        self.frames += 1
        return 1.0 if float(np.sqrt(np.mean(frame**2))) > 0.05 else 0.0


class ScriptedRecogniser:
    """Returns the scripted texts in order; keeps the audio it was given."""

    def __init__(self, texts: Iterable[str]) -> None:
        self.texts = list(texts)
        self.heard: list[bytes] = []

    async def transcribe(self, pcm: bytes, sample_rate: int) -> str:
        assert sample_rate == RATE
        self.heard.append(pcm)
        return self.texts.pop(0) if self.texts else ""


class ToneSynthesiser:
    """A square wave, `WORD` samples per word, in 0.1 s chunks; never a zero sample."""

    def __init__(self, rate: int = RATE) -> None:
        self.rate = rate
        self.spoken: list[str] = []

    async def synthesize(self, text: str) -> AsyncIterator[tuple[bytes, int]]:
        self.spoken.append(text)
        n = len(text.split()) * WORD * self.rate // RATE
        wave = np.where(np.arange(n) % 40 < 20, 0.3, -0.3)
        step = self.rate // 10
        for i in range(0, n, step):
            yield to_pcm(wave[i : i + step]), self.rate


class ListSpeaker:
    """Keeps what was played; counts clears."""

    def __init__(self) -> None:
        self.pcm = bytearray()
        self.rate: int | None = None
        self.clears = 0

    async def play(self, pcm: bytes, sample_rate: int) -> None:
        self.rate = sample_rate
        self.pcm += pcm

    async def clear(self) -> None:
        self.clears += 1

    def samples(self) -> np.ndarray:
        return np.frombuffer(bytes(self.pcm), dtype="<i2")


def speech(*segments: tuple[str, float], seed: int = 0) -> np.ndarray:
    """Float audio from ("talk" | "quiet", seconds) segments: noise bursts and silence."""
    rng = np.random.default_rng(seed)
    parts = []
    for kind, seconds in segments:
        n = int(seconds * RATE)
        parts.append(rng.uniform(-0.5, 0.5, n) if kind == "talk" else np.zeros(n))
    return np.concatenate(parts).astype(np.float32)


def scripted_replies(*replies: str, piece_words: int = 2):
    """A reply function that streams the next scripted reply a few words at a time."""
    queue = list(replies)

    async def reply(text: str) -> AsyncIterator[str]:
        words = queue.pop(0).split(" ")
        for i in range(0, len(words), piece_words):
            yield " ".join(words[i : i + piece_words]) + " "

    return reply
