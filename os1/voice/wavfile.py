"""The file transport: WAV files in as microphone frames, her speech out to a WAV file.

Reading accepts PCM (8/16/24/32-bit) and IEEE float (32/64-bit) WAVs, any rate and any
number of channels, and turns them into 16 kHz mono (channels averaged; resampled by
`audio.resample`). The RIFF chunks are read directly rather than with `wave`, which in
Python 3.11 rejects float and extensible WAVs; writing uses `wave`. Malformed files
raise `WavError` saying what is wrong.
"""

from __future__ import annotations

import struct
import wave
from pathlib import Path

import numpy as np

from .audio import resample, to_pcm
from .frames import AudioIn

PCM, FLOAT, EXTENSIBLE = 1, 3, 0xFFFE


class WavError(ValueError):
    """The file is not audio this transport can read."""


def read_wav(path: Path | str) -> tuple[np.ndarray, int]:
    """The file's audio as float32 mono in -1..1, and its sample rate."""
    path = Path(path)
    data = path.read_bytes()
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise WavError(f"{path} is not a WAV file (no RIFF/WAVE header)")
    fmt: tuple[int, int, int, int] | None = None
    pos = 12
    while pos + 8 <= len(data):
        chunk_id, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        body = data[pos + 8 : pos + 8 + size]
        if chunk_id == b"fmt ":
            if len(body) < 16:
                raise WavError(f"{path} is truncated: its format chunk is incomplete")
            tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
            if tag == EXTENSIBLE and len(body) >= 26:
                tag = struct.unpack("<H", body[24:26])[0]  # the sub-format GUID starts so
            fmt = (tag, channels, rate, bits)
        elif chunk_id == b"data":
            if fmt is None:
                raise WavError(f"{path} has audio data before its format chunk")
            if len(body) < size and size != 0xFFFFFFFF:  # that size means "until the end"
                raise WavError(f"{path} is truncated: {len(body)} of {size} audio bytes")
            return _decode(path, body, *fmt), fmt[2]
        pos += 8 + size + (size & 1)  # chunks are padded to an even length
    raise WavError(f"{path} is truncated or has no audio data chunk")


def _decode(path: Path, body: bytes, tag: int, channels: int, rate: int, bits: int) -> np.ndarray:
    width = bits // 8
    if channels < 1 or rate < 1 or width < 1:
        raise WavError(f"{path} has a broken format ({channels} channels, {rate} Hz, {bits} bits)")
    if len(body) % (width * channels):
        raise WavError(f"{path} is truncated: its audio ends inside a sample")
    if not body:
        raise WavError(f"{path} holds no audio")
    raw = np.frombuffer(body, dtype=np.uint8)
    if tag == PCM and bits == 8:
        samples = (raw.astype(np.float32) - 128.0) / 128.0
    elif tag == PCM and bits in (16, 32):
        samples = np.frombuffer(body, dtype=f"<i{width}").astype(np.float32) / 2.0 ** (bits - 1)
    elif tag == PCM and bits == 24:
        triples = raw.reshape(-1, 3).astype(np.int32)
        ints = triples[:, 0] | (triples[:, 1] << 8) | (triples[:, 2] << 16)
        samples = (np.where(ints >= 1 << 23, ints - (1 << 24), ints) / 2.0**23).astype(np.float32)
    elif tag == FLOAT and bits in (32, 64):
        samples = np.frombuffer(body, dtype=f"<f{width}").astype(np.float32)
    else:
        kind = {PCM: "PCM", FLOAT: "float", 6: "A-law", 7: "µ-law", 2: "ADPCM"}.get(tag, str(tag))
        raise WavError(f"{path} uses an unsupported encoding: {kind}, {bits} bits")
    return np.asarray(samples.reshape(-1, channels).mean(axis=1), dtype=np.float32)


def load_speech(path: Path | str, rate: int = 16000) -> np.ndarray:
    """The file as float32 mono at `rate` Hz."""
    samples, file_rate = read_wav(path)
    return resample(samples, file_rate, rate)


def wav_frames(path: Path | str, frame_samples: int = 512, rate: int = 16000) -> list[AudioIn]:
    """The file as microphone frames (16 kHz mono int16; the last one zero-padded)."""
    samples = load_speech(path, rate)
    pad = -samples.size % frame_samples
    pcm = to_pcm(np.concatenate([samples, np.zeros(pad, np.float32)]))
    step = frame_samples * 2
    return [AudioIn(pcm[i : i + step], rate) for i in range(0, len(pcm), step)]


def write_wav(path: Path | str, pcm: bytes, rate: int) -> None:
    """Write int16 mono PCM as a WAV file."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm)


class WavSpeaker:
    """A `Speaker` that records everything played into a WAV file (written on `close`)."""

    def __init__(self, path: Path | str, default_rate: int = 16000) -> None:
        self.path = Path(path)
        self.rate: int | None = None
        self.default_rate = default_rate
        self._pcm = bytearray()

    async def play(self, pcm: bytes, sample_rate: int) -> None:
        if self.rate is None:
            self.rate = sample_rate
        elif sample_rate != self.rate:
            raise ValueError(f"{self.path}: got {sample_rate} Hz audio after {self.rate} Hz")
        self._pcm += pcm

    async def clear(self) -> None:
        """Nothing to clear: a file has no playback buffer."""

    def close(self) -> None:
        write_wav(self.path, bytes(self._pcm), self.rate or self.default_rate)
