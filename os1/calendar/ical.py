"""Reading and writing iCalendar (RFC 5545) text: resources grouped by UID, problems kept raw.

A calendar file is split into *resources* as CalDAV stores them: every VEVENT or
VTODO sharing a UID (the series and its changed instances) with the VTIMEZONEs they
use. A file that the parser rejects as a whole is read again component by component,
so one broken event costs that event, never the file; whatever cannot be read is
returned as a `Problem` with its raw text. A component without a UID gets a stable one
made from its content, so importing the same file twice changes nothing.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import icalendar

PRODID = "-//OS1//OS1 companion//EN"
KINDS = {"VEVENT": "event", "VTODO": "todo"}
_BLOCK = re.compile(
    r"^BEGIN:(VEVENT|VTODO|VTIMEZONE)\r?$.*?^END:\1\r?$", re.MULTILINE | re.DOTALL | re.IGNORECASE
)
MAX_TEXT = 50 * 1024 * 1024


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
    if isinstance(data, str):
        return data.lstrip("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")  # old exports: never fail on bytes alone


def _stable_uid(component: icalendar.Component) -> str:
    content = component.to_ical()
    return "os1-" + hashlib.sha256(content).hexdigest()[:32]


def _checked(component: icalendar.Component) -> str | None:
    """Why this component cannot be used, or None if it can."""
    kind = KINDS[str(component.name)]
    if kind == "event" and "DTSTART" not in component:
        return "an event without a start (DTSTART)"
    for prop in ("DTSTART", "DTEND", "DUE", "RECURRENCE-ID"):
        if prop in component:
            try:
                value = component.decoded(prop)
            except (ValueError, TypeError, KeyError) as e:
                return f"{prop} cannot be read: {e}"
            if not isinstance(value, date):
                return f"{prop} is not a date or time"
    for rule in _as_list(component.get("RRULE")):
        try:
            rule.to_ical()
        except (ValueError, TypeError) as e:
            return f"the repeat rule (RRULE) cannot be read: {e}"
    if getattr(component, "errors", None):
        return "; ".join(f"{name}: {err}" for name, err in component.errors)
    return None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _from_calendars(
    calendars: Sequence[icalendar.Component], source: str
) -> tuple[list[Resource], list[Problem], str | None, str]:
    groups: dict[tuple[str, str], Resource] = {}
    problems: list[Problem] = []
    name: str | None = None
    method = ""
    for cal in calendars:
        name = name or (text_of(cal.get("X-WR-CALNAME")) or None)
        method = method or text_of(cal.get("METHOD")).upper()
        default_tz = text_of(cal.get("X-WR-TIMEZONE")) or None
        zones = {text_of(tz.get("TZID")): tz for tz in cal.walk("VTIMEZONE")}
        for component in cal.subcomponents:
            if component.name not in KINDS:
                continue
            try:
                why = _checked(component)
            except Exception as e:  # the parser's own surprises are problems too
                why = f"{type(e).__name__}: {e}"
            if why:
                problems.append(Problem(source, why, _raw(component)))
                continue
            uid = text_of(component.get("UID")) or _stable_uid(component)
            if "UID" not in component:
                component.add("UID", uid)
            key = (KINDS[component.name], uid)
            if key not in groups:
                groups[key] = Resource(uid, key[0], [], default_tz=default_tz)
            resource = groups[key]
            resource.components.append(component)
            for tzid in sorted(used_tzids(component)):
                tz = zones.get(tzid)
                if tz is not None and tz not in resource.timezones:
                    resource.timezones.append(tz)
    return list(groups.values()), problems, name, method


def _raw(component: icalendar.Component) -> str:
    try:
        return component.to_ical().decode("utf-8", "replace")
    except Exception:
        return repr(component)


def used_tzids(component: icalendar.Component) -> set[str]:
    found = set()
    for _, value in component.property_items():
        params = getattr(value, "params", None)
        if params and params.get("TZID"):
            found.add(str(params["TZID"]))
    return found


def parse(data: bytes | str, source: str = "") -> Parsed:
    """Every event and to-do in calendar text; whatever is broken comes back as a problem."""
    if len(data) > MAX_TEXT:
        raise CalendarError(f"{source or 'the calendar'} is larger than 50 MB; split it first")
    text = decode_text(data)
    if "BEGIN:VCALENDAR" not in text.upper():
        if not text.strip():
            return Parsed([], [])
        raise CalendarError(f"{source or 'this'} is not an iCalendar file (no BEGIN:VCALENDAR)")
    try:
        calendars = icalendar.Calendar.from_ical(text, multiple=True)
        resources, problems, name, method = _from_calendars(calendars, source)
        return Parsed(resources, problems, name, method)
    except Exception as whole:
        # Read what can be read, one component at a time; the rest is kept raw.
        return _salvage(text, source, whole)


def _salvage(text: str, source: str, whole: Exception) -> Parsed:
    blocks = list(_BLOCK.finditer(text))
    zones = [m.group(0) for m in blocks if m.group(1).upper() == "VTIMEZONE"]
    resources: list[Resource] = []
    problems: list[Problem] = []
    covered = 0
    for match in blocks:
        covered += len(match.group(0))
        if match.group(1).upper() == "VTIMEZONE":
            continue
        piece = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n" + "\r\n".join(zones)
        piece += "\r\n" + match.group(0) + "\r\nEND:VCALENDAR\r\n"
        try:
            found, bad, _, _ = _from_calendars([icalendar.Calendar.from_ical(piece)], source)
        except Exception as e:
            problems.append(Problem(source, f"{type(e).__name__}: {e}", match.group(0)))
            continue
        problems += bad
        for r in found:
            same = next((x for x in resources if (x.uid, x.kind) == (r.uid, r.kind)), None)
            if same is None:
                resources.append(r)
            else:
                same.components += r.components
    if not resources and not problems:
        problems.append(Problem(source, f"the file cannot be read: {whole}", text))
    return Parsed(resources, problems)


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


def serialize(resources: list[Resource], name: str | None = None) -> str:
    """One calendar file holding every resource (for export)."""
    cal = new_calendar()
    if name:
        cal.add("X-WR-CALNAME", name)
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
