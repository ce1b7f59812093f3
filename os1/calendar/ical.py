"""Reading and writing iCalendar (RFC 5545) text: resources grouped by UID, problems kept raw.

A calendar file is split into *resources* as CalDAV stores them: every VEVENT or VTODO
sharing a UID (a series and its changed instances) with the VTIMEZONEs they use. What
cannot be used comes back as a `Problem` holding its original text: an event without a
start, a bad date or rule, an event cut off before its END. The `icalendar` parser
silently drops components it cannot close, so its result is checked against the BEGIN
lines; when they disagree, or it rejects the file, the text is split into components
here and each is read on its own. A component without a UID gets one made from its
content, so importing the same file twice changes nothing.
"""

from __future__ import annotations

import codecs
import hashlib
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar

PRODID = "-//OS1//OS1 companion//EN"
KINDS = {"VEVENT": "event", "VTODO": "todo"}
OTHERS = {
    "VJOURNAL": "a journal entry (VJOURNAL)",
    "VFREEBUSY": "free/busy times (VFREEBUSY)",
    "VAVAILABILITY": "availability (VAVAILABILITY)",
}
_TOP = {*KINDS, *OTHERS, "VTIMEZONE"}
# Components that cannot hold an event: a BEGIN:VEVENT inside one means it was cut off.
_LEAVES = {*_TOP, "VALARM", "STANDARD", "DAYLIGHT", "AVAILABLE"}
# Properties that say when something happens: if one cannot be read, neither can it.
_WHEN = ("DTSTART", "DTEND", "DUE", "DURATION", "RRULE", "RDATE", "EXDATE", "EXRULE")
_UNFOLD = re.compile(r"\r?\n[ \t]")
_LINE = re.compile(r"[^\n]*(?:\n[ \t][^\n]*)*\n?")  # a line and its continuation lines
_BEGIN = re.compile(r"^BEGIN:([A-Z0-9-]+)[ \t]*\r?$", re.MULTILINE | re.IGNORECASE)
_TZID = re.compile(r";TZID=\"?([^;:\"]+)", re.IGNORECASE)
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


_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"), (b"B\x00E\x00", "utf-16-le"),
         (b"\x00B\x00E", "utf-16-be"))  # fmt: skip


def read_text(data: bytes | str) -> tuple[str, str]:
    """(text, encoding) of calendar bytes: UTF-8 or what a byte order mark says (Outlook
    writes UTF-16), else Windows-1252 as old exports are; never fails on bytes alone."""
    if isinstance(data, str):
        return data.lstrip("\ufeff"), "utf-8"
    found = [enc for bom, enc in _BOMS if data.startswith(bom)][:1]
    for encoding in (*found, "utf-8", "cp1252"):
        try:
            text = data.decode(encoding).lstrip("\ufeff")
        except UnicodeDecodeError:
            continue
        return text, {"cp1252": "windows-1252", "utf-8-sig": "utf-8"}.get(encoding, encoding)
    return data.decode("latin-1"), "latin-1"


def decode_text(data: bytes | str) -> str:
    return read_text(data)[0]


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
    for rule in _as_list(component.get("RRULE")):
        try:
            rule.to_ical()
        except (ValueError, TypeError) as e:
            return f"the repeat rule (RRULE) cannot be read: {e}"
    for prop in ("RDATE", "EXDATE"):
        for v in _as_list(component.get(prop)):
            if not all(isinstance(d.dt, (date, tuple)) for d in v.dts):
                return f"{prop} holds a time of day without a date"
    return None


def _drop_empty(component: icalendar.Component) -> None:
    """'RRULE:' with nothing after it (some exporters write that) says nothing: dropped."""
    for prop in ("RRULE", "EXRULE", "RDATE", "EXDATE"):
        values = _as_list(component.get(prop))
        kept = [v for v in values if v.to_ical().strip()]
        if len(kept) == len(values):
            continue
        del component[prop]
        if kept:
            component[prop] = kept if len(kept) > 1 else kept[0]
        if not any(isinstance(v, _BROKEN) for v in kept) and getattr(component, "errors", None):
            component.errors[:] = [(n, e) for n, e in component.errors if n != prop]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _originals(text: str, top: list[icalendar.Component]) -> Callable[[Any], str]:
    """The original text of each top-level component, split out only when a problem needs it."""
    found: dict[int, str] = {}

    def of(component: icalendar.Component) -> str:
        if not found:
            blocks = split(text)[0]
            if [b.name for b in blocks] == [str(c.name).upper() for c in top]:
                found.update({id(c): b.text for c, b in zip(top, blocks, strict=True)})
            found[0] = ""  # split once
        return found.get(id(component)) or _raw(component)

    return of


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


def _raw(component: icalendar.Component) -> str:
    try:
        return component.to_ical().decode("utf-8", "replace")
    except Exception:
        return repr(component)


def used_tzids(component: icalendar.Component) -> set[str]:
    params = (getattr(v, "params", None) or {} for _, v in component.property_items())
    return {str(p["TZID"]) for p in params if p.get("TZID")}


def _begins(text: str) -> int:
    return len(_BEGIN.findall(_UNFOLD.sub("", text)))


def parse(data: bytes | str, source: str = "") -> Parsed:
    """Every event and to-do in calendar text; whatever is broken comes back as a problem."""
    if len(data) > MAX_TEXT:
        raise CalendarError(f"{source or 'the calendar'} is larger than 50 MB; split it first")
    text, encoding = read_text(data)
    if "BEGIN:VCALENDAR" not in text.upper():
        if not text.strip():
            return Parsed([], [], encoding=encoding)
        raise CalendarError(f"{source or 'this'} is not an iCalendar file (no BEGIN:VCALENDAR)")
    try:
        calendars = icalendar.Calendar.from_ical(text, multiple=True)
        if sum(1 for cal in calendars for _ in cal.walk()) != _begins(text):
            raise CalendarError("some components are not closed (an END line is missing)")
        top = [c for cal in calendars for c in cal.subcomponents]
        parsed = _from_calendars(calendars, source, _originals(text, top))
    except Exception as whole:
        # Read what can be read, one component at a time; the rest is kept raw.
        parsed = _salvage(text, source, whole)
    parsed.encoding = encoding
    return parsed


@dataclass(frozen=True)
class Block:
    """One top-level component as it stands in the text."""

    name: str
    text: str
    complete: bool


def _lines(text: str) -> Iterator[tuple[str, str]]:
    """(original text, unfolded content) of each content line."""
    for match in _LINE.finditer(text):
        if match[0]:
            yield match[0], _UNFOLD.sub("", match[0]).rstrip("\r\n")


def split(text: str) -> tuple[list[Block], dict[str, str]]:
    """The top-level components of calendar text with their own lines, and the calendar's
    properties (first value of each). A component whose END never comes is cut off where
    the next one or the calendar's end begins."""
    blocks: list[Block] = []
    props: dict[str, str] = {}
    lines: list[str] = []
    stack: list[str] = []

    def finish(complete: bool) -> None:
        blocks.append(Block(stack[0] if stack else "", "".join(lines), complete))
        lines.clear()
        stack.clear()

    for raw, line in _lines(text):
        key, _, value = line.partition(":")
        key = key.strip().upper()
        value = value.strip().upper()
        if key == "BEGIN" and value == "VCALENDAR":
            if stack:
                finish(False)
        elif key == "BEGIN":
            if stack and value in _TOP and any(s in _LEAVES for s in stack):
                finish(False)
            lines.append(raw)
            stack.append(value)
        elif key == "END" and value in stack:
            lines.append(raw)
            while stack[-1] != value:
                stack.pop()
            stack.pop()
            if not stack:
                blocks.append(Block(value, "".join(lines), True))
                lines.clear()
        elif key == "END" and value == "VCALENDAR" and stack:
            finish(False)
        elif stack:
            lines.append(raw)
        elif key and key != "END":
            props.setdefault(key.split(";")[0], line.partition(":")[2])
    if stack:
        finish(False)
    return blocks, props


def _salvage(text: str, source: str, whole: Exception) -> Parsed:
    blocks, props = split(text)
    head = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"
    if props.get("X-WR-TIMEZONE"):
        head += f"X-WR-TIMEZONE:{props['X-WR-TIMEZONE']}\r\n"
    zones: dict[str, str] = {}
    for b in blocks:
        if b.name == "VTIMEZONE" and b.complete:
            tzid = re.search(r"^TZID[^:]*:(.*?)\r?$", b.text, re.MULTILINE | re.IGNORECASE)
            zones.setdefault(tzid.group(1).strip() if tzid else "", b.text)
    calendars: list[icalendar.Component] = []
    texts: dict[int, str] = {}
    problems: list[Problem] = []
    notes: list[Problem] = []
    for b in blocks:
        what = {"VEVENT": "the event", "VTODO": "the to-do"}.get(b.name, f"a {b.name}")
        kept = problems if b.name in KINDS else notes
        if not b.complete:
            kept.append(Problem(source, f"{what} is cut off: END:{b.name} is missing", b.text))
            continue
        if b.name == "VTIMEZONE":
            continue
        used = dict.fromkeys(z.strip() for z in _TZID.findall(_UNFOLD.sub("", b.text)))
        piece = head + "".join(zones[z] for z in used if z in zones) + b.text
        piece = piece.rstrip("\r\n") + "\r\nEND:VCALENDAR\r\n"
        try:
            cal = icalendar.Calendar.from_ical(piece)
        except Exception as e:
            kept.append(Problem(source, f"{what} cannot be read: {_why(e, b.text)}", b.text))
            continue
        if sum(1 for _ in cal.walk()) != _begins(piece):
            why = (
                f"{what}: a part of it cannot be read ({_why(whole, b.text)}); the original is here"
            )
            notes.append(Problem(source, why, b.text))
        texts.update({id(c): b.text for c in cal.subcomponents})
        calendars.append(cal)
    out = _from_calendars(calendars, source, lambda c: texts.get(id(c)) or _raw(c))
    out.name = _prop_text(props.get("X-WR-CALNAME")) or None
    out.method = _prop_text(props.get("METHOD")).upper()
    out.problems[:0], out.notes[:0] = problems, notes
    if not blocks:
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


def _why(error: Exception, text: str) -> str:
    """What is wrong with a component's text, said plainly."""
    names = [m.upper() for m in re.findall(r"^BEGIN:(\S+)", text, re.MULTILINE | re.IGNORECASE)]
    for name in dict.fromkeys(names):
        ends = len(re.findall(rf"^END:{re.escape(name)}\s*$", text, re.MULTILINE | re.IGNORECASE))
        if ends < names.count(name):
            return f"BEGIN:{name} has no END:{name}"
    message = str(error)
    return message if len(message) <= 200 else message[:200] + "…"


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
            lists = [[d.dt for d in v.dts] for v in _as_list(c.get(prop))]
            flat = [m for ms in lists for m in ms]
            if all(isinstance(m, date) for m in flat):  # periods are left as they are
                c.pop(prop, None)
                for ms in lists:
                    c.add(prop, [_pinned(m, zone) for m in ms])
        for rule in _as_list(c.get("RRULE")):
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
