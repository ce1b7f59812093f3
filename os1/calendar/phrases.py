"""Finds the pieces of a time phrase in text: repeat rules, "in 20 minutes", days, clock
times and parts of the day, each read by its own pattern (`when.py` puts them together).

The patterns are tried in order, and a piece of text is read by the first that takes it.
A handler may turn down what its pattern matched ("at 5 minutes" is no clock time) and
raises `WhenError` for a day that cannot be read one way only ("12/3") or does not exist.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta

from ..memory.timeparse import MONTHS, NUMBERS, WEEKDAYS

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
MONTH_NAMES = [m.capitalize() for m in list(MONTHS)[:12]]  # the full names come first


class WhenError(ValueError):
    """A time phrase that can be read more than one way, or names no real day."""


@dataclass
class Piece:
    """One piece of a time phrase: what it says, and where it stands in the text."""

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
            raise WhenError(f"There is no {day} {MONTH_NAMES[month - 1]} {year}.") from None
    for y in range(today.year, today.year + 9):  # 29 February waits for a leap year
        try:
            d = date(y, month, day)
        except ValueError:
            continue
        if d >= today:
            return d
    raise WhenError(f"There is no {day} {MONTH_NAMES[month - 1]}.")


Found = tuple[str, Any] | None
Handler = Callable[[dict[str, str], datetime], Found]


@dataclass(frozen=True)
class ClockTime:
    """A clock time as said: which half of the day it means may still be open."""

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
            f"{a}/{b} could be {a} {MONTH_NAMES[b - 1]} or {b} {MONTH_NAMES[a - 1]}; "
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
        return "time", ClockTime(0 if midnight else 12, 0, None, True, midnight)
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
    return "time", ClockTime(hour, minute, ap, fixed)


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


def scan(text: str, now: datetime) -> list[Piece]:
    """Every piece of a time phrase in `text`, in the order they stand; none overlap."""
    taken: list[Piece] = []
    for pattern, handler in _COMPILED:
        for m in pattern.finditer(text):
            a, b = m.span()
            if a == b or any(a < p.end and p.start < b for p in taken):
                continue
            groups = {k: v for k, v in m.groupdict().items() if v is not None}
            found = handler(groups, now)
            if found is not None:
                at = groups.get("at", "").strip().lower() in ("at", "@")
                taken.append(Piece(found[0], a, b, found[1], at))
    return sorted(taken, key=lambda p: p.start)
