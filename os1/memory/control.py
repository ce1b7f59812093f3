"""The user's control over memory: see it with sources, forget, rebuild, consolidate, export.

Forgetting is real: rows are deleted (the database overwrites freed pages) and what
was derived from them goes too — facts whose every source is gone, their vectors,
and summaries that may have quoted them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from ..mail import learn as maillearn
from . import facts as factstore
from .factbase import spoken_date
from .memory import Memory


async def sources_of(memory: Memory, user: str, message_ids: tuple[int, ...]) -> list[Any]:
    if not message_ids:
        return []
    marks = ",".join("?" * len(message_ids))
    return await memory.store.query(
        f"SELECT id, content, created_at FROM messages WHERE user_id = ? AND id IN ({marks}) "
        "ORDER BY id",
        (user, *message_ids),
    )


async def about(memory: Memory, user: str, *, limit: int = 30) -> str:
    """ "What do you know about me?": every active fact, with where and when she learned it."""
    items = await memory.facts(user)
    if not items:
        return (
            "I don't know anything about you yet beyond what's in our conversation — "
            "I haven't stored any facts. Tell me about yourself whenever you like."
        )
    items.sort(key=lambda f: (-f.importance, f.recorded_at))
    lines = ["Here's what I remember about you, and where it came from:"]
    for fact in items[:limit]:
        rows = await sources_of(memory, user, fact.sources)
        source = ""
        if rows:
            quote = rows[0]["content"].replace("\n", " ")
            quote = quote if len(quote) <= 80 else quote[:77] + "…"
            source = f' (you said on {spoken_date(rows[0]["created_at"])}: "{quote}")'
        elif mails := await maillearn.mail_sources(memory.store, user, fact.mail_sources):
            source = f' (from {mails[0].describe()}: "{mails[0].passage(fact.content)}")'
        lines.append(f"- [{fact.id}] {fact.content}{source}")
    if len(items) > limit:
        lines.append(f"…and {len(items) - limit} more (`os1 memory list`).")
    lines.append('Say "forget that" or "that\'s wrong, …" to change any of it.')
    return "\n".join(lines)


def quoted(content: str) -> str:
    """How she quotes a message when she asks to forget it (short ones whole)."""
    return content if len(content) <= 80 else content[:77] + "…"


def delete_messages(
    c: sqlite3.Connection, user: str, ids: list[int], *, quoting: Sequence[str] = ()
) -> dict[str, int]:
    """Hard-delete messages and what was derived from them (facts, vectors, summaries, jobs).

    Her reply to a deleted message goes with it (it answered, and often repeated, what was
    said), as do her messages `quoting` a forgotten fact word for word, and the action-log
    entries that acted on a deleted message are emptied.
    """
    if not ids:
        return {"messages": 0, "facts": 0, "summaries": 0}
    replies = [
        row[0]
        for message_id in ids
        if (
            row := c.execute(
                "SELECT r.id, r.role FROM messages m JOIN messages r ON "
                "r.conversation_id = m.conversation_id AND r.id > m.id "
                "WHERE m.user_id = ? AND m.id = ? AND m.role = 'user' ORDER BY r.id LIMIT 1",
                (user, message_id),
            ).fetchone()
        )
        and row[1] == "assistant"
    ]
    for text in quoting:
        replies += [
            r[0]
            for r in c.execute(
                "SELECT id FROM messages WHERE user_id = ? AND role = 'assistant' "
                "AND instr(content, ?) > 0",
                (user, text),
            )
        ]
    ids = sorted(set(ids) | set(replies))
    facts_deleted = factstore.forget_messages(c, user, ids)
    marks = ",".join("?" * len(ids))
    c.execute(
        f"DELETE FROM vectors WHERE user_id = ? AND kind = 'message' AND item_id IN ({marks})",
        (user, *ids),
    )
    # A summary made after the first forgotten message may quote it, so it goes too (the
    # turns it stood in for are still there; a new summary is made when needed).
    summaries = c.execute(
        "DELETE FROM summaries WHERE user_id = ? AND through_message_id >= ?", (user, min(ids))
    ).rowcount
    c.execute(f"DELETE FROM memory_jobs WHERE user_id = ? AND message_id IN ({marks})",
              (user, *ids))  # fmt: skip
    c.execute(
        "UPDATE actions SET arguments = '{}', summary = '(about something forgotten)', "
        f"result = NULL, undo = NULL WHERE user_id = ? AND "
        f"json_extract(arguments, '$.message_id') IN ({marks})",
        (user, *ids),
    )
    deleted = c.execute(
        f"DELETE FROM messages WHERE user_id = ? AND id IN ({marks})", (user, *ids)
    ).rowcount
    return {"messages": deleted, "facts": facts_deleted, "summaries": summaries}


async def forget_conversation(memory: Memory, user: str, conversation_id: int) -> dict[str, int]:
    """Delete a conversation and everything derived from it."""

    def write(c: sqlite3.Connection) -> dict[str, int]:
        ids = [
            r[0]
            for r in c.execute(
                "SELECT id FROM messages WHERE user_id = ? AND conversation_id = ?",
                (user, conversation_id),
            )
        ]
        counts = delete_messages(c, user, ids)
        c.execute("DELETE FROM conversations WHERE user_id = ? AND id = ?", (user, conversation_id))
        return counts

    counts = await memory.store.write(write)
    memory.searcher.forget_cache(user)
    return counts


async def rebuild(memory: Memory, user: str) -> int:
    """Throw away everything derived for `user`; derive it again from the log and sent mail."""

    def write(c: sqlite3.Connection) -> int:
        c.execute("DELETE FROM memory_jobs WHERE user_id = ?", (user,))
        c.execute("DELETE FROM vectors WHERE user_id = ?", (user,))
        c.execute(
            "DELETE FROM memory_sources WHERE user_id = ? AND memory_id IN "
            "(SELECT id FROM memories WHERE user_id = ? AND origin = 'conversation')",
            (user, user),
        )
        # Facts the user stated or confirmed directly are not derived: they are kept.
        c.execute(
            "UPDATE memories SET superseded_by = NULL WHERE user_id = ? AND superseded_by IN "
            "(SELECT id FROM memories WHERE user_id = ? AND origin = 'conversation')",
            (user, user),
        )
        c.execute("DELETE FROM memories WHERE user_id = ? AND origin = 'conversation'", (user,))
        # Facts from sent mail are derived too: learned again below (forgotten ones stay so).
        maillearn.unlearn_all(c, user)
        now = datetime.now(UTC).isoformat()
        rows = c.execute(
            "SELECT id, role FROM messages WHERE user_id = ? AND role IN ('user', 'assistant') "
            "ORDER BY id",
            (user,),
        ).fetchall()
        for message_id, role in rows:
            kinds = ["extract", "embed"] if role == "user" else ["embed"]
            c.executemany(
                "INSERT INTO memory_jobs (user_id, message_id, kind, created_at) "
                "VALUES (?, ?, ?, ?)",
                [(user, message_id, k, now) for k in kinds],
            )
        return len(rows)

    count = await memory.store.write(write)
    memory.searcher.forget_cache(user)
    await memory.work(limit=10**9)
    await maillearn.learn_from_mail(memory.store, user, name=await memory._name(user))
    return count


async def consolidate(memory: Memory, user: str) -> dict[str, int]:
    """Merge duplicates, note follow-ups for plans, and record when it ran."""
    now = datetime.now(UTC)

    def write(c: sqlite3.Connection) -> dict[str, int]:
        merged = 0
        seen: dict[tuple[str, str], int] = {}
        for fact in factstore.facts(c, user, statuses=("active",)):
            key = (fact.slot or "", " ".join(fact.content.lower().split()))
            if key in seen:
                # Same fact twice: keep the first, move the sources onto it.
                for table in (
                    "memory_sources",
                    "memory_mail_sources",
                    "memory_mail_sources_pending",
                ):
                    c.execute(
                        f"UPDATE OR IGNORE {table} SET memory_id = ? WHERE memory_id = ?",
                        (seen[key], fact.id),
                    )
                factstore.forget_fact(c, user, fact.id)
                merged += 1
            else:
                seen[key] = fact.id
        followups = 0
        for fact in factstore.facts(c, user, statuses=("active",), kinds=("plan",)):
            slot = f"followup:{fact.id}"
            if (
                not fact.valid_from
                or c.execute(
                    "SELECT 1 FROM memories WHERE user_id = ? AND slot = ?", (user, slot)
                ).fetchone()
            ):
                continue
            note = factstore.Fact(
                kind="insight",
                slot=slot,
                content=f"Follow up after {spoken_date(fact.valid_from)}: {fact.content}",
                confidence=fact.confidence,
                importance=0.6,
                valid_from=fact.valid_from,
                valid_until=None,
            )
            factstore.add_fact(
                c, user, note, sources=list(fact.sources), recorded_at=now.isoformat(),
                origin="consolidation", extractor="consolidation",
            )  # fmt: skip
            followups += 1
        c.execute(
            "INSERT INTO memory_settings (user_id, paused, updated_at, consolidated_at) "
            "VALUES (?, 0, ?, ?) ON CONFLICT(user_id) DO UPDATE SET "
            "consolidated_at = excluded.consolidated_at",
            (user, now.isoformat(), now.isoformat()),
        )
        return {"merged": merged, "followups": followups}

    return await memory.store.write(write)


async def export(memory: Memory, user: str) -> dict[str, Any]:
    """Every fact (active, superseded, pending) with its sources, as JSON-ready data."""
    items = await memory.facts(user, include_superseded=True)
    return {
        "format": "os1-memory",
        "version": 1,
        "user": user,
        "facts": [asdict(f) for f in items],
    }
