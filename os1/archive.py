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

from . import archive_records as records
from .archive_records import ArchiveError
from .calendar import archive as calarchive
from .memory import facts as factstore
from .store import Store

__all__ = ["FORMAT", "VERSION", "ArchiveError", "check_archive", "export_user", "import_user"]

FORMAT = "os1-export"
VERSION = 3
"""2 added "memories" (facts with sources); 3 added people, letters, mail drafts and
accounts, and address-book state, and later (optional keys, so still 3) what was learned
from mail ("mail_learned", memories' "mail_source_keys") and calendars ("calendars",
"calendar_objects", "calendar_problems", "scheduler_settings", "notifications").
Version-1 and -2 files still import."""

# What a user who is "already here" has: import never merges into any of it.
_ALREADY = {
    "conversations": "conversations", "messages": "messages", "personas": "a persona",
    "actions": "actions", "memories": "memories", "people": "people", "letters": "letters",
    "mail_messages": "mail", "mail_drafts": "mail drafts", "mail_accounts": "mail accounts",
    "contact_problems": "unreadable cards", "contact_sources": "address books",
    "calendars": "calendars",
}  # fmt: skip


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
        memories = []
        mail_keys = records.memory_mail_keys(c, user)
        for f in factstore.facts(c, user, statuses=("active", "superseded", "pending")):
            m = asdict(f)
            # Mail travels as an mbox, where row ids mean nothing: name it by its raw hash
            # and Message-ID (and, as files before the keys did, by Message-ID alone).
            keys = mail_keys.get(f.id, [])
            m["mail_sources"] = list(dict.fromkeys(mid for _, mid in keys if mid))
            m["mail_source_keys"] = [{"raw_hash": h, "message_id": mid} for h, mid in keys]
            memories.append(m)
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
            "memories": memories,
            "mail_learned": records.export_mail_learned(c, user),
            **records.export_records(c, user),
            **calarchive.export_calendar(c, user),
        }

    return await store.read(read)


def check_archive(data: Any) -> dict[str, Any]:
    """The archive, or an `ArchiveError` saying plainly why it can't be read."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ArchiveError('this is not an OS1 export file (no "format": "os1-export")')
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ArchiveError(f"this export has no valid version ({version!r})")
    if version > VERSION:
        raise ArchiveError(
            f"this export is version {version!r}; this OS1 reads up to version {VERSION}. "
            "Upgrade OS1 to import it."
        )
    for key in ("user", "conversations", "summaries", "actions"):
        if key not in data:
            raise ArchiveError(f"the export has no {key!r}")
    if not isinstance(data["user"], str) or not data["user"]:
        raise ArchiveError(f"the export's user should be a name, not {data['user']!r}")
    for key in ("persona", "profile"):
        if not isinstance(data.get(key), dict | None):
            raise ArchiveError(f"the export's {key} should be an object or null")
    for i, conv in enumerate(records.check_rows(data["conversations"], "conversations",
                                                records.CONVERSATION)):  # fmt: skip
        records.check_rows(conv.get("messages", []), f"conversations[{i}].messages",
                           records.MESSAGE)  # fmt: skip
    records.check_rows(data["summaries"], "summaries", records.SUMMARY)
    records.check_rows(data["actions"], "actions", records.ACTION)
    records.check_rows(data.get("memories") or [], "memories", records.MEMORY)
    records.check_mail_links(data)
    if version >= 3:
        records.check_records(data)
        calarchive.check(data)
    return data


async def import_user(
    store: Store, data: Any, user: str | None = None, *, timezone: str = "UTC"
) -> dict[str, int]:
    """Restore an export as `user` (default: the user it was exported from), in one transaction.

    Refuses when that user already has data here: importing merges nothing and
    overwrites nothing. Every row gets a new id and `user`; ids in the file only link
    its rows to each other. Mail is not in the file (see `os1.mail.export`). `timezone`
    reads floating calendar times when the file's settings name no zone.
    """
    data = check_archive(data)
    user = user or data["user"]
    now = datetime.now(UTC).isoformat()

    def write(c: sqlite3.Connection) -> dict[str, int]:
        for table, what in _ALREADY.items():
            if c.execute(f"SELECT 1 FROM {table} WHERE user_id = ? LIMIT 1", (user,)).fetchone():
                raise ArchiveError(
                    f"{user} already has {what} in this home; import only into an empty home "
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
            # Kept as history, but not undoable here: undo data names rows by the ids of the
            # home it came from, which are other rows (or another letter) in this one.
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
                    None,
                    a.get("error"),
                    a["created_at"],
                    a.get("decided_at"),
                    a.get("done_at"),
                    a.get("undone_at"),
                ),
            )
        fact_ids = _import_memories(c, user, data.get("memories") or [], new_ids)
        records.import_mail_links(c, user, data, fact_ids)
        # Vectors are derived: queue them to be made again from the imported messages.
        c.executemany(
            "INSERT INTO memory_jobs (user_id, message_id, kind, created_at) "
            "VALUES (?, ?, 'embed', ?)",
            [(user, new_id, now) for new_id in new_ids.values()],
        )
        return {
            "conversations": len(data["conversations"]),
            "memories": len(data.get("memories") or []),
            "messages": count,
            "summaries": len(data["summaries"]),
            "actions": len(data["actions"]),
            **records.import_records(c, user, data),
            **calarchive.import_calendar(c, user, data, timezone),
        }

    try:
        return await store.write(write)
    except (KeyError, TypeError) as e:
        raise ArchiveError(f"the export is missing or has a malformed field: {e}") from e
    except sqlite3.IntegrityError as e:  # e.g. two mail accounts with one name
        raise ArchiveError(f"the export does not fit together: {e}") from e


def _import_memories(
    c: sqlite3.Connection, user: str, memories: list[dict[str, Any]], new_ids: dict[int, int]
) -> dict[int, int]:
    """Insert exported facts with their links (sources, superseded_by) mapped to new ids;
    returns the new id of each fact by its id in the file."""
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
    return fact_ids
