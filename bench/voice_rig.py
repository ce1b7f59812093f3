"""The voice benchmarks' rig: test voices, a microphone that keeps real time, and marks.

`make_clips` speaks companion-style sentences in several voices (Piper joe at two speeds,
espeak-ng female and male), trimmed to the speech; `Microphone` hands a pipeline one 32 ms
block when that block has "happened"; `Observer` (just before playback) and `TimedSpeaker`
note when the answer and her first samples come out.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from os1.voice.audio import resample, to_float, to_pcm
from os1.voice.engines import EspeakSynthesiser, PiperSynthesiser
from os1.voice.frames import (
    AudioIn,
    AudioOut,
    Duck,
    Frame,
    Interruption,
    ReplyText,
    SpeechStarted,
    SpeechStopped,
    Transcript,
)
from os1.voice.pipeline import Pipeline, Processor

RATE = 16000
BLOCK = 512  # microphone block: 32 ms, Silero's frame

# (label, engine, option): Piper length scale, or espeak voice choice
VOICES: list[tuple[str, str, Any]] = [
    ("Piper joe", "piper", None),
    ("espeak-ng female", "espeak", "female"),
    ("Piper joe slow", "piper", 1.2),
    ("espeak-ng male", "espeak", "male"),
]

# --- test audio ---------------------------------------------------------------------------


def trim(samples: np.ndarray, floor_db: float = 40.0) -> np.ndarray:
    """The speech only: from the first to the last 10 ms window within `floor_db` of the peak."""
    win = RATE // 100
    n = samples.size // win
    energy = (samples[: n * win].reshape(n, win) ** 2).mean(axis=1)
    db = 10 * np.log10(energy + 1e-12)
    loud = np.flatnonzero(db >= db.max() - floor_db)
    return samples[loud[0] * win : (loud[-1] + 1) * win].astype(np.float32)


async def synthesise(tts: Any, text: str) -> np.ndarray:
    parts: list[np.ndarray] = []
    async for pcm, rate in tts.synthesize(text):
        parts.append(resample(to_float(pcm), rate, RATE))
    return trim(np.concatenate(parts))


async def make_clips(piper: PiperSynthesiser, texts: list[str]) -> list[tuple[str, np.ndarray]]:
    """Each text spoken by the next voice in turn: (voice label, trimmed 16 kHz audio)."""
    espeak = {"female": EspeakSynthesiser("female"), "male": EspeakSynthesiser("male")}
    clips = []
    for i, text in enumerate(texts):
        label, engine, option = VOICES[i % len(VOICES)]
        if engine == "piper":
            piper.length_scale = option  # a per-request setting of the worker
            try:
                audio = await synthesise(piper, text)
            finally:
                piper.length_scale = None
        else:
            audio = await synthesise(espeak[option], text)
        clips.append((label, audio))
    return clips


# --- instrumentation ------------------------------------------------------------------------


@dataclass
class Marks:
    """Wall-clock times (time.monotonic) of what one trial saw."""

    started: list[float] = field(default_factory=list)
    stopped: list[float] = field(default_factory=list)
    transcript: tuple[float, str] | None = None
    first_chunk: tuple[float, str] | None = None  # the answer's (not an acknowledgement)
    answer_key: tuple[int, int] | None = None
    answer_audio: float | None = None  # its first audio reaches playback
    first_audio: float | None = None  # anything's first audio reaches playback
    ack: str | None = None
    interruption: float | None = None
    ducked: float | None = None
    first_play: float | None = None
    cleared: float | None = None
    played_after_clear: bool = False

    def on_output(self, frame: Frame) -> None:
        now = time.monotonic()
        if isinstance(frame, SpeechStarted):
            self.started.append(now)
        elif isinstance(frame, SpeechStopped):
            self.stopped.append(now)
        elif isinstance(frame, Transcript) and frame.final and self.transcript is None:
            self.transcript = (now, frame.text)
        elif isinstance(frame, Interruption) and self.interruption is None:
            self.interruption = now
        elif isinstance(frame, Duck) and frame.gain < 1.0 and self.ducked is None:
            self.ducked = now


class Observer(Processor):
    """Just before playback: notes the answer's first chunk, and when its audio arrives."""

    def __init__(self, marks: Marks) -> None:
        super().__init__()
        self.marks = marks

    async def process(self, frame: Frame) -> None:
        now, m = time.monotonic(), self.marks
        if isinstance(frame, ReplyText):
            if frame.acknowledgement:
                m.ack = m.ack or frame.text
            elif m.first_chunk is None:
                m.first_chunk, m.answer_key = (now, frame.text), (frame.reply_id, frame.index)
        elif isinstance(frame, AudioOut):
            m.first_audio = m.first_audio or now
            if m.answer_audio is None and m.answer_key == (frame.reply_id, frame.index):
                m.answer_audio = now
        await self.push(frame)


class TimedSpeaker:
    """A speaker that plays nowhere, noting her first samples out and the barge-in clear."""

    def __init__(self) -> None:
        self.marks = Marks()

    async def play(self, pcm: bytes, sample_rate: int) -> None:
        if self.marks.first_play is None:
            self.marks.first_play = time.monotonic()
        if self.marks.cleared is not None:
            self.marks.played_after_clear = True

    async def clear(self) -> None:
        if self.marks.cleared is None:
            self.marks.cleared = time.monotonic()


class Microphone:
    """Hands the pipeline block k of `audio` (then silence) at t0 + (k+1) x 32 ms."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.audio = np.zeros(0, np.float32)
        self.t0 = time.monotonic()
        self.k = 0
        self.late = 0.0  # the worst lateness of a block (the event loop was busy)

    def block_time(self, k: int) -> float:
        return self.t0 + k * BLOCK / RATE

    async def tick(self) -> None:
        due = self.block_time(self.k + 1)
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        self.late = max(self.late, time.monotonic() - due)
        start = self.k * BLOCK
        block = self.audio[start : start + BLOCK]
        block = np.concatenate([block, np.zeros(BLOCK - block.size, np.float32)])
        self.pipeline.put(AudioIn(to_pcm(block), RATE))
        self.k += 1
