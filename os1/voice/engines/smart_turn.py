"""Semantic end of turn: Smart Turn v3 says whether the user has finished what she was saying.

Smart Turn (Daily's open model, BSD-2-Clause) reads the last 8 s of the user's audio as
Whisper-style log-mel features and answers with the probability that her turn is complete:
"What time is it?" is, "I was thinking that maybe we could…" is not, even after the same
silence. Its ONNX file (8.7 MB) ships inside the `pipecat-ai` wheel; OS1 only reads that
file (pipecat is never imported, so none of its dependencies are needed) and computes the
features exactly as pipecat does, with faster-whisper's numpy feature extractor.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import importlib.util
import threading
from pathlib import Path
from typing import Any

import numpy as np

from os1.voice.audio import SPEECH_RATE, pcm_at
from os1.voice.engines.common import EngineUnavailable

SECONDS = 8  # the model's window: the last 8 s of the turn, zero-padded in front
THRESHOLD = 0.5  # pipecat's: above it the turn is complete
_DATA = "pipecat/audio/turn/smart_turn/data"


def bundled_model_path() -> Path | None:
    """The Smart Turn v3 ONNX file inside an installed `pipecat-ai`, if any (newest first)."""
    try:
        dist = importlib.metadata.distribution("pipecat-ai")
    except importlib.metadata.PackageNotFoundError:
        return None
    data = Path(str(dist.locate_file(_DATA)))
    found = sorted(data.glob("smart-turn-v3*-cpu.onnx")) or sorted(data.glob("smart-turn-v3*.onnx"))
    return found[-1] if found else None


def smart_turn_available(model_path: Path | None = None) -> bool:
    if not importlib.util.find_spec("onnxruntime") or not importlib.util.find_spec(
        "faster_whisper"
    ):
        return False
    return model_path.is_file() if model_path else bundled_model_path() is not None


class SmartTurn:
    """Smart Turn v3 on the CPU with onnxruntime, one thread; the model loads on first use.

    `model_path` is a Smart Turn v3 ONNX file; by default the one in `pipecat-ai`'s wheel
    (install it with `pip install --no-deps pipecat-ai`: only its data file is used).
    """

    def __init__(self, model_path: Path | None = None, *, cpu_threads: int = 1) -> None:
        if not importlib.util.find_spec("onnxruntime"):
            raise EngineUnavailable("Smart Turn needs onnxruntime: pip install onnxruntime")
        if not importlib.util.find_spec("faster_whisper"):
            raise EngineUnavailable("Smart Turn needs faster-whisper: pip install faster-whisper")
        if model_path is None:
            model_path = bundled_model_path()
            if model_path is None:
                raise EngineUnavailable(
                    "No Smart Turn model: pip install --no-deps pipecat-ai (its wheel ships "
                    "smart-turn-v3), or give the path of a Smart Turn v3 ONNX file"
                )
        elif not model_path.is_file():
            raise EngineUnavailable(f"{model_path} is not a Smart Turn ONNX file")
        self.model_path = model_path
        self.cpu_threads = cpu_threads
        self.threshold = THRESHOLD
        self.description = f"Smart Turn ({model_path.stem}) via onnxruntime on the CPU"
        self._session: Any = None
        self._features: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        if self._session is None:
            import onnxruntime as ort
            from faster_whisper.feature_extractor import FeatureExtractor

            options = ort.SessionOptions()
            options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            options.inter_op_num_threads = 1
            options.intra_op_num_threads = self.cpu_threads
            self._features = FeatureExtractor(chunk_length=SECONDS)
            self._session = ort.InferenceSession(
                str(self.model_path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        return self._session

    def features(self, audio: np.ndarray) -> np.ndarray:
        """(1, 80, 800) log-mel features of 16 kHz float audio, as pipecat computes them."""
        n = SECONDS * SPEECH_RATE
        audio = np.asarray(audio, dtype=np.float32)[-n:]
        audio = np.pad(audio, (n - audio.size, 0))  # silence in front: the end is what counts
        # Whisper's feature extractor in transformers normalises the waveform first.
        audio = (audio - audio.mean()) / np.sqrt(audio.var() + 1e-7)
        return np.asarray(self._features(audio, padding=0), dtype=np.float32)[None]

    def _complete(self, audio: np.ndarray) -> float:
        with self._lock:
            session = self._load()
            if audio.size == 0:
                return 0.0
            (out,) = session.run(None, {"input_features": self.features(audio)})
            return float(np.asarray(out).reshape(-1)[0])  # already a sigmoid probability

    async def load(self) -> None:
        """Load the model now rather than at the user's first pause."""
        await asyncio.to_thread(self._locked_load)

    def _locked_load(self) -> None:
        with self._lock:
            self._load()

    async def complete(self, pcm: bytes, sample_rate: int) -> float:
        """The probability (0..1) that the turn in `pcm` (int16 mono, any rate) is complete."""
        audio = pcm_at(pcm, sample_rate, SPEECH_RATE)
        return await asyncio.to_thread(self._complete, audio)
