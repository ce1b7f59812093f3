"""Calendars in the OS1 export: calendars, their objects (whole iCalendar text), what could
not be read, the user's scheduler settings and what she told them.

Optional keys of export format 3: older files simply have none. Objects keep their
CalDAV href and ETag, so the first sync on the new machine recognises them instead
of uploading copies; the sync token is dropped (a full comparison is always safe).
Passwords were never stored, so none travel.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..archive_records import ArchiveError, check_rows
from ..scheduler import settings as schedsettings
from . import ical
from . import store as calstore

CALENDAR = {"name": "str", "url": "str?", "username": "str?", "password_command": "str?",
            "color": "str?", "read_only": "~int"}  # fmt: skip
OBJECT = {"calendar": "str", "uid": "str", "kind": "str", "ics": "str", "origin": "str",
          "href": "str?", "etag": "str?", "dirty": "~int", "deleted_at": "~str?"}  # fmt: skip
PROBLEM = {"source": "str", "error": "str", "raw": "str", "created_at": "str"}
NOTE = {"kind": "str", "key": "str", "title": "str", "body": "str", "due_at": "str?",
        "fired_at": "str", "late": "~int", "seen_at": "~str?"}  # fmt: skip


def _rows(c: sqlite3.Connection, sql: str, user: str) -> list[dict[str, Any]]:
    return [dict(r) for r in c.execute(sql, (user,)).fetchall()]


def export_calendar(c: sqlite3.Connection, user: str) -> dict[str, Any]:
    settings = c.execute(
        "SELECT settings FROM scheduler_settings WHERE user_id = ?", (user,)
    ).fetchone()
    return {
        "calendars": _rows(
            c,
            "SELECT name, url, username, password_command, color, read_only FROM calendars "
            "WHERE user_id = ? ORDER BY id",
            user,
        ),
        "calendar_objects": _rows(
            c,
            "SELECT k.name AS calendar, o.uid, o.kind, o.ics, o.origin, o.href, o.etag, o.dirty, "
            "o.deleted_at FROM cal_objects o JOIN calendars k ON k.id = o.calendar_id "
            "WHERE o.user_id = ? ORDER BY o.id",
            user,
        ),
        "calendar_problems": _rows(
            c,
            "SELECT source, error, raw, created_at FROM cal_problems WHERE user_id = ? ORDER BY id",
            user,
        ),
        "scheduler_settings": json.loads(settings[0]) if settings else None,
        "notifications": _rows(
            c,
            "SELECT kind, key, title, body, due_at, fired_at, late, seen_at FROM notifications "
            "WHERE user_id = ? ORDER BY id",
            user,
        ),
    }


def check(data: dict[str, Any]) -> None:
    """An `ArchiveError` naming the first calendar record that cannot be imported."""
    names = {r["name"] for r in check_rows(data.get("calendars") or [], "calendars", CALENDAR)}
    for i, row in enumerate(
        check_rows(data.get("calendar_objects") or [], "calendar_objects", OBJECT)
    ):
        if row["calendar"] not in names:
            raise ArchiveError(
                f"calendar_objects[{i}] is in an unknown calendar {row['calendar']!r}"
            )
        if row["kind"] not in ("event", "todo"):
            raise ArchiveError(f"calendar_objects[{i}].kind must be event or todo")
    check_rows(data.get("calendar_problems") or [], "calendar_problems", PROBLEM)
    check_rows(data.get("notifications") or [], "notifications", NOTE)
    if data.get("scheduler_settings") is not None:
        try:
            schedsettings.from_dict(data["scheduler_settings"])
        except (schedsettings.SettingsError, TypeError) as e:
            raise ArchiveError(f"scheduler_settings: {e}") from e


def import_calendar(
    c: sqlite3.Connection, user: str, data: dict[str, Any], default_tz: str
) -> dict[str, int]:
    """Restore the calendar records of an export (already checked) for `user`."""
    now = datetime.now(UTC)
    ids: dict[str, int] = {}
    for row in data.get("calendars") or []:
        ids[row["name"]] = int(
            c.execute(
                "INSERT INTO calendars (user_id, name, url, username, password_command, color, "
                "read_only, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (user, row["name"], row.get("url"), row.get("username"),
                 row.get("password_command"), row.get("color"), row.get("read_only", 0),
                 now.isoformat()),
            ).lastrowid or 0
        )  # fmt: skip
    settings = None
    if data.get("scheduler_settings") is not None:
        settings = schedsettings.from_dict(data["scheduler_settings"])
        schedsettings.save(c, user, settings)
    tz = ZoneInfo(settings.timezone if settings and settings.timezone else default_tz)
    objects = 0
    for i, row in enumerate(data.get("calendar_objects") or []):
        parsed = ical.parse(row["ics"], f"calendar_objects[{i}]")
        found = [r for r in parsed.resources if r.uid == row["uid"]]
        if not found:
            for p in parsed.problems or [ical.Problem(f"calendar_objects[{i}]", "no object", "")]:
                calstore.add_problem(c, user, ical.Problem(p.source, p.error, row["ics"]))
            continue
        put = calstore.put_resource(
            c, user, ids[row["calendar"]], found[0], origin=row["origin"], tz=tz,
            href=row.get("href"), etag=row.get("etag"), dirty=bool(row.get("dirty")), now=now,
        )  # fmt: skip
        if row.get("deleted_at"):
            calstore.delete(c, user, put.object_id, keep_tombstone=True)
        objects += 1
    for p in data.get("calendar_problems") or []:
        c.execute(
            "INSERT INTO cal_problems (user_id, source, error, raw, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (user, p["source"], p["error"], p["raw"], p["created_at"]),
        )
    for n in data.get("notifications") or []:
        c.execute(
            "INSERT OR IGNORE INTO notifications (user_id, kind, key, title, body, due_at, "
            "fired_at, late, seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (user, n["kind"], n["key"], n["title"], n["body"], n.get("due_at"), n["fired_at"],
             n.get("late", 0), n.get("seen_at") or now.isoformat()),
        )  # fmt: skip
    return {"calendars": len(ids), "calendar entries": objects}
