"""Silero VAD on real synthesised speech: speech between silences found, noise ignored."""

from __future__ import annotations

import numpy as np
import pytest

from os1.voice.audio import pcm_at
from os1.voice.engines import EnergyVad, EspeakSynthesiser, SileroVad


def frames_of(audio: np.ndarray, size: int) -> list[np.ndarray]:
    return [audio[i : i + size] for i in range(0, len(audio) - size + 1, size)]


def pink_noise(n: int, rms: float, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum /= np.sqrt(np.maximum(np.arange(spectrum.size), 1))
    noise = np.fft.irfft(spectrum, n)
    return (noise * rms / np.sqrt(np.mean(noise**2))).astype(np.float32)


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    import asyncio

    async def run() -> tuple[bytes, int]:
        out, rate = b"", 0
        async for pcm, chunk_rate in EspeakSynthesiser().synthesize("I had a really long day."):
            out += pcm
            rate = chunk_rate
        return out, rate

    pcm, rate = asyncio.run(run())
    return pcm_at(pcm, rate)


def test_engine_vad_finds_speech_between_silences(speech: np.ndarray) -> None:
    vad = SileroVad()
    gap = np.zeros(16_000, dtype=np.float32)
    probs = np.array(
        [vad.probability(f) for f in frames_of(np.concatenate([gap, speech, gap]), 512)]
    )
    per_second = 16_000 // 512
    before, during, after = (
        probs[:per_second],
        probs[per_second:-per_second],
        probs[-per_second + 4 :],
    )
    assert before.max() < 0.1
    assert during.max() > 0.9 and np.mean(during > 0.5) > 0.5
    assert after.max() < 0.2  # a few frames of lag after the speech ends are allowed


def test_engine_vad_ignores_noise() -> None:
    vad = SileroVad()
    probs = [vad.process(f) for f in frames_of(pink_noise(3 * 16_000, 0.05), 512)]
    assert max(probs) < 0.5


def test_engine_vad_wants_whole_frames() -> None:
    with pytest.raises(ValueError, match="512"):
        SileroVad().probability(np.zeros(100, dtype=np.float32))


def test_engine_energy_gate_hears_loud_sound_after_quiet(speech: np.ndarray) -> None:
    gate = EnergyVad()
    quiet = [gate.probability(f) for f in frames_of(pink_noise(16_000, 0.001), 512)]
    loud = [gate.probability(f) for f in frames_of(speech, 512)]
    assert max(quiet[5:]) < 0.5 and max(loud) > 0.9
