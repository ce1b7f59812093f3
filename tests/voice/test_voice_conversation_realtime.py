"""`converse(realtime=True)` hands over each microphone frame when a sound card would."""

from __future__ import annotations

import time

import numpy as np
from voice_fakes import (
    FRAME,
    RATE,
    AmplitudeVAD,
    ListSpeaker,
    ScriptedRecogniser,
    ToneSynthesiser,
    scripted_replies,
)

from os1.voice.conversation import build_pipeline, converse
from os1.voice.frames import AudioIn


class ClockedVAD(AmplitudeVAD):
    """Notes when each window reaches the VAD (one window per microphone frame here)."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def process(self, frame: np.ndarray) -> float:
        self.times.append(time.monotonic())
        return super().process(frame)


async def test_realtime_frames_arrive_only_after_their_duration_has_elapsed():
    vad = ClockedVAD()
    pipeline = build_pipeline(scripted_replies(), vad, ScriptedRecogniser([]), ToneSynthesiser(),
                              ListSpeaker())  # fmt: skip
    frames = [AudioIn(bytes(FRAME * 2)) for _ in range(6)]
    began = time.monotonic()
    await converse(pipeline, frames, realtime=True)
    assert len(vad.times) >= len(frames)
    block = FRAME / RATE
    for k, arrived in enumerate(vad.times[: len(frames)]):
        # Frame k is "recorded" from k x 32 ms to (k + 1) x 32 ms: it cannot arrive earlier.
        assert arrived - began >= (k + 1) * block - 0.002, k
