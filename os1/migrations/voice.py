"""Migrations of voice: each user's say over how she listens and speaks, and sign-in tokens."""

from __future__ import annotations

import sqlite3

from . import calendar, migration  # noqa: F401  (calendar's migrations come before these)


@migration
def m017_voice_settings(db: sqlite3.Connection) -> None:
    # Per user: expressiveness, earpiece or speaker, push-to-talk (one JSON document).
    db.execute(
        """CREATE TABLE voice_settings (
            user_id TEXT PRIMARY KEY REFERENCES users(id),
            settings TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )"""
    )


@migration
def m018_access_tokens(db: sqlite3.Connection) -> None:
    # Sign-in for servers of this home (the voice WebSocket): only a hash of each token is
    # kept; revoked ones stay listed, with when.
    db.execute(
        """CREATE TABLE access_tokens (
            id INTEGER PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id),
            name TEXT NOT NULL DEFAULT '',
            token_hash TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            last_used_at TEXT,
            revoked_at TEXT
        )"""
    )
    db.execute("CREATE INDEX access_tokens_user ON access_tokens(user_id)")
