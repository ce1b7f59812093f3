"""One user's stored vectors in memory, kept in step with the `vectors` table, searched fast.

Small collections are searched exactly (one float32 matrix-vector product). From
`APPROX_FROM` vectors on, a float32 matrix would cost ~1.5 GB and ~50 ms per query at
1M, so rows are kept as int8 (scaled per row) plus a 384-bit sign code of the centred vector: a
Hamming scan over the codes (48 bytes a row, stored word-major so each of the six 64-bit
words is one contiguous popcount pass; in chunks across threads) picks a few
thousand candidates, which are then re-scored exactly. Rows are only ever appended,
found by `vectors.rowid`, so a refresh after new writes reads only the new rows.
"""

from __future__ import annotations

import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .embeddings import unpack_many

KINDS = ("message", "memory")
APPROX_FROM = 50_000  # below this, exact search is cheaper than keeping codes
CANDIDATES = 4_000  # rows re-scored exactly after the Hamming scan
_CHUNK = 1 << 17
_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="os1-dense")


class DenseIndex:
    """The vectors of one (user, model): ids, kinds, and a matrix grown by doubling."""

    def __init__(self, user: str, model: str, dim: int) -> None:
        self.user, self.model, self.dim = user, model, dim
        self.n = 0
        self.kinds = np.zeros(0, dtype=np.int8)  # index into KINDS
        self.ids = np.zeros(0, dtype=np.int64)
        self.exact = np.zeros((0, dim), dtype=np.float32)  # used while n < APPROX_FROM
        self.small = np.zeros((0, dim), dtype=np.int8)  # used from APPROX_FROM on...
        self.scale = np.zeros(0, dtype=np.float32)  # ...with its per-row scale
        self.codes = np.zeros((dim // 64, 0), dtype=np.uint64)  # word-major: (words, rows)
        self.centre: np.ndarray | None = None
        self.last_rowid = dict.fromkeys(KINDS, 0)
        self.lock = threading.Lock()

    @property
    def approximate(self) -> bool:
        return self.centre is not None

    def refresh(self, conn: sqlite3.Connection) -> int:
        """Load rows written since the last refresh; returns how many were added."""
        added = 0
        with self.lock:
            for k, kind in enumerate(KINDS):
                top = conn.execute(
                    "SELECT max(rowid) FROM vectors WHERE user_id = ? AND kind = ? AND model = ?",
                    (self.user, kind, self.model),
                ).fetchone()[0]
                if top is None or top <= self.last_rowid[kind]:
                    continue
                cur = conn.execute(
                    "SELECT rowid, item_id, vector FROM vectors WHERE user_id = ? AND kind = ? "
                    "AND model = ? AND rowid > ? ORDER BY rowid",
                    (self.user, kind, self.model, self.last_rowid[kind]),
                )
                while rows := cur.fetchmany(50_000):
                    ids = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
                    self._append(k, ids, unpack_many([r[2] for r in rows], self.dim))
                    self.last_rowid[kind] = rows[-1][0]
                    added += len(rows)
        return added

    def _append(self, kind: int, ids: np.ndarray, vecs: np.ndarray) -> None:
        end = self.n + len(ids)
        if end > len(self.ids):
            cap = max(1024, end, 2 * len(self.ids))
            self.kinds = _grow(self.kinds, cap)
            self.ids = _grow(self.ids, cap)
            if self.approximate:
                self.small, self.codes = _grow(self.small, cap), _grow_rows(self.codes, cap)
                self.scale = _grow(self.scale, cap)
            else:
                self.exact = _grow(self.exact, cap)
        self.kinds[self.n : end] = kind
        self.ids[self.n : end] = ids
        if self.approximate:
            self.small[self.n : end], self.scale[self.n : end] = _quantise(vecs)
            self.codes[:, self.n : end] = self._encode(vecs).T
        else:
            self.exact[self.n : end] = vecs
        self.n = end
        if not self.approximate and self.n >= APPROX_FROM and self.dim % 64 == 0:
            self._go_approximate()

    def _go_approximate(self) -> None:
        rows = self.exact[: self.n]
        # Centring first: e5 vectors share a large common component, and raw signs would
        # mostly encode it. The centre is fixed from here on so codes stay comparable.
        self.centre = rows.mean(axis=0)
        cap = len(self.exact)
        self.small = np.zeros((cap, self.dim), dtype=np.int8)
        self.scale = np.zeros(cap, dtype=np.float32)
        self.codes = np.zeros((self.dim // 64, cap), dtype=np.uint64)
        for a in range(0, self.n, _CHUNK):
            b = min(self.n, a + _CHUNK)
            self.small[a:b], self.scale[a:b] = _quantise(rows[a:b])
            self.codes[:, a:b] = self._encode(rows[a:b]).T
        self.exact = np.zeros((0, self.dim), dtype=np.float32)

    def _encode(self, vecs: np.ndarray) -> np.ndarray:
        assert self.centre is not None
        bits = np.packbits(vecs - self.centre > 0, axis=1)
        return bits.view(np.uint64).reshape(len(vecs), self.dim // 64)

    def search(
        self, query: np.ndarray, limit: int, kinds: tuple[str, ...] = KINDS
    ) -> list[tuple[str, int, float]]:
        """The `limit` nearest rows as (kind, id, cosine), best first."""
        with self.lock:
            if self.n == 0 or limit <= 0:
                return []
            q = np.asarray(query, dtype=np.float32)
            if self.approximate:
                rows = self._candidates(q)
                scores = (self.small[rows].astype(np.float32) @ q) * self.scale[rows]
            else:
                rows = np.arange(self.n)
                scores = self.exact[: self.n] @ q
            if len(kinds) < len(KINDS):
                keep = np.isin(self.kinds[rows], [KINDS.index(k) for k in kinds])
                rows, scores = rows[keep], scores[keep]
            if len(rows) > limit:
                top = np.argpartition(-scores, limit - 1)[:limit]
                rows, scores = rows[top], scores[top]
            order = np.argsort(-scores, kind="stable")
            return [
                (KINDS[self.kinds[rows[i]]], int(self.ids[rows[i]]), float(scores[i]))
                for i in order
            ]

    def _candidates(self, q: np.ndarray) -> np.ndarray:
        assert self.centre is not None
        code = np.packbits(q - self.centre > 0).view(np.uint64)
        dist = np.empty(self.n, dtype=np.uint16)

        def scan(a: int) -> None:
            # One contiguous pass per 64-bit word: summing across a row's six words instead
            # (a reduction over a tiny inner axis) costs ~4x more.
            b = min(self.n, a + _CHUNK)
            out = dist[a:b]
            np.bitwise_count(self.codes[0, a:b] ^ code[0], out=out, casting="unsafe")
            for w in range(1, len(code)):
                out += np.bitwise_count(self.codes[w, a:b] ^ code[w])

        list(_pool.map(scan, range(0, self.n, _CHUNK)))
        if self.n <= CANDIDATES:
            return np.arange(self.n)
        # A histogram of the few hundred possible distances finds the cut-off without a
        # sort over all rows.
        cum = np.cumsum(np.bincount(dist, minlength=self.dim + 1))
        cut = int(np.searchsorted(cum, CANDIDATES))
        rows = np.flatnonzero(dist <= cut)
        if len(rows) > CANDIDATES:  # ties at the cut-off: keep the closest, any of the tied
            rows = rows[np.argpartition(dist[rows], CANDIDATES - 1)[:CANDIDATES]]
        return rows


def _quantise(vecs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # int8 per row: converting back to float32 is ~10x faster than from float16.
    scale = np.abs(vecs).max(axis=1) / 127
    scale[scale == 0] = 1
    return np.round(vecs / scale[:, None]).astype(np.int8), scale.astype(np.float32)


def _grow(a: np.ndarray, cap: int) -> np.ndarray:
    out = np.zeros((cap, *a.shape[1:]), dtype=a.dtype)
    out[: len(a)] = a
    return out


def _grow_rows(codes: np.ndarray, cap: int) -> np.ndarray:
    out = np.zeros((len(codes), cap), dtype=codes.dtype)  # each word stays contiguous
    out[:, : codes.shape[1]] = codes
    return out
