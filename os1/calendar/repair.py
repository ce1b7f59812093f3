"""Calendar files as they come rather than as RFC 5545 wants them: bytes in UTF-16 or
Windows-1252, and text the parser rejects, read one component at a time.

`split` cuts the text into its top-level components by their BEGIN and END lines (one
whose END never comes is cut off where the next one, or the calendar's end, begins);
`salvage` reads each on its own, with the time zones it uses, so that one broken event
costs only itself. What cannot be read comes back with its original text and the reason.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import icalendar

# The components that stand at the top of a calendar (RFC 5545 3.6, RFC 7953).
_TOP = {"VEVENT", "VTODO", "VJOURNAL", "VFREEBUSY", "VAVAILABILITY", "VTIMEZONE"}
# Components that cannot hold an event: a BEGIN:VEVENT inside one means it was cut off.
_LEAVES = {*_TOP, "VALARM", "STANDARD", "DAYLIGHT", "AVAILABLE"}
_UNFOLD = re.compile(r"\r?\n[ \t]")
_LINE = re.compile(r"[^\n]*(?:\n[ \t][^\n]*)*\n?")  # a line and its continuation lines
_BEGIN = re.compile(r"^BEGIN:([A-Z0-9-]+)[ \t]*\r?$", re.MULTILINE | re.IGNORECASE)
_TZID = re.compile(r";TZID=\"?([^;:\"]+)", re.IGNORECASE)
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


def begins(text: str) -> int:
    """How many BEGIN lines `text` holds: how many components a parser should find."""
    return len(_BEGIN.findall(_UNFOLD.sub("", text)))


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


def originals(text: str, top: list[icalendar.Component]) -> Callable[[Any], str]:
    """The original text of each top-level component, split out only when a problem needs it."""
    found: dict[int, str] = {}

    def of(component: icalendar.Component) -> str:
        if not found:
            blocks = split(text)[0]
            if [b.name for b in blocks] == [str(c.name).upper() for c in top]:
                found.update({id(c): b.text for c, b in zip(top, blocks, strict=True)})
            found[0] = ""  # split once
        return found.get(id(component)) or raw(component)

    return of


def raw(component: icalendar.Component) -> str:
    """A component as icalendar writes it: for a problem whose original text is unknown."""
    try:
        return component.to_ical().decode("utf-8", "replace")
    except Exception:
        return repr(component)


@dataclass(frozen=True)
class Trouble:
    """A component that could not be read whole: `partly` when the rest of it was."""

    name: str
    why: str
    text: str
    partly: bool = False


@dataclass
class Salvaged:
    """What could be read of calendar text, one component at a time."""

    calendars: list[icalendar.Component] = field(default_factory=list)
    """A calendar for each component read, with the time zones it uses."""
    texts: dict[int, str] = field(default_factory=dict)
    """The original text of each component read, by `id()`."""
    troubles: list[Trouble] = field(default_factory=list)
    props: dict[str, str] = field(default_factory=dict)
    """The calendar's own properties (first value of each), as written."""
    found: bool = False
    """Whether the text held any component at all."""

    def original(self, component: icalendar.Component) -> str:
        """The original text of a component read here."""
        return self.texts.get(id(component)) or raw(component)


def salvage(text: str, whole: Exception) -> Salvaged:
    """Each component of `text` read on its own; `whole` is why the text as a whole was not."""
    blocks, props = split(text)
    out = Salvaged(props=props, found=bool(blocks))
    head = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"
    if props.get("X-WR-TIMEZONE"):
        head += f"X-WR-TIMEZONE:{props['X-WR-TIMEZONE']}\r\n"
    zones: dict[str, str] = {}
    for b in blocks:
        if b.name == "VTIMEZONE" and b.complete:
            tzid = re.search(r"^TZID[^:]*:(.*?)\r?$", b.text, re.MULTILINE | re.IGNORECASE)
            zones.setdefault(tzid.group(1).strip() if tzid else "", b.text)
    for b in blocks:
        what = {"VEVENT": "the event", "VTODO": "the to-do"}.get(b.name, f"a {b.name}")
        if not b.complete:
            why = f"{what} is cut off: END:{b.name} is missing"
            out.troubles.append(Trouble(b.name, why, b.text))
            continue
        if b.name == "VTIMEZONE":
            continue
        used = dict.fromkeys(z.strip() for z in _TZID.findall(_UNFOLD.sub("", b.text)))
        piece = head + "".join(zones[z] for z in used if z in zones) + b.text
        piece = piece.rstrip("\r\n") + "\r\nEND:VCALENDAR\r\n"
        try:
            cal = icalendar.Calendar.from_ical(piece)
        except Exception as e:
            why = f"{what} cannot be read: {_why(e, b.text)}"
            out.troubles.append(Trouble(b.name, why, b.text))
            continue
        if sum(1 for _ in cal.walk()) != begins(piece):
            why = (
                f"{what}: a part of it cannot be read ({_why(whole, b.text)}); the original is here"
            )
            out.troubles.append(Trouble(b.name, why, b.text, partly=True))
        out.texts.update({id(c): b.text for c in cal.subcomponents})
        out.calendars.append(cal)
    return out


def _why(error: Exception, text: str) -> str:
    """What is wrong with a component's text, said plainly."""
    names = [m.upper() for m in re.findall(r"^BEGIN:(\S+)", text, re.MULTILINE | re.IGNORECASE)]
    for name in dict.fromkeys(names):
        ends = len(re.findall(rf"^END:{re.escape(name)}\s*$", text, re.MULTILINE | re.IGNORECASE))
        if ends < names.count(name):
            return f"BEGIN:{name} has no END:{name}"
    message = str(error)
    return message if len(message) <= 200 else message[:200] + "…"
