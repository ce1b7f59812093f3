"""Memory for one companion: notes each message, derives facts off the hot path, recalls them.

The conversation log is the ground truth. Everything here — facts, vectors, the
profile — is derived from it by background jobs, can be rebuilt from it, and is
searched per turn. Jobs that fail are retried and logged, never dropped silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ..models.base import Model
from ..store import Store
from . import facts as factstore
from .embeddings import Embedder
from .extract import extract
from .factbase import moment
from .search import Hit, Searcher

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
MAX_EXTRACT_CHARS = 4000
CONSOLIDATE_EVERY = 24 * 3600  # seconds
PROFILE_KINDS = ("identity", "relationship", "state", "preference", "plan")


def _now() -> str:
    return datetime.now(UTC).isoformat()


class Memory:
    """What she knows of each user: facts with provenance, and search over everything said."""

    def __init__(self, store: Store, model: Model, *, embedder: Embedder | None) -> None:
        self.store = store
        self.model = model
        self.searcher = Searcher(store, embedder)
        self._worker: asyncio.Task[int] | None = None

    # --- settings --------------------------------------------------------------------

    async def paused(self, user: str) -> bool:
        row = await self.store.query_one(
            "SELECT paused FROM memory_settings WHERE user_id = ?", (user,)
        )
        return bool(row and row["paused"])

    async def set_paused(self, user: str, paused: bool) -> None:
        def write(c: sqlite3.Connection) -> None:
            now = _now()
            c.execute("INSERT OR IGNORE INTO users (id, created_at) VALUES (?, ?)", (user, now))
            c.execute(
                "INSERT INTO memory_settings (user_id, paused, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT(user_id) DO UPDATE SET paused = excluded.paused, "
                "updated_at = excluded.updated_at",
                (user, int(paused), now),
            )

        await self.store.write(write)

    # --- intake, off the hot path ----------------------------------------------------

    async def note(self, user: str, message_id: int, role: str, *, extract: bool = True) -> None:
        """Queue the work a new message needs: facts from what the user says, vectors for all."""
        if await self.paused(user):
            return
        kinds = ["extract", "embed"] if role == "user" and extract else ["embed"]
        now = _now()

        def write(c: sqlite3.Connection) -> None:
            c.executemany(
                "INSERT INTO memory_jobs (user_id, message_id, kind, created_at) "
                "VALUES (?, ?, ?, ?)",
                [(user, message_id, kind, now) for kind in kinds],
            )

        await self.store.write(write)

    def kick(self) -> None:
        """Start working through queued jobs in the background, if not already."""
        if self._worker is None or self._worker.done():
            self._worker = asyncio.ensure_future(self.work())

    async def drain(self, seconds: float) -> None:
        """Let queued work finish, up to `seconds`; what is left waits for next time."""
        self.kick()
        assert self._worker is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._worker), seconds)

    async def stop(self) -> None:
        if self._worker is not None and not self._worker.done():
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker

    async def _name(self, user: str) -> str:
        row = await self.store.query_one("SELECT profile FROM personas WHERE user_id = ?", (user,))
        if row is not None:
            name = json.loads(row["profile"]).get("call_me")
            if name:
                return str(name)
        return "The user"

    async def work(self, limit: int = 500) -> int:
        """Process pending jobs (oldest first); returns how many were done."""
        done = 0
        while done < limit:
            jobs = await self.store.query(
                "SELECT j.*, m.content, m.created_at AS said_at FROM memory_jobs j "
                "JOIN messages m ON m.id = j.message_id AND m.user_id = j.user_id "
                "WHERE j.status = 'pending' ORDER BY j.id LIMIT 32"
            )
            if not jobs:
                return done
            embed_users = set()
            learned = {j["user_id"] for j in jobs if j["kind"] == "extract"}
            for job in jobs:
                if job["kind"] == "extract":
                    await self._run(job, self._extract(job))
                else:
                    embed_users.add(job["user_id"])
            for user in embed_users:
                ids = [j["id"] for j in jobs if j["kind"] == "embed" and j["user_id"] == user]
                await self._run_many(ids, self.searcher.index(user))
            for user in learned:
                await self._consolidate_if_due(user)
            done += len(jobs)
        return done

    async def _consolidate_if_due(self, user: str) -> None:
        """The "sleep" job: at most once a day, after new facts arrive."""
        from .control import consolidate  # control builds on this module

        row = await self.store.query_one(
            "SELECT consolidated_at FROM memory_settings WHERE user_id = ?", (user,)
        )
        last = row["consolidated_at"] if row else None
        if last and (datetime.now(UTC) - moment(last)).total_seconds() < CONSOLIDATE_EVERY:
            return
        try:
            await consolidate(self, user)
        except Exception as e:  # logged; tried again after the next facts arrive
            log.warning("memory consolidation for %s failed: %s", user, e)

    async def _extract(self, job: Any) -> None:
        user = job["user_id"]
        small = self.model.info.small
        # Facts about the user come from what they say, not from a pasted document: only the
        # start of a very long message is read for them (all of it stays searchable).
        found = await extract(
            None if small else self.model,
            job["content"][:MAX_EXTRACT_CHARS],
            said_at=moment(job["said_at"]),
            name=await self._name(user),
            use_model=not small,
        )
        extractor = "rules" if small else f"rules+{self.model.model_id}"

        def write(c: sqlite3.Connection) -> None:
            for fact in found:
                factstore.add_fact(
                    c, user, fact, sources=[job["message_id"]], recorded_at=job["said_at"],
                    extractor=extractor,
                )  # fmt: skip

        await self.store.write(write)

    async def _run(self, job: Any, work: Any) -> None:
        await self._run_many([job["id"]], work)

    async def _run_many(self, ids: list[int], work: Any) -> None:
        marks = ",".join("?" * len(ids))
        try:
            await work
        except Exception as e:  # logged, retried, and after MAX_ATTEMPTS marked failed
            log.warning("memory job(s) %s failed: %s", ids, e)
            await self.store.execute_write(
                f"UPDATE memory_jobs SET attempts = attempts + 1, error = ?, updated_at = ?, "
                f"status = CASE WHEN attempts + 1 >= {MAX_ATTEMPTS} THEN 'failed' "
                f"ELSE 'pending' END WHERE id IN ({marks})",
                (f"{type(e).__name__}: {e}", _now(), *ids),
            )
            return
        await self.store.execute_write(
            f"UPDATE memory_jobs SET status = 'done', attempts = attempts + 1, updated_at = ? "
            f"WHERE id IN ({marks})",
            (_now(), *ids),
        )

    # --- recall ----------------------------------------------------------------------

    async def recall(
        self,
        user: str,
        query: str,
        *,
        budget_tokens: int,
        count_tokens: Callable[[str], int],
        now: datetime | None = None,
        k: int = 8,
    ) -> list[Hit]:
        return await self.searcher.search(
            user, query, k=k, now=now, budget_tokens=budget_tokens, count_tokens=count_tokens
        )

    async def facts(self, user: str, *, include_superseded: bool = False) -> list[Any]:
        statuses = ("active", "superseded", "pending") if include_superseded else ("active",)
        return await self.store.read(lambda c: factstore.facts(c, user, statuses=statuses))

    async def profile(self, user: str, *, budget_tokens: int, count: Callable[[str], int]) -> str:
        """The small always-in-context profile: the most important active facts that fit.

        When there are more than fit, the least important stay in the searchable store
        instead of failing: the profile is consolidated, never overflowing.
        """
        items = [f for f in await self.facts(user) if f.kind in PROFILE_KINDS]
        items.sort(key=lambda f: (-f.importance, -f.confidence, f.recorded_at))
        lines: list[str] = []
        used = 0
        for fact in items:
            cost = count(fact.content) + 2
            if used + cost > budget_tokens:
                continue
            lines.append(f"- {fact.content}")
            used += cost
        return "\n".join(lines)
