"""Occurrences of events and to-dos in a window: RRULE, RDATE, EXDATE and changed instances.

Times are compared as aware datetimes. Floating times (no zone) mean the calendar's
X-WR-TIMEZONE if it has one, else the user's zone; all-day events start at local
midnight of their date in that zone. Repeating rules expand in the wall-clock time of
their start's zone, so a 09:00 meeting stays at 09:00 across daylight-saving changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
from dateutil import rrule as du

from .ical import Resource, text_of

FOREVER_YEARS = 200


@dataclass(frozen=True)
class Occurrence:
    """One occurrence: when it starts and ends, and the component that describes it."""

    uid: str
    kind: str
    start: datetime
    end: datetime
    all_day: bool
    summary: str
    location: str
    status: str
    recurrence_id: datetime | None
    component: icalendar.Component


def _zone(resource: Resource, tz: ZoneInfo) -> ZoneInfo:
    if resource.default_tz:
        try:
            return ZoneInfo(resource.default_tz)
        except Exception:
            return tz
    return tz


def as_aware(value: date, tz: ZoneInfo) -> datetime:
    """A DATE or DATE-TIME as an aware datetime (dates at local midnight)."""
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=tz)
    if value.tzinfo is None:
        return value.replace(tzinfo=tz)
    return value


def _start_end(component: icalendar.Component, tz: ZoneInfo) -> tuple[date, timedelta, bool]:
    start_key = "DTSTART" if "DTSTART" in component else "DUE"
    start = component.decoded(start_key)
    all_day = not isinstance(start, datetime)
    if "DTEND" in component:
        duration = as_aware(component.decoded("DTEND"), tz) - as_aware(start, tz)
    elif "DUE" in component and start_key == "DTSTART":
        duration = as_aware(component.decoded("DUE"), tz) - as_aware(start, tz)
    elif "DURATION" in component:
        duration = component.decoded("DURATION")
    else:
        duration = timedelta(days=1) if all_day else timedelta(0)
    return start, max(duration, timedelta(0)), all_day


def _rules(component: icalendar.Component, start: datetime) -> du.rruleset | None:
    rules = component.get("RRULE")
    rdates = component.get("RDATE")
    if rules is None and rdates is None:
        return None
    rs = du.rruleset()
    for rule in rules if isinstance(rules, list) else ([rules] if rules is not None else []):
        text = rule.to_ical().decode()
        if "UNTIL" in rule:
            # dateutil wants UNTIL in the same form as the start (aware or not).
            until = as_aware(rule["UNTIL"][0], start.tzinfo)  # type: ignore[arg-type]
            parts = [p for p in text.split(";") if not p.startswith("UNTIL=")]
            rs.rrule(
                du.rrulestr(";".join(parts), dtstart=start, ignoretz=False).replace(until=until)
            )
        else:
            rs.rrule(du.rrulestr(text, dtstart=start))
    for prop, add in (("RDATE", rs.rdate), ("EXDATE", rs.exdate)):
        values = component.get(prop)
        for v in values if isinstance(values, list) else ([values] if values is not None else []):
            for d in v.dts:
                dt = d.dt[0] if isinstance(d.dt, tuple) else d.dt
                add(as_aware(dt, start.tzinfo).astimezone(start.tzinfo))  # type: ignore[arg-type]
    rs.rdate(start)
    return rs


def _occurrence(
    resource: Resource, c: icalendar.Component, start: datetime, length: timedelta, all_day: bool
) -> Occurrence:
    rid = c.get("RECURRENCE-ID")
    return Occurrence(
        uid=resource.uid,
        kind=resource.kind,
        start=start,
        end=start + length,
        all_day=all_day,
        summary=text_of(c.get("SUMMARY")),
        location=text_of(c.get("LOCATION")),
        status=text_of(c.get("STATUS")).upper(),
        recurrence_id=as_aware(rid.dt, start.tzinfo) if rid is not None else None,  # type: ignore[arg-type]
        component=c,
    )


def occurrences(
    resource: Resource, start: datetime, end: datetime, tz: ZoneInfo
) -> Iterator[Occurrence]:
    """Occurrences overlapping [start, end), in order of their start."""
    zone = _zone(resource, tz)
    found: list[Occurrence] = []
    overrides: dict[datetime, icalendar.Component] = {}
    for c in resource.components:
        if "RECURRENCE-ID" in c:
            overrides[as_aware(c.decoded("RECURRENCE-ID"), zone)] = c
    master = resource.master
    if master is not None and ("DTSTART" in master or "DUE" in master):
        first, length, all_day = _start_end(master, zone)
        first_dt = as_aware(first, zone)
        rs = _rules(master, first_dt)
        if rs is None:
            instants: Any = [first_dt]
        else:
            instants = rs.between(start - length - timedelta(days=1), end, inc=True)
        for at in instants:
            if at in overrides:
                continue
            if (at < end and at + length > start) or (length == timedelta(0) and start <= at < end):
                found.append(_occurrence(resource, master, at, length, all_day))
    for c in overrides.values():
        if "DTSTART" not in c and "DUE" not in c:
            continue
        first, length, all_day = _start_end(c, zone)
        at = as_aware(first, zone)
        if at < end and (at + length > start or start <= at):
            found.append(_occurrence(resource, c, at, length, all_day))
    found.sort(key=lambda o: o.start)
    yield from found


def bounds(resource: Resource, tz: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    """The first start and the last end, in UTC; the end is None when it repeats forever."""
    zone = _zone(resource, tz)
    starts: list[datetime] = []
    ends: list[datetime] = []
    forever = False
    for c in resource.components:
        if "DTSTART" not in c and "DUE" not in c:
            continue
        first, length, _ = _start_end(c, zone)
        first_dt = as_aware(first, zone)
        starts.append(first_dt)
        rs = _rules(c, first_dt) if "RECURRENCE-ID" not in c else None
        if rs is None:
            ends.append(first_dt + length)
            continue
        rules = c.get("RRULE")
        rules = rules if isinstance(rules, list) else ([rules] if rules is not None else [])
        if any("UNTIL" not in r and "COUNT" not in r for r in rules):
            forever = True
            continue
        final = rs.before(first_dt.replace(year=min(first_dt.year + FOREVER_YEARS, 9999)), inc=True)
        ends.append((final or first_dt) + length)
    earliest = min(starts).astimezone(UTC) if starts else None
    latest = None if forever or not ends else max(ends).astimezone(UTC)
    return earliest, latest
