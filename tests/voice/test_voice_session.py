"""The voice session's glue to the Companion: apologies instead of crashes, the chosen voice,
one exchange from file to file (fake engines here; the real ones in test_cli_voice)."""

from __future__ import annotations

from pathlib import Path

import pytest
from voice_fakes import AmplitudeVAD, ScriptedRecogniser, ToneSynthesiser, speech

from os1.companion import Companion
from os1.persona import Persona, Profile
from os1.testing import ScriptedModel
from os1.voice.audio import to_pcm
from os1.voice.engines import Engines
from os1.voice.reply import ACKNOWLEDGEMENTS
from os1.voice.session import SORRY_MODEL, SORRY_UNHEARD, answer_file, engines_for
from os1.voice.wavfile import WavError, read_wav, write_wav


def question(path: Path, talk: float = 1.0) -> Path:
    write_wav(path, to_pcm(speech(("quiet", 0.3), ("talk", talk), ("quiet", 0.8))), 16000)
    return path


def fakes(*heard: str) -> tuple[Engines, ToneSynthesiser]:
    tts = ToneSynthesiser()
    return Engines(AmplitudeVAD(), ScriptedRecogniser(heard), tts), tts


def answered(tts: ToneSynthesiser) -> list[str]:
    """What she was asked to say, less the acknowledgements prepared at the start."""
    assert tts.spoken[: len(ACKNOWLEDGEMENTS)] == list(ACKNOWLEDGEMENTS)
    return tts.spoken[len(ACKNOWLEDGEMENTS) :]


async def test_one_exchange_from_file_to_file(
    tmp_path: Path, companion: Companion, model: ScriptedModel
) -> None:
    model.replies = ["I'm well, thank you. And you?"]
    engines, tts = fakes("how are you")
    summary = await answer_file(
        companion, "theo", question(tmp_path / "q.wav"), tmp_path / "a.wav", engines=engines
    )
    assert (summary.transcript, summary.reply) == ("how are you", "I'm well, thank you. And you?")
    assert summary.heard == summary.reply and not summary.interrupted and summary.error is None
    assert {"recognition", "first_text", "first_audio", "total"} <= set(summary.timings)
    assert answered(tts) == ["I'm well, thank you.", "And you?"]
    samples, rate = read_wav(tmp_path / "a.wav")
    assert rate == 16000 and samples.size == 6 * 3200  # six words of tone
    rows = await companion.history("theo")
    assert [(r["role"], r["content"]) for r in rows] == [
        ("user", "how are you"),
        ("assistant", "I'm well, thank you. And you?"),
    ]
    found = await companion.store.query_one("SELECT front_door FROM conversations")
    assert found is not None and found["front_door"] == "voice"


async def test_a_failing_model_gets_a_spoken_apology(
    tmp_path: Path, companion: Companion, model: ScriptedModel
) -> None:
    model.replies, model.fail_after = ["Let me think about that for a while."], 3
    engines, tts = fakes("what is the meaning of life")
    summary = await answer_file(
        companion, "theo", question(tmp_path / "q.wav"), tmp_path / "a.wav", engines=engines
    )
    assert summary.reply.endswith(SORRY_MODEL) and summary.reply.startswith("Let me think")
    assert summary.error is not None and "model failed" in summary.error
    assert any("think clearly" in s for s in tts.spoken)
    rows = await companion.history("theo")
    assert (rows[-1]["content"], rows[-1]["status"]) == ("Let me think", "failed")


async def test_no_speech_gets_asked_again_and_reported(
    tmp_path: Path, companion: Companion
) -> None:
    engines, tts = fakes()
    silent = tmp_path / "silent.wav"
    write_wav(silent, bytes(32000), 16000)
    summary = await answer_file(companion, "theo", silent, tmp_path / "a.wav", engines=engines)
    assert (summary.transcript, summary.reply) == ("", SORRY_UNHEARD)
    assert summary.error is not None and "no speech" in summary.error
    assert answered(tts) == [SORRY_UNHEARD]
    assert read_wav(tmp_path / "a.wav")[0].size > 0
    assert await companion.history("theo") == []


async def test_an_unreadable_file_fails_before_anything_runs(
    tmp_path: Path, companion: Companion
) -> None:
    engines, tts = fakes("never")
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all")
    with pytest.raises(WavError, match="not a WAV file"):
        await answer_file(companion, "theo", bad, tmp_path / "a.wav", engines=engines)
    assert tts.spoken == [] and not (tmp_path / "a.wav").exists()


async def test_the_engines_follow_the_voice_chosen_in_the_interview(companion: Companion) -> None:
    async def speaker_for(voice: str | None) -> str:
        if voice is not None:
            persona = Persona.from_dict({"name": "Sam", "voice": voice})
            await companion.save_persona("theo", persona, Profile.from_dict({}))
        return type((await engines_for(companion, "theo")).synthesiser).__name__

    assert await speaker_for(None) == "KokoroSynthesiser"  # before the interview: neutral
    assert await speaker_for("male") == "PiperSynthesiser"
    assert await speaker_for("female") == "KokoroSynthesiser"
    notes = (await engines_for(companion, "theo")).notes
    assert any("female voice is Kokoro's" in n for n in notes)
