"""Speech recognition with pocketsphinx and its bundled en-us model: light, fast, inaccurate."""

from __future__ import annotations

import asyncio
import importlib.util
import threading
from typing import Any

import numpy as np

from os1.voice.audio import SPEECH_RATE, pcm_at, to_pcm
from os1.voice.engines.common import EngineUnavailable


def sphinx_available() -> bool:
    return importlib.util.find_spec("pocketsphinx") is not None


class SphinxRecogniser:
    """pocketsphinx 5 with the US English model in its wheel; the decoder loads on first use.

    Word error is high on robotic or noisy speech (see the voice survey); it is the fallback
    when faster-whisper is not installed, and small enough for very weak machines.
    """

    description = "pocketsphinx en-us (bundled model; much less accurate than Whisper)"

    def __init__(self) -> None:
        if not sphinx_available():
            raise EngineUnavailable("pocketsphinx is not installed: pip install pocketsphinx")
        self._decoder: Any = None
        self._lock = threading.Lock()

    def _transcribe(self, audio: np.ndarray) -> str:
        with self._lock:
            if self._decoder is None:
                from pocketsphinx import Decoder

                self._decoder = Decoder(samprate=SPEECH_RATE, loglevel="FATAL")
            if audio.size == 0:
                return ""
            self._decoder.start_utt()
            self._decoder.process_raw(to_pcm(audio), full_utt=True)
            self._decoder.end_utt()
            hyp = self._decoder.hyp()
            return hyp.hypstr if hyp is not None else ""

    async def transcribe(self, pcm: bytes, sample_rate: int) -> str:
        """The words in int16 mono PCM at any rate (resampled to 16 kHz)."""
        return await asyncio.to_thread(self._transcribe, pcm_at(pcm, sample_rate, SPEECH_RATE))
