"""Reading and writing iCalendar (RFC 5545) text: resources grouped by UID, problems kept raw.

A calendar file is split into *resources* as CalDAV stores them: every VEVENT or VTODO
sharing a UID (a series and its changed instances) with the VTIMEZONEs they use. What
cannot be used comes back as a `Problem` holding its original text: an event without a
start, a bad date or rule, an event cut off before its END. The `icalendar` parser
silently drops components it cannot close, so its result is checked against the BEGIN
lines; when they disagree, or it rejects the file, the text is split into components
and each is read on its own (`repair.py`, which also reads bytes in the encodings old
exporters wrote). A component without a UID gets one made from its content, so
importing the same file twice changes nothing.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar

from . import repair

PRODID = "-//OS1//OS1 companion//EN"
KINDS = {"VEVENT": "event", "VTODO": "todo"}
OTHERS = {
    "VJOURNAL": "a journal entry (VJOURNAL)",
    "VFREEBUSY": "free/busy times (VFREEBUSY)",
    "VAVAILABILITY": "availability (VAVAILABILITY)",
}
# Properties that say when something happens: if one cannot be read, neither can it.
_WHEN = ("DTSTART", "DTEND", "DUE", "DURATION", "RRULE", "RDATE", "EXDATE", "EXRULE")
MAX_TEXT = 50 * 1024 * 1024
_BROKEN = getattr(icalendar, "vBroken", ())  # a value that did not parse (icalendar 7)


class CalendarError(Exception):
    """Calendar data cannot be used; the message says what is wrong."""


@dataclass(frozen=True)
class Problem:
    """Something in a calendar that could not be read: kept whole, with the reason."""

    source: str
    error: str
    raw: str


@dataclass
class Resource:
    """One calendar object: the components sharing a UID, and the time zones they use."""

    uid: str
    kind: str
    components: list[icalendar.Component]
    timezones: list[icalendar.Component] = field(default_factory=list)
    default_tz: str | None = None
    """The calendar's X-WR-TIMEZONE (Google): what its floating times mean."""

    @property
    def master(self) -> icalendar.Component | None:
        """The series itself (the component without a RECURRENCE-ID), if present."""
        for c in self.components:
            if "RECURRENCE-ID" not in c:
                return c
        return None

    @property
    def main(self) -> icalendar.Component:
        """The master, or the first changed instance when only those were sent."""
        return self.master or self.components[0]

    @property
    def summary(self) -> str:
        return text_of(self.main.get("SUMMARY"))

    def to_ical(self) -> str:
        cal = new_calendar()
        if self.default_tz:
            cal.add("X-WR-TIMEZONE", self.default_tz)
        for tz in self.timezones:
            cal.add_component(tz)
        for c in self.components:
            cal.add_component(c)
        return cal.to_ical().decode("utf-8")


@dataclass
class Parsed:
    """What a calendar file held."""

    resources: list[Resource]
    problems: list[Problem]
    name: str | None = None
    method: str = ""
    notes: list[Problem] = field(default_factory=list)
    """Kept raw without costing an event: components OS1 does not keep (journals,
    free/busy) and lines dropped from events that were read."""
    encoding: str = "utf-8"
    """How the bytes were read: anything but UTF-8 is worth telling the user."""


def new_calendar() -> icalendar.Calendar:
    cal = icalendar.Calendar()
    cal.add("PRODID", PRODID)
    cal.add("VERSION", "2.0")
    return cal


def text_of(value: Any) -> str:
    """A property's value as plain text ('' when absent)."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(text_of(v) for v in value)
    return str(value).strip()


def decode_text(data: bytes | str) -> str:
    """Calendar bytes as text, in whatever encoding they came (`repair.read_text`)."""
    return repair.read_text(data)[0]


def _stable_uid(component: icalendar.Component) -> str:
    content = component.to_ical()
    return "os1-" + hashlib.sha256(content).hexdigest()[:32]


def _checked(component: icalendar.Component) -> str | None:
    """Why this component cannot be used, or None if it can."""
    broken = dict(getattr(component, "errors", None) or [])
    for prop in (*_WHEN, "RECURRENCE-ID", "UID"):
        if prop in broken:
            return f"{prop} cannot be read: {broken[prop]}"
    kind = KINDS[str(component.name)]
    if kind == "event" and "DTSTART" not in component:
        return "an event without a start (DTSTART)"
    for prop in ("DTSTART", "DTEND", "DUE", "RECURRENCE-ID", "UID", "DURATION"):
        if isinstance(component.get(prop), list):
            return f"{prop} appears more than once"
    for prop in ("DTSTART", "DTEND", "DUE", "RECURRENCE-ID"):
        if prop in component:
            try:
                value = component.decoded(prop)
            except (ValueError, TypeError, KeyError) as e:
                return f"{prop} cannot be read: {e}"
            if not isinstance(value, date):
                return f"{prop} is not a date or time"
    for rule in as_list(component.get("RRULE")):
        try:
            rule.to_ical()
        except (ValueError, TypeError) as e:
            return f"the repeat rule (RRULE) cannot be read: {e}"
    for prop in ("RDATE", "EXDATE"):
        for v in as_list(component.get(prop)):
            if not all(isinstance(d.dt, (date, tuple)) for d in v.dts):
                return f"{prop} holds a time of day without a date"
    return None


def _drop_empty(component: icalendar.Component) -> None:
    """'RRULE:' with nothing after it (some exporters write that) says nothing: dropped."""
    for prop in ("RRULE", "EXRULE", "RDATE", "EXDATE"):
        values = as_list(component.get(prop))
        kept = [v for v in values if v.to_ical().strip()]
        if len(kept) == len(values):
            continue
        del component[prop]
        if kept:
            component[prop] = kept if len(kept) > 1 else kept[0]
        if not any(isinstance(v, _BROKEN) for v in kept) and getattr(component, "errors", None):
            component.errors[:] = [(n, e) for n, e in component.errors if n != prop]


def as_list(value: Any) -> list[Any]:
    """A property's values as a list: one that appears once is not in one."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _from_calendars(
    calendars: Sequence[icalendar.Component],
    source: str,
    original: Callable[[icalendar.Component], str],
) -> Parsed:
    groups: dict[tuple[str, str], Resource] = {}
    seen: dict[tuple[str, str], set[bytes]] = {}
    out = Parsed([], [])
    for cal in calendars:
        out.name = out.name or (_prop_text(cal.get("X-WR-CALNAME")) or None)
        out.method = out.method or text_of(cal.get("METHOD")).upper()
        default_tz = text_of(cal.get("X-WR-TIMEZONE")) or None
        zones = {text_of(tz.get("TZID")): tz for tz in cal.walk("VTIMEZONE")}
        for component in cal.subcomponents:
            name = str(component.name).upper()
            if name == "VTIMEZONE":
                continue
            if name not in KINDS:
                what = OTHERS.get(name, f"a {name} component")
                why = f"{what}: OS1 keeps only events and to-dos; kept here as it was"
                out.notes.append(Problem(source, why, original(component)))
                continue
            try:
                _drop_empty(component)
                error = _checked(component)
            except Exception as e:  # the parser's own surprises are problems too
                error = f"{type(e).__name__}: {e}"
            if error:
                out.problems.append(Problem(source, error, original(component)))
                continue
            errors = getattr(component, "errors", None) or []
            lost = "; ".join(str(err) for prop, err in errors if prop is None)
            if lost:  # lines the parser could not read and left out
                why = f"read without lines that make no sense ({lost}); the original is here"
                out.notes.append(Problem(source, why, original(component)))
            uid = text_of(component.get("UID")) or _stable_uid(component)
            if "UID" not in component:
                component.add("UID", uid)
            key = (KINDS[name], uid)
            resource = groups.setdefault(key, Resource(uid, key[0], [], default_tz=default_tz))
            if resource.components:  # texts compared only where a UID comes again
                texts = seen.setdefault(key, {c.to_ical() for c in resource.components})
                if component.to_ical() in texts:
                    why = "the same component appears twice; kept once, the copy is here"
                    out.notes.append(Problem(source, why, original(component)))
                    continue
                texts.add(component.to_ical())
            resource.components.append(component)
            for tzid in sorted(used_tzids(component)):
                tz = zones.get(tzid)
                if tz is not None and tz not in resource.timezones:
                    resource.timezones.append(tz)
    out.resources = list(groups.values())
    return out


def used_tzids(component: icalendar.Component) -> set[str]:
    params = (getattr(v, "params", None) or {} for _, v in component.property_items())
    return {str(p["TZID"]) for p in params if p.get("TZID")}


def parse(data: bytes | str, source: str = "") -> Parsed:
    """Every event and to-do in calendar text; whatever is broken comes back as a problem."""
    if len(data) > MAX_TEXT:
        raise CalendarError(f"{source or 'the calendar'} is larger than 50 MB; split it first")
    text, encoding = repair.read_text(data)
    if "BEGIN:VCALENDAR" not in text.upper():
        if not text.strip():
            return Parsed([], [], encoding=encoding)
        raise CalendarError(f"{source or 'this'} is not an iCalendar file (no BEGIN:VCALENDAR)")
    try:
        calendars = icalendar.Calendar.from_ical(text, multiple=True)
        if sum(1 for cal in calendars for _ in cal.walk()) != repair.begins(text):
            raise CalendarError("some components are not closed (an END line is missing)")
        top = [c for cal in calendars for c in cal.subcomponents]
        parsed = _from_calendars(calendars, source, repair.originals(text, top))
    except Exception as whole:
        # Read what can be read, one component at a time; the rest is kept raw.
        parsed = _salvage(text, source, whole)
    parsed.encoding = encoding
    return parsed


def _salvage(text: str, source: str, whole: Exception) -> Parsed:
    found = repair.salvage(text, whole)
    out = _from_calendars(found.calendars, source, found.original)
    out.name = _prop_text(found.props.get("X-WR-CALNAME")) or None
    out.method = _prop_text(found.props.get("METHOD")).upper()
    problems: list[Problem] = []
    notes: list[Problem] = []
    for t in found.troubles:
        kept = problems if t.name in KINDS and not t.partly else notes
        kept.append(Problem(source, t.why, t.text))
    out.problems[:0], out.notes[:0] = problems, notes
    if not found.found:
        out.problems.append(Problem(source, f"the file cannot be read: {whole}", text))
    return out


def _prop_text(value: str | None) -> str:
    """The text of a property the parser left as written (X-WR-CALNAME), unescaped."""
    if not value:
        return ""
    if isinstance(value, icalendar.vText):
        return str(value).strip()
    unescape = {"n": "\n", "N": "\n"}
    return re.sub(r"\\([\\;,nN])", lambda m: unescape.get(m[1], m[1]), str(value)).strip()


def new_uid() -> str:
    return f"{uuid.uuid4()}@os1"


def new_event(
    summary: str,
    start: datetime | date,
    end: datetime | date | None = None,
    *,
    location: str = "",
    description: str = "",
    rrule: dict[str, Any] | None = None,
    uid: str | None = None,
) -> Resource:
    """A VEVENT; a `date` start makes an all-day event. Times carry their zone."""
    event = icalendar.Event()
    event.add("UID", uid or new_uid())
    event.add("DTSTAMP", datetime.now().astimezone())
    event.add("SUMMARY", summary)
    event.add("DTSTART", start)
    if end is None:
        end = start + (timedelta(days=1) if not isinstance(start, datetime) else timedelta(hours=1))
    event.add("DTEND", end)
    if location:
        event.add("LOCATION", location)
    if description:
        event.add("DESCRIPTION", description)
    if rrule:
        event.add("RRULE", rrule)
    return Resource(text_of(event["UID"]), "event", [event], timezones=_zones_for(event))


def new_todo(
    summary: str,
    due: datetime | None,
    *,
    rrule: dict[str, Any] | None = None,
    description: str = "",
    alarm: bool = True,
    uid: str | None = None,
) -> Resource:
    """A VTODO that is due at `due`, with a display alarm then (a reminder), repeating by
    `rrule` if given."""
    todo = icalendar.Todo()
    todo.add("UID", uid or new_uid())
    todo.add("DTSTAMP", datetime.now().astimezone())
    todo.add("SUMMARY", summary)
    todo.add("STATUS", "NEEDS-ACTION")
    if description:
        todo.add("DESCRIPTION", description)
    if due is not None:
        # DTSTART as well as DUE: RRULE expands from DTSTART (RFC 5545 3.8.5.3).
        todo.add("DTSTART", due)
        todo.add("DUE", due)
        if rrule:
            todo.add("RRULE", rrule)
        if alarm:
            todo.add_component(display_alarm(summary, timedelta(0)))
    return Resource(text_of(todo["UID"]), "todo", [todo], timezones=_zones_for(todo))


def display_alarm(text: str, before_start: timedelta) -> icalendar.Alarm:
    alarm = icalendar.Alarm()
    alarm.add("ACTION", "DISPLAY")
    alarm.add("DESCRIPTION", text or "Reminder")
    alarm.add("TRIGGER", -before_start)
    return alarm


def _zones_for(component: icalendar.Component) -> list[icalendar.Component]:
    """VTIMEZONEs for the zones the component's times use (CalDAV servers want them)."""
    zones: dict[str, Any] = {}
    for prop in ("DTSTART", "DTEND", "DUE"):
        value = component.get(prop)
        dt = getattr(value, "dt", None)
        tzinfo = getattr(dt, "tzinfo", None)
        key = getattr(tzinfo, "key", None)
        if key and key != "UTC":
            zones[key] = tzinfo
    out: list[icalendar.Component] = []
    for key in sorted(zones):
        try:
            out.append(icalendar.Timezone.from_tzinfo(zones[key], first_date=date(1970, 1, 1)))
        except Exception:
            pass  # a zone icalendar cannot describe: servers fall back on the TZID
    return out


def pin_floating(resource: Resource) -> Resource:
    """A copy whose floating times carry the calendar zone they meant (X-WR-TIMEZONE), so
    the object means the same in a file with other calendars' objects."""
    if not resource.default_tz:
        return resource
    try:
        zone = ZoneInfo(resource.default_tz)
    except Exception:
        return resource  # a zone this computer does not know: left as it was
    copy = next(r for r in parse(resource.to_ical()).resources if r.uid == resource.uid)
    for c in copy.components:
        for prop in ("DTSTART", "DTEND", "DUE", "RECURRENCE-ID"):
            dt = getattr(c.get(prop), "dt", None)
            if isinstance(dt, datetime) and dt.tzinfo is None:
                c.pop(prop)
                c.add(prop, dt.replace(tzinfo=zone))
        for prop in ("EXDATE", "RDATE"):
            lists = [[d.dt for d in v.dts] for v in as_list(c.get(prop))]
            flat = [m for ms in lists for m in ms]
            if all(isinstance(m, date) for m in flat):  # periods are left as they are
                c.pop(prop, None)
                for ms in lists:
                    c.add(prop, [_pinned(m, zone) for m in ms])
        for rule in as_list(c.get("RRULE")):
            until = (rule.get("UNTIL") or [None])[0]
            if isinstance(until, datetime) and until.tzinfo is None:
                rule["UNTIL"] = [until.replace(tzinfo=zone).astimezone(UTC)]
        for tz in _zones_for(c):
            if text_of(tz.get("TZID")) not in {text_of(z.get("TZID")) for z in copy.timezones}:
                copy.timezones.append(tz)
    copy.default_tz = None
    return copy


def _pinned(moment: date, zone: ZoneInfo) -> date:
    floating = isinstance(moment, datetime) and moment.tzinfo is None
    return moment.replace(tzinfo=zone) if floating else moment  # type: ignore[call-arg]


def serialize(resources: list[Resource], name: str | None = None) -> str:
    """One calendar file holding every resource (for export). Floating times keep their
    meaning: the calendar says their zone when all agree, else each is pinned to its own."""
    cal = new_calendar()
    if name:
        cal.add("X-WR-CALNAME", name)
    named = {r.default_tz for r in resources}
    shared = named.pop() if len(named) == 1 else None
    if shared:
        cal.add("X-WR-TIMEZONE", shared)
    resources = [r if r.default_tz in (None, shared) else pin_floating(r) for r in resources]
    seen: set[str] = set()
    for r in resources:
        for tz in r.timezones:
            tzid = text_of(tz.get("TZID"))
            if tzid not in seen:
                seen.add(tzid)
                cal.add_component(tz)
    for r in resources:
        for c in r.components:
            cal.add_component(c)
    return cal.to_ical().decode("utf-8")
