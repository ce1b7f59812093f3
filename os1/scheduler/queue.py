"""The scheduler's queue: when each alarm of a reminder or event fires next.

`plan` writes one `schedule` row per alarm (the next firing after a moment) and is
called whenever an object is stored, inside the same transaction. Completed or
cancelled to-dos and cancelled events have no rows. The runner fires due rows, asks
`firings` which occurrences were missed while the computer was off, and `next_firing`
for the one after.
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
LOOKBACK = timedelta(days=7)
"""Alarms may fire after their occurrence starts (RELATED=END, positive offsets)."""
DONE = ("COMPLETED", "CANCELLED")
SNOOZE = "snooze"
"""The alarm name of a one-time row that rings a snoozed reminder again."""
_EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
_LATEST = datetime(9000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Firing:
    """One alarm going off: when, and the occurrence it is about."""

    alarm: str
    at: datetime
    occurrence: recurrence.Occurrence


def _alarms(c: icalendar.Component) -> list[tuple[str, icalendar.Component]]:
    return [(str(i), a) for i, a in enumerate(c.walk("VALARM"))]


def _decoded_trigger(alarm: icalendar.Component) -> datetime | timedelta | None:
    if "TRIGGER" not in alarm:
        return None
    try:
        value = alarm.decoded("TRIGGER")
    except (ValueError, TypeError, KeyError):
        return None  # an unreadable trigger rings never rather than at a guessed time
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return value if isinstance(value, timedelta) else None


def _trigger(alarm: icalendar.Component, occ: recurrence.Occurrence) -> datetime | None:
    value = _decoded_trigger(alarm)
    if value is None or isinstance(value, datetime):
        return value
    related = str(alarm["TRIGGER"].params.get("RELATED", "START")).upper()
    return (occ.end if related == "END" else occ.start) + value


def _recurring(resource: Resource) -> bool:
    return any("RRULE" in x or "RDATE" in x for x in resource.components)


def _reach(resource: Resource, key: str) -> tuple[timedelta, timedelta]:
    """How long before its occurrence this alarm can ring (lead), and how long after (lag)."""
    lead = lag = timedelta(0)
    for comp in resource.components:
        alarm = dict(_alarms(comp)).get(key)
        value = _decoded_trigger(alarm) if alarm is not None else None
        if isinstance(value, timedelta):
            lead, lag = max(lead, -value), max(lag, value)
    return lead, lag


def _candidates(
    resource: Resource, key: str, tz: ZoneInfo, start: datetime, end: datetime
) -> list[Firing]:
    """Firings of occurrences overlapping [start, end), by time; one per instant."""
    master = resource.main
    found: dict[datetime, Firing] = {}
    for occ in recurrence.occurrences(resource, start, end, tz):
        if occ.status in DONE:
            continue
        alarm = (dict(_alarms(occ.component)) or dict(_alarms(master))).get(key)
        at = _trigger(alarm, occ) if alarm is not None else None
        if at is not None and at not in found:
            # An absolute TRIGGER is one instant whatever the occurrence: it rings once.
            found[at] = Firing(key, at, occ)
    return sorted(found.values(), key=lambda f: f.at)


def _active(resource: Resource) -> bool:
    return text_of(resource.main.get("STATUS")).upper() not in DONE


def firings(
    resource: Resource, alarm_key: str, tz: ZoneInfo, after: datetime, until: datetime
) -> list[Firing]:
    """Every firing of this alarm in (after, until], in time order: what was missed while the
    computer was off, when `until` is now."""
    if not _active(resource):
        return []
    if _recurring(resource):
        lead, lag = _reach(resource, alarm_key)
        window = (after - LOOKBACK - lag, until + lead + timedelta(seconds=1))
    else:
        window = (_EARLIEST, _LATEST)
    found = _candidates(resource, alarm_key, tz, *window)
    return [f for f in found if after < f.at <= until]


def next_firing(resource: Resource, alarm_key: str, tz: ZoneInfo, after: datetime) -> Firing | None:
    """The first firing of this alarm strictly after `after`, or None if there is none."""
    if not _active(resource):
        return None
    if not _recurring(resource):
        # A finite set of occurrences (one, or changed instances without their series):
        # look at all of them, however far ahead.
        later = [
            f for f in _candidates(resource, alarm_key, tz, _EARLIEST, _LATEST) if f.at > after
        ]
        return later[0] if later else None
    lead, lag = _reach(resource, alarm_key)
    for horizon in HORIZONS:
        end = after + horizon
        found = _candidates(resource, alarm_key, tz, after - LOOKBACK - lag, end + lead)
        later = [f for f in found if f.at > after]
        # Occurrences past the window ring at `end` or later, so a firing before `end` is
        # the first; a later one might be beaten by one outside the window: look further.
        if later and (later[0].at <= end or horizon == HORIZONS[-1]):
            return later[0]
    return None


def plan(
    c: sqlite3.Connection,
    user: str,
    object_id: int,
    resource: Resource,
    tz: ZoneInfo,
    after: datetime,
) -> int:
    """Replace this object's rows in the queue by its next firings after `after`.

    An alarm whose time cannot be worked out is recorded as a calendar problem (visible
    in `os1 calendar problems`) instead of failing the whole import."""
    c.execute("DELETE FROM schedule WHERE user_id = ? AND object_id = ?", (user, object_id))
    keys = {k for comp in resource.components for k, _ in _alarms(comp)}
    planned = 0
    for key in sorted(keys):
        try:
            firing = next_firing(resource, key, tz, after)
        except Exception as e:  # dateutil and icalendar have their own surprises
            c.execute(
                "INSERT INTO cal_problems (user_id, source, error, raw, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (user, f"calendar object {object_id}",
                 f"alarm {key} of “{resource.summary}” cannot be scheduled: "
                 f"{type(e).__name__}: {e}", resource.to_ical(), datetime.now(UTC).isoformat()),
            )  # fmt: skip
            continue
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
