"""Occurrences of events and to-dos in a window: RRULE, RDATE, EXDATE and changed instances.

Times are compared as aware datetimes. Floating times (no zone) mean the calendar's
X-WR-TIMEZONE if it has one, else the user's zone; all-day events start at local
midnight of their date in that zone. In a calendar with X-WR-TIMEZONE (Google), UTC
times are read in that zone, so its series repeat on that zone's wall clock. Rules expand
in the wall-clock time of their start's zone, so a 09:00 meeting stays at 09:00 across
daylight-saving changes; a start in the hour skipped in spring moves forward by the gap
(RFC 5545 3.3.5), and every occurrence keeps the wall-clock length of the first. Each RRULE
is counted out by `rrule.py`.

A changed instance (RECURRENCE-ID) replaces the slot it names wherever it moved to (with
RANGE=THISANDFUTURE, the later ones too). As in recurring-ical-events, the copy with the
highest SEQUENCE wins, EXDATE deletes even a changed instance, and a series whose UNTIL is
before its start has no occurrences. A rule that cannot be read or never happens is
skipped; the rest still shows. Cancelled instances come back with their status. Decoding
is kept on the resource object until one of its components or properties is replaced.
"""

from __future__ import annotations

import bisect
import contextlib
import logging
import operator
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
from dateutil import rrule as du

from .ical import Resource, as_list, text_of
from .rrule import Rule, as_aware

log = logging.getLogger(__name__)

SLACK = timedelta(hours=3)  # how far a wall-clock time can be from its UTC reading
_ATTR = "_os1_recurrence"
_DAY, _ZERO = timedelta(days=1), timedelta(0)


@dataclass(frozen=True)
class Occurrence:
    """One occurrence: when it starts and ends, and the component that describes it.

    `recurrence_id` is the slot the occurrence fills in its series (its original start),
    for unchanged instances too; None for an object that does not repeat.
    """

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


def _zone_of(value: Any) -> tzinfo | None:
    return value.tzinfo if isinstance(value, datetime) else None


def _sequence(c: icalendar.Component) -> int:
    try:
        return int(c.get("SEQUENCE", -1))
    except (TypeError, ValueError):
        return -1


@dataclass(slots=True)
class _Shape:
    """What the occurrences made from one component look like."""

    component: icalendar.Component
    summary: str
    location: str
    status: str
    all_day: bool
    length: timedelta

    @classmethod
    def of(cls, c: icalendar.Component, all_day: bool, length: timedelta) -> _Shape:
        return cls(c, text_of(c.get("SUMMARY")), text_of(c.get("LOCATION")),
                   text_of(c.get("STATUS")).upper(), all_day, length)  # fmt: skip

    def at(self, uid: str, kind: str, start: datetime, length: timedelta,
           rid: datetime | None) -> Occurrence:  # fmt: skip
        return Occurrence(uid, kind, start, start + length, self.all_day, self.summary,
                          self.location, self.status, rid, self.component)  # fmt: skip


class _Series:
    """The master component of a resource, ready to expand in any window."""

    def __init__(self, reader: _Plan, c: icalendar.Component) -> None:
        times = reader.times(c)
        if times is None:
            raise ValueError("no start")
        self.start, self.shape, self.all_day = times
        self.zone: tzinfo = self.start.tzinfo or UTC
        self.rules: list[Rule] = []
        for recur in as_list(c.get("RRULE")):
            try:
                self.rules.append(Rule(recur, self.start, self.all_day))
            except Exception as e:
                log.debug("skipping the rule %r: %s", recur, e)
        self.repeats = bool(self.rules) or "RDATE" in c
        # Several sources, or times moved out of a DST gap past the next one: sort again.
        self.mixed = len(self.rules) > 1 or any(r.freq > du.DAILY for r in self.rules)
        rdates: set[datetime] = set()
        self.lengths: dict[datetime, timedelta] = {}  # of RDATE periods
        for value in self._values(c, "RDATE"):
            if not isinstance(value[0] if isinstance(value, tuple) else value, date):
                continue  # RDATE;VALUE=TIME and the like are no moments
            at = reader.moment(value, self.zone, self.all_day)
            rdates.add(at)
            other = value[1] if isinstance(value, tuple) and len(value) == 2 else None
            if isinstance(other, date):
                other = as_aware(other, self.zone) - at
            if isinstance(other, timedelta):
                self.lengths[at] = max(other, _ZERO)
        self.rdates = sorted(rdates)
        self.excluded: set[Any] = set()  # timestamps; dates for all-day series
        self.excluded_days: set[date] = set()  # EXDATE;VALUE=DATE on a timed series
        for value in self._values(c, "EXDATE"):
            if isinstance(value, datetime) or (self.all_day and isinstance(value, date)):
                self.excluded.add(self.key(reader.moment(value, self.zone, self.all_day)))
            elif isinstance(value, date):
                self.excluded_days.add(value)
        untils = [r.until for r in self.rules]
        # As recurring-ical-events: a series whose UNTIL is before its start is gone.
        self.with_start = not (untils and all(u is not None and u < self.start for u in untils))
        self.replaced: set[Any] = set()
        self.futures: list[tuple[Any, timedelta, _Shape]] = []  # RANGE=THISANDFUTURE
        self._spans()

    @staticmethod
    def _values(c: icalendar.Component, name: str) -> list[Any]:
        found = []
        for prop in as_list(c.get(name)):
            with contextlib.suppress(Exception):  # a value icalendar could not read: none
                found += [d.dt for d in prop.dts]
        return found

    def _spans(self) -> None:
        """How far before and after a window instances may lie and still reach into it."""
        later = [shift + s.length for _, shift, s in self.futures]
        self.back = max([self.shape.length, *self.lengths.values(), *later]) + SLACK
        self.ahead = max([_ZERO] + [-shift for _, shift, _ in self.futures]) + SLACK

    def key(self, at: datetime) -> Any:
        return at.date() if self.all_day else at.timestamp()

    def is_excluded(self, key: Any, at: datetime) -> bool:
        days = self.excluded_days
        return key in self.excluded or (bool(days) and at.astimezone(self.zone).date() in days)

    def instants(self, a: datetime, b: datetime) -> list[datetime]:
        """Instances in [a, b], sorted, before EXDATEs and changes (a, b in the zone)."""
        rules, rdates = self.rules, self.rdates
        found = rules[0].between(a, b) if len(rules) == 1 else []
        for rule in rules if len(rules) > 1 else ():
            found += rule.between(a, b)
        if rdates:
            found += rdates[bisect.bisect_left(rdates, a) : bisect.bisect_right(rdates, b)]
        if self.with_start and a <= self.start <= b:
            if len(rules) == 1 and not rdates:  # the start is first, if not there already
                return found if found and found[0] == self.start else [self.start, *found]
            found.append(self.start)
        return sorted(set(found)) if len(rules) > 1 or rdates else found


class _Plan:
    """A resource decoded for the user's zone: its series and its changed instances.
    Floating times are in `zone`: the calendar's X-WR-TIMEZONE (`wr_zone`, in which its
    UTC times are read too) if it has a valid one, else the user's."""

    def __init__(self, resource: Resource, tz: tzinfo) -> None:
        self.uid, self.kind, self.zone, self.wr_zone = resource.uid, resource.kind, tz, None
        if resource.default_tz:
            with contextlib.suppress(Exception):  # not a zone: the user's, then
                self.zone = self.wr_zone = ZoneInfo(resource.default_tz)
        core = None
        for c in resource.components:  # copies of the series: the highest SEQUENCE wins
            if "RECURRENCE-ID" not in c and (core is None or _sequence(c) > _sequence(core)):
                core = c
        self.series: _Series | None = None
        try:
            self.series = _Series(self, core) if core is not None else None
        except Exception as e:
            log.debug("skipping the series %s: %s", resource.uid, e)
        series = self.series
        where = (series.zone, series.all_day) if series else (self.zone, False)
        best: dict[Any, tuple[icalendar.Component, datetime]] = {}
        for c in resource.components:
            try:
                rid = self.value(c, "RECURRENCE-ID") if "RECURRENCE-ID" in c else None
                if not isinstance(rid, date):
                    continue
                slot = self.moment(rid, *where)
                key = series.key(slot) if series else slot.timestamp()
            except Exception as e:
                log.debug("skipping a changed instance of %s: %s", resource.uid, e)
                continue
            if key not in best or _sequence(c) > _sequence(best[key][0]):
                best[key] = (c, slot)
        self.fixed: list[tuple[datetime, _Shape, datetime]] = []  # (start, shape, slot)
        for key, (c, rid) in best.items():
            with contextlib.suppress(Exception):  # a change that cannot be read: the slot stays
                self._change(key, c, rid, _sequence(core) if core else -1)
        self.fixed.sort(key=operator.itemgetter(0))

    def local(self, value: Any) -> Any:
        if self.wr_zone is not None and _zone_of(value) and value.tzname() == "UTC":
            return value.astimezone(self.wr_zone)
        return value

    def value(self, c: icalendar.Component, name: str) -> Any:
        prop = c.get(name)
        try:
            return self.local(getattr(as_list(prop)[0], "dt", None) if prop is not None else None)
        except Exception:  # a value icalendar could not read
            return None

    def times(self, c: icalendar.Component) -> tuple[datetime, _Shape, bool] | None:
        """A component's start, the shape of its occurrences and whether it starts on a
        DATE; None without a start. A to-do without DTSTART starts when it is due."""
        start, end = (
            self.value(c, "DTSTART"),
            self.value(c, "DTEND" if self.kind == "event" else "DUE"),
        )
        due_only = not isinstance(start, date) and self.kind == "todo"
        if due_only:
            start = end
        if not isinstance(start, date):
            return None
        end = end if isinstance(end, date) else None
        # A date or floating time mixed with a zoned one (against RFC 5545) means the
        # zoned one's zone, as recurring-ical-events reads it.
        own_start, own_end = _zone_of(start), _zone_of(end)
        start_zone = own_end if own_end and not own_start else self.zone
        end_zone = own_start if own_start and not own_end else self.zone
        first = as_aware(start, start_zone)
        all_day = not isinstance(start, datetime)
        if end is not None:
            last = as_aware(end, end_zone)
            all_day = all_day and not isinstance(end, datetime)
        else:
            length = _ZERO if due_only else self.value(c, "DURATION")
            if not isinstance(length, timedelta):
                length = _DAY if all_day and self.kind == "event" else _ZERO
            all_day = all_day and not length % _DAY
            last = first + length
        if last < first:  # swapped, as recurring-ical-events reads it
            first, last = last, first
        return first, _Shape.of(c, all_day, last - first), not isinstance(start, datetime)

    def moment(self, value: Any, zone: tzinfo, all_day: bool) -> datetime:
        """A DATE or DATE-TIME (or PERIOD start) of a series, in the series' zone."""
        value = value[0] if isinstance(value, tuple) else value
        if not isinstance(value, date):
            raise ValueError(f"not a date or time: {value!r}")
        if all_day:
            return datetime(value.year, value.month, value.day, tzinfo=zone)
        return as_aware(self.local(value), zone).astimezone(zone)

    def _change(self, key: Any, c: icalendar.Component, rid: datetime, core_seq: int) -> None:
        series = self.series
        if series is not None:
            if series.is_excluded(key, rid):
                return  # deleted by EXDATE although a changed copy exists
            outdated = _sequence(c) < core_seq and any(
                p in c for p in ("RRULE", "RDATE", "EXDATE")
            )  # an outdated copy of the series, for a slot it may no longer have
            if outdated and key not in map(series.key, series.instants(rid - _DAY, rid + _DAY)):
                return
        times = self.times(c)
        if times is None:  # a to-do instance without dates keeps its slot
            if series is None:
                return
            times = rid, _Shape.of(c, series.shape.all_day, series.shape.length), False
        self.fixed.append((times[0], times[1], rid))
        if series is not None:
            series.replaced.add(key)
            params = getattr(c.get("RECURRENCE-ID"), "params", None) or {}
            if str(params.get("RANGE", "")).upper() == "THISANDFUTURE":
                series.futures.append((key, times[0] - rid, times[1]))
                series.futures.sort(key=operator.itemgetter(0))
                series._spans()

    def between(self, start: datetime, end: datetime) -> list[Occurrence]:
        found: list[Occurrence] = []
        uid, kind, series = self.uid, self.kind, self.series
        if series is not None:
            zone = series.zone
            ws, we = start.astimezone(zone), end.astimezone(zone)
            checks = bool(series.excluded or series.excluded_days or series.replaced)
            futures, lengths, repeats = series.futures, series.lengths, series.repeats
            base = series.shape
            for at in series.instants(ws - series.back, we + series.ahead):
                shape, begin, length = base, at, base.length
                if checks or futures:
                    key = series.key(at)
                    if checks and (key in series.replaced or series.is_excluded(key, at)):
                        continue
                    for fkey, shift, fshape in futures:  # the last change before it
                        if fkey >= key:
                            break
                        shape, begin, length = fshape, at + shift, fshape.length
                if lengths:
                    length = lengths.get(at, length)
                begin = _real(begin)
                finish = begin + length
                if begin < we and (finish > ws or (begin == finish and begin >= ws)):
                    found.append(shape.at(uid, kind, begin, length, at if repeats else None))
        for begin, shape, rid in self.fixed:
            if begin >= end:
                break
            begin = _real(begin)
            finish = begin + shape.length
            if begin < end and (finish > start or (begin == finish and begin >= start)):
                found.append(shape.at(uid, kind, begin, shape.length, rid))
        if self.fixed or (series and (series.futures or series.rdates or series.mixed)):
            found.sort(key=operator.attrgetter("start"))
        return found

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        starts = [begin for begin, _, _ in self.fixed]
        ends = [begin + shape.length for begin, shape, _ in self.fixed]
        forever, series = False, self.series
        if series is not None:
            longest = series.back - SLACK  # the longest occurrence, moved the farthest
            if series.with_start:
                starts.append(series.start)
                ends.append(series.start + series.shape.length)
            starts += series.rdates
            ends += [at + longest for at in series.rdates]
            for rule in series.rules if series.with_start else ():  # else: none happen
                if rule.kept is not None:  # the last of a COUNT, or after UNTIL: no later
                    ends += [rule.kept[-1] + longest] if rule.kept else []
                elif rule.count is None and rule.local_until is not None:
                    ends.append(rule.local_until + longest)
                else:  # forever, or a COUNT too long to count
                    forever = True
        first = min(starts).astimezone(UTC) if starts else None
        return first, None if forever or not ends else max(ends).astimezone(UTC)


def _real(at: datetime) -> datetime:
    """`at`, moved forward by the gap if its wall-clock time does not exist. Clocks go
    forward at night, 22:00 to 05:00 (everywhere but in a few cases long past, such as
    Samoa skipping 30 December 2011); zones made from a VTIMEZONE are too slow to ask."""
    if (at.hour < 5 or at.hour >= 22) and type(at.tzinfo) is ZoneInfo:
        return at.astimezone(UTC).astimezone(at.tzinfo)
    return at


def _state(resource: Resource) -> list[Any]:
    """What a decoding depends on, compared by identity: every component and value, the
    items of a list (Component.add appends in place) and the parts of an RRULE."""
    state: list[Any] = [resource.default_tz, resource.uid, resource.kind, resource.components]
    for c in resource.components:
        state.append(c)
        for value in c.values():
            items = value if type(value) is list else [value]
            state += [value, *items]
            state += [part for v in items if isinstance(v, dict) for part in v.values()]
    return state


def _plan(resource: Resource, tz: tzinfo) -> _Plan:
    state = _state(resource)
    cached: Any = resource.__dict__.get(_ATTR)
    old = cached[0] if cached else ()
    if len(old) != len(state) or not all(map(operator.is_, old, state)):
        cached = resource.__dict__[_ATTR] = (state, {})
    plans: dict[tzinfo, _Plan] = cached[1]
    plan = plans.get(tz)
    if plan is None:
        plan = plans[tz] = _Plan(resource, tz)
    return plan


def forget(resource: Resource) -> None:
    """Drop the decoding kept on `resource`: needed only after editing a property's value
    in place (the dict of an RRULE, say) rather than replacing it."""
    resource.__dict__.pop(_ATTR, None)


def occurrences(
    resource: Resource, start: datetime, end: datetime, tz: ZoneInfo
) -> Iterator[Occurrence]:
    """Occurrences overlapping [start, end), in order of their start."""
    try:
        found = _plan(resource, tz).between(as_aware(start, tz), as_aware(end, tz))
    except Exception:  # never for a parsed resource; if it happens, log, do not fail
        log.warning("cannot expand %s", resource.uid, exc_info=True)
        found = []
    yield from found


def bounds(resource: Resource, tz: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    """The first start and the last end, in UTC; the end is None when it repeats forever.

    Both may be wider than the occurrences (an EXDATE does not narrow them): they are for
    an index that narrows, not decides.
    """
    try:
        return _plan(resource, tz).bounds()
    except Exception:
        log.warning("cannot find the bounds of %s", resource.uid, exc_info=True)
        return None, None
