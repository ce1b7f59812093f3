"""Convert PCM between int16 bytes and float32 arrays, and resample it (simply, with numpy)."""

from __future__ import annotations

import numpy as np

#: The rate the VAD and the recognisers listen at.
SPEECH_RATE = 16_000


def to_float(pcm: bytes) -> np.ndarray:
    """int16 little-endian PCM bytes to float32 in -1..1."""
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0


def to_pcm(samples: np.ndarray) -> bytes:
    """float samples in -1..1 to int16 little-endian PCM bytes (clipped)."""
    clipped = np.clip(np.asarray(samples, dtype=np.float64), -1.0, 1.0)
    return (clipped * 32767.0).round().astype("<i2").tobytes()


def resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Resample float mono audio: a windowed-sinc low-pass when shrinking, then linear steps.

    Good enough for speech going to a VAD or a recogniser, or to a speaker at another rate
    (the content sits well below both Nyquist rates); not meant for music.
    """
    x = np.asarray(samples, dtype=np.float32)
    if rate == target or x.size == 0:
        return x
    if target < rate:
        cutoff = 0.9 * target / rate / 2  # cycles per input sample, a little under Nyquist
        taps = np.arange(-32, 33, dtype=np.float64)
        kernel = 2 * cutoff * np.sinc(2 * cutoff * taps) * np.hamming(taps.size)
        kernel /= kernel.sum()
        x = np.convolve(x, kernel.astype(np.float32), mode="same")
    n_out = round(x.size * target / rate)
    positions = np.arange(n_out, dtype=np.float64) * (rate / target)
    return np.interp(positions, np.arange(x.size), x).astype(np.float32)


def pcm_at(pcm: bytes, rate: int, target: int = SPEECH_RATE) -> np.ndarray:
    """int16 PCM bytes at `rate` as float32 samples at `target`."""
    return resample(to_float(pcm), rate, target)
