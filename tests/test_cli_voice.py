"""`os1 voice --in question.wav --out answer.wav` end to end: real speech engines, real model.

Piper speaks the question, the command answers it offline on the bundled model, and Whisper
must understand her spoken answer: the words it hears are the words the command printed.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from test_cli import os1

from os1.voice.engines import PiperSynthesiser, WhisperRecogniser
from os1.voice.wavfile import read_wav, write_wav

ENV = {"OS1_MAX_REPLY_TOKENS": "40"}


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


async def synthesize(text: str) -> tuple[bytes, int]:
    piper = PiperSynthesiser(variation=False)  # the same words sound the same every run
    try:
        chunks, rate = [], 0
        async for pcm, rate in piper.synthesize(text):  # noqa: B007 (the last rate)
            chunks.append(pcm)
        return b"".join(chunks), rate
    finally:
        piper.close()


def test_cli_voice_answers_a_spoken_question_intelligibly(tmp_path: Path) -> None:
    home, question, answer = tmp_path / "home", tmp_path / "q.wav", tmp_path / "a.wav"
    home.mkdir()
    pcm, rate = asyncio.run(synthesize("Good morning! Can you tell me a little about the sea?"))
    write_wav(question, pcm, rate)

    # No install interview first: like `os1 chat -m`, she is simply OS1 until then. The
    # question goes to the model (not a canned answer), with a short reply budget.
    result = os1(home, "voice", "--in", str(question), "--out", str(answer), env=ENV, timeout=300)
    assert result.returncode == 0, result.stderr
    heard_line, said_line = result.stdout.splitlines()[:2]
    assert heard_line.startswith("You said: ")
    assert {"tell", "me", "about", "the", "sea"} <= set(words(heard_line)), heard_line
    assert said_line.startswith("OS1 said: ")
    said = words(said_line.removeprefix("OS1 said: "))
    assert len(said) >= 5, said_line
    assert "Traceback" not in result.stderr

    samples, answer_rate = read_wav(answer)
    assert samples.size / answer_rate > 0.5 and float(abs(samples).max()) > 0.05
    pcm_answer = (samples * 32767).astype("<i2").tobytes()
    recognised = words(asyncio.run(WhisperRecogniser().transcribe(pcm_answer, answer_rate)))
    assert len(recognised) >= 5, recognised
    overlap = len(set(said) & set(recognised)) / len(set(said))
    assert overlap >= 0.6, (said, recognised)


def test_cli_voice_rejects_a_malformed_wav(tmp_path: Path) -> None:
    home, bad = tmp_path / "home", tmp_path / "bad.wav"
    home.mkdir()
    bad.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00")  # cut short
    result = os1(home, "voice", "--in", str(bad), "--out", str(tmp_path / "a.wav"))
    assert result.returncode == 65, result.stderr
    assert "bad.wav" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "a.wav").exists()


def test_cli_voice_rejects_a_wav_without_audio(tmp_path: Path) -> None:
    home, empty = tmp_path / "home", tmp_path / "empty.wav"
    home.mkdir()
    write_wav(empty, b"", 16000)
    result = os1(home, "voice", "--in", str(empty), "--out", str(tmp_path / "a.wav"))
    assert result.returncode == 65, result.stderr
    assert "holds no audio" in result.stderr and "Traceback" not in result.stderr


def test_cli_voice_without_a_sound_card_says_why_and_what_works(tmp_path: Path) -> None:
    # This machine has no sound card (PortAudio is missing): she says so, and offers files.
    result = os1(tmp_path, "voice")
    assert result.returncode == 69
    assert "is not available here" in result.stderr and "--in question.wav" in result.stderr
    assert "os1 voice --serve" in result.stderr


def test_doctor_describes_the_voice_engines_for_the_chosen_voice(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from os1.cli.manage import _voice_lines

    _voice_lines("female")
    out = capsys.readouterr().out
    assert out.startswith("✓ voice (female), for `os1 voice`:")
    assert "recognition: Whisper tiny.en" in out and "speech: Kokoro" in out
    assert "her female voice is Kokoro's" in out and "accent" in out
    _voice_lines("male")
    out = capsys.readouterr().out
    assert "speech: Piper voice en_US-joe-medium" in out and "note:" not in out
