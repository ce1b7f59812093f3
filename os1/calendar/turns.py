"""How the calendar takes part in a conversation: questions she answers herself, changes
she asks about first.

"What's on Thursday?" is read from the agenda; "remind me to call my sister at five
tomorrow" sets a reminder at once (the user asked; `os1 undo` takes it back); "put lunch
with Amy on Friday at 1 in my calendar", "move the dentist to Friday at 3" and "cancel
the dentist" become proposals that show exactly what will change and wait for a yes.
All of it works on the bundled model: the steps are fixed and only the user's own words
choose them.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from ..actions import ActionError, Approver, Outcome
from . import agenda, intents, reminders
from .reminder_request import ReminderError, ReminderRequest
from .spoken import describe_upcoming, spoken_day
from .tools import spoken, user_zone
from .when import WhenError, rule_text

if TYPE_CHECKING:
    from ..companion import Companion

SEARCH_DAYS = 120
"""How far ahead (and a week back) an event named in "move the dentist…" is looked for."""


def _said(outcome: Outcome, declined: str) -> str:
    if outcome.status == "declined":
        return declined
    if outcome.status == "failed":
        return f"That didn't work: {outcome.output}"
    return outcome.output


def _iso(moment: date | datetime) -> str:
    return moment.isoformat()


async def _agenda(companion: Companion, user: str, ask: intents.AgendaAsk, tz: ZoneInfo) -> str:
    now = datetime.now(tz)
    start, _ = agenda.day_bounds(ask.start, tz)
    _, end = agenda.day_bounds(ask.end, tz)
    items = await agenda.items(companion.store, user, start, end, tz)
    if ask.start == ask.end:
        label = spoken_day(ask.start, now.date())
        label = label if label in ("today", "tomorrow", "yesterday") else f"on {label}"
    else:
        first, last = (spoken_day(d, now.date()) for d in (ask.start, ask.end))
        label = f"from {first} to {last}"
    if not items:
        has_any = await companion.store.query_one(
            "SELECT 1 FROM cal_objects WHERE user_id = ? AND deleted_at IS NULL LIMIT 1", (user,)
        )
        if has_any is None:
            return (
                "Your calendar is empty here. Import one with `os1 calendar import FILE.ics`, "
                "or sync it with `os1 calendar account add URL`."
            )
        return f"Nothing on your calendar {label}."
    return agenda.describe(items, ask.start, ask.end, tz, now.date())


async def _remind(
    companion: Companion,
    user: str,
    request: ReminderRequest,
    approve: Approver | None,
) -> str:
    args: dict[str, Any] = {"text": request.what, "due": _iso(request.when.start)}
    if rule := rule_text(request.when.rrule):
        args["rrule"] = rule
    if request.link != "to":
        args["link"] = request.link
    outcome = await companion.actions.request(
        user, "add_reminder", args, requested_by="user", approve=approve
    )
    said = _said(outcome, "All right, no reminder.")
    if outcome.status == "done":
        said += f" (`os1 undo {outcome.action_id}` takes it back.)"
    return said


def _words(text: str) -> set[str]:
    small = {"the", "a", "an", "my", "with", "to", "at", "on", "in", "of", "and", "appointment"}
    return {w for w in re.findall(r"[a-z0-9']+", text.lower()) if w not in small}


async def _find_event(
    companion: Companion, user: str, what: str, day: date | None, tz: ZoneInfo
) -> agenda.Item | str | None:
    """The event the user means: the next one whose title shares their words (on `day` if
    given). A string says why none could be chosen."""
    now = datetime.now(tz)
    if day is not None:
        start, end = agenda.day_bounds(day, tz)
    else:
        start, end = now - timedelta(days=1), now + timedelta(days=SEARCH_DAYS)
    wanted = _words(what)
    if not wanted:
        return f"Which event do you mean by “{what}”?"
    items = await agenda.items(companion.store, user, start, end, tz, kinds=("event",))
    scored = []
    for item in items:
        title = _words(item.occurrence.summary + " " + item.occurrence.location)
        hits = len(wanted & title)
        if hits:
            scored.append((-hits / len(wanted), item.start, item))
    if not scored:
        said = spoken_day(day, now.date()) if day else ""
        relative = said in ("today", "tomorrow", "yesterday")
        where = (f" {said}" if relative else f" on {said}") if day else " coming up"
        return f"I couldn't find “{what}” in your calendar{where}."
    scored.sort(key=lambda s: (s[0], s[1]))
    return scored[0][2]


async def _move(
    companion: Companion, user: str, move: intents.MoveEvent, approve: Approver | None, tz: ZoneInfo
) -> str:
    found = await _find_event(companion, user, move.what, move.day, tz)
    if not isinstance(found, agenda.Item):
        return found or "I couldn't find that event."
    if found.occurrence.all_day:
        return "That one is an all-day event; move it with `os1 calendar move`."
    start = move.when.start
    if not isinstance(start, datetime):
        old = found.start.astimezone(tz)
        start = datetime(start.year, start.month, start.day, old.hour, old.minute, tzinfo=tz)
    elif not move.when.said_day:
        # "move it to 4pm": the same day, at that time.
        day = found.start.astimezone(tz).date()
        start = datetime(day.year, day.month, day.day, start.hour, start.minute, tzinfo=tz)
    extra = {"start": start.replace(tzinfo=None).isoformat(timespec="minutes")}
    no = f"All right, “{found.occurrence.summary}” stays where it is."
    return await _propose(companion, user, "move_event", found, extra, approve, tz, no)


async def _propose(
    companion: Companion,
    user: str,
    tool: str,
    found: agenda.Item,
    extra: dict[str, Any],
    approve: Approver | None,
    tz: ZoneInfo,
    declined: str,
) -> str:
    """Ask to change the event the user named, saying which one and when it is now."""
    args = {
        "object_id": found.object_id,
        **extra,
        "title": found.occurrence.summary,
        "was": spoken(found.start, tz),
    }
    outcome = await companion.actions.request(
        user, tool, args, requested_by="user", approve=approve
    )
    return _said(outcome, declined)


async def _cancel(
    companion: Companion,
    user: str,
    cancel: intents.CancelEvent,
    approve: Approver | None,
    tz: ZoneInfo,
) -> str:
    found = await _find_event(companion, user, cancel.what, cancel.day, tz)
    if not isinstance(found, agenda.Item):
        return found or "I couldn't find that event."
    no = f"All right, “{found.occurrence.summary}” stays in your calendar."
    return await _propose(companion, user, "delete_event", found, {}, approve, tz, no)


async def _new_event(
    companion: Companion, user: str, event: intents.NewEvent, approve: Approver | None, tz: ZoneInfo
) -> str:
    args: dict[str, Any] = {
        "summary": event.summary,
        "start": _iso(event.when.start),
        "timezone": str(tz),
    }
    if rule := rule_text(event.when.rrule):
        args["rrule"] = rule
    outcome = await companion.actions.request(
        user, "add_event", args, requested_by="user", approve=approve
    )
    return _said(outcome, "All right, I didn't add it.")


async def direct_answer(
    companion: Companion, user: str, text: str, approve: Approver | None
) -> str | None:
    """An answer the calendar gives itself, or None when the message isn't about it."""
    tz = await user_zone(companion.store, user, companion.config.timezone)
    now = datetime.now(tz)
    try:
        found = intents.recognise(text, now)
    except WhenError as e:
        return str(e)
    if found is None:
        return None
    try:
        if isinstance(found, intents.AgendaAsk):
            return await _agenda(companion, user, found, tz)
        if isinstance(found, intents.ListReminders):
            items = await reminders.upcoming(companion.store, user, tz, now=now)
            return describe_upcoming(items, tz, now)
        if isinstance(found, ReminderRequest):
            return await _remind(companion, user, found, approve)
        if isinstance(found, ReminderError | intents.Unclear):
            return found.message
        if isinstance(found, intents.NewEvent):
            return await _new_event(companion, user, found, approve, tz)
        if isinstance(found, intents.MoveEvent):
            return await _move(companion, user, found, approve, tz)
        return await _cancel(companion, user, found, approve, tz)
    except (ActionError, reminders.ReminderFailure) as e:
        return f"That didn't work: {e}"
