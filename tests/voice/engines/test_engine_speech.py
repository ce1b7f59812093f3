"""Real engines end to end: a synthesiser speaks, a recogniser hears the words back."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from os1.voice.engines import (
    EspeakSynthesiser,
    KokoroSynthesiser,
    PiperSynthesiser,
    SileroVad,
    SphinxRecogniser,
    WhisperRecogniser,
    default_engines,
)


async def speak(synth: object, text: str) -> tuple[list[bytes], int]:
    chunks, rate = [], 0
    async for pcm, chunk_rate in synth.synthesize(text):  # type: ignore[attr-defined]
        chunks.append(pcm)
        rate = chunk_rate
    return chunks, rate


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z']+", text.lower()))


async def test_engine_piper_speaks_and_whisper_hears_it(piper, whisper) -> None:
    chunks, rate = await speak(piper, "Can you remind me to call my sister tomorrow morning?")
    heard = await whisper.transcribe(b"".join(chunks), rate)
    assert rate == 22050
    assert {"remind", "call", "sister", "tomorrow", "morning"} <= words(heard), heard


async def test_engine_piper_gives_one_chunk_per_sentence(piper) -> None:
    chunks, _ = await speak(piper, "Oh no. That sounds exhausting. Tell me about it.")
    assert len(chunks) == 3
    assert all(len(c) > 0 and len(c) % 2 == 0 for c in chunks)


async def test_engine_espeak_speaks_and_whisper_hears_it(whisper) -> None:
    chunks, rate = await speak(
        EspeakSynthesiser("female"), "I had a really long day at work. Can we talk?"
    )
    assert len(chunks) == 2
    heard = await whisper.transcribe(b"".join(chunks), rate)
    assert {"really", "long", "day", "work", "talk"} <= words(heard), heard


async def test_engine_espeak_voices_follow_the_persona_choice() -> None:
    female, _ = await speak(EspeakSynthesiser("female"), "Hello there.")
    male, _ = await speak(EspeakSynthesiser("male"), "Hello there.")
    assert EspeakSynthesiser("female").voice.endswith("+f3")
    assert EspeakSynthesiser("male").voice.endswith("+m3")
    assert female != male


async def test_engine_pocketsphinx_roughly_hears_piper(piper) -> None:
    chunks, rate = await speak(piper, "Can you remind me to call my sister tomorrow morning?")
    heard = await SphinxRecogniser().transcribe(b"".join(chunks), rate)
    assert len({"remind", "call", "sister", "tomorrow", "morning"} & words(heard)) >= 3, heard


async def test_engine_whisper_takes_a_users_model_directory(tmp_path: Path) -> None:
    from os1.voice.engines import EngineUnavailable
    from os1.voice.engines.whisper import bundled_model_path

    with pytest.raises(EngineUnavailable, match=r"no model\.bin"):
        WhisperRecogniser(tmp_path)
    bundled = bundled_model_path()
    assert bundled is not None
    assert WhisperRecogniser(bundled).model_dir == bundled


def test_engine_defaults_pick_the_best_installed_and_say_so(tmp_path: Path) -> None:
    engines = default_engines("female")
    vad, recogniser, synthesiser = engines
    assert isinstance(vad, SileroVad) and vad.frame_size == 512
    assert isinstance(recogniser, WhisperRecogniser)
    assert isinstance(synthesiser, KokoroSynthesiser)  # her female voice
    assert "Kokoro" in engines.describe() and "accent" in engines.describe()
    assert isinstance(default_engines("neutral").synthesiser, KokoroSynthesiser)
    male = default_engines("male")
    assert isinstance(male.synthesiser, PiperSynthesiser) and male.notes == []
    # Another Piper voice given by path wins over Kokoro (joe's path stands in for one here).
    given = default_engines("female", piper_voice=male.synthesiser.model)
    assert isinstance(given.synthesiser, PiperSynthesiser)


def test_engine_defaults_fall_back_honestly(tmp_path: Path) -> None:
    engines = default_engines("male", whisper_model=tmp_path, piper_voice=tmp_path / "missing.onnx")
    assert isinstance(engines.recogniser, SphinxRecogniser)
    assert isinstance(engines.synthesiser, EspeakSynthesiser)
    assert engines.synthesiser.voice == "en-us+m3"
    text = engines.describe()
    assert "pocketsphinx" in text and "robotic" in text


async def test_engine_piper_without_variation_says_it_the_same_way_every_time(piper) -> None:
    async def say(synth: PiperSynthesiser) -> bytes:
        return b"".join([pcm async for pcm, _ in synth.synthesize("Good morning, Theo.")])

    assert not piper.variation and await say(piper) == await say(piper)
    lively = PiperSynthesiser()  # as she speaks: a little different each time, as people do
    try:
        takes = {await say(lively) for _ in range(3)}
    finally:
        await lively.aclose()
    assert len(takes) > 1
