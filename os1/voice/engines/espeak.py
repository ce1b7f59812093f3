"""Speech synthesis with the espeak-ng program: robotic, tiny, always there; the last resort.

espeak-ng is GPL-3.0, so it only ever runs as a separate program (`espeak-ng --stdout`).
"""

from __future__ import annotations

import asyncio
import shutil
import struct
from collections.abc import AsyncIterator

from os1.voice.engines.common import EngineUnavailable, SynthesisError, split_sentences

# espeak-ng has no neutral voice: its variants are male (m1-m7) or female (f1-f5). Neutral
# uses the default voice, pitched up to sit between the two.
VOICES: dict[str, tuple[str, int]] = {
    "female": ("en-us+f3", 50),
    "male": ("en-us+m3", 45),
    "neutral": ("en-us", 62),
}


def espeak_program() -> str | None:
    return shutil.which("espeak-ng")


async def run_espeak(program: str, args: list[str], text: str, failed: str) -> bytes:
    """Run espeak-ng (a separate program: it is GPL) on `text`; its output, or
    `SynthesisError` saying `failed` and why. Cancelling stops the program."""
    proc = await asyncio.create_subprocess_exec(
        program,
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await proc.communicate(text.encode())
    finally:
        if proc.returncode is None:  # cancelled mid-run: stop the program
            proc.kill()
            await asyncio.shield(proc.wait())
    if proc.returncode != 0:
        raise SynthesisError(
            f"{failed} ({proc.returncode}): {err.decode(errors='replace').strip()[:300]}"
        )
    return out


def wav_pcm(wav: bytes) -> tuple[bytes, int]:
    """The PCM and rate of espeak-ng's WAV output (its header sizes are placeholders)."""
    if wav[:4] != b"RIFF" or wav[8:12] != b"WAVE":
        raise SynthesisError("espeak-ng did not produce a WAV file")
    pos, rate = 12, 0
    while pos + 8 <= len(wav):
        tag, size = wav[pos : pos + 4], struct.unpack("<I", wav[pos + 4 : pos + 8])[0]
        if tag == b"fmt ":
            channels, rate = struct.unpack("<HI", wav[pos + 10 : pos + 16])
            bits = struct.unpack("<H", wav[pos + 22 : pos + 24])[0]
            if channels != 1 or bits != 16:
                raise SynthesisError("espeak-ng's WAV is not 16-bit mono")
        elif tag == b"data":
            pcm = wav[pos + 8 :]
            return pcm[: len(pcm) // 2 * 2], rate
        pos += 8 + size + (size & 1)
    raise SynthesisError("espeak-ng's WAV has no audio")


class EspeakSynthesiser:
    """espeak-ng, one process per sentence, so the first sentence is heard at once."""

    def __init__(
        self,
        voice_choice: str = "neutral",
        *,
        words_per_minute: int = 165,
        voice: str | None = None,
    ) -> None:
        program = espeak_program()
        if program is None:
            raise EngineUnavailable(
                "espeak-ng is not installed (Debian: apt-get install espeak-ng)"
            )
        self.program = program
        self.voice, self.pitch = VOICES.get(voice_choice, VOICES["neutral"])
        if voice is not None:
            self.voice = voice
        self.words_per_minute = words_per_minute
        self.description = f"espeak-ng {self.voice} (separate program; robotic)"

    async def synthesize(self, text: str) -> AsyncIterator[tuple[bytes, int]]:
        """int16 mono PCM and its sample rate, one chunk per sentence."""
        for sentence in split_sentences(text):
            wav = await run_espeak(
                self.program,
                ["--stdout", "-v", self.voice, "-s", str(self.words_per_minute),
                 "-p", str(self.pitch)],
                sentence,
                "espeak-ng failed",
            )  # fmt: skip
            pcm, rate = wav_pcm(wav)
            if pcm:
                yield pcm, rate
