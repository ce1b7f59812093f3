"""Calendars and their objects in SQLite: every row carries its user.

These functions take a connection and run inside `Store.write` (one writer) or
`Store.read`. Putting a resource stores its whole iCalendar text, refreshes the agenda
index (first start, last end) and re-plans its alarms in the scheduler's queue, in the
same transaction, so the queue never disagrees with the calendar.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from . import ical, recurrence

DEFAULT_CALENDAR = "Personal"


@dataclass(frozen=True)
class Put:
    """What putting one resource did: its row id and whether it was new, changed or the same."""

    object_id: int
    change: str  # "added", "updated" or "unchanged"


def _now() -> str:
    return datetime.now(UTC).isoformat()


def calendar_id(c: sqlite3.Connection, user: str, name: str = DEFAULT_CALENDAR) -> int:
    """The id of the user's calendar called `name`, created (local) if it does not exist."""
    c.execute("INSERT OR IGNORE INTO users (id, created_at) VALUES (?, ?)", (user, _now()))
    row = c.execute(
        "SELECT id FROM calendars WHERE user_id = ? AND name = ?", (user, name)
    ).fetchone()
    if row:
        return int(row[0])
    cur = c.execute(
        "INSERT INTO calendars (user_id, name, created_at) VALUES (?, ?, ?)", (user, name, _now())
    )
    return int(cur.lastrowid or 0)


def writable_calendar(c: sqlite3.Connection, user: str, name: str | None) -> sqlite3.Row:
    """The calendar a new event or reminder goes to: the one named, else the first that
    syncs and can be written (so the phone has it too), else the local "Personal"."""
    if name is not None:
        row = c.execute(
            "SELECT * FROM calendars WHERE user_id = ? AND name = ?", (user, name)
        ).fetchone()
        if row is None:
            raise ical.CalendarError(f"You have no calendar called “{name}”.")
    else:
        row = c.execute(
            "SELECT * FROM calendars WHERE user_id = ? AND url IS NOT NULL AND read_only = 0 "
            "ORDER BY id LIMIT 1",
            (user,),
        ).fetchone()
        if row is None:
            found = calendar_id(c, user)
            row = c.execute("SELECT * FROM calendars WHERE id = ?", (found,)).fetchone()
    if row["read_only"]:
        raise ical.CalendarError(f"The calendar “{row['name']}” is read-only.")
    return row


def calendars(c: sqlite3.Connection, user: str) -> list[sqlite3.Row]:
    return c.execute(
        "SELECT k.*, (SELECT count(*) FROM cal_objects o WHERE o.calendar_id = k.id "
        "AND o.deleted_at IS NULL) AS objects FROM calendars k WHERE k.user_id = ? ORDER BY k.id",
        (user,),
    ).fetchall()


def _index(resource: ical.Resource, tz: ZoneInfo) -> dict[str, object]:
    main = resource.main
    first, last = recurrence.bounds(resource, tz)
    start = main.get("DTSTART") or main.get("DUE")
    return {
        "summary": resource.summary,
        "location": ical.text_of(main.get("LOCATION")),
        "status": ical.text_of(main.get("STATUS")).upper(),
        "starts_at": first.isoformat() if first else None,
        "ends_at": last.isoformat() if last else None,
        "all_day": int(start is not None and not isinstance(start.dt, datetime)),
        "recurring": int(any("RRULE" in x or "RDATE" in x for x in resource.components)),
        "has_alarms": int(any(x.walk("VALARM") for x in resource.components)),
    }


def put_resource(
    c: sqlite3.Connection,
    user: str,
    calendar: int,
    resource: ical.Resource,
    *,
    origin: str,
    tz: ZoneInfo,
    href: str | None = None,
    etag: str | None = None,
    dirty: bool = False,
    now: datetime | None = None,
) -> Put:
    """Add or replace the object with this UID in `calendar`, and re-plan its alarms."""
    from ..scheduler import queue

    text = resource.to_ical()
    fields = _index(resource, tz)
    row = c.execute(
        "SELECT id, ics, deleted_at FROM cal_objects WHERE user_id = ? AND calendar_id = ? "
        "AND uid = ?",
        (user, calendar, resource.uid),
    ).fetchone()
    stamp = _now()
    if row is not None and row["ics"] == text and row["deleted_at"] is None:
        if href is not None or etag is not None:
            c.execute(
                "UPDATE cal_objects SET href = coalesce(?, href), etag = coalesce(?, etag) "
                "WHERE id = ?",
                (href, etag, row["id"]),
            )
        return Put(int(row["id"]), "unchanged")
    columns = ", ".join(fields)
    if row is None:
        cur = c.execute(
            f"INSERT INTO cal_objects (user_id, calendar_id, uid, kind, ics, {columns}, origin, "
            "href, etag, dirty, created_at, updated_at) VALUES (?, ?, ?, ?, ?, "
            + ", ".join("?" for _ in fields)
            + ", ?, ?, ?, ?, ?, ?)",
            (user, calendar, resource.uid, resource.kind, text, *fields.values(), origin, href,
             etag, int(dirty), stamp, stamp),
        )  # fmt: skip
        object_id, change = int(cur.lastrowid or 0), "added"
    else:
        sets = ", ".join(f"{k} = ?" for k in fields)
        c.execute(
            f"UPDATE cal_objects SET ics = ?, {sets}, href = coalesce(?, href), "
            "etag = coalesce(?, etag), dirty = ?, deleted_at = NULL, updated_at = ? WHERE id = ?",
            (text, *fields.values(), href, etag, int(dirty), stamp, row["id"]),
        )
        object_id, change = int(row["id"]), "updated"
    queue.plan(c, user, object_id, resource, tz, now or datetime.now(UTC))
    return Put(object_id, change)


def load(row: sqlite3.Row) -> ical.Resource:
    """The resource stored in a `cal_objects` row."""
    parsed = ical.parse(row["ics"], f"calendar object {row['id']}")
    for r in parsed.resources:
        if r.uid == row["uid"]:
            return r
    raise ical.CalendarError(f"calendar object {row['id']} no longer parses")


def get(c: sqlite3.Connection, user: str, object_id: int) -> sqlite3.Row | None:
    return c.execute(
        "SELECT * FROM cal_objects WHERE user_id = ? AND id = ? AND deleted_at IS NULL",
        (user, object_id),
    ).fetchone()


def delete(c: sqlite3.Connection, user: str, object_id: int, *, keep_tombstone: bool) -> None:
    """Remove an object; with `keep_tombstone` (it is on a server) it stays until the next
    sync deletes it there too."""
    c.execute("DELETE FROM schedule WHERE user_id = ? AND object_id = ?", (user, object_id))
    if keep_tombstone:
        c.execute(
            "UPDATE cal_objects SET deleted_at = ?, dirty = 1 WHERE user_id = ? AND id = ?",
            (_now(), user, object_id),
        )
    else:
        c.execute("DELETE FROM cal_objects WHERE user_id = ? AND id = ?", (user, object_id))


def in_window(
    c: sqlite3.Connection, user: str, start: datetime, end: datetime, kinds: Iterable[str] = ()
) -> list[sqlite3.Row]:
    """Objects that may have an occurrence in [start, end): the index narrows, expansion
    decides."""
    kinds = tuple(kinds) or ("event", "todo")
    marks = ", ".join("?" for _ in kinds)
    return c.execute(
        "SELECT * FROM cal_objects WHERE user_id = ? AND deleted_at IS NULL "
        f"AND kind IN ({marks}) AND starts_at < ? AND (ends_at IS NULL OR ends_at > ? "
        "OR ends_at = starts_at AND starts_at >= ?)",
        (user, *kinds, end.astimezone(UTC).isoformat(), start.astimezone(UTC).isoformat(),
         start.astimezone(UTC).isoformat()),
    ).fetchall()  # fmt: skip


def add_problem(c: sqlite3.Connection, user: str, problem: ical.Problem) -> None:
    c.execute(
        "INSERT INTO cal_problems (user_id, source, error, raw, created_at) VALUES (?, ?, ?, ?, ?)",
        (user, problem.source, problem.error, problem.raw, _now()),
    )
