"""The schema's history: an append-only list of named migrations, recorded as applied.

Never edit or reorder a migration that has shipped; add a new one. Each takes a
DB-API connection and runs plain SQL, so the same list can later serve
PostgreSQL. Every table that holds a user's data has a `user_id` column.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime

Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: list[Migration] = []


def migration(fn: Migration) -> Migration:
    MIGRATIONS.append(fn)
    return fn


@migration
def m001_users(db: sqlite3.Connection) -> None:
    db.execute(
        """CREATE TABLE users (
            id TEXT PRIMARY KEY,
            created_at TEXT NOT NULL
        )"""
    )


@migration
def m002_persona(db: sqlite3.Connection) -> None:
    # The interview's answers (profile) and the companion she became (persona), as JSON
    # documents: they change shape more often than they are queried.
    db.execute(
        """CREATE TABLE personas (
            user_id TEXT PRIMARY KEY REFERENCES users(id),
            persona TEXT NOT NULL,
            profile TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )"""
    )


@migration
def m003_conversations(db: sqlite3.Connection) -> None:
    db.execute(
        """CREATE TABLE conversations (
            id INTEGER PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id),
            started_at TEXT NOT NULL,
            front_door TEXT NOT NULL DEFAULT 'cli'
        )"""
    )
    db.execute(
        """CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id),
            conversation_id INTEGER NOT NULL REFERENCES conversations(id),
            role TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'system', 'tool')),
            content TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'complete'
                CHECK (status IN ('complete', 'interrupted', 'failed')),
            model TEXT,
            created_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX messages_user ON messages(user_id, id)")
    # Summaries of older turns: the turns themselves are kept, the summary stands in for
    # them in the prompt once they no longer fit the context window.
    db.execute(
        """CREATE TABLE summaries (
            id INTEGER PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id),
            through_message_id INTEGER NOT NULL REFERENCES messages(id),
            content TEXT NOT NULL,
            model TEXT,
            created_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX summaries_user ON summaries(user_id, through_message_id)")


@migration
def m004_actions(db: sqlite3.Connection) -> None:
    db.execute(
        """CREATE TABLE actions (
            id INTEGER PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id),
            tool TEXT NOT NULL,
            effect TEXT NOT NULL,
            arguments TEXT NOT NULL,
            summary TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN
                ('proposed', 'approved', 'declined', 'done', 'failed', 'undone')),
            requested_by TEXT NOT NULL,
            result TEXT,
            undo TEXT,
            error TEXT,
            created_at TEXT NOT NULL,
            decided_at TEXT,
            done_at TEXT,
            undone_at TEXT
        )"""
    )
    db.execute("CREATE INDEX actions_user ON actions(user_id, id)")


def apply_migrations(db: sqlite3.Connection) -> list[str]:
    """Apply what has not been applied yet, each in its own transaction; return their names."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS _os1_migrations (name TEXT PRIMARY KEY, applied_at TEXT)"
    )
    done = {row[0] for row in db.execute("SELECT name FROM _os1_migrations")}
    applied = []
    for fn in MIGRATIONS:
        if fn.__name__ in done:
            continue
        db.execute("BEGIN IMMEDIATE")
        try:
            fn(db)
            db.execute(
                "INSERT INTO _os1_migrations VALUES (?, ?)",
                (fn.__name__, datetime.now(UTC).isoformat()),
            )
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        applied.append(fn.__name__)
    return applied
