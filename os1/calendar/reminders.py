"""Reminders: to-dos (RFC 5545 VTODO) that ring at their due time, set by talking.

"Remind me to call my sister at five tomorrow" (read by `reminder_request.py`) becomes
a VTODO with DTSTART and DUE at 17:00 and a DISPLAY alarm then, in the user's calendar
"Personal" unless another is named, so it syncs over CalDAV like an event and other
clients show it. Storing it plans the scheduler's queue in the same transaction
(`calendar.store.put_resource`). How she says them is `spoken.py`'s business.

A repeating reminder is completed one occurrence at a time: the series moves on to
its next occurrence (DTSTART and DUE advance, COUNT shrinks), as Apple Reminders,
Tasks.org and Thunderbird do, so every CalDAV client sees the same next due date.
Snoozing rings once more later through a queue row of its own ("snooze"); the series
after it is untouched, and any later change of the reminder re-plans (and drops) it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
from dateutil import rrule as du

from ..scheduler import queue
from ..store import Store
from . import agenda, ical, recurrence
from . import store as calstore
from .reminder_request import DEFAULT_TIME
from .spoken import lowered, rule_words, spoken, spoken_moment, you_form
from .when import When

SNOOZE = queue.SNOOZE
"""The `schedule.alarm` of a snoozed firing: one row, fired once, never re-planned."""
_LOOKBACK = timedelta(days=400)
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class Reminder:
    """A pending reminder as she lists it."""

    object_id: int
    what: str
    due: datetime | None
    """The occurrence it is about next (local time); in the past when overdue."""
    fires_at: datetime | None
    """When it rings next; None when it has rung and waits to be done."""
    repeat: str
    """The repeat rule in words ("every Monday at 09:00"); "" when it happens once."""
    calendar: str
    snoozed: bool = False


class ReminderFailure(Exception):
    """A reminder cannot be changed as asked; the message says why."""


class Done(str):
    """What she says after changing a reminder, carrying what undoing it takes: the object
    and its iCalendar text before the change (None: it did not exist)."""

    object_id: int
    calendar_id: int
    previous_ics: str | None

    def __new__(cls, said: str, object_id: int, calendar_id: int, previous: str | None) -> Done:
        done = super().__new__(cls, said)
        done.object_id, done.calendar_id, done.previous_ics = object_id, calendar_id, previous
        return done


# ---------------------------------------------------------------------------------- words


def describe_reminder(
    what: str, when: When, tz: ZoneInfo, now: datetime | None = None, *, link: str = "to"
) -> str:
    """What she says when she sets it: "I'll remind you to call your sister tomorrow at 17:00." """
    now = (now or datetime.now(tz)).astimezone(tz)
    start = _due(when.start, tz)
    moment = When(start, when.rrule, when.phrase, when.rest)
    return f"I'll remind you {link} {you_form(what)} {spoken(moment, now)}."


# ---------------------------------------------------------------------------------- storing


def _due(start: datetime | date, tz: ZoneInfo) -> datetime:
    if isinstance(start, datetime):
        return start.astimezone(tz) if start.tzinfo else start.replace(tzinfo=tz)
    return datetime.combine(start, DEFAULT_TIME, tzinfo=tz)


def _calendar(c: sqlite3.Connection, user: str, name: str | None) -> sqlite3.Row:
    try:
        return calstore.writable_calendar(c, user, name)
    except ical.CalendarError as e:
        raise ReminderFailure(str(e)) from None


async def add(
    store: Store,
    user: str,
    what: str,
    when: When,
    tz: ZoneInfo,
    *,
    origin: str,
    calendar: str | None = None,
    now: datetime | None = None,
) -> int:
    """Store a reminder (a VTODO ringing at its due time) and plan it; its object id."""
    now = now or datetime.now(UTC)
    due = _due(when.start, tz)
    if not when.rrule and due < now - timedelta(minutes=1):
        raise ReminderFailure(f"{spoken_moment(due, now.astimezone(tz))} has already passed.")
    what = what.strip()
    if not what:
        raise ReminderFailure("A reminder needs something to remind you of.")
    todo = ical.new_todo(what[:1].upper() + what[1:], due, rrule=when.rrule)

    def write(c: sqlite3.Connection) -> int:
        k = _calendar(c, user, calendar)
        put = calstore.put_resource(
            c, user, k["id"], todo, origin=origin, tz=tz, dirty=k["url"] is not None, now=now
        )
        return put.object_id

    return await store.write(write)


def _todo(c: sqlite3.Connection, user: str, object_id: int) -> sqlite3.Row:
    row = c.execute(
        "SELECT o.*, k.url, k.read_only, k.name AS calendar_name FROM cal_objects o "
        "JOIN calendars k ON k.id = o.calendar_id "
        "WHERE o.user_id = ? AND o.id = ? AND o.deleted_at IS NULL AND o.kind = 'todo'",
        (user, object_id),
    ).fetchone()
    if row is None:
        raise ReminderFailure(f"You have no reminder #{object_id}.")
    return row


def _writable(row: sqlite3.Row) -> None:
    if row["read_only"]:
        raise ReminderFailure(f"The calendar “{row['calendar_name']}” is read-only.")


def _save(
    c: sqlite3.Connection, user: str, row: sqlite3.Row, todo: ical.Resource, tz: ZoneInfo,
    now: datetime, *, moved: bool = False,
) -> None:  # fmt: skip
    main = todo.main
    for prop in ("LAST-MODIFIED", "DTSTAMP"):
        main.pop(prop, None)
        main.add(prop, now.astimezone(UTC))
    if moved:  # its dates changed: other clients must take this copy as the newer one
        sequence = int(main.pop("SEQUENCE", 0)) + 1
        main.add("SEQUENCE", sequence)
    calstore.put_resource(
        c, user, row["calendar_id"], todo, origin=row["origin"], tz=tz,
        dirty=row["url"] is not None, now=now,
    )  # fmt: skip


def _zone(todo: ical.Resource, tz: ZoneInfo) -> ZoneInfo:
    try:
        return ZoneInfo(todo.default_tz) if todo.default_tz else tz
    except Exception:
        return tz


def _occurrences(
    todo: ical.Resource, tz: ZoneInfo, start: datetime, end: datetime
) -> list[recurrence.Occurrence]:
    found = recurrence.occurrences(todo, start, end, tz)
    return [o for o in found if o.status not in queue.DONE and start <= o.start < end]


def _recurring(todo: ical.Resource) -> bool:
    master = todo.master
    return master is not None and "DTSTART" in master and "RRULE" in master


def _current(
    todo: ical.Resource, tz: ZoneInfo, now: datetime, recent: timedelta
) -> tuple[recurrence.Occurrence | None, recurrence.Occurrence | None]:
    """The occurrence the user means now — the latest one that came due within `recent`,
    else the next one — and the one after it."""
    first = recurrence.bounds(todo, tz)[0] or now
    past = _occurrences(todo, tz, max(first, now - recent), now + _TICK)
    ahead = _occurrences(todo, tz, now + _TICK, now + timedelta(days=800))
    if past:
        return past[-1], (ahead[0] if ahead else None)
    return (ahead[0] if ahead else None), (ahead[1] if len(ahead) > 1 else None)


def _like(old: date, new: datetime, zone: ZoneInfo) -> date | datetime:
    """`new` in the form of `old`: a date, a floating time or a time in old's zone."""
    if not isinstance(old, datetime):
        return new.astimezone(zone).date()
    if old.tzinfo is None:
        return new.astimezone(zone).replace(tzinfo=None)
    return new.astimezone(old.tzinfo)


def _advance(todo: ical.Resource, nxt: recurrence.Occurrence, tz: ZoneInfo) -> None:
    """Start the series at `nxt`: DTSTART and DUE move on, a COUNT shrinks by what is past."""
    master = todo.master
    assert master is not None
    zone = _zone(todo, tz)
    old = master.decoded("DTSTART")
    old_at = recurrence.as_aware(old, zone)
    new_at = nxt.recurrence_id or nxt.start
    rule = master.get("RRULE")
    if isinstance(rule, icalendar.vRecur) and "COUNT" in rule and "UNTIL" not in rule:
        text = rule.to_ical().decode()
        passed = 1 + len(du.rrulestr(text, dtstart=old_at).between(old_at, new_at, inc=False))
        rule["COUNT"] = [max(1, int(rule["COUNT"][0]) - passed)]
    new = _like(old, new_at, zone)
    due = master.decoded("DUE") if "DUE" in master else None
    if isinstance(due, datetime) and isinstance(old, datetime):
        length: timedelta | None = due.replace(tzinfo=None) - old.replace(tzinfo=None)
    elif isinstance(due, date) and not isinstance(due, datetime) and not isinstance(old, datetime):
        length = due - old
    else:
        length = None  # no DUE, or one in another form: left as it was
    if length is not None:
        master.pop("DUE")
        master.add("DUE", new + length)
    master.pop("DTSTART")
    master.add("DTSTART", new)


async def complete(store: Store, user: str, object_id: int, tz: ZoneInfo, *, now: datetime) -> Done:
    """Mark a reminder done. A repeating one: this occurrence only, and the series goes on."""

    def write(c: sqlite3.Connection) -> Done:
        row = _todo(c, user, object_id)
        _writable(row)
        todo = calstore.load(row)
        master = todo.master or todo.main
        if ical.text_of(master.get("STATUS")).upper() in queue.DONE:
            raise ReminderFailure(f"“{row['summary']}” is already done.")
        said = f"Done: {you_form(lowered(row['summary']))}."
        _, nxt = _current(todo, tz, now, _LOOKBACK) if _recurring(todo) else (None, None)
        if nxt is not None:
            _advance(todo, nxt, tz)
            said += f" Next time: {spoken_moment(nxt.start, now.astimezone(tz))}."
        else:
            for prop in ("STATUS", "COMPLETED", "PERCENT-COMPLETE"):
                master.pop(prop, None)
            master.add("STATUS", "COMPLETED")
            master.add("COMPLETED", now.astimezone(UTC))
            master.add("PERCENT-COMPLETE", 100)
        _save(c, user, row, todo, tz, now, moved=nxt is not None)
        return Done(said, object_id, row["calendar_id"], row["ics"])

    return await store.write(write)


async def snooze(
    store: Store, user: str, object_id: int, minutes: int, tz: ZoneInfo, *, now: datetime
) -> Done:
    """Ring this reminder again in `minutes`, once; when it rings after that is unchanged."""
    if not 1 <= minutes <= 7 * 24 * 60:
        raise ReminderFailure("I can snooze a reminder for a minute up to a week.")
    at = (now.astimezone(UTC) + timedelta(minutes=minutes)).replace(microsecond=0)

    def write(c: sqlite3.Connection) -> Done:
        row = _todo(c, user, object_id)
        todo = calstore.load(row)
        if ical.text_of(todo.main.get("STATUS")).upper() in queue.DONE:
            raise ReminderFailure(f"“{row['summary']}” is already done.")
        target, _ = _current(todo, tz, now, timedelta(days=1))
        if target is None:
            raise ReminderFailure(f"“{row['summary']}” has nothing left to remind you of.")
        occurrence = target.start.astimezone(UTC).isoformat()
        # If it has not rung yet and would ring before the snooze ends, that ringing is the
        # one snoozed: its alarm moves on to the occurrence after.
        pending = c.execute(
            "SELECT id, alarm, due_at FROM schedule WHERE user_id = ? AND object_id = ? "
            "AND alarm != ? AND occurrence = ? AND due_at < ?",
            (user, object_id, SNOOZE, occurrence, at.isoformat()),
        ).fetchall()
        for p in pending:
            after = datetime.fromisoformat(p["due_at"])
            later = queue.next_firing(todo, p["alarm"], tz, after)
            if later is None:
                c.execute("DELETE FROM schedule WHERE id = ?", (p["id"],))
            else:
                c.execute(
                    "UPDATE schedule SET due_at = ?, occurrence = ? WHERE id = ?",
                    (later.at.astimezone(UTC).isoformat(),
                     later.occurrence.start.astimezone(UTC).isoformat(), p["id"]),
                )  # fmt: skip
        c.execute(
            "INSERT INTO schedule (user_id, object_id, alarm, due_at, occurrence) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, object_id, alarm) "
            "DO UPDATE SET due_at = excluded.due_at, occurrence = excluded.occurrence",
            (user, object_id, SNOOZE, at.isoformat(), occurrence),
        )
        local_at = at.astimezone(tz)
        said = f"I'll remind you again in {minutes} minute{'s' if minutes != 1 else ''}"
        said += f", at {local_at:%H:%M}." if minutes < 24 * 60 else f", {spoken_moment(at, now)}."
        return Done(said, object_id, row["calendar_id"], row["ics"])

    return await store.write(write)


async def delete(store: Store, user: str, object_id: int) -> Done:
    """Remove a reminder; one that is on a CalDAV server stays as a tombstone until the
    next sync deletes it there too."""

    def write(c: sqlite3.Connection) -> Done:
        row = _todo(c, user, object_id)
        _writable(row)
        on_server = row["url"] is not None and row["href"] is not None
        calstore.delete(c, user, object_id, keep_tombstone=on_server)
        said = f"Deleted the reminder “{row['summary']}”."
        return Done(said, object_id, row["calendar_id"], row["ics"])

    return await store.write(write)


async def restore(store: Store, user: str, done: Done, tz: ZoneInfo, *, now: datetime) -> int:
    """Undo `done`: the reminder as it was before (re-planned: a snooze is dropped); its id."""
    if done.previous_ics is None:
        raise ReminderFailure("There is nothing to put back.")
    previous = ical.parse(done.previous_ics, "the reminder before the change").resources[0]

    def write(c: sqlite3.Connection) -> int:
        k = c.execute(
            "SELECT url FROM calendars WHERE user_id = ? AND id = ?", (user, done.calendar_id)
        ).fetchone()
        if k is None:
            raise ReminderFailure("The calendar of that reminder is gone.")
        put = calstore.put_resource(
            c, user, done.calendar_id, previous, origin="chat", tz=tz,
            dirty=k["url"] is not None, now=now,
        )  # fmt: skip
        if put.change == "unchanged":
            queue.plan(c, user, put.object_id, previous, tz, now)
        return put.object_id

    return await store.write(write)


# ---------------------------------------------------------------------------------- listing


def _pending(c: sqlite3.Connection, user: str, tz: ZoneInfo, now: datetime) -> list[Reminder]:
    rows = c.execute(
        "SELECT o.*, k.name AS calendar_name, s.due_at AS fires_at, s.occurrence, s.alarm "
        "FROM cal_objects o JOIN calendars k ON k.id = o.calendar_id LEFT JOIN ("
        "  SELECT object_id, min(due_at) AS due_at, occurrence, alarm FROM schedule"
        "  WHERE user_id = ? AND object_id IN (SELECT id FROM cal_objects WHERE user_id = ?"
        "  AND kind = 'todo') GROUP BY object_id) s ON s.object_id = o.id "
        "WHERE o.user_id = ? AND o.kind = 'todo' AND o.deleted_at IS NULL "
        "AND o.status NOT IN ('COMPLETED', 'CANCELLED') AND o.starts_at IS NOT NULL",
        (user, user, user),
    ).fetchall()
    found = []
    for row in rows:
        try:
            todo = agenda.resource_of(row)
        except ical.CalendarError:
            continue  # kept raw in its row: `os1 calendar problems` shows it
        master = todo.master or todo.main
        fires = due = None
        if row["fires_at"]:
            fires = datetime.fromisoformat(row["fires_at"]).astimezone(tz)
            due = datetime.fromisoformat(row["occurrence"]).astimezone(tz)
        elif _recurring(todo):
            ahead = _occurrences(todo, tz, now + _TICK, now + timedelta(days=800))
            due = ahead[0].start.astimezone(tz) if ahead else None
        else:
            prop = "DUE" if "DUE" in master else "DTSTART"
            due = recurrence.as_aware(master.decoded(prop), _zone(todo, tz)).astimezone(tz)
        repeat, rule = "", master.get("RRULE")
        if rule is not None and "DTSTART" in master:
            start = recurrence.as_aware(master.decoded("DTSTART"), _zone(todo, tz))
            repeat = rule_words(rule[0] if isinstance(rule, list) else rule, start.astimezone(tz))
        found.append(
            Reminder(int(row["id"]), row["summary"], due, fires, repeat, row["calendar_name"],
                     row["alarm"] == SNOOZE)
        )  # fmt: skip
    return found


async def upcoming(
    store: Store, user: str, tz: ZoneInfo, *, now: datetime, limit: int = 20
) -> list[Reminder]:
    """Reminders not done yet, the next to ring (or the longest overdue) first."""
    found = await store.read(lambda c: _pending(c, user, tz, now))
    far = datetime.max.replace(tzinfo=UTC)
    found.sort(key=lambda r: (r.fires_at or r.due or far, r.object_id))
    return found[:limit]
