"""Hybrid recall: BM25 and dense rankings fused, shaped by time and status, cut to a budget.

Both the conversation log (messages) and derived facts (memories) are searched, always
within one user's data. Lexical ranking uses FTS5 over quoted, OR'ed query words (user
text never reaches FTS syntax); dense ranking uses the user's vectors (see `dense`). The
rankings are fused by reciprocal rank fusion; words shared by the best fused hits feed a
second lexical pass (pseudo-relevance feedback), fused in at a lower weight. Then the
scores are adjusted: turns next to a strong turn
are pulled up (an answer often sits one turn after the words that match), items inside a
time window the question names are boosted, recent items slightly, important and active
facts more than superseded ones, and very short turns ("Thanks!") are lowered. Every hit
carries the message ids it came from.
"""

from __future__ import annotations

import asyncio
import math
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import numpy as np

from ..store import Store
from .candidates import Kind, feed_back, lend_to_neighbours, load
from .dense import DenseIndex
from .embeddings import Embedder, pack
from .lexical import content_words, lexical_ranking
from .timeparse import query_window

_TABLE = {"message": "messages", "memory": "memories"}
_side = ThreadPoolExecutor(max_workers=4, thread_name_prefix="os1-lexical")


@dataclass(frozen=True)
class Hit:
    """One thing recalled, with what it came from and why it ranked where it did."""

    kind: Kind
    id: int
    content: str
    score: float
    created_at: str  # a message's created_at, or a memory's recorded_at
    sources: tuple[int, ...]  # message ids: (id,) for a message, provenance for a memory
    conversation_id: int | None
    signals: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Tuning:
    """The knobs of ranking; the defaults scored best on LoCoMo (bench/memory_retrieval.py)."""

    rrf_k: float = 10.0
    lexical_weight: float = 1.0
    dense_weight: float = 1.0
    depth: int = 100  # how deep each ranking is read
    neighbour: float = 0.3  # share of a turn's score passed to the turns beside it
    neighbour_from: int = 20  # how many of the best turns lend their neighbours score
    session: float = 0.3  # share of its conversation's best score added to each turn
    window_boost: float = 1.0  # multiplier + 1 for items inside the question's time window
    recency: float = 0.05  # at most this much extra for the newest items...
    recency_days: float = 30.0  # ...fading with this time constant
    superseded: float = 0.5  # superseded facts are kept and findable, but below current ones
    pending: float = 0.8
    context: int = 300  # characters of the previous turn embedded with each message
    feedback_docs: int = 5  # pseudo-relevance feedback: the best fused hits read...
    feedback_terms: int = 5  # ...for this many words shared by two or more of them...
    feedback_weight: float = 0.5  # ...searched again with the query, fused at this weight
    brief_words: int = 12  # items with fewer content words than this are lowered...
    brief: float = 0.5  # ...by up to this share (none at brief_words, all at none)


def approx_tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4))


def _time(iso: str) -> datetime | None:
    try:
        t = datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)


class Searcher:
    """Search over one store. One instance per process: it caches each user's vectors."""

    def __init__(self, store: Store, embedder: Embedder | None, tuning: Tuning = Tuning()):
        self.store = store
        self.embedder = embedder
        self.tuning = tuning
        self._dense: dict[str, DenseIndex] = {}

    @property
    def model(self) -> str:
        """The name vectors are stored under: the embedder, and how texts were given to it."""
        name = self.embedder.name if self.embedder else ""
        return f"{name}+ctx{self.tuning.context}" if self.tuning.context else name

    def forget_cache(self, user: str) -> None:
        """Drop the user's in-memory vectors; call after deleting or rewriting them."""
        self._dense.pop(user, None)

    async def index(self, user: str, *, batch: int = 64) -> int:
        """Embed `user`'s messages and memories that have no vector for this embedder yet."""
        if self.embedder is None:
            return 0
        embedder, model, done = self.embedder, self.model, 0
        context = self.tuning.context
        for kind, table in _TABLE.items():
            # A turn is often only understood with the one before it ("yes, last year!"),
            # so its vector is made from the end of the previous turn and the turn itself.
            before, params = "NULL", [user, kind, model, batch]
            if context and kind == "message":
                before = (
                    f"(SELECT substr(p.content, -{int(context)}) FROM messages p "
                    "WHERE p.user_id = t.user_id AND p.conversation_id = t.conversation_id "
                    "AND p.id < t.id AND p.id >= t.id - 1000 ORDER BY p.id DESC LIMIT 1)"
                )
            while True:
                rows = await self.store.query(
                    f"SELECT t.id, t.content, {before} AS before FROM {table} t "
                    "WHERE t.user_id = ? AND NOT EXISTS (SELECT 1 FROM vectors v "
                    "WHERE v.kind = ? AND v.item_id = t.id AND v.model = ?) ORDER BY t.id LIMIT ?",
                    params,
                )
                if not rows:
                    break
                texts = [
                    f"{r['before']}\n{r['content']}" if r["before"] else r["content"] for r in rows
                ]
                vecs = await asyncio.to_thread(embedder.passages, texts)
                values = [
                    (kind, r["id"], user, model, pack(v)) for r, v in zip(rows, vecs, strict=True)
                ]
                await self.store.write(_inserter(values))
                done += len(rows)
        return done

    async def search(
        self,
        user: str,
        query: str,
        *,
        k: int = 10,
        now: datetime | None = None,
        kinds: Sequence[Kind] = ("message", "memory"),
        budget_tokens: int | None = None,
        count_tokens: Callable[[str], int] | None = None,
    ) -> list[Hit]:
        """The best `k` hits for `query`, best first, stopping before `budget_tokens`."""
        now = _aware(now or datetime.now(UTC))
        window = query_window(query, now)
        qvec = None
        if self.embedder is not None and query.strip():
            qvec = await asyncio.to_thread(self.embedder.query, query)
        kinds = tuple(k_ for k_ in kinds if k_ in _TABLE)
        ranked = await self.store.read(
            lambda c: self._rank(c, user, query, qvec, kinds, now, window, k)
        )
        count = count_tokens or approx_tokens
        hits: list[Hit] = []
        used = 0
        for hit in ranked:
            if budget_tokens is not None:
                used += count(hit.content)
                if used > budget_tokens:
                    break
            hits.append(hit)
        return hits

    def _dense_index(self, conn: sqlite3.Connection, user: str) -> DenseIndex | None:
        if self.embedder is None:
            return None
        index = self._dense.get(user)
        if index is None or index.model != self.model:
            index = self._dense[user] = DenseIndex(user, self.model, self.embedder.dim)
        index.refresh(conn)  # cheap when nothing is new: two indexed max(rowid) look-ups
        return index

    def _rank(
        self,
        conn: sqlite3.Connection,
        user: str,
        query: str,
        qvec: np.ndarray | None,
        kinds: tuple[Kind, ...],
        now: datetime,
        window: tuple[datetime, datetime] | None,
        k: int,
    ) -> list[Hit]:
        t = self.tuning
        scores: dict[tuple[Kind, int], dict[str, float]] = {}

        def add(key: tuple[Kind, int], signal: str, value: float) -> None:
            scores.setdefault(key, {})[signal] = value

        def lexical(c: sqlite3.Connection) -> list[list[int]]:
            return [lexical_ranking(c, user, kind, query, t.depth) for kind in kinds]

        index = self._dense_index(conn, user) if qvec is not None else None
        found: list[tuple[str, int, float]] = []
        if index is not None:
            # FTS5 and the dense scan both release the GIL: run them side by side, the
            # lexical one on its own thread's read connection.
            pending = _side.submit(self.store.read_sync, lexical)
            try:
                found = index.search(cast(np.ndarray, qvec), t.depth, kinds)
            finally:
                lexical_ids = pending.result()
        else:
            lexical_ids = lexical(conn)
        for kind, ids in zip(kinds, lexical_ids, strict=True):
            for rank, id_ in enumerate(ids, 1):
                add((kind, id_), "bm25_rank", rank)
        for rank, (dense_kind, id_, cos) in enumerate(found, 1):
            key = (cast(Kind, dense_kind), id_)
            add(key, "dense_rank", rank)
            add(key, "dense_cos", cos)
        _fuse(scores, t)
        items = load(conn, user, scores)
        if t.feedback_docs and t.feedback_terms and t.feedback_weight:
            if feed_back(conn, user, query, kinds, items, scores, t):
                _fuse(scores, t)
        if t.neighbour and "message" in kinds:
            lend_to_neighbours(conn, user, items, scores, t)
        if t.session:
            best: dict[object, float] = {}
            for key, item in items.items():
                if key[0] == "message":
                    conv = item["conversation_id"]
                    best[conv] = max(best.get(conv, 0.0), scores[key]["rrf"])
            for key, item in items.items():
                if key[0] == "message":
                    scores[key]["session"] = t.session * best[item["conversation_id"]]
                    scores[key]["rrf"] += scores[key]["session"]
        hits = []
        for (kind, id_), item in items.items():
            signals = scores[(kind, id_)]
            score = signals["rrf"]
            when = _time(item["time"])
            if window is not None and when is not None:
                inside = _aware(window[0]) <= when < _aware(window[1])
                signals["time_match"] = 1.0 if inside else 0.0
                score *= 1 + t.window_boost * inside
            if when is not None and t.recency:
                age = max(0.0, (now - when).total_seconds() / 86400)
                signals["recency"] = math.exp(-age / t.recency_days)
                score *= 1 + t.recency * signals["recency"]
            if t.brief and t.brief_words:
                signals["brief"] = max(0.0, 1 - content_words(item["content"]) / t.brief_words)
                score *= 1 - t.brief * signals["brief"]
            if kind == "memory":
                score *= 0.5 + item["importance"]
                score *= {"superseded": t.superseded, "pending": t.pending}.get(item["status"], 1)
            hits.append(
                Hit(
                    kind,
                    id_,
                    item["content"],
                    score,
                    item["time"],
                    item["sources"],
                    item["conversation_id"],
                    signals,
                )
            )
        hits.sort(key=lambda h: (-h.score, h.kind, -h.id))
        return hits[:k]


def _fuse(scores: dict[tuple[Kind, int], dict[str, float]], t: Tuning) -> None:
    """Each candidate's reciprocal-rank-fusion score over the rankings it appears in."""
    weights = (
        ("bm25_rank", t.lexical_weight),
        ("dense_rank", t.dense_weight),
        ("feedback_rank", t.feedback_weight),
    )
    for signals in scores.values():
        signals["rrf"] = sum(w / (t.rrf_k + signals[s]) for s, w in weights if s in signals)


def _inserter(values: list[tuple[Any, ...]]) -> Callable[[sqlite3.Connection], None]:
    def write(c: sqlite3.Connection) -> None:
        c.executemany(
            "INSERT OR IGNORE INTO vectors (kind, item_id, user_id, model, vector) "
            "VALUES (?, ?, ?, ?, ?)",
            values,
        )

    return write
