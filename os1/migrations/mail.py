"""Migrations for mail, contacts and letters, and the links from mail to memory."""

from __future__ import annotations

import sqlite3

from . import core, migration  # noqa: F401  (core's migrations come before these)


@migration
def m007_mail(db: sqlite3.Connection) -> None:
    # Accounts: where mail comes from and goes to. The password is never stored here:
    # `secret` says how to get it (a command to run, or the system keyring).
    db.execute(
        """CREATE TABLE mail_accounts (
            id INTEGER PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id),
            name TEXT NOT NULL,
            address TEXT NOT NULL,
            display_name TEXT NOT NULL DEFAULT '',
            imap_host TEXT, imap_port INTEGER, imap_security TEXT NOT NULL DEFAULT 'ssl',
            imap_username TEXT,
            smtp_host TEXT, smtp_port INTEGER, smtp_security TEXT NOT NULL DEFAULT 'starttls',
            smtp_username TEXT,
            secret TEXT NOT NULL DEFAULT '{}',
            folders TEXT NOT NULL DEFAULT '["INBOX"]',
            archive_folder TEXT NOT NULL DEFAULT 'Archive',
            created_at TEXT NOT NULL,
            UNIQUE (user_id, name)
        )"""
    )
    # Raw messages and attachments, stored once by content hash (per user: no sharing
    # of blobs across users, so one user's import can never reveal another's mail).
    db.execute(
        """CREATE TABLE mail_blobs (
            user_id TEXT NOT NULL REFERENCES users(id),
            hash TEXT NOT NULL,
            size INTEGER NOT NULL,
            data BLOB NOT NULL,
            PRIMARY KEY (user_id, hash)
        )"""
    )
    db.execute(
        """CREATE TABLE mail_messages (
            id INTEGER PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id),
            account TEXT,
            folder TEXT NOT NULL DEFAULT 'INBOX',
            raw_hash TEXT NOT NULL,
            message_id TEXT,
            in_reply_to TEXT,
            refs TEXT NOT NULL DEFAULT '[]',
            thread_id INTEGER,
            subject TEXT NOT NULL DEFAULT '',
            from_name TEXT NOT NULL DEFAULT '',
            from_addr TEXT NOT NULL DEFAULT '',
            to_addrs TEXT NOT NULL DEFAULT '[]',
            cc_addrs TEXT NOT NULL DEFAULT '[]',
            date TEXT,
            body TEXT NOT NULL DEFAULT '',
            quoted TEXT NOT NULL DEFAULT '',
            signature TEXT NOT NULL DEFAULT '',
            headers TEXT NOT NULL DEFAULT '{}',
            flags TEXT NOT NULL DEFAULT '',
            from_me INTEGER NOT NULL DEFAULT 0,
            category TEXT CHECK (category IN
                ('personal', 'work', 'transactional', 'newsletter', 'junk')),
            importance REAL,
            reason TEXT,
            triaged_by TEXT,
            status TEXT NOT NULL DEFAULT 'ok' CHECK (status IN ('ok', 'unparsed')),
            error TEXT,
            imported_at TEXT NOT NULL,
            UNIQUE (user_id, raw_hash)
        )"""
    )
    db.execute("CREATE INDEX mail_messages_date ON mail_messages(user_id, folder, date)")
    db.execute("CREATE INDEX mail_messages_msgid ON mail_messages(user_id, message_id)")
    db.execute("CREATE INDEX mail_messages_reply ON mail_messages(user_id, in_reply_to)")
    db.execute("CREATE INDEX mail_messages_thread ON mail_messages(user_id, thread_id)")
    db.execute("CREATE INDEX mail_messages_from ON mail_messages(user_id, from_addr)")
    cols = "subject, from_name, from_addr, body"
    db.execute(
        f"CREATE VIRTUAL TABLE mail_fts USING fts5({cols}, content='mail_messages', "
        "content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')"
    )
    new_values = "new.subject, new.from_name, new.from_addr, new.body"
    old_values = "old.subject, old.from_name, old.from_addr, old.body"
    db.execute(
        "CREATE TRIGGER mail_fts_insert AFTER INSERT ON mail_messages BEGIN "
        f"INSERT INTO mail_fts(rowid, {cols}) VALUES (new.id, {new_values}); END"
    )
    db.execute(
        "CREATE TRIGGER mail_fts_delete AFTER DELETE ON mail_messages BEGIN "
        f"INSERT INTO mail_fts(mail_fts, rowid, {cols}) "
        f"VALUES ('delete', old.id, {old_values}); END"
    )
    db.execute(
        "CREATE TRIGGER mail_fts_update AFTER UPDATE OF subject, from_name, from_addr, body "
        "ON mail_messages BEGIN "
        f"INSERT INTO mail_fts(mail_fts, rowid, {cols}) "
        f"VALUES ('delete', old.id, {old_values}); "
        f"INSERT INTO mail_fts(rowid, {cols}) VALUES (new.id, {new_values}); END"
    )
    db.execute(
        """CREATE TABLE mail_attachments (
            id INTEGER PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id),
            message_id INTEGER NOT NULL REFERENCES mail_messages(id) ON DELETE CASCADE,
            filename TEXT NOT NULL DEFAULT '',
            content_type TEXT NOT NULL,
            size INTEGER NOT NULL,
            hash TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX mail_attachments_message ON mail_attachments(message_id)")
    db.execute(
        """CREATE TABLE mail_vectors (
            message_id INTEGER NOT NULL REFERENCES mail_messages(id) ON DELETE CASCADE,
            user_id TEXT NOT NULL REFERENCES users(id),
            model TEXT NOT NULL,
            vector BLOB NOT NULL,
            PRIMARY KEY (message_id, model)
        )"""
    )
    db.execute("CREATE INDEX mail_vectors_user ON mail_vectors(user_id, model)")
    # IMAP: which server UID is which stored message, per folder and UIDVALIDITY.
    db.execute(
        """CREATE TABLE mail_imap_uids (
            user_id TEXT NOT NULL REFERENCES users(id),
            account TEXT NOT NULL,
            folder TEXT NOT NULL,
            uidvalidity INTEGER NOT NULL,
            uid INTEGER NOT NULL,
            message_id INTEGER NOT NULL REFERENCES mail_messages(id) ON DELETE CASCADE,
            flags TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (user_id, account, folder, uid)
        )"""
    )
    db.execute("CREATE INDEX mail_imap_uids_message ON mail_imap_uids(message_id)")
    db.execute(
        """CREATE TABLE mail_imap_state (
            user_id TEXT NOT NULL REFERENCES users(id),
            account TEXT NOT NULL,
            folder TEXT NOT NULL,
            uidvalidity INTEGER NOT NULL,
            last_uid INTEGER NOT NULL DEFAULT 0,
            synced_at TEXT,
            PRIMARY KEY (user_id, account, folder)
        )"""
    )
    # Local changes (flags, moves) waiting to be written back to the server.
    db.execute(
        """CREATE TABLE mail_pending (
            id INTEGER PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id),
            account TEXT NOT NULL,
            message_id INTEGER NOT NULL,
            op TEXT NOT NULL CHECK (op IN ('move', 'flags')),
            args TEXT NOT NULL,
            created_at TEXT NOT NULL
        )"""
    )
    db.execute(
        """CREATE TABLE mail_imports (
            user_id TEXT NOT NULL REFERENCES users(id),
            source TEXT NOT NULL,
            kind TEXT NOT NULL,
            position INTEGER NOT NULL DEFAULT 0,
            added INTEGER NOT NULL DEFAULT 0,
            done INTEGER NOT NULL DEFAULT 0,
            started_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (user_id, source)
        )"""
    )
    db.execute(
        """CREATE TABLE mail_drafts (
            id INTEGER PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id),
            account TEXT,
            reply_to INTEGER REFERENCES mail_messages(id) ON DELETE SET NULL,
            to_addrs TEXT NOT NULL DEFAULT '[]',
            cc_addrs TEXT NOT NULL DEFAULT '[]',
            subject TEXT NOT NULL DEFAULT '',
            body TEXT NOT NULL DEFAULT '',
            attachments TEXT NOT NULL DEFAULT '[]',
            status TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'sent', 'discarded')),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            sent_at TEXT
        )"""
    )


@migration
def m008_people(db: sqlite3.Connection) -> None:
    # The people of the user's life, from address books, mail and memory.
    db.execute(
        """CREATE TABLE people (
            id INTEGER PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id),
            name TEXT NOT NULL,
            emails TEXT NOT NULL DEFAULT '[]',
            phones TEXT NOT NULL DEFAULT '[]',
            org TEXT NOT NULL DEFAULT '',
            note TEXT NOT NULL DEFAULT '',
            relation TEXT NOT NULL DEFAULT '',
            sources TEXT NOT NULL DEFAULT '[]',
            uid TEXT,
            vcard TEXT,
            merged_into INTEGER REFERENCES people(id),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX people_user ON people(user_id, name)")
    db.execute(
        """CREATE TABLE people_emails (
            user_id TEXT NOT NULL REFERENCES users(id),
            email TEXT NOT NULL,
            person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
            PRIMARY KEY (user_id, email)
        )"""
    )
    db.execute(
        """CREATE TABLE contact_sources (
            user_id TEXT NOT NULL REFERENCES users(id),
            url TEXT NOT NULL,
            sync_token TEXT,
            etags TEXT NOT NULL DEFAULT '{}',
            synced_at TEXT,
            PRIMARY KEY (user_id, url)
        )"""
    )


@migration
def m009_letters(db: sqlite3.Connection) -> None:
    # The letter studio: personal letters, per recipient, with their versions.
    db.execute(
        """CREATE TABLE letters (
            id INTEGER PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id),
            recipient TEXT NOT NULL,
            person_id INTEGER REFERENCES people(id) ON DELETE SET NULL,
            written_for TEXT,
            title TEXT NOT NULL DEFAULT '',
            body TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'final')),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX letters_user ON letters(user_id, recipient)")
    db.execute(
        """CREATE TABLE letter_versions (
            id INTEGER PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id),
            letter_id INTEGER NOT NULL REFERENCES letters(id) ON DELETE CASCADE,
            body TEXT NOT NULL,
            created_at TEXT NOT NULL
        )"""
    )


@migration
def m010_contact_problems(db: sqlite3.Connection) -> None:
    # Cards that could not be read (from a file or a CardDAV server), kept raw so nothing
    # is lost, until the same source yields a readable card or the user clears them.
    db.execute(
        """CREATE TABLE contact_problems (
            id INTEGER PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id),
            source TEXT NOT NULL,
            raw_hash TEXT NOT NULL,
            raw TEXT NOT NULL,
            error TEXT NOT NULL,
            created_at TEXT NOT NULL,
            UNIQUE (user_id, source, raw_hash)
        )"""
    )


@migration
def m011_memory_mail_sources(db: sqlite3.Connection) -> None:
    # Facts learned from the user's sent mail point at the mail they came from, as
    # conversation facts point at messages (`memory_sources`).
    db.execute(
        """CREATE TABLE memory_mail_sources (
            memory_id INTEGER NOT NULL REFERENCES memories(id) ON DELETE CASCADE,
            mail_id INTEGER NOT NULL REFERENCES mail_messages(id) ON DELETE CASCADE,
            user_id TEXT NOT NULL REFERENCES users(id),
            PRIMARY KEY (memory_id, mail_id)
        )"""
    )
    db.execute("CREATE INDEX memory_mail_sources_mail ON memory_mail_sources(mail_id)")
    # Which mail has been learned from (learned_at NULL: learn it again, after a rebuild),
    # and the slots of facts from it the user told her to forget, never to be taught again.
    db.execute(
        """CREATE TABLE memory_mail_learned (
            mail_id INTEGER PRIMARY KEY REFERENCES mail_messages(id) ON DELETE CASCADE,
            user_id TEXT NOT NULL REFERENCES users(id),
            learned_at TEXT,
            forgotten TEXT NOT NULL DEFAULT '[]'
        )"""
    )
    db.execute("CREATE INDEX memory_mail_learned_user ON memory_mail_learned(user_id, learned_at)")


@migration
def m012_draft_reply_message_id(db: sqlite3.Connection) -> None:
    # A draft restored from an export (`os1 import`) may answer a mail that is not stored
    # yet: mail travels separately, as an mbox. Keep that mail's Message-ID, and link the
    # draft to the mail as soon as it is stored, however it arrives (mbox import, IMAP sync).
    db.execute("ALTER TABLE mail_drafts ADD COLUMN reply_to_message_id TEXT")
    db.execute(
        "CREATE INDEX mail_drafts_reply_pending ON mail_drafts(user_id, reply_to_message_id) "
        "WHERE reply_to_message_id IS NOT NULL"
    )
    db.execute(
        "CREATE TRIGGER mail_drafts_relink AFTER INSERT ON mail_messages "
        "WHEN new.message_id IS NOT NULL BEGIN "
        "UPDATE mail_drafts SET reply_to = new.id, reply_to_message_id = NULL "
        "WHERE user_id = new.user_id AND reply_to_message_id = new.message_id "
        "AND reply_to IS NULL; END"
    )


@migration
def m013_memory_mail_pending(db: sqlite3.Connection) -> None:
    # An export restored before its mail (`os1 import`, then `os1 mail import` of the mbox)
    # names mail that is not stored yet: which mail was learned from, the facts the user
    # told her to forget from it, and which facts came from it. Keep them by the mail's
    # raw hash (exact: the mbox keeps the bytes) and Message-ID (a copy of the same mail),
    # and apply them the moment the mail is stored, before it can teach anything again.
    db.execute(
        """CREATE TABLE memory_mail_learned_pending (
            id INTEGER PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id),
            raw_hash TEXT,
            message_id TEXT,
            learned_at TEXT,
            forgotten TEXT NOT NULL DEFAULT '[]',
            CHECK (raw_hash IS NOT NULL OR message_id IS NOT NULL)
        )"""
    )
    db.execute(
        """CREATE TABLE memory_mail_sources_pending (
            id INTEGER PRIMARY KEY,
            memory_id INTEGER NOT NULL REFERENCES memories(id) ON DELETE CASCADE,
            user_id TEXT NOT NULL REFERENCES users(id),
            raw_hash TEXT,
            message_id TEXT,
            CHECK (raw_hash IS NOT NULL OR message_id IS NOT NULL)
        )"""
    )
    for table in ("memory_mail_learned_pending", "memory_mail_sources_pending"):
        db.execute(f"CREATE INDEX {table}_hash ON {table}(user_id, raw_hash)")
        db.execute(f"CREATE INDEX {table}_msgid ON {table}(user_id, message_id)")
    db.execute(
        "CREATE INDEX memory_mail_sources_pending_memory ON memory_mail_sources_pending(memory_id)"
    )
    match = "user_id = new.user_id AND (raw_hash = new.raw_hash OR message_id = new.message_id)"
    # Matched by hash: that mail has come, the marker is done. Matched only by Message-ID
    # (another copy, or bytes that changed on the way): it stays for the exact mail too.
    db.execute(
        "CREATE TRIGGER memory_mail_relink AFTER INSERT ON mail_messages BEGIN "
        "INSERT OR IGNORE INTO memory_mail_sources (memory_id, mail_id, user_id) "
        f"SELECT memory_id, new.id, new.user_id FROM memory_mail_sources_pending WHERE {match}; "
        "INSERT INTO memory_mail_learned (mail_id, user_id, learned_at) "
        "SELECT new.id, new.user_id, max(learned_at) FROM memory_mail_learned_pending "
        f"WHERE {match} GROUP BY user_id "
        "ON CONFLICT(mail_id) DO UPDATE SET learned_at = coalesce(learned_at, "
        "excluded.learned_at); "
        "UPDATE memory_mail_learned SET forgotten = (SELECT json_group_array(value) FROM ("
        "SELECT value FROM json_each(memory_mail_learned.forgotten) UNION "
        "SELECT f.value FROM memory_mail_learned_pending p, json_each(p.forgotten) f "
        "WHERE p.user_id = new.user_id AND (p.raw_hash = new.raw_hash "
        "OR p.message_id = new.message_id))) "
        "WHERE mail_id = new.id AND user_id = new.user_id; "
        "DELETE FROM memory_mail_sources_pending "
        "WHERE user_id = new.user_id AND raw_hash = new.raw_hash; "
        "DELETE FROM memory_mail_learned_pending "
        "WHERE user_id = new.user_id AND raw_hash = new.raw_hash; END"
    )


@migration
def m014_mail_appends(db: sqlite3.Connection) -> None:
    # Sent mail waiting to be uploaded (APPEND) to the IMAP server, so the user's other
    # mail programs show it too. Not in mail_pending: SQLite cannot widen its CHECK on op.
    # `folder` NULL: the account's Sent folder, found on the server at sync time.
    db.execute(
        """CREATE TABLE mail_appends (
            id INTEGER PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id),
            account TEXT NOT NULL,
            mail_id INTEGER NOT NULL REFERENCES mail_messages(id) ON DELETE CASCADE,
            folder TEXT,
            created_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX mail_appends_account ON mail_appends(user_id, account)")
    db.execute("CREATE INDEX mail_appends_mail ON mail_appends(mail_id)")
