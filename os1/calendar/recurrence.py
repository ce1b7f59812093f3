"""Occurrences of events and to-dos in a window: RRULE, RDATE, EXDATE and changed instances.

Times are compared as aware datetimes. Floating times (no zone) mean the calendar's
X-WR-TIMEZONE if it has one, else the user's zone; all-day events start at local
midnight of their date in that zone. In a calendar with X-WR-TIMEZONE (Google), UTC
times are read in that zone, so its series repeat on that zone's wall clock. Rules expand
in the wall-clock time of their start's zone, so a 09:00 meeting stays at 09:00 across
daylight-saving changes; a start in the hour skipped in spring moves forward by the gap
(RFC 5545 3.3.5), and every occurrence keeps the wall-clock length of the first.

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
import itertools
import logging
import operator
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
from dateutil import rrule as du

from .ical import Resource, text_of

log = logging.getLogger(__name__)

KEPT_COUNT = 10_000  # a rule with a COUNT up to this keeps its instances once found
PROBE_YEAR = 9800  # rules that may never happen are tried from here (dateutil: to 9999)
SLACK = timedelta(hours=3)  # how far a wall-clock time can be from its UTC reading
_ATTR = "_os1_recurrence"
_DAY, _ZERO = timedelta(days=1), timedelta(0)
_FREQS = {f: getattr(du, f) for f in ("YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY",
                                      "MINUTELY", "SECONDLY")}  # fmt: skip
_WEEKDAYS = {"MO": 0, "TU": 1, "WE": 2, "TH": 3, "FR": 4, "SA": 5, "SU": 6}
_NUMBERS = {"BYSETPOS", "BYMONTH", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYHOUR",
            "BYMINUTE", "BYSECOND"}  # fmt: skip
_SPARSE = {"BYSETPOS", "BYMONTH", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO"}
_BYDAY = re.compile(r"^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")
_SECONDS = {du.HOURLY: 3600, du.MINUTELY: 60, du.SECONDLY: 1}
_SIMPLE_PARTS = {"wkst", "byweekday", "byhour", "byminute", "bysecond"}
_LAST_DAY = date(9999, 12, 1)


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


def as_aware(value: date, tz: tzinfo) -> datetime:
    """A DATE or DATE-TIME as an aware datetime (dates at local midnight)."""
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=tz)
    if value.tzinfo is None:
        return value.replace(tzinfo=tz)
    return value


def _list(value: Any) -> list[Any]:
    return [] if value is None else value if isinstance(value, list) else [value]


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


class _Rule:
    """One RRULE, built so that it can start again near any moment with the same instances."""

    def __init__(self, recur: Any, start: datetime, all_day: bool) -> None:
        parts = {str(k).upper(): _list(v) for k, v in recur.items()}
        self.start, self.freq = start, _FREQS[str(parts.pop("FREQ")[0]).upper()]
        self.interval = int(parts.pop("INTERVAL", [1])[0])
        if self.interval < 1:
            raise ValueError("INTERVAL must be positive")
        count = int(parts.pop("COUNT", [0])[0])
        self.count = count if count > 0 else None  # COUNT=-1 is seen in the wild: none
        until = parts.pop("UNTIL", [None])[0]
        self.until = _until(until, start, all_day) if until is not None else None
        kw: dict[str, Any] = {"wkst": _WEEKDAYS[str(parts.pop("WKST", ["MO"])[0]).upper()]}
        sparse = False  # has filters that some periods, or all, may not meet
        for key, values in parts.items():
            if key == "BYDAY":
                found = [_BYDAY.match(str(v).strip().upper()) for v in values]
                days = [(int(m[1]) if m[1] else 0, _WEEKDAYS[m[2]]) for m in found if m]
                if len(days) < len(values):
                    raise ValueError(f"BYDAY {values}")
                kw["byweekday"] = [du.weekdays[d](n) if n else d for n, d in days]
                sparse = sparse or any(n for n, _ in days)
            elif key in _NUMBERS:
                kw[key.lower()] = [int(v) for v in values]
                sparse = sparse or key in _SPARSE
            elif key == "RSCALE" and str(values[0]).upper() != "GREGORIAN":
                raise ValueError(f"calendar scale {values[0]}")
            elif key not in ("RSCALE", "SKIP") and not key.startswith("X-"):
                raise ValueError(f"unknown rule part {key}")
        # What dateutil derives from DTSTART, fixed so that a restarted rule keeps it.
        if not {"byweekno", "byyearday", "bymonthday", "byweekday"} & set(kw):
            if self.freq == du.YEARLY:
                kw.setdefault("bymonth", [start.month])
            if self.freq in (du.YEARLY, du.MONTHLY):
                kw["bymonthday"] = [start.day]
            elif self.freq == du.WEEKLY:
                kw["byweekday"] = [start.weekday()]
        for name, level, value in (("byhour", du.HOURLY, start.hour),
                                   ("byminute", du.MINUTELY, start.minute),
                                   ("bysecond", du.SECONDLY, start.second)):  # fmt: skip
            if self.freq < level:
                kw.setdefault(name, [value])
        self.kw = kw
        self.rule = self._make(start, self.count, self.until)
        probe = datetime(PROBE_YEAR, 1, 1, tzinfo=start.tzinfo)
        if sparse and next(iter(self._restarted(probe, None)), None) is None:
            raise ValueError("the rule never happens")
        self.local_until = self.until.astimezone(start.tzinfo) if self.until else None
        self.simple = self._simple()
        self.kept: list[datetime] | None = None  # all instances of a COUNT rule
        if self.count is not None and self.count <= KEPT_COUNT:
            self.kept = list(itertools.islice(self._simple_from(start), self.count)
                             if self.simple else self.rule)  # fmt: skip

    def _make(self, start: datetime, count: int | None, until: datetime | None) -> du.rrule:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # COUNT with UNTIL: deprecated in dateutil
            return du.rrule(self.freq, dtstart=start, interval=self.interval, count=count,
                            until=until, cache=False, **self.kw)  # fmt: skip

    def _restarted(self, moment: datetime, until: datetime | None) -> du.rrule:
        """The rule started again at a period boundary before `moment` (COUNT dropped)."""
        s, t, n = self.start, moment.astimezone(self.start.tzinfo), self.interval
        if self.freq in (du.YEARLY, du.MONTHLY):
            step = 12 * n if self.freq == du.YEARLY else n
            k = ((t.year - s.year) * 12 + t.month - s.month - step) // step
            years, month0 = divmod(s.month - 1 + k * step, 12)
            new = s.replace(year=s.year + years, month=month0 + 1, day=1) if k > 0 else s
        elif self.freq in (du.WEEKLY, du.DAILY):
            step = 7 * n if self.freq == du.WEEKLY else n
            k = ((t.date() - s.date()).days - 7) // step
            new = s + timedelta(days=step * k) if k > 0 else s
        else:
            step = _SECONDS[self.freq] * n
            k = int((t.replace(tzinfo=None) - s.replace(tzinfo=None) - _DAY).total_seconds())
            new = s + timedelta(seconds=step * (k // step)) if k > 0 else s
        return self._make(new, None, until)

    def _simple(self) -> tuple[int, date, list[timedelta], set[int] | None, list[time]] | None:
        """For a rule by days or weeks filtered only by weekday and time of day (most are),
        how to count it out ten times faster than dateutil: (days per period, the first
        period's first day, days into a period, weekdays, times of day)."""
        kw, freq = self.kw, self.freq
        if freq == du.HOURLY and self.interval == 1 and "byhour" in kw:
            freq = du.DAILY  # every hour of BYHOUR: daily at those hours
        days = kw.get("byweekday")
        if freq not in (du.DAILY, du.WEEKLY) or set(kw) - _SIMPLE_PARTS:
            return None
        if not all(isinstance(d, int) for d in days or ()):
            return None
        zone, first = self.start.tzinfo, self.start.date()
        times = sorted(time(h, m, s, tzinfo=zone) for h in kw["byhour"]
                       for m in kw["byminute"] for s in kw["bysecond"])  # fmt: skip
        if freq == du.DAILY:
            return self.interval, first, [_ZERO], set(days) if days else None, times
        wkst = kw["wkst"]
        offsets = [timedelta(days=d) for d in sorted({(d - wkst) % 7 for d in days or ()})]
        week = first - timedelta(days=(first.weekday() - wkst) % 7)
        return 7 * self.interval, week, offsets, None, times

    def _simple_from(self, a: datetime) -> Iterator[datetime]:
        """The instances of a simple rule from `a` on, in order (COUNT not applied)."""
        assert self.simple is not None
        step, origin, offsets, weekdays, times = self.simple
        lo = max(a, self.start)
        k = max(0, ((lo.date() - origin).days - 1) // step)
        day, every = origin + timedelta(days=k * step), timedelta(days=step)
        until, combine = self.local_until, datetime.combine
        while day < _LAST_DAY:
            for offset in offsets:
                d = day + offset
                if weekdays is not None and d.weekday() not in weekdays:
                    continue
                for t in times:
                    x = combine(d, t)
                    if x < lo:
                        continue
                    if until is not None and x > until:
                        return
                    yield x
            day += every

    def between(self, a: datetime, b: datetime) -> list[datetime]:
        """Instances in [a, b] (a and b in the rule's zone)."""
        if (kept := self.kept) is not None:
            return kept[bisect.bisect_left(kept, a) : bisect.bisect_right(kept, b)]
        if self.local_until is not None and self.local_until < a:
            return []
        if self.count is not None:  # a COUNT too large to keep: counted from the start
            return list(self.rule.between(a, b, inc=True))
        if self.simple is None:
            return list(self._restarted(a, self.until).between(a, b, inc=True))
        return list(itertools.takewhile(lambda x: x <= b, self._simple_from(a)))


def _until(value: Any, start: datetime, all_day: bool) -> datetime:
    """UNTIL as dateutil takes it: aware like the start; a date counts whole."""
    zone = start.tzinfo or UTC
    if not isinstance(value, date):
        raise ValueError(f"UNTIL {value!r}")
    if all_day:
        # A time on an all-day series counts by its date as written, except the local
        # midnight here (Outlook writes 20200916T230000Z for 17 September in London).
        day = value
        if isinstance(value, datetime):
            local = value.astimezone(zone) if value.tzinfo else value
            day = local.date() if local.time() == time(0) else value.date()
        return datetime(day.year, day.month, day.day, tzinfo=zone)
    if not isinstance(value, datetime):
        return datetime.combine(value, time.max, tzinfo=zone)
    return as_aware(value, zone)


class _Series:
    """The master component of a resource, ready to expand in any window."""

    def __init__(self, reader: _Plan, c: icalendar.Component) -> None:
        times = reader.times(c)
        if times is None:
            raise ValueError("no start")
        self.start, self.shape, self.all_day = times
        self.zone: tzinfo = self.start.tzinfo or UTC
        self.rules: list[_Rule] = []
        for recur in _list(c.get("RRULE")):
            try:
                self.rules.append(_Rule(recur, self.start, self.all_day))
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
        for prop in _list(c.get(name)):
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
            return self.local(getattr(_list(prop)[0], "dt", None) if prop is not None else None)
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
