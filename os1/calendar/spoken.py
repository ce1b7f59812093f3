"""How she says times, rules and reminders in words: "tomorrow at 17:00", "every Monday
at 09:00", "call your sister" for the user's "call my sister"."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import icalendar

from ..memory.timeparse import WEEKDAYS
from . import agenda
from .phrases import DAYCODES, MONTH_NAMES
from .when import When

if TYPE_CHECKING:
    from .reminders import Reminder


# ---------------------------------------------------------------------------------- moments


def spoken_day(d: date, today: date) -> str:
    """ "today", "tomorrow", "Friday 4 December" (with the year when it is not this one)."""
    said = agenda.spoken_day(d, today)
    return said.lower() if said in ("Today", "Tomorrow", "Yesterday") else said


def spoken_moment(start: datetime | date, now: datetime) -> str:
    """ "tomorrow at 17:00", "on Friday 4 December at 14:00", "in 20 minutes, at 10:23"."""
    tz = now.tzinfo
    today = now.date()
    if not isinstance(start, datetime):
        day = spoken_day(start, today)
        return day if day in ("today", "tomorrow", "yesterday") else f"on {day}"
    local_start = start.astimezone(tz)
    ahead = local_start - now
    if timedelta(0) < ahead < timedelta(minutes=60) and local_start.date() == today:
        minutes = round(ahead.total_seconds() / 60)
        return f"in {minutes} minute{'s' if minutes != 1 else ''}, at {local_start:%H:%M}"
    day = spoken_day(local_start.date(), today)
    prefix = "" if day in ("today", "tomorrow", "yesterday") else "on "
    return f"{prefix}{day} at {local_start:%H:%M}"


def spoken(when: When, now: datetime) -> str:
    """When in words: a moment, or a rule and when it starts."""
    if not when.rrule:
        return spoken_moment(when.start, now)
    start = when.start.astimezone(now.tzinfo) if isinstance(when.start, datetime) else when.start
    first = start.date() if isinstance(start, datetime) else start
    day = spoken_day(first, now.date())
    return f"{rule_words(when.rrule, start)}, starting {day}"


# ---------------------------------------------------------------------------------- rules


def normal_rule(rule: Any) -> dict[str, Any]:
    """An RRULE (text, icalendar's vRecur or our dict) as our dict: single values bare."""
    if isinstance(rule, str):
        rule = icalendar.vRecur.from_ical(rule)
    out = {str(k).upper(): v if isinstance(v, list | tuple) else [v] for k, v in dict(rule).items()}
    single = ("FREQ", "INTERVAL", "COUNT", "UNTIL", "WKST")
    return {k: v[0] if k in single else list(v) for k, v in out.items()}


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return "last" if n == -1 else f"{n}{suffix}"


_DAYNAMES = {c: name for c, name in zip(DAYCODES, [w.capitalize() for w in WEEKDAYS], strict=True)}
_NTH = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", -1: "last"}


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def rule_words(rule: Any, start: datetime | date) -> str:
    """A repeat rule in words: "every Monday at 09:00", "on the first Monday of every month"."""
    r = normal_rule(rule)
    freq, n, days = r.get("FREQ", ""), int(r.get("INTERVAL", 1)), r.get("BYDAY") or []
    known = {"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "WKST"}
    if set(r) - known or freq not in ("MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"):
        return "repeating (" + icalendar.vRecur(r).to_ical().decode() + ")"
    timed = isinstance(start, datetime) and freq not in ("MINUTELY", "HOURLY")
    if freq in ("MINUTELY", "HOURLY"):
        unit = "minute" if freq == "MINUTELY" else "hour"
        text = f"every {unit}" if n == 1 else f"every {n} {unit}s"
    elif freq == "DAILY":
        text = "every day" if n == 1 else f"every {n} days"
    elif freq == "WEEKLY":
        codes = days or [DAYCODES[start.weekday()]]
        names = _and([_DAYNAMES.get(c, c) for c in codes])
        names = "weekday" if codes == DAYCODES[:5] and n == 1 else names
        text = {1: f"every {names}", 2: f"every other {names}"}.get(
            n, f"every {n} weeks on {names}"
        )
    elif freq == "MONTHLY":
        every = "every month" if n == 1 else f"every {n} months"
        if days and re.fullmatch(r"-?\d[A-Z]{2}", str(days[0])):
            nth, code = int(days[0][:-2]), days[0][-2:]
            text = f"on the {_NTH.get(nth, ordinal(nth))} {_DAYNAMES[code]} of {every}"
        else:
            text = f"{every} on the " + _and(
                [ordinal(int(d)) for d in r.get("BYMONTHDAY") or [start.day]]
            )
    else:
        month, day = (r.get("BYMONTH") or [start.month])[0], (r.get("BYMONTHDAY") or [start.day])[0]
        every = "every year" if n == 1 else f"every {n} years"
        text = f"{every} on {day} {MONTH_NAMES[int(month) - 1]}"
    text += f" at {start:%H:%M}" if timed else ""
    text += f", {r['COUNT']} times" if "COUNT" in r else ""
    if "UNTIL" in r:
        until = r["UNTIL"]
        text += f", until {until.day} {MONTH_NAMES[until.month - 1]} {until.year}"
    return text


# ---------------------------------------------------------------------------------- their words


_SWAP = {"i am": "you are", "i was": "you were", "i'm": "you're", "i've": "you've",
         "i'll": "you'll", "i'd": "you'd", "i": "you", "me": "you", "my": "your", "mine": "yours",
         "myself": "yourself", "you": "me", "your": "my", "yours": "mine",
         "yourself": "myself"}  # fmt: skip
_WORD = re.compile(r"\b(?:" + "|".join(k.replace(" ", r"\s+") for k in _SWAP) + r")\b", re.I)


def you_form(what: str) -> str:
    """The user's words as she says them back: "call my sister" → "call your sister"."""
    return _WORD.sub(lambda m: _SWAP[" ".join(m.group(0).lower().split())], what)


def lowered(summary: str) -> str:
    """ "Call my sister" → "call my sister" (a name or "I" keeps its capital)."""
    first = summary.split(" ", 1)[0]
    if len(first) > 1 and first[1:].islower() and first not in ("I", "I'm"):
        return summary[:1].lower() + summary[1:]
    return summary


# ---------------------------------------------------------------------------------- reminders


def format_line(r: Reminder, now: datetime | None = None) -> str:
    """One reminder: "Call my sister — tomorrow at 17:00 [#12]", in the zone of its times."""
    moment = r.fires_at or r.due
    now = (now or datetime.now(UTC)).astimezone(moment.tzinfo if moment else UTC)
    line = r.what
    if r.due is not None and r.fires_at is None and r.due <= now:
        line += f" — since {spoken_moment(r.due, now)}, not done yet"
    elif r.snoozed and r.fires_at is not None:
        line += f" — snoozed until {r.fires_at:%H:%M}"
    elif r.due is not None:
        line += f" — {spoken_moment(r.due, now)}"
    return line + (f" ({r.repeat})" if r.repeat else "") + f" [#{r.object_id}]"


def describe_upcoming(reminders: list[Reminder], tz: ZoneInfo, now: datetime) -> str:
    """The list she reads out, one reminder a line, soonest first."""
    if not reminders:
        return "You have no reminders."
    lines = [f"- {format_line(r, now.astimezone(tz))}" for r in reminders]
    return "Your reminders:\n" + "\n".join(lines)
