"""Export and import: a user's whole companion as one documented, versioned JSON file.

The companion can never be lost to an upgrade or a vendor. The format is
described in docs/export-format.md; `version` changes only when a reader of an
older version could misread the file.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from .memory import facts as factstore
from .store import Store

FORMAT = "os1-export"
VERSION = 2
"""2 added "memories" (facts with sources); version-1 files still import."""


class ArchiveError(Exception):
    """The file cannot be imported (wrong format, newer version, home not empty)."""


def _rows(c: sqlite3.Connection, sql: str, *params: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in c.execute(sql, params).fetchall()]


async def export_user(store: Store, user: str) -> dict[str, Any]:
    """Everything stored for `user`, as a JSON-ready dict."""

    def read(c: sqlite3.Connection) -> dict[str, Any]:
        persona = c.execute(
            "SELECT persona, profile FROM personas WHERE user_id = ?", (user,)
        ).fetchone()
        conversations = _rows(
            c,
            "SELECT id, started_at, front_door FROM conversations WHERE user_id = ? ORDER BY id",
            user,
        )
        messages = _rows(
            c,
            "SELECT id, conversation_id, role, content, status, model, created_at "
            "FROM messages WHERE user_id = ? ORDER BY id",
            user,
        )
        by_conversation: dict[int, list[dict[str, Any]]] = {}
        for m in messages:
            by_conversation.setdefault(m.pop("conversation_id"), []).append(m)
        for conv in conversations:
            conv["messages"] = by_conversation.get(conv["id"], [])
        actions = _rows(c, "SELECT * FROM actions WHERE user_id = ? ORDER BY id", user)
        for a in actions:
            a.pop("user_id")
            a["arguments"] = json.loads(a["arguments"])
            a["undo"] = json.loads(a["undo"]) if a["undo"] else None
        return {
            "format": FORMAT,
            "version": VERSION,
            "exported_at": datetime.now(UTC).isoformat(),
            "user": user,
            "persona": json.loads(persona["persona"]) if persona else None,
            "profile": json.loads(persona["profile"]) if persona else None,
            "conversations": conversations,
            "summaries": _rows(
                c,
                "SELECT through_message_id, content, model, created_at FROM summaries "
                "WHERE user_id = ? ORDER BY id",
                user,
            ),
            "actions": actions,
            "memories": [
                asdict(f)
                for f in factstore.facts(c, user, statuses=("active", "superseded", "pending"))
            ],
        }

    return await store.read(read)


def check_archive(data: Any) -> dict[str, Any]:
    """The archive, or an `ArchiveError` saying plainly why it can't be read."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ArchiveError('this is not an OS1 export file (no "format": "os1-export")')
    version = data.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise ArchiveError(
            f"this export is version {version!r}; this OS1 reads up to version {VERSION}. "
            "Upgrade OS1 to import it."
        )
    for key in ("user", "conversations", "summaries", "actions"):
        if key not in data:
            raise ArchiveError(f"the export has no {key!r}")
    return data


async def import_user(store: Store, data: Any, user: str | None = None) -> dict[str, int]:
    """Restore an export as `user` (default: the user it was exported from), in one transaction.

    Refuses when that user already has data here: importing merges nothing and
    overwrites nothing.
    """
    data = check_archive(data)
    user = user or data["user"]
    now = datetime.now(UTC).isoformat()

    def write(c: sqlite3.Connection) -> dict[str, int]:
        for table in ("messages", "personas", "actions"):
            if c.execute(f"SELECT 1 FROM {table} WHERE user_id = ? LIMIT 1", (user,)).fetchone():
                raise ArchiveError(
                    f"{user} already has {table} in this home; import only into an empty home "
                    "(set OS1_HOME to a new folder) or as another user (--user)."
                )
        c.execute("INSERT OR IGNORE INTO users (id, created_at) VALUES (?, ?)", (user, now))
        if data.get("persona") is not None:
            c.execute(
                "INSERT INTO personas VALUES (?, ?, ?, ?, ?)",
                (
                    user,
                    json.dumps(data["persona"]),
                    json.dumps(data.get("profile") or {}),
                    now,
                    now,
                ),
            )
        new_ids: dict[int, int] = {}
        count = 0
        for conv in data["conversations"]:
            cid = c.execute(
                "INSERT INTO conversations (user_id, started_at, front_door) VALUES (?, ?, ?)",
                (user, conv["started_at"], conv.get("front_door", "cli")),
            ).lastrowid
            for m in conv.get("messages", []):
                new_ids[m["id"]] = (
                    c.execute(
                        "INSERT INTO messages (user_id, conversation_id, role, content, status, "
                        "model, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (
                            user,
                            cid,
                            m["role"],
                            m["content"],
                            m.get("status", "complete"),
                            m.get("model"),
                            m["created_at"],
                        ),
                    ).lastrowid
                    or 0
                )
                count += 1
        for s in data["summaries"]:
            if s["through_message_id"] in new_ids:
                c.execute(
                    "INSERT INTO summaries (user_id, through_message_id, content, model, "
                    "created_at) VALUES (?, ?, ?, ?, ?)",
                    (
                        user,
                        new_ids[s["through_message_id"]],
                        s["content"],
                        s.get("model"),
                        s["created_at"],
                    ),
                )
        for a in data["actions"]:
            c.execute(
                "INSERT INTO actions (user_id, tool, effect, arguments, summary, status, "
                "requested_by, result, undo, error, created_at, decided_at, done_at, undone_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    user,
                    a["tool"],
                    a["effect"],
                    json.dumps(a["arguments"]),
                    a["summary"],
                    a["status"],
                    a["requested_by"],
                    a.get("result"),
                    json.dumps(a["undo"]) if a.get("undo") is not None else None,
                    a.get("error"),
                    a["created_at"],
                    a.get("decided_at"),
                    a.get("done_at"),
                    a.get("undone_at"),
                ),
            )
        facts = _import_memories(c, user, data.get("memories") or [], new_ids)
        # Vectors are derived: queue them to be made again from the imported messages.
        c.executemany(
            "INSERT INTO memory_jobs (user_id, message_id, kind, created_at) "
            "VALUES (?, ?, 'embed', ?)",
            [(user, new_id, now) for new_id in new_ids.values()],
        )
        return {
            "conversations": len(data["conversations"]),
            "memories": facts,
            "messages": count,
            "summaries": len(data["summaries"]),
            "actions": len(data["actions"]),
        }

    try:
        return await store.write(write)
    except (KeyError, TypeError) as e:
        raise ArchiveError(f"the export is missing or has a malformed field: {e}") from e


def _import_memories(
    c: sqlite3.Connection, user: str, memories: list[dict[str, Any]], new_ids: dict[int, int]
) -> int:
    """Insert exported facts with their links (sources, superseded_by) mapped to new ids."""
    fact_ids: dict[int, int] = {}
    for m in memories:
        fact_ids[m["id"]] = (
            c.execute(
                "INSERT INTO memories (user_id, kind, slot, content, confidence, importance, "
                "origin, status, recorded_at, valid_from, valid_until, extractor) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (user, m["kind"], m.get("slot"), m["content"], m.get("confidence", 0.5),
                 m.get("importance", 0.5), m.get("origin", "conversation"),
                 m.get("status", "active"), m["recorded_at"], m.get("valid_from"),
                 m.get("valid_until"), m.get("extractor")),
            ).lastrowid
            or 0
        )  # fmt: skip
        for source in m.get("sources", []):
            if source in new_ids:
                c.execute(
                    "INSERT INTO memory_sources (memory_id, message_id, user_id) VALUES (?, ?, ?)",
                    (fact_ids[m["id"]], new_ids[source], user),
                )
    for m in memories:
        if m.get("superseded_by") in fact_ids:
            c.execute(
                "UPDATE memories SET superseded_by = ? WHERE id = ?",
                (fact_ids[m["superseded_by"]], fact_ids[m["id"]]),
            )
    return len(memories)
