"""Calendar and reminder tools: what she (or the user) can do to the calendar, with consent.

Adding an event asks first (it commits the user's time, and on a synced calendar it
leaves the machine); moving and deleting one ask first and can be undone; reminders
are the user's own request and are set at once, with an undo. An invitation found in
mail arrives here as a proposed `add_event` carrying the invitation's iCalendar text:
only the user's yes adds it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..actions import ActionError, Effect, Tool, ToolContext, ToolResult
from ..hookspecs import hookimpl
from ..scheduler import settings as schedsettings
from ..store import Store
from . import ical, reminders
from . import store as calstore
from .agenda import spoken_day
from .spoken import rule_words
from .when import When


async def user_zone(store: Store, user: str, default: str) -> ZoneInfo:
    """The user's zone: their scheduler setting, else the configured one."""
    found = await store.read(lambda c: schedsettings.load(c, user))
    return found.zone(default)


async def zone(ctx: ToolContext) -> ZoneInfo:
    return await user_zone(ctx.companion.store, ctx.user, ctx.companion.config.timezone)


def parse_moment(text: str, tz: ZoneInfo) -> date | datetime:
    """An ISO date (all day) or date-time; a time without a zone is the user's local time."""
    text = text.strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ActionError(
            f"{text!r} is not a date (2026-12-03) or time (2026-12-03T10:30)"
        ) from None
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment.astimezone(tz)


def spoken(moment: date | datetime, tz: ZoneInfo, end: date | datetime | None = None) -> str:
    today = datetime.now(tz).date()
    if not isinstance(moment, datetime):
        return spoken_day(moment, today) + " (all day)"
    local = moment.astimezone(tz)
    text = f"{spoken_day(local.date(), today)} {local:%H:%M}"
    if isinstance(end, datetime) and end.astimezone(tz).date() == local.date():
        text += f"–{end.astimezone(tz):%H:%M}"
    return text


def _target(c: sqlite3.Connection, user: str, name: str | None) -> tuple[int, bool]:
    """The calendar to write to and whether it syncs to a server."""
    try:
        row = calstore.writable_calendar(c, user, name)
    except ical.CalendarError as e:
        raise ActionError(str(e)) from None
    return int(row["id"]), row["url"] is not None


def _event_from_args(args: dict[str, Any], tz: ZoneInfo) -> ical.Resource:
    if args.get("ics"):
        parsed = ical.parse(str(args["ics"]), "the invitation")
        events = [r for r in parsed.resources if r.kind == "event"]
        if not events:
            raise ActionError("the invitation holds no event I can read")
        return events[0]
    start = parse_moment(str(args["start"]), tz)
    end = parse_moment(str(args["end"]), tz) if args.get("end") else None
    rrule = None
    if args.get("rrule"):
        try:
            rrule = dict(ical.icalendar.vRecur.from_ical(str(args["rrule"])))
        except ValueError as e:
            raise ActionError(f"the repeat rule {args['rrule']!r} is not valid: {e}") from None
    return ical.new_event(
        str(args["summary"]), start, end, location=str(args.get("location") or ""), rrule=rrule
    )


def _describe_add(args: dict[str, Any]) -> str:
    tz = ZoneInfo(str(args.get("timezone") or "UTC"))
    try:
        event = _event_from_args(args, tz)
    except ActionError as e:
        return f"add an event to your calendar ({e})"
    main = event.main
    start = main.decoded("DTSTART")
    end = main.decoded("DTEND") if "DTEND" in main else None
    text = f"add to your calendar: “{event.summary or '(no title)'}”, {spoken(start, tz, end)}"
    if "RRULE" in main:
        text += f", repeating {rule_words(main['RRULE'], start)}"
    if main.get("LOCATION"):
        text += f", at {ical.text_of(main.get('LOCATION'))}"
    if args.get("mail_id"):
        organizer = (
            ical.text_of(main.get("ORGANIZER")).removeprefix("mailto:").removeprefix("MAILTO:")
        )
        text += f" — an invitation in mail #{args['mail_id']}" + (
            f" from {organizer}" if organizer else ""
        )
    if args.get("calendar"):
        text += f" (calendar {args['calendar']})"
    return text


async def _add_event(ctx: ToolContext, args: dict[str, Any]) -> ToolResult:
    tz = await zone(ctx)
    event = _event_from_args(args, tz)
    origin = f"mail:{args['mail_id']}" if args.get("mail_id") else "chat"

    def write(c: sqlite3.Connection) -> int:
        calendar, synced = _target(c, ctx.user, args.get("calendar"))
        return calstore.put_resource(
            c, ctx.user, calendar, event, origin=origin, tz=tz, dirty=synced
        ).object_id

    object_id = await ctx.companion.store.write(write)
    main = event.main
    start = main.decoded("DTSTART")
    return ToolResult(
        f"Added “{event.summary}” on {spoken(start, tz)} (event #{object_id}).",
        undo={"object_id": object_id, "before": None},
    )


async def _restore(ctx: ToolContext, undo: dict[str, Any]) -> str:
    """Put an object back as it was (`before` text), or remove it if it did not exist."""
    tz = await zone(ctx)

    def write(c: sqlite3.Connection) -> str:
        row = c.execute(
            "SELECT o.*, k.url FROM cal_objects o JOIN calendars k ON k.id = o.calendar_id "
            "WHERE o.user_id = ? AND o.id = ?",
            (ctx.user, undo["object_id"]),
        ).fetchone()
        if undo.get("before") is None:
            if row is None or row["deleted_at"] is not None:
                raise ActionError("that calendar entry no longer exists")
            calstore.delete(c, ctx.user, row["id"], keep_tombstone=row["href"] is not None)
            return f"Removed “{row['summary']}” again."
        before = next(r for r in ical.parse(undo["before"]).resources)
        calendar = row["calendar_id"] if row is not None else undo.get("calendar_id")
        k = c.execute(
            "SELECT url FROM calendars WHERE user_id = ? AND id = ?", (ctx.user, calendar)
        ).fetchone()
        if k is None or calendar is None:
            raise ActionError("the calendar it was in no longer exists")
        # A deleted local entry is gone from the table: it comes back with a new id.
        calstore.put_resource(
            c, ctx.user, int(calendar), before, origin=row["origin"] if row else "undo", tz=tz,
            dirty=k["url"] is not None,
        )  # fmt: skip
        return f"“{before.summary}” is back as it was."

    return await ctx.companion.store.write(write)


def _object(c: sqlite3.Connection, user: str, object_id: int, kind: str) -> sqlite3.Row:
    row = calstore.get(c, user, object_id)
    if row is None or row["kind"] != kind:
        what = "event" if kind == "event" else "reminder"
        raise ActionError(f"you have no {what} #{object_id}")
    return row


async def _move_event(ctx: ToolContext, args: dict[str, Any]) -> ToolResult:
    tz = await zone(ctx)
    start = parse_moment(str(args["start"]), tz)

    def write(c: sqlite3.Connection) -> tuple[str, str]:
        row = _object(c, ctx.user, int(args["object_id"]), "event")
        resource = calstore.load(row)
        before = row["ics"]
        main = resource.main
        old = main.decoded("DTSTART")
        if isinstance(old, datetime) != isinstance(start, datetime):
            raise ActionError("moving between all-day and a time of day: change it in full")
        if args.get("end"):
            length = parse_moment(str(args["end"]), tz) - start
        elif "DTEND" in main:
            length = main.decoded("DTEND") - old
        elif "DURATION" in main:
            length = main.decoded("DURATION")
        else:
            length = None
        for prop in ("DTSTART", "DTEND", "DURATION"):
            main.pop(prop, None)
        main.add("DTSTART", start)
        if length is not None:
            main.add("DTEND", start + length)
        seq = int(main.get("SEQUENCE", 0)) + 1
        main.pop("SEQUENCE", None)
        main.add("SEQUENCE", seq)
        resource.timezones = resource.timezones or ical.new_event("x", start).timezones
        k = c.execute("SELECT url FROM calendars WHERE id = ?", (row["calendar_id"],)).fetchone()
        calstore.put_resource(
            c, ctx.user, row["calendar_id"], resource, origin=row["origin"], tz=tz,
            dirty=k["url"] is not None,
        )  # fmt: skip
        return before, resource.summary

    before, summary = await ctx.companion.store.write(write)
    return ToolResult(
        f"Moved “{summary}” to {spoken(start, tz)}.",
        undo={"object_id": int(args["object_id"]), "before": before},
    )


def _describe_move(args: dict[str, Any]) -> str:
    what = args.get("title") or f"event #{args['object_id']}"
    was = f" (now {args['was']})" if args.get("was") else ""
    return f"move “{what}”{was} to {args['start'].replace('T', ' ')}"


async def _delete_event(ctx: ToolContext, args: dict[str, Any]) -> ToolResult:
    def write(c: sqlite3.Connection) -> tuple[str, str, int]:
        row = _object(c, ctx.user, int(args["object_id"]), "event")
        calstore.delete(c, ctx.user, row["id"], keep_tombstone=row["href"] is not None)
        return row["ics"], row["summary"], row["calendar_id"]

    before, summary, calendar = await ctx.companion.store.write(write)
    return ToolResult(
        f"Removed “{summary}” from your calendar.",
        undo={"object_id": int(args["object_id"]), "before": before, "calendar_id": calendar},
    )


def _describe_delete(args: dict[str, Any]) -> str:
    what = args.get("title") or f"event #{args['object_id']}"
    was = f" ({args['was']})" if args.get("was") else ""
    return f"delete “{what}”{was} from your calendar"


async def _add_reminder(ctx: ToolContext, args: dict[str, Any]) -> ToolResult:
    tz = await zone(ctx)
    due = parse_moment(str(args["due"]), tz)
    if not isinstance(due, datetime):
        due = datetime(due.year, due.month, due.day, 9, tzinfo=tz)  # a day: its morning
    rrule = dict(ical.icalendar.vRecur.from_ical(str(args["rrule"]))) if args.get("rrule") else None
    when = When(due, rrule, "", "")
    object_id = await reminders.add(
        ctx.companion.store, ctx.user, str(args["text"]), when, tz, origin="chat"
    )
    if ctx.companion.scheduler_wake is not None:
        ctx.companion.scheduler_wake()  # a scheduler in this process picks the new reminder up now
    said = reminders.describe_reminder(
        str(args["text"]), when, tz, link=str(args.get("link") or "to")
    )
    return ToolResult(said, undo={"object_id": object_id, "before": None})


async def _complete(ctx: ToolContext, args: dict[str, Any]) -> ToolResult:
    tz = await zone(ctx)
    before = await ctx.companion.store.read(
        lambda c: _object(c, ctx.user, int(args["object_id"]), "todo")["ics"]
    )
    said = await reminders.complete(
        ctx.companion.store, ctx.user, int(args["object_id"]), tz, now=datetime.now(tz)
    )
    return ToolResult(said, undo={"object_id": int(args["object_id"]), "before": before})


async def _snooze(ctx: ToolContext, args: dict[str, Any]) -> ToolResult:
    tz = await zone(ctx)
    minutes = int(args.get("minutes") or 10)
    said = await reminders.snooze(
        ctx.companion.store, ctx.user, int(args["object_id"]), minutes, tz, now=datetime.now(tz)
    )
    return ToolResult(said)


_ID = {"type": "integer", "minimum": 1}
TOOLS = [
    Tool(
        "add_event",
        "Add an event to the user's calendar (asks the user first).",
        Effect.LOCAL_WRITE,
        _add_event,
        parameters={
            "type": "object",
            "properties": {
                "summary": {"type": "string", "minLength": 1, "maxLength": 500},
                "start": {"type": "string", "description": "ISO date or local date-time"},
                "end": {"type": "string"},
                "location": {"type": "string", "maxLength": 500},
                "rrule": {"type": "string", "description": "RFC 5545 RRULE, e.g. FREQ=WEEKLY"},
                "calendar": {"type": "string"},
                "ics": {"type": "string", "description": "a whole invitation (iCalendar)"},
                "mail_id": _ID,
                "timezone": {"type": "string"},
            },
        },
        undo=_restore,
        describe=_describe_add,
        confirm=True,
    ),
    Tool(
        "move_event",
        "Move an event of the user's calendar to another time (asks first; can be undone).",
        Effect.DESTRUCTIVE,
        _move_event,
        parameters={
            "type": "object",
            "properties": {
                "object_id": _ID,
                "start": {"type": "string"},
                "end": {"type": "string"},
                "title": {"type": "string"},
                "was": {"type": "string"},
            },
            "required": ["object_id", "start"],
        },
        undo=_restore,
        describe=_describe_move,
    ),
    Tool(
        "delete_event",
        "Delete an event from the user's calendar (asks first; can be undone).",
        Effect.DESTRUCTIVE,
        _delete_event,
        parameters={
            "type": "object",
            "properties": {
                "object_id": _ID,
                "title": {"type": "string"},
                "was": {"type": "string"},
            },
            "required": ["object_id"],
        },
        undo=_restore,
        describe=_describe_delete,
    ),
    Tool(
        "add_reminder",
        "Remind the user of something at a time, once or repeating.",
        Effect.LOCAL_WRITE,
        _add_reminder,
        parameters={
            "type": "object",
            "properties": {
                "text": {"type": "string", "minLength": 1, "maxLength": 500},
                "due": {"type": "string", "description": "local date-time, ISO 8601"},
                "rrule": {"type": "string", "description": "RFC 5545 RRULE, e.g. FREQ=DAILY"},
                "link": {"type": "string", "enum": ["to", "about", "of", "that", "for"]},
            },
            "required": ["text", "due"],
        },
        undo=_restore,
    ),
    Tool(
        "complete_reminder",
        "Mark a reminder done (a repeating one: this time).",
        Effect.LOCAL_WRITE,
        _complete,
        parameters={"type": "object", "properties": {"object_id": _ID}, "required": ["object_id"]},
        undo=_restore,
    ),
    Tool(
        "snooze_reminder",
        "Ring a reminder again in a few minutes.",
        Effect.LOCAL_WRITE,
        _snooze,
        parameters={
            "type": "object",
            "properties": {"object_id": _ID, "minutes": {"type": "integer", "minimum": 1}},
            "required": ["object_id"],
        },
    ),
]


@hookimpl
def register_tools(register: Callable[[Tool], None]) -> None:
    for tool in TOOLS:
        register(tool)
