"""Finding mail by its words and by its meaning, within one user's mailbox.

Built from memory's parts: the same safe FTS5 query (user text never reaches FTS
syntax), the same embedder and vector format, and the same reciprocal rank fusion.
Mail is embedded off the hot path (`index`, newest first); until a message has a
vector it is still found by its words.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..memory.embeddings import Embedder, pack, unpack_many
from ..memory.lexical import fts_query
from ..store import Store

RRF_K = 10.0
EMBED_CHARS = 1500  # subject, sender and the head of the new text are enough to find by


@dataclass(frozen=True)
class MailHit:
    id: int
    subject: str
    from_name: str
    from_addr: str
    date: str | None
    folder: str
    score: float
    snippet: str


def _text(row: sqlite3.Row) -> str:
    return f"{row['subject']}\n{row['from_name']} <{row['from_addr']}>\n{row['body']}"[:EMBED_CHARS]


def _inserter(values: list[tuple[Any, ...]]) -> Callable[[sqlite3.Connection], None]:
    def write(c: sqlite3.Connection) -> None:
        c.executemany(
            "INSERT OR IGNORE INTO mail_vectors (message_id, user_id, model, vector) "
            "VALUES (?, ?, ?, ?)",
            values,
        )

    return write


class _Vectors:
    """One user's mail vectors in memory, refreshed with what was added since."""

    def __init__(self, dim: int) -> None:
        self.ids = np.zeros(0, dtype=np.int64)
        self.matrix = np.zeros((0, dim), dtype=np.float32)
        self.last_rowid = 0
        self.lock = threading.Lock()

    def refresh(self, c: sqlite3.Connection, user: str, model: str, dim: int) -> None:
        with self.lock:
            rows = c.execute(
                "SELECT rowid, message_id, vector FROM mail_vectors WHERE user_id = ? "
                "AND model = ? AND rowid > ? ORDER BY rowid",
                (user, model, self.last_rowid),
            ).fetchall()
            if not rows:
                return
            self.ids = np.concatenate([self.ids, np.array([r[1] for r in rows], dtype=np.int64)])
            self.matrix = np.vstack([self.matrix, unpack_many([r[2] for r in rows], dim)])
            self.last_rowid = rows[-1][0]


class MailSearch:
    """Search over one store's mail; one per process, it caches each user's vectors."""

    def __init__(self, store: Store, embedder: Embedder | None) -> None:
        self.store = store
        self.embedder = embedder
        self._vectors: dict[str, _Vectors] = {}

    async def index(self, user: str, *, limit: int | None = None, batch: int = 32) -> int:
        """Embed messages that have no vector yet, newest first; returns how many."""
        if self.embedder is None:
            return 0
        embedder = self.embedder
        rows = await self.store.query(
            "SELECT m.id, m.subject, m.from_name, m.from_addr, m.body FROM mail_messages m "
            "WHERE m.user_id = ? AND m.status = 'ok' AND NOT EXISTS (SELECT 1 FROM mail_vectors "
            "v WHERE v.message_id = m.id AND v.model = ?) ORDER BY m.date DESC LIMIT ?",
            (user, embedder.name, -1 if limit is None else limit),
        )
        done = 0
        for i in range(0, len(rows), batch):
            part = rows[i : i + batch]
            vectors = await asyncio.to_thread(embedder.passages, [_text(r) for r in part])
            values = [
                (r["id"], user, embedder.name, pack(v)) for r, v in zip(part, vectors, strict=True)
            ]
            await self.store.write(_inserter(values))
            done += len(part)
        return done

    async def search(
        self, user: str, query: str, *, limit: int = 10, folder: str | None = None
    ) -> list[MailHit]:
        scores: dict[int, float] = {}
        match = fts_query(query)
        if match is not None:
            lexical = await self.store.query(
                "SELECT m.id FROM mail_fts JOIN mail_messages m ON m.id = mail_fts.rowid "
                "WHERE mail_fts MATCH ? AND m.user_id = ? ORDER BY bm25(mail_fts) LIMIT 200",
                (match, user),
            )
            for rank, row in enumerate(lexical):
                scores[row[0]] = scores.get(row[0], 0.0) + 1 / (RRF_K + rank + 1)
        if self.embedder is not None:
            for rank, message_id in enumerate(await self._dense(user, query)):
                scores[message_id] = scores.get(message_id, 0.0) + 1 / (RRF_K + rank + 1)
        if not scores:
            return []
        best = sorted(scores, key=lambda k: -scores[k])
        placeholders = ",".join("?" * len(best))
        rows = await self.store.query(
            f"SELECT id, subject, from_name, from_addr, date, folder, body FROM mail_messages "
            f"WHERE user_id = ? AND id IN ({placeholders})",
            (user, *best),
        )
        found = {r["id"]: r for r in rows if folder is None or r["folder"] == folder}
        return [
            MailHit(
                id=i,
                subject=found[i]["subject"],
                from_name=found[i]["from_name"],
                from_addr=found[i]["from_addr"],
                date=found[i]["date"],
                folder=found[i]["folder"],
                score=scores[i],
                snippet=" ".join(found[i]["body"].split())[:160],
            )
            for i in best
            if i in found
        ][:limit]

    async def _dense(self, user: str, query: str, depth: int = 200) -> list[int]:
        embedder = self.embedder
        assert embedder is not None
        vectors = self._vectors.setdefault(user, _Vectors(embedder.dim))
        await self.store.read(lambda c: vectors.refresh(c, user, embedder.name, embedder.dim))
        if not len(vectors.ids):
            return []
        q = await asyncio.to_thread(embedder.query, query)
        sims = vectors.matrix @ q
        top = np.argsort(-sims)[:depth]
        return [int(vectors.ids[i]) for i in top]
