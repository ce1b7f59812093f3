"""Reads when the user means, in their own words: "at five tomorrow", "every Monday at 9".

Hand-written and deterministic, like the memory's window parser (whose month, weekday
and number tables it shares): no model call, and strict — a phrase it cannot read one
way only is refused (`WhenError` says why), never guessed.

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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from itertools import islice, pairwise
from typing import Any

import icalendar
from dateutil import rrule as du
from dateutil.relativedelta import relativedelta

from ..memory.timeparse import MONTHS, NUMBERS, WEEKDAYS

PART_TIMES = {"morning": time(9), "afternoon": time(15), "evening": time(19), "night": time(20)}
DAYCODES = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
_COUNT = dict(NUMBERS)
_COUNT.update(
    {"eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40,
     "forty-five": 45, "forty five": 45, "fifty": 50, "sixty": 60, "ninety": 90}
)  # fmt: skip
_HOURS = {w: i for i, w in enumerate("one two three four five six seven eight nine ten eleven "
                                      "twelve".split(), 1)}  # fmt: skip
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "last": -1,
             "1st": 1, "2nd": 2, "3rd": 3, "4th": 4, "5th": 5}  # fmt: skip
_MONTH_NAMES = [m.capitalize() for m in list(MONTHS)[:12]]  # the full names come first


class WhenError(ValueError):
    """A time phrase that can be read more than one way, or names no real day."""


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


@dataclass
class _Piece:
    kind: str  # "instant", "recur", "day", "time", "part"
    start: int
    end: int
    value: Any
    at: bool = False  # a time said with "at": preferred to a bare "3pm" in the same text


# ---------------------------------------------------------------------------------- patterns

_WD = "(?:" + "|".join(WEEKDAYS) + ")"
_MON = "(?:" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_NUMWORDS = "|".join(w.replace(" ", r"\s+") for w in sorted(_COUNT, key=len, reverse=True))
_ORD = "(?:" + "|".join(_ORDINALS) + ")"
_HW = "(?:" + "|".join(sorted(_HOURS, key=len, reverse=True)) + ")"
_SFX = r"(?:st|nd|rd|th)"
_AMPM = r"(?:\s*(?P<ap>[ap])\.?m\b\.?)"
_PART = r"(?:\s+(?:in\s+the\s+)?(?P<part>morning|afternoon|evening|night))?"
# "5 may be late": after a day number, "may" followed by these is the verb.
_NOT_VERB = r"(?!\s+(?:be|have|not|need|want|get|go|come|take|make|also|still|just|i|we|you)\b)"
_WDS = rf"(?P<wds>{_WD}s?(?:(?:\s*,\s*|\s*,?\s+and\s+|\s*&\s*){_WD}s?)*)"
_DATE_DM = rf"(?:the\s+)?(?P<d>[0-3]?\d){_SFX}?(?:\s+of)?\s+(?P<mon>{_MON}){_NOT_VERB}"
_DATE_MD = rf"(?P<mon2>{_MON})\s+(?:the\s+)?(?P<d2>[0-3]?\d){_SFX}?\b(?![:.]?\d)"
_UNITS = {"min": "MINUTELY", "hou": "HOURLY", "hr": "HOURLY", "day": "DAILY", "wee": "WEEKLY",
          "for": "WEEKLY", "mon": "MONTHLY", "yea": "YEARLY"}  # fmt: skip
# What may not follow a number for it to be a clock time ("at 5 minutes", "at 5%").
_NOT_UNIT = (
    r"(?![\d:]|[.,]\d|\s*(?:%|percent|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?"
    r"|euros?|dollars?|pounds?|people|persons?|kg|km|miles?|degrees|times|pages?)\b)"
)


def _count(word: str) -> int:
    word = " ".join(word.lower().split())
    return int(word) if word.isdigit() else _COUNT[word]


def _wd_codes(text: str) -> list[str]:
    found = re.findall(_WD, text, re.IGNORECASE)
    return [DAYCODES[WEEKDAYS[w.lower()]] for w in dict.fromkeys(x.lower() for x in found)]


def _month_date(day: int, month: int, year: int | None, today: date) -> date:
    """The day named, this year or the next one to come; `WhenError` if there is none."""
    if year is not None:
        try:
            return date(year, month, day)
        except ValueError:
            raise WhenError(f"There is no {day} {_MONTH_NAMES[month - 1]} {year}.") from None
    for y in range(today.year, today.year + 9):  # 29 February waits for a leap year
        try:
            d = date(y, month, day)
        except ValueError:
            continue
        if d >= today:
            return d
    raise WhenError(f"There is no {day} {_MONTH_NAMES[month - 1]}.")


Found = tuple[str, Any] | None
Handler = Callable[[dict[str, str], datetime], Found]


@dataclass(frozen=True)
class _Clock:
    hour: int
    minute: int
    ap: str | None  # "a" or "p" when said
    fixed: bool  # a 24-hour time, or noon: no half to choose
    midnight: bool = False


_WORD_RULES: dict[str, tuple[dict[str, Any], str | None]] = {
    "daily": ({"FREQ": "DAILY"}, None), "nightly": ({"FREQ": "DAILY"}, "night"),
    "weekly": ({"FREQ": "WEEKLY"}, None), "fortnightly": ({"FREQ": "WEEKLY", "INTERVAL": 2}, None),
    "monthly": ({"FREQ": "MONTHLY"}, None), "yearly": ({"FREQ": "YEARLY"}, None),
    "annually": ({"FREQ": "YEARLY"}, None), "hourly": ({"FREQ": "HOURLY"}, None),
}  # fmt: skip


def _recur(g: dict[str, str], now: datetime) -> Found:
    """Any repeat phrase: a frequency from its words, then the days it names, which must
    fit that frequency ("every day on Monday" is not a rule)."""
    part = _part(g)
    month = g.get("mon") or g.get("mon2")
    n = (g.get("n") or "").lower()
    if g.get("word"):
        base, word_part = _WORD_RULES[g["word"].lower()]
        rule, part = dict(base), part or word_part
    elif g.get("unit"):
        rule = {"FREQ": _UNITS[g["unit"].lower()[:3]]}
        interval = 2 if n in ("other", "second") else (_count(n) if n else 1)
        interval *= 2 if g["unit"].lower().startswith("fortnight") else 1
        if interval < 1:
            return None
        if interval > 1:
            rule["INTERVAL"] = interval
    elif g.get("kind"):  # every weekday, every weekend
        days = DAYCODES[5:] if "end" in g["kind"].lower() else DAYCODES[:5]
        return "recur", ({"FREQ": "WEEKLY", "BYDAY": days}, part)
    elif g.get("wds"):
        rule = {"FREQ": "WEEKLY"} | ({"INTERVAL": 2} if g.get("other") else {})
    else:
        freq = "YEARLY" if month else "MONTHLY" if g.get("ord") or g.get("md") else "DAILY"
        rule = {"FREQ": freq}
    freq = rule["FREQ"]
    if g.get("wds"):
        if freq != "WEEKLY":
            return None
        rule["BYDAY"] = _wd_codes(g["wds"])
    elif g.get("ord"):
        if freq != "MONTHLY":
            return None
        rule["BYDAY"] = [f"{_ORDINALS[g['ord'].lower()]}{_wd_codes(g['wd'])[0]}"]
    elif g.get("md"):
        if freq != "MONTHLY" or not 1 <= int(g["md"]) <= 31:
            return None
        rule["BYMONTHDAY"] = [int(g["md"])]
    elif month:
        if freq != "YEARLY":
            return None
        day, number = int(g.get("d") or g["d2"]), MONTHS[month.lower().rstrip(".")]
        _month_date(day, number, None, now.date())  # "every 31 April": no such day
        rule |= {"BYMONTH": [number], "BYMONTHDAY": [day]}
    return "recur", (rule, part)


def _instant(g: dict[str, str], now: datetime) -> Found:
    if g.get("half"):
        minutes = 30.0
    else:
        n = g["n"]
        amount = float(n) if re.fullmatch(r"\d+(?:\.\d+)?", n) else float(_count(n))
        minutes = amount * (1 if g["unit"].lower().startswith("m") else 60)
        if g.get("andhalf"):
            minutes += 30
    if minutes <= 0:
        return None
    at = (now.astimezone(UTC) + timedelta(minutes=minutes)).astimezone(now.tzinfo)
    return "instant", at.replace(microsecond=0)


def _in_days(g: dict[str, str], now: datetime) -> Found:
    n, unit, today = _count(g["n"]), g["unit"].lower(), now.date()
    if unit.startswith("month"):
        return "day", (today + relativedelta(months=n), None)  # 31 Jan + 1: 28/29 Feb
    return "day", (today + timedelta(days=n * (7 if unit.startswith("week") else 1)), None)


def _numeric(g: dict[str, str], now: datetime) -> Found:
    a, b = int(g["a"]), int(g["b"])
    year = int(g["y"]) if g.get("y") else None
    if year is not None and year < 100:
        year += 2000
    if a < 1 or b < 1 or (a > 12 and b > 12):
        return None  # "15/16", "0/3": not a date
    if a == b or a > 12 or b > 12:
        day, month = (a, b) if a > 12 or a == b else (b, a)
    else:
        raise WhenError(
            f"{a}/{b} could be {a} {_MONTH_NAMES[b - 1]} or {b} {_MONTH_NAMES[a - 1]}; "
            "please say the month's name."
        )
    return "day", (_month_date(day, month, year, now.date()), _part(g))


def _date(g: dict[str, str], now: datetime) -> Found:
    month = int(g["m"]) if g.get("m") else MONTHS[(g.get("mon") or g["mon2"]).lower().rstrip(".")]
    year = int(g["y"]) if g.get("y") else None
    return "day", (_month_date(int(g.get("d") or g["d2"]), month, year, now.date()), _part(g))


def _nth(g: dict[str, str], now: datetime) -> Found:
    day, today = int(g["d"]), now.date()
    if not 1 <= day <= 31:
        return None
    for months in range(12):
        try:
            d = (today.replace(day=1) + relativedelta(months=months)).replace(day=day)
        except ValueError:
            continue  # "the 31st" skips the short months
        if d >= today:
            return "day", (d, _part(g))
    return None


_DAY_WORDS = {"today": 0, "tonight": 0, "tomorrow": 1, "tmrw": 1, "tomorow": 1,
              "the day after tomorrow": 2}  # fmt: skip


def _day_word(g: dict[str, str], now: datetime) -> Found:
    word = " ".join(g["word"].lower().split())
    if word.startswith("this "):
        return "day", (now.date(), word.split()[1])
    part = _part(g) or ("night" if word == "tonight" else None)
    return "day", (now.date() + timedelta(days=_DAY_WORDS[word]), part)


def _weekday(g: dict[str, str], now: datetime) -> Found:
    wd, today = WEEKDAYS[g["wd"].lower()], now.date()
    if " ".join((g.get("rel") or "").lower().split()) == "this":
        d = today + timedelta(days=(wd - today.weekday()) % 7)
    else:  # "on Friday", "next Friday": the first one after today
        d = today + timedelta(days=(wd - today.weekday() - 1) % 7 + 1)
    return "day", (d, _part(g))


def _part(g: dict[str, str]) -> str | None:
    return g["part"].lower() if g.get("part") else None


def _clock(g: dict[str, str], now: datetime) -> Found:
    if g.get("word"):
        midnight = g["word"].lower() == "midnight"
        return "time", _Clock(0 if midnight else 12, 0, None, True, midnight)
    if g.get("hw"):
        hour = _HOURS[g["hw"].lower()]
        mw = (g.get("mw") or "").lower()
        minute = 45 if mw.startswith("forty") else {"fifteen": 15, "thirty": 30}.get(mw, 0)
    else:
        hour, minute = int(g["h"]), int(g.get("m") or 0)
    if g.get("rel"):  # half past five, quarter to six
        rel = g["rel"].lower()
        amount = {"half": 30, "quarter": 15}.get(rel) or _count(rel)
        if amount >= 60:
            return None
        if g["dir"].lower() == "past":
            minute = amount
        else:
            minute, hour = 60 - amount, (hour - 1) or 12
    ap = g["ap"].lower() if g.get("ap") else None
    if hour > 23 or minute > 59 or (ap and not 1 <= hour <= 12):
        return None
    fixed = ap is None and (hour == 0 or hour > 12 or (g.get("h") or "").startswith("0"))
    return "time", _Clock(hour, minute, ap, fixed)


_AT = r"(?P<at>\b(?:at|@|around|by|for)\s+)"  # before a time that cannot be anything else
_AT_BARE = r"(?P<at>\b(?:at|@|around)\s+)"  # before "5", "five": "for 5" may be people
# "at one point", "at one time": idioms, not one o'clock.
_IDIOM = r"(?!\s+(?:point|time|stage|of|with|end|another|and|or|glance|level|go|side)\b)"
_AFTER = rf"(?P<n>\d+|{_NUMWORDS})"
PATTERNS: list[tuple[str, Handler]] = [
    # repeat rules
    (rf"\b(?:on\s+)?(?:the\s+|every\s+|each\s+)?(?P<ord>{_ORD})\s+(?P<wd>{_WD})\s+(?:of\s+)?"
     r"(?:every|each|the)\s+month\b", _recur),
    (rf"\b(?:on\s+)?the\s+(?P<md>[0-3]?\d){_SFX}\s+(?:day\s+)?of\s+(?:every|each|the)\s+month\b",
     _recur),
    (rf"\b(?:every|each)\s+(?:(?P<n>\d{{1,3}}|other|second|{_NUMWORDS})\s+)?"
     r"(?P<unit>minute|min|hour|hr|day|week|fortnight|month|year)s?\b"
     rf"(?:\s+on\s+(?:{_WDS}|the\s+(?P<md>[0-3]?\d){_SFX}\b|the\s+(?P<ord>{_ORD})\s+(?P<wd>{_WD})"
     rf"|{_DATE_DM}|{_DATE_MD}))?", _recur),
    (rf"\b(?:every|each)\s+(?:{_DATE_DM}|{_DATE_MD})", _recur),
    (r"\b(?P<word>daily|weekly|fortnightly|monthly|yearly|annually|hourly|nightly)\b"
     rf"(?:\s+on\s+(?:{_WDS}|the\s+(?P<md>[0-3]?\d){_SFX}\b))?", _recur),
    (rf"\b(?:(?:every|each)\s+(?:(?P<other>other|second)\s+)?|on\s+(?=\w+days\b)){_WDS}{_PART}",
     _recur),
    (rf"\b(?:every|each|on)\s+(?P<kind>weekday|workday|working\s+day|weekend)s?\b{_PART}",
     _recur),
    (r"\b(?:every|each)\s+(?P<part>morning|afternoon|evening|night)\b", _recur),
    # in so long
    (rf"\b(?:in|within)\s+(?P<n>\d+\.\d+|\d+|{_NUMWORDS})\s+(?P<unit>minutes?|mins?|hours?|hrs?)\b"
     r"(?P<andhalf>\s+and\s+a\s+half)?", _instant),
    (r"\bin\s+(?P<half>half\s+an\s+hour)\b", _instant),
    (rf"\b{_AFTER}\s+(?P<unit>minutes?|mins?|hours?|hrs?)\s+from\s+now\b", _instant),
    (rf"\bin\s+{_AFTER}\s+(?P<unit>days?|weeks?|months?)\b", _in_days),
    (rf"\b{_AFTER}\s+(?P<unit>days?|weeks?|months?)\s+from\s+(?:now|today)\b", _in_days),
    # days
    (rf"\b(?:on\s+)?(?P<y>20\d\d)-(?P<m>[01]\d)-(?P<d>[0-3]\d)\b{_PART}", _date),
    (r"\b(?:on|for|by|until)\s+(?:the\s+)?(?P<a>\d{1,2})/(?P<b>\d{1,2})(?:/(?P<y>(?:20)?\d\d))?"
     rf"(?![\w/]){_PART}", _numeric),
    (rf"(?<![\w/.])(?P<a>\d{{1,2}})/(?P<b>\d{{1,2}})/(?P<y>20\d\d)(?![\w/]){_PART}", _numeric),
    (rf"\b(?:on\s+|for\s+|by\s+)?{_DATE_DM}(?:,?\s+(?P<y>20\d\d))?\b{_PART}", _date),
    (rf"\b(?:on\s+|for\s+|by\s+)?{_DATE_MD}(?:,?\s+(?P<y>20\d\d))?{_PART}", _date),
    (rf"\b(?:on\s+|for\s+|by\s+)?the\s+(?P<d>[0-3]?\d){_SFX}\b{_PART}", _nth),
    (r"\b(?:for\s+|by\s+|until\s+)?(?P<word>the\s+day\s+after\s+tomorrow|tomorrow|tomorow|tmrw"
     rf"|today|tonight|this\s+(?:morning|afternoon|evening))\b{_PART}", _day_word),
    (rf"\b(?:(?P<rel>on|this\s+coming|this|next|coming|for|by|until)\s+)?(?P<wd>{_WD})\b{_PART}",
     _weekday),
    # clock times
    (rf"{_AT}?\b(?:12\s+)?(?P<word>noon|midday|midnight)\b", _clock),
    (rf"{_AT}?\b(?P<rel>half|quarter|ten|twenty|five|twenty-five|\d{{1,2}})\s+(?P<dir>past|to)\s+"
     rf"(?:(?P<hw>{_HW})|(?P<h>1[0-2]|[1-9]))\b{_AMPM}?", _clock),
    (rf"{_AT}?(?<![\d:.])\b(?P<h>[01]?\d|2[0-3]):(?P<m>[0-5]\d){_AMPM}?(?!\d)", _clock),
    (rf"{_AT_BARE}(?P<h>[01]?\d|2[0-3])\.(?P<m>[0-5]\d){_AMPM}?(?![\d.])", _clock),
    (rf"{_AT}?(?<![\d:.])\b(?P<h>1[0-2]|0?[1-9]){_AMPM}", _clock),
    (rf"{_AT}?\b(?P<h>1[0-2]|[1-9])\s+o'?clock\b{_AMPM}?", _clock),
    (rf"{_AT_BARE}(?P<h>[01]?\d|2[0-3])(?:\s+o'?clock)?\b{_NOT_UNIT}", _clock),
    (rf"{_AT_BARE}(?P<hw>{_HW})(?:\s+(?P<mw>fifteen|thirty|forty[- ]five))?(?:\s+o'?clock)?\b"
     rf"{_AMPM}?{_NOT_UNIT}{_IDIOM}", _clock),
    (rf"{_AT}?\b(?P<hw>{_HW})\s+o'?clock\b{_AMPM}?", _clock),
    # parts of the day on their own
    (r"\b(?:in\s+the|this|at)\s+(?P<part>morning|afternoon|evening|night)\b",
     lambda g, now: ("part", g["part"].lower())),
]  # fmt: skip
_COMPILED = [(re.compile(p, re.IGNORECASE), h) for p, h in PATTERNS]


def _scan(text: str, now: datetime) -> list[_Piece]:
    taken: list[_Piece] = []
    for pattern, handler in _COMPILED:
        for m in pattern.finditer(text):
            a, b = m.span()
            if a == b or any(a < p.end and p.start < b for p in taken):
                continue
            groups = {k: v for k, v in m.groupdict().items() if v is not None}
            found = handler(groups, now)
            if found is not None:
                at = groups.get("at", "").strip().lower() in ("at", "@")
                taken.append(_Piece(found[0], a, b, found[1], at))
    return sorted(taken, key=lambda p: p.start)


# ---------------------------------------------------------------------------------- resolving


def local(d: date, at: time, tz: tzinfo) -> datetime:
    """`d` at wall time `at` in `tz`; a time in a spring-forward gap moves forward by the gap."""
    naive = datetime(d.year, d.month, d.day, at.hour, at.minute)
    return naive.replace(tzinfo=tz).astimezone(UTC).astimezone(tz)


def _choices(clock: _Clock | None, part: str | None) -> list[time]:
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


def parse_when(text: str, now: datetime, *, default_time: time | None = None) -> When | None:
    """When `text` says, resolved against `now` (aware, in the user's zone); None if it
    names no time. `default_time` is used when a day but no time of day is said
    (reminders: 09:00). Raises `WhenError` when the phrase cannot be read one way only."""
    tz = now.tzinfo
    if tz is None:
        raise ValueError("now must carry the user's zone")
    chosen = _choose(_scan(text, now))
    if not chosen:
        return None
    phrase, rest = _words(text, chosen)
    by = {p.kind: p for p in chosen}
    if "instant" in by:
        return When(by["instant"].value, None, phrase, rest)
    day: tuple[date, str | None] | None = by["day"].value if "day" in by else None
    recur: tuple[dict[str, Any], str | None] | None = by["recur"].value if "recur" in by else None
    part = (day and day[1]) or (recur and recur[1]) or (by["part"].value if "part" in by else None)
    clock: _Clock | None = by["time"].value if "time" in by else None
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
    clock: _Clock | None,
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


def _choose(pieces: list[_Piece]) -> list[_Piece]:
    """One piece of each kind; an "in 20 minutes" stands alone."""
    instants = [p for p in pieces if p.kind == "instant"]
    if instants:
        return instants[:1]
    chosen: dict[str, _Piece] = {}
    for p in pieces:
        if p.kind == "time" and "time" in chosen and p.at and not chosen["time"].at:
            chosen["time"] = p
        chosen.setdefault(p.kind, p)
    return sorted(chosen.values(), key=lambda p: p.start)


def _words(text: str, chosen: list[_Piece]) -> tuple[str, str]:
    """The phrase (its pieces as said, when only commas lie between) and the text around it."""
    together = all(re.fullmatch(r"[\s,]*", text[a.end : b.start]) for a, b in pairwise(chosen))
    phrase = " ".join(text[p.start : p.end] for p in chosen)
    phrase = text[chosen[0].start : chosen[-1].end] if together else phrase
    cuts = [0, *[x for p in chosen for x in (p.start, p.end)], len(text)]
    rest = " ".join(text[a:b] for a, b in zip(cuts[::2], cuts[1::2], strict=True))
    rest = re.sub(r"\s+([,.!?;:])", r"\1", re.sub(r"\s+", " ", rest))
    return " ".join(phrase.split()), rest.strip(" ,;")


# ---------------------------------------------------------------------------------- in words


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
        text = f"{every} on {day} {_MONTH_NAMES[int(month) - 1]}"
    text += f" at {start:%H:%M}" if timed else ""
    text += f", {r['COUNT']} times" if "COUNT" in r else ""
    if "UNTIL" in r:
        until = r["UNTIL"]
        text += f", until {until.day} {_MONTH_NAMES[until.month - 1]} {until.year}"
    return text
