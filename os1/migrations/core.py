"""Migrations of the companion itself: users, persona, conversations, actions, memory."""

from __future__ import annotations

import sqlite3

from . import migration


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


@migration
def m005_memory(db: sqlite3.Connection) -> None:
    # Turn-level search over the immutable conversation log (the ground truth).
    db.execute(
        "CREATE VIRTUAL TABLE messages_fts USING fts5(content, content='messages', "
        "content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')"
    )
    db.execute(
        "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN "
        "INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content); END"
    )
    db.execute(
        "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN "
        "INSERT INTO messages_fts(messages_fts, rowid, content) "
        "VALUES ('delete', old.id, old.content); END"
    )
    db.execute(
        "CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN "
        "INSERT INTO messages_fts(messages_fts, rowid, content) "
        "VALUES ('delete', old.id, old.content); "
        "INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content); END"
    )
    db.execute("INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')")
    # Facts derived from the log: typed, timed, with provenance. A newer fact about the
    # same slot supersedes an older one (kept, marked, linked) instead of replacing it.
    db.execute(
        """CREATE TABLE memories (
            id INTEGER PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id),
            kind TEXT NOT NULL CHECK (kind IN
                ('event', 'state', 'preference', 'relationship', 'plan', 'identity', 'insight')),
            slot TEXT,
            content TEXT NOT NULL,
            confidence REAL NOT NULL DEFAULT 0.5,
            importance REAL NOT NULL DEFAULT 0.5,
            origin TEXT NOT NULL DEFAULT 'conversation' CHECK (origin IN
                ('conversation', 'user', 'document', 'mail', 'consolidation')),
            status TEXT NOT NULL DEFAULT 'active' CHECK (status IN
                ('active', 'superseded', 'pending')),
            recorded_at TEXT NOT NULL,
            valid_from TEXT,
            valid_until TEXT,
            superseded_by INTEGER REFERENCES memories(id),
            extractor TEXT
        )"""
    )
    db.execute("CREATE INDEX memories_user ON memories(user_id, status, slot)")
    db.execute(
        """CREATE TABLE memory_sources (
            memory_id INTEGER NOT NULL REFERENCES memories(id) ON DELETE CASCADE,
            message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
            user_id TEXT NOT NULL REFERENCES users(id),
            PRIMARY KEY (memory_id, message_id)
        )"""
    )
    db.execute("CREATE INDEX memory_sources_message ON memory_sources(message_id)")
    db.execute(
        "CREATE VIRTUAL TABLE memories_fts USING fts5(content, content='memories', "
        "content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')"
    )
    db.execute(
        "CREATE TRIGGER memories_fts_insert AFTER INSERT ON memories BEGIN "
        "INSERT INTO memories_fts(rowid, content) VALUES (new.id, new.content); END"
    )
    db.execute(
        "CREATE TRIGGER memories_fts_delete AFTER DELETE ON memories BEGIN "
        "INSERT INTO memories_fts(memories_fts, rowid, content) "
        "VALUES ('delete', old.id, old.content); END"
    )
    db.execute(
        "CREATE TRIGGER memories_fts_update AFTER UPDATE OF content ON memories BEGIN "
        "INSERT INTO memories_fts(memories_fts, rowid, content) "
        "VALUES ('delete', old.id, old.content); "
        "INSERT INTO memories_fts(rowid, content) VALUES (new.id, new.content); END"
    )
    # Dense vectors for messages and memories, float32 little-endian, one model per row.
    db.execute(
        """CREATE TABLE vectors (
            kind TEXT NOT NULL CHECK (kind IN ('message', 'memory')),
            item_id INTEGER NOT NULL,
            user_id TEXT NOT NULL REFERENCES users(id),
            model TEXT NOT NULL,
            vector BLOB NOT NULL,
            PRIMARY KEY (kind, item_id, model)
        )"""
    )
    db.execute("CREATE INDEX vectors_user ON vectors(user_id, kind, model)")
    # Work done off the reply's hot path (extraction, embedding), retried, never silent.
    db.execute(
        """CREATE TABLE memory_jobs (
            id INTEGER PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id),
            message_id INTEGER REFERENCES messages(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'done', 'failed')),
            attempts INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT
        )"""
    )
    db.execute("CREATE INDEX memory_jobs_pending ON memory_jobs(status, user_id)")
    db.execute(
        """CREATE TABLE memory_settings (
            user_id TEXT PRIMARY KEY REFERENCES users(id),
            paused INTEGER NOT NULL DEFAULT 0,
            updated_at TEXT NOT NULL
        )"""
    )


@migration
def m006_consolidation(db: sqlite3.Connection) -> None:
    db.execute("ALTER TABLE memory_settings ADD COLUMN consolidated_at TEXT")
