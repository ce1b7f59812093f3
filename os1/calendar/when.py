"""Reads when the user means, in their own words: "at five tomorrow", "every Monday at 9".

Hand-written and deterministic, like the memory's window parser (whose month, weekday
and number tables it shares): no model call, and strict — a phrase it cannot read one
way only is refused (`WhenError` says why), never guessed. `phrases.py` finds the
pieces (a day, a clock time, a repeat rule); this module puts them together.

Rules, all relative to `now` in the user's zone:
- A bare hour (no am/pm, no part of day, no leading zero): 12 is noon; 1–6 are
  afternoon (13:00–18:00: nobody books 5 am by saying "at five"); 7–11 are the next
  one to come — on a later day or in a repeat rule the morning one, today whichever
  of 7:00 / 19:00 has not passed. 0 and 13–23, and "07:30", are 24-hour times.
- A part of day sets the half ("at 7 in the evening") or the time itself: morning
  09:00, afternoon 15:00, evening 19:00, night/tonight 20:00. "at 12 tonight" and
  "midnight" mean the midnight that ends the day named (or the next one).
- A time with no day is today if it is still to come, else tomorrow. A named day
  ("today at 9" at 10:00 → 21:00) may still be in the past: callers decide.
- "on Friday", "next Friday": the first Friday after today (as the memory reads
  future days); "this Friday": this week's, today included. A date without a year is
  the next one to come.
- Numeric dates need "on" before them (or a year) and must be readable one way only:
  "25/12" and "12/25" are Christmas, "12/3" is refused — it could be either month.
- Local wall times are built with the zone, so they survive daylight-saving changes;
  a time that does not exist (the hour skipped in spring) moves forward by the gap
  (RFC 5545 3.3.5), one that happens twice is the first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from itertools import islice, pairwise
from typing import Any

import icalendar
from dateutil import rrule as du

from .phrases import ClockTime, Piece, WhenError, scan

PART_TIMES = {"morning": time(9), "afternoon": time(15), "evening": time(19), "night": time(20)}


@dataclass(frozen=True)
class When:
    """A moment (or the first of a series) the user named, and their words around it."""

    start: datetime | date
    """Aware, in the user's zone; a `date` means all day."""
    rrule: dict[str, Any] | None
    """icalendar-style rule, e.g. {"FREQ": "WEEKLY", "BYDAY": ["MO"]}; None: once."""
    phrase: str
    """The words that said when."""
    rest: str
    """The text without them."""
    said_day: bool = True
    """False when only a time was said ("at 5"): the day was worked out."""
    said_time: bool = True
    """False for all-day starts and when `default_time` filled the time in."""


# ---------------------------------------------------------------------------------- resolving


def local(d: date, at: time, tz: tzinfo) -> datetime:
    """`d` at wall time `at` in `tz`; a time in a spring-forward gap moves forward by the gap."""
    naive = datetime(d.year, d.month, d.day, at.hour, at.minute)
    return naive.replace(tzinfo=tz).astimezone(UTC).astimezone(tz)


def _choices(clock: ClockTime | None, part: str | None) -> list[time]:
    """The wall times a clock time may mean, the one to prefer first."""
    if clock is None:
        return [PART_TIMES[part]] if part else []
    hour, minute = clock.hour, clock.minute
    if clock.ap:
        return [time(hour % 12 + (12 if clock.ap == "p" else 0), minute)]
    if clock.fixed:
        return [time(hour, minute)]
    if part == "morning":
        return [time(hour % 12, minute)]
    if part == "night" and (hour == 12 or hour <= 4):
        return [time(hour % 12, minute)]  # "at 1 tonight": after midnight
    if part in ("afternoon", "evening", "night"):
        return [time(hour if hour == 12 else hour + 12, minute)]
    if hour == 12:
        return [time(12, minute)]
    if hour <= 6:
        return [time(hour + 12, minute)]
    return [time(hour, minute), time(hour + 12, minute)]


def rule_text(rrule: dict[str, Any] | None) -> str | None:
    """An icalendar-style rule as RRULE text ("FREQ=WEEKLY;BYDAY=MO"); None for none."""
    return icalendar.vRecur(rrule).to_ical().decode() if rrule else None


def parse_when(text: str, now: datetime, *, default_time: time | None = None) -> When | None:
    """When `text` says, resolved against `now` (aware, in the user's zone); None if it
    names no time. `default_time` is used when a day but no time of day is said
    (reminders: 09:00). Raises `WhenError` when the phrase cannot be read one way only."""
    tz = now.tzinfo
    if tz is None:
        raise ValueError("now must carry the user's zone")
    chosen = _choose(scan(text, now))
    if not chosen:
        return None
    phrase, rest = _words(text, chosen)
    by = {p.kind: p for p in chosen}
    if "instant" in by:
        return When(by["instant"].value, None, phrase, rest)
    day: tuple[date, str | None] | None = by["day"].value if "day" in by else None
    recur: tuple[dict[str, Any], str | None] | None = by["recur"].value if "recur" in by else None
    part = (day and day[1]) or (recur and recur[1]) or (by["part"].value if "part" in by else None)
    clock: ClockTime | None = by["time"].value if "time" in by else None
    if recur is not None:
        first = day[0] if day else None
        return _series(recur[0], first, clock, part, now, default_time, phrase, rest)
    today = now.date()
    choices = _choices(clock, part)
    said_time = bool(choices)
    if not choices:
        if default_time is None:
            return When(day[0] if day else today, None, phrase, rest, True, False)
        choices = [default_time]
    named = day[0] if day else today
    # "midnight", "at 1 tonight": the small hours that end the day named
    small = clock is not None and not clock.ap and not clock.fixed and clock.hour % 12 <= 4
    after_midnight = clock is not None and (clock.midnight or (part == "night" and small))
    d = named + timedelta(days=1) if after_midnight else named
    if named > today:
        start = local(d, choices[0], tz)
    else:
        ahead = [local(d, t, tz) for t in choices]
        later = [s for s in ahead if s > now]
        if later:
            start = later[0]
        elif day is not None:
            start = ahead[-1]  # named today and already gone: the caller says so
        else:
            start = local(d + timedelta(days=1), choices[0], tz)
    return When(start, None, phrase, rest, day is not None, said_time)


def _series(
    rule: dict[str, Any],
    first_day: date | None,
    clock: ClockTime | None,
    part: str | None,
    now: datetime,
    default_time: time | None,
    phrase: str,
    rest: str,
) -> When:
    tz = now.tzinfo
    assert tz is not None
    freq = rule["FREQ"]
    if freq in ("HOURLY", "MINUTELY"):
        step = int(rule.get("INTERVAL", 1)) * (60 if freq == "HOURLY" else 1)
        start = (now.astimezone(UTC) + timedelta(minutes=step)).astimezone(tz)
        return When(start.replace(second=0, microsecond=0), rule, phrase, rest)
    choices = _choices(clock, part)
    said_time = bool(choices)
    at = choices[0] if choices else default_time
    begin = first_day or now.date()
    # The first occurrence is found without INTERVAL and becomes DTSTART, so "every 2 weeks
    # on Thursday" starts on the next Thursday rather than on a week counted from today.
    probe = {k: v for k, v in rule.items() if k != "INTERVAL"}
    if not any(k.startswith("BY") for k in probe):
        probe = {"FREQ": "DAILY"}
    text = icalendar.vRecur(probe).to_ical().decode()
    for naive in islice(du.rrulestr(text, dtstart=datetime.combine(begin, at or time(0))), 3000):
        if at is None:
            if naive.date() >= begin:
                return When(naive.date(), rule, phrase, rest, True, False)
            continue
        start = local(naive.date(), at, tz)
        if start > now:
            return When(start, rule, phrase, rest, True, said_time)
    raise WhenError(f"“{phrase}” never happens.")


def _choose(pieces: list[Piece]) -> list[Piece]:
    """One piece of each kind; an "in 20 minutes" stands alone."""
    instants = [p for p in pieces if p.kind == "instant"]
    if instants:
        return instants[:1]
    chosen: dict[str, Piece] = {}
    for p in pieces:
        if p.kind == "time" and "time" in chosen and p.at and not chosen["time"].at:
            chosen["time"] = p
        chosen.setdefault(p.kind, p)
    return sorted(chosen.values(), key=lambda p: p.start)


def _words(text: str, chosen: list[Piece]) -> tuple[str, str]:
    """The phrase (its pieces as said, when only commas lie between) and the text around it."""
    together = all(re.fullmatch(r"[\s,]*", text[a.end : b.start]) for a, b in pairwise(chosen))
    phrase = " ".join(text[p.start : p.end] for p in chosen)
    phrase = text[chosen[0].start : chosen[-1].end] if together else phrase
    cuts = [0, *[x for p in chosen for x in (p.start, p.end)], len(text)]
    rest = " ".join(text[a:b] for a, b in zip(cuts[::2], cuts[1::2], strict=True))
    rest = re.sub(r"\s+([,.!?;:])", r"\1", re.sub(r"\s+", " ", rest))
    return " ".join(phrase.split()), rest.strip(" ,;")
