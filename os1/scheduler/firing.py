"""What a due row of the schedule queue rings: the notification it becomes (said late,
missed while OS1 was not running, or held for the end of quiet hours) and when the row
is due next. Decided here from the row alone; the runner reads the rows and writes this.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from ..calendar import ical
from ..calendar.agenda import spoken_day
from . import queue
from .settings import SchedulerSettings

LATE_AFTER = timedelta(seconds=60)
LATE_GRACE = timedelta(hours=1)
"""A reminder set inside quiet hours still rings when this late; later, it waits for morning."""
_TINY = timedelta(microseconds=1)


def utc(when: datetime) -> str:
    return when.astimezone(UTC).isoformat()


def said_time(when: datetime, now: datetime) -> str:
    if when.date() == now.date():
        return f"{when:%H:%M}"
    return f"{when:%a} {when.day} {when:%b} {when:%H:%M}"


@dataclass(frozen=True)
class Note:
    """A notification to record: what its `notifications` row will say."""

    kind: str
    key: str
    object_id: int | None
    title: str
    body: str
    due_at: str | None
    late: bool
    held: bool


@dataclass(frozen=True)
class Fire:
    """What to do with one due row: the notification (if any) and its next due time."""

    schedule_id: int
    user: str
    expected_due: str
    note: Note | None
    next_due: str | None = None
    next_occurrence: str | None = None


def plan_row(
    row: sqlite3.Row,
    now: datetime,
    s: SchedulerSettings,
    tz: ZoneInfo,
    resource_of: Callable[[sqlite3.Row], ical.Resource],
) -> Fire:
    """What the due `row` rings (for a user with settings `s` in zone `tz`) and when it is
    due next; `resource_of` parses its object, for rows that need it."""
    base = (int(row["id"]), str(row["user_id"]), str(row["due_at"]))
    if row["oid"] is None:
        return Fire(*base, None)  # its object is gone: the row goes too
    due = datetime.fromisoformat(row["due_at"])
    ics = str(row["ics"])
    single = not row["recurring"] and ics.count("BEGIN:VEVENT") + ics.count("BEGIN:VTODO") == 1
    snoozed = row["alarm"] == queue.SNOOZE
    if single or snoozed:
        # A snooze rings once at its own time, whatever the object's alarms say.
        # One occurrence: the row says all there is; no need to parse the object.
        at, start, all_day, missed = due, datetime.fromisoformat(row["occurrence"]), None, 1
        following = None
    else:
        resource = resource_of(row)
        missed_firings = queue.firings(resource, row["alarm"], tz, due - _TINY, now)
        if not missed_firings:  # the object changed under the row: plan it afresh
            following = queue.next_firing(resource, row["alarm"], tz, due - _TINY)
            return Fire(*base, None, *_next(following))
        last = missed_firings[-1]
        at, start, missed = last.at, last.occurrence.start, len(missed_firings)
        all_day = last.occurrence.all_day
        following = queue.next_firing(resource, row["alarm"], tz, last.at)
    local_now, local_at = now.astimezone(tz), at.astimezone(tz)
    late = now - at > LATE_AFTER
    parts = []
    if row["kind"] == "event":
        when = start.astimezone(tz)
        day = spoken_day(when.date(), local_now.date())
        parts.append(f"{day}, all day" if all_day or row["all_day"] else f"{day} at {when:%H:%M}")
        if row["location"]:
            parts[-1] += f", {row['location']}"
    if missed > 1:
        parts.append(
            f"(missed {missed} times while OS1 was not running; the last was due at "
            f"{said_time(local_at, local_now)})"
        )
    elif late:
        parts.append(f"(late: this was due at {said_time(local_at, local_now)})")
    held = late and s.quiet(local_now)
    if held and s.quiet(local_at) and now - at <= LATE_GRACE:
        held = False  # set inside quiet hours: they wanted it then, and it is still fresh
    note = Note(
        kind="reminder" if row["kind"] == "todo" else "alarm",
        # Each snooze of one occurrence rings: its key carries its own time.
        key=f"{row['object_id']}:{row['alarm']}:{utc(start)}" + (f"@{utc(at)}" if snoozed else ""),
        object_id=int(row["object_id"]),
        title=str(row["summary"]) or ("Reminder" if row["kind"] == "todo" else "(no title)"),
        body=" ".join(parts),
        due_at=utc(at),
        late=late or missed > 1,
        held=held,
    )
    return Fire(*base, note, *_next(following))


def broken(row: sqlite3.Row, now: datetime, tz: ZoneInfo, error: Exception) -> Fire:
    """A row that cannot be planned still rings, once, saying why it will not again."""
    due = datetime.fromisoformat(row["due_at"])
    summary = str(row["summary"] or "") or "A reminder"
    note = Note(
        kind="reminder" if row["kind"] == "todo" else "alarm",
        key=f"{row['object_id']}:{row['alarm']}:{row['occurrence']}",
        object_id=int(row["object_id"]),
        title=summary,
        body=f"(due at {said_time(due.astimezone(tz), now.astimezone(tz))}; it will not "
        f"ring again until it is fixed: {type(error).__name__}: {error})",
        due_at=row["due_at"],
        late=now - due > LATE_AFTER,
        held=False,
    )
    return Fire(row["id"], row["user_id"], row["due_at"], note)


def _next(firing: queue.Firing | None) -> tuple[str | None, str | None]:
    """The row's next due time and occurrence; (None, None): it is done, delete it."""
    if firing is None:
        return None, None
    return utc(firing.at), utc(firing.occurrence.start)
