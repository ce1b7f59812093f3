"""The schema's history: an append-only list of named migrations, recorded as applied.

Never edit or reorder a migration that has shipped; add a new one at the end. The
migrations live in `core` (the companion and memory), `mail` (mail, people, letters,
and what mail teaches memory), `calendar` (events, reminders, the scheduler) and `voice`
(how she listens and speaks); this
module holds the list and applies it. Each takes a DB-API connection and runs plain
SQL, so the same list can later serve PostgreSQL. Every table that holds a user's data
has a `user_id` column.
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


# The list is built in import order: core, mail, calendar, then voice. New migrations go at
# the end of the last module (or a new module imported after it), never in between.
from . import calendar, core, mail, voice  # noqa: E402, F401  (each imports the one before it)
