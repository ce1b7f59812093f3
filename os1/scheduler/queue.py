"""The scheduler's queue: when each alarm of a reminder or event fires next.

`plan` writes one `schedule` row per alarm (the next firing after a moment) and is
called whenever an object is stored, inside the same transaction. Completed or
cancelled to-dos and cancelled events have no rows. The runner fires due rows and
asks `next_firing` for the one after.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar

from ..calendar import recurrence
from ..calendar.ical import Resource, text_of

HORIZONS = (timedelta(days=2), timedelta(days=60), timedelta(days=800), timedelta(days=36500))
DONE = ("COMPLETED", "CANCELLED")


@dataclass(frozen=True)
class Firing:
    """One alarm going off: when, and the occurrence it is about."""

    alarm: str
    at: datetime
    occurrence: recurrence.Occurrence


def _alarms(c: icalendar.Component) -> list[tuple[str, icalendar.Component]]:
    return [(str(i), a) for i, a in enumerate(c.walk("VALARM"))]


def _trigger(alarm: icalendar.Component, occ: recurrence.Occurrence) -> datetime | None:
    if "TRIGGER" not in alarm:
        return None
    value = alarm.decoded("TRIGGER")
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, timedelta):
        return None
    related = str(alarm["TRIGGER"].params.get("RELATED", "START")).upper()
    return (occ.end if related == "END" else occ.start) + value


def next_firing(resource: Resource, alarm_key: str, tz: ZoneInfo, after: datetime) -> Firing | None:
    """The first firing of this alarm strictly after `after`, or None if there is none."""
    master = resource.main
    if text_of(master.get("STATUS")).upper() in DONE:
        return None
    for horizon in HORIZONS:
        # Alarms may fire before their occurrence: look back a little too.
        start = after - timedelta(days=7)
        for occ in recurrence.occurrences(resource, start, after + horizon, tz):
            if occ.status in DONE:
                continue
            alarms = dict(_alarms(occ.component)) or dict(_alarms(master))
            alarm = alarms.get(alarm_key)
            if alarm is None:
                continue
            at = _trigger(alarm, occ)
            if at is not None and at > after:
                return Firing(alarm_key, at, occ)
        if not resource.master or not any(
            "RRULE" in x or "RDATE" in x for x in resource.components
        ):
            break
    return None


def plan(
    c: sqlite3.Connection,
    user: str,
    object_id: int,
    resource: Resource,
    tz: ZoneInfo,
    after: datetime,
) -> int:
    """Replace this object's rows in the queue by its next firings after `after`."""
    c.execute("DELETE FROM schedule WHERE user_id = ? AND object_id = ?", (user, object_id))
    keys = {k for comp in resource.components for k, _ in _alarms(comp)}
    planned = 0
    for key in sorted(keys):
        firing = next_firing(resource, key, tz, after)
        if firing is None:
            continue
        c.execute(
            "INSERT INTO schedule (user_id, object_id, alarm, due_at, occurrence) "
            "VALUES (?, ?, ?, ?, ?)",
            (user, object_id, key, firing.at.astimezone(UTC).isoformat(),
             firing.occurrence.start.astimezone(UTC).isoformat()),
        )  # fmt: skip
        planned += 1
    return planned
