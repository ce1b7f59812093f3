"""Migrations of time: calendars, events and reminders (RFC 5545), and the scheduler's queue."""

from __future__ import annotations

import sqlite3

from . import mail, migration  # noqa: F401  (mail's migrations come before these)


@migration
def m015_calendar(db: sqlite3.Connection) -> None:
    # A calendar is local, or mirrors a CalDAV collection (`url`). The password is never
    # stored: `password_command` is run when it is needed.
    db.execute(
        """CREATE TABLE calendars (
            id INTEGER PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id),
            name TEXT NOT NULL,
            url TEXT,
            username TEXT,
            password_command TEXT,
            sync_token TEXT,
            ctag TEXT,
            color TEXT,
            read_only INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            synced_at TEXT,
            UNIQUE (user_id, name)
        )"""
    )
    # One row per iCalendar object resource: every component sharing a UID (the master,
    # its overridden instances) with the time zones they use, kept whole in `ics` so
    # nothing the file said is lost. The other columns are an index for the agenda:
    # `starts_at` is the first occurrence, `ends_at` the end of the last one (NULL: it
    # recurs forever), both UTC. `dirty` marks a change not yet on the CalDAV server;
    # `deleted_at` a deletion not yet done there.
    db.execute(
        """CREATE TABLE cal_objects (
            id INTEGER PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id),
            calendar_id INTEGER NOT NULL REFERENCES calendars(id) ON DELETE CASCADE,
            uid TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('event', 'todo')),
            ics TEXT NOT NULL,
            summary TEXT NOT NULL DEFAULT '',
            location TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT '',
            starts_at TEXT,
            ends_at TEXT,
            all_day INTEGER NOT NULL DEFAULT 0,
            recurring INTEGER NOT NULL DEFAULT 0,
            has_alarms INTEGER NOT NULL DEFAULT 0,
            origin TEXT NOT NULL,
            href TEXT,
            etag TEXT,
            dirty INTEGER NOT NULL DEFAULT 0,
            deleted_at TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            UNIQUE (user_id, calendar_id, uid)
        )"""
    )
    db.execute("CREATE INDEX cal_objects_window ON cal_objects(user_id, starts_at, ends_at)")
    db.execute("CREATE INDEX cal_objects_uid ON cal_objects(user_id, uid)")
    # What could not be read (a broken file, a component without a start), kept raw.
    db.execute(
        """CREATE TABLE cal_problems (
            id INTEGER PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id),
            source TEXT NOT NULL,
            error TEXT NOT NULL,
            raw TEXT NOT NULL,
            created_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX cal_problems_user ON cal_problems(user_id)")
    # Invitations found in mail (text/calendar parts): each becomes one proposal.
    db.execute(
        """CREATE TABLE cal_invitations (
            id INTEGER PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id),
            mail_id INTEGER NOT NULL REFERENCES mail_messages(id) ON DELETE CASCADE,
            uid TEXT NOT NULL,
            method TEXT NOT NULL DEFAULT '',
            sequence INTEGER NOT NULL DEFAULT 0,
            action_id INTEGER,
            created_at TEXT NOT NULL,
            UNIQUE (user_id, mail_id, uid)
        )"""
    )


@migration
def m016_scheduler(db: sqlite3.Connection) -> None:
    # The queue: the next time each alarm (of a reminder or an event) fires. `occurrence`
    # is the start of the occurrence it belongs to; `alarm` tells alarms of one object
    # apart. Rows are rewritten as occurrences fire; 100,000 of them are one index scan.
    db.execute(
        """CREATE TABLE schedule (
            id INTEGER PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id),
            object_id INTEGER NOT NULL REFERENCES cal_objects(id) ON DELETE CASCADE,
            alarm TEXT NOT NULL,
            due_at TEXT NOT NULL,
            occurrence TEXT NOT NULL,
            UNIQUE (user_id, object_id, alarm)
        )"""
    )
    db.execute("CREATE INDEX schedule_due ON schedule(due_at)")
    # Everything that fired or that she said on her own, once: the UNIQUE key is what
    # makes a reminder arrive never twice, even across a crash. It is also the terminal's
    # inbox (`seen_at`).
    db.execute(
        """CREATE TABLE notifications (
            id INTEGER PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id),
            kind TEXT NOT NULL,
            key TEXT NOT NULL,
            object_id INTEGER,
            title TEXT NOT NULL,
            body TEXT NOT NULL DEFAULT '',
            due_at TEXT,
            fired_at TEXT NOT NULL,
            late INTEGER NOT NULL DEFAULT 0,
            held INTEGER NOT NULL DEFAULT 0,
            seen_at TEXT,
            UNIQUE (user_id, kind, key)
        )"""
    )
    db.execute("CREATE INDEX notifications_unseen ON notifications(user_id, seen_at)")
    # The outbox of channels beyond the terminal (desktop, email, ntfy…): 'sending' is
    # written before the attempt, so a crash mid-send is reported, never silently retried.
    db.execute(
        """CREATE TABLE notification_sends (
            notification_id INTEGER NOT NULL REFERENCES notifications(id) ON DELETE CASCADE,
            user_id TEXT NOT NULL REFERENCES users(id),
            channel TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
            error TEXT,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (notification_id, channel)
        )"""
    )
    db.execute("CREATE INDEX notification_sends_status ON notification_sends(status)")
    # Per user: time zone, quiet hours, her own initiative, channels (JSON document).
    db.execute(
        """CREATE TABLE scheduler_settings (
            user_id TEXT PRIMARY KEY REFERENCES users(id),
            settings TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )"""
    )
