"""Reading WAV files of any common encoding into 16 kHz mono frames; clear errors otherwise."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from os1.voice.wavfile import WavError, load_speech, read_wav, wav_frames, write_wav


def riff(fmt_tag: int, channels: int, rate: int, bits: int, data: bytes, declared=None) -> bytes:
    align = channels * bits // 8
    fmt = struct.pack("<HHIIHH", fmt_tag, channels, rate, rate * align, align, bits)
    size = len(data) if declared is None else declared
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", size)
    return b"RIFF" + struct.pack("<I", len(body) + len(data)) + body + data


def test_float_stereo_wav_becomes_mono(tmp_path):
    left, right = np.full(100, 0.5, np.float32), np.full(100, -0.25, np.float32)
    data = np.stack([left, right], axis=1).astype("<f4").tobytes()
    (tmp_path / "f.wav").write_bytes(riff(3, 2, 16000, 32, data))
    samples, rate = read_wav(tmp_path / "f.wav")
    assert rate == 16000 and np.allclose(samples, 0.125)


def test_24_bit_and_8_bit_pcm(tmp_path):
    values = [0, 1 << 22, -(1 << 22)]
    data = b"".join(struct.pack("<i", v)[:3] for v in values)
    (tmp_path / "a.wav").write_bytes(riff(1, 1, 8000, 24, data))
    assert np.allclose(read_wav(tmp_path / "a.wav")[0], [0, 0.5, -0.5])
    (tmp_path / "b.wav").write_bytes(riff(1, 1, 8000, 8, bytes([128, 192, 64])))
    assert np.allclose(read_wav(tmp_path / "b.wav")[0], [0, 0.5, -0.5])


def test_any_rate_is_resampled_to_16k_and_framed(tmp_path):
    t = np.arange(8000) / 8000
    write_wav(tmp_path / "s.wav", (np.sin(2 * np.pi * 200 * t) * 16000).astype("<i2").tobytes(),
              8000)  # fmt: skip
    speech = load_speech(tmp_path / "s.wav")
    assert speech.size == 16000
    assert abs(float(np.sqrt(np.mean(speech**2))) - 0.345) < 0.02  # the tone's level survives
    frames = wav_frames(tmp_path / "s.wav")
    assert len(frames) == 32 and all(f.samples == 512 and f.sample_rate == 16000 for f in frames)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"ID3\x03 this is an mp3", "not a WAV file"),
        (b"", "not a WAV file"),
        (riff(1, 1, 16000, 16, b"\0\0" * 100, declared=400), "truncated: 200 of 400"),
        (riff(1, 1, 16000, 16, b"\0\0\0"), "ends inside a sample"),
        (riff(1, 1, 16000, 16, b""), "no audio"),
        (riff(6, 1, 8000, 8, b"\0" * 10), "unsupported encoding: A-law"),
        (riff(1, 1, 16000, 16, b"\0\0")[:30], "truncated"),
    ],
)
def test_malformed_files_say_what_is_wrong(tmp_path, content, message):
    (tmp_path / "bad.wav").write_bytes(content)
    with pytest.raises(WavError, match=message):
        read_wav(tmp_path / "bad.wav")
