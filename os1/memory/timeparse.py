"""Resolve English time expressions to absolute windows against the moment they were said.

"Last year" said on 8 May 2023 means 2022, forever: memory stores the resolved window at
write time, never the phrase. Hand-written instead of `dateparser` because we need windows
(start, exclusive end, granularity) rather than single instants, the past/future reading
that a statement's tense implies, and strict precision (no "may" the verb read as May).
Weeks start on Monday; a weekend is Saturday 00:00 to Monday 00:00 with granularity "week".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

Granularity = Literal["day", "week", "month", "year"]
Tense = Literal["past", "future"]


@dataclass(frozen=True)
class TimeMention:
    """One time expression in a text and the window it denotes ([start, end))."""

    phrase: str
    start: datetime
    end: datetime
    granularity: Granularity


_MONTHS = "january february march april may june july august september october november december"
MONTHS = {m: i for i, m in enumerate(_MONTHS.split(), 1)}
MONTHS.update({m[:3]: i for m, i in list(MONTHS.items())} | {"sept": 9})
WEEKDAYS = {
    d: i for i, d in enumerate("monday tuesday wednesday thursday friday saturday sunday".split())
}
NUMBERS = {"a": 1, "an": 1, "one": 1, "a couple of": 2, "couple of": 2, "a couple": 2}
NUMBERS.update(
    {w: i for i, w in enumerate("two three four five six seven eight nine ten".split(), 2)}
)

_MON = r"(?P<mon>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_FULL = "|".join(_MONTHS.split())
_MONF = rf"(?P<mon>{_FULL})"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>(?:19|20)\d\d)"
_WD = r"(?P<wd>" + "|".join(WEEKDAYS) + r")"
_NUM = r"(?P<n>\d{1,3}|" + "|".join(sorted(NUMBERS, key=len, reverse=True)) + ")"
_UNIT = r"(?P<unit>day|week|month|year)s?"
# Words after "5 may" that show "may" is the verb ("that may be"), not the month.
_MAY_VERB = (
    r"(?!\s+(?:be|have|not|need|want|get|go|come|take|make|also|still|just|well|seem|i|we|you)\b)"
)

# Future markers decide whether "on Tuesday", "in March" or "May 8" means the next one or
# the last one; without them a statement is read as past (people mostly tell what happened).
_FUTURE = re.compile(
    r"\b(?:will|won't|shall|going to|gonna|plan(?:ning)? to|about to|tomorrow|next|upcoming"
    r"|later|soon|hope to|want to|can't wait)\b|'ll\b"
    r"|\b(?:i'm|i am|we're|we are|he's|she's|they're|am i|are we|are you)\s+\w+ing\b",
    re.IGNORECASE,
)
_PAST = re.compile(r"\b(?:did|was|were|had|went|ago|last|yesterday|used to)\b", re.IGNORECASE)


def tense_of(text: str) -> Tense:
    """ "future" when the text talks about what is to come, else "past"."""
    return "future" if _FUTURE.search(text) and not _PAST.search(text) else "past"


def _month_start(d: date, months: int = 0) -> date:
    index = d.year * 12 + d.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def span(unit: str, d: date) -> tuple[date, date]:
    """The calendar day, week, month or year that contains `d`."""
    if unit == "day":
        return d, d + timedelta(days=1)
    if unit == "week":
        monday = d - timedelta(days=d.weekday())
        return monday, monday + timedelta(days=7)
    if unit == "month":
        return _month_start(d), _month_start(d, 1)
    return date(d.year, 1, 1), date(d.year + 1, 1, 1)


def _shift(d: date, unit: str, n: int) -> date:
    if unit == "day":
        return d + timedelta(days=n)
    if unit == "week":
        return d + timedelta(weeks=n)
    if unit == "month":
        return _month_start(d, n)
    return date(d.year + n, 1, 1)


Window = tuple[date, date, Granularity]
Handler = Callable[[dict[str, str], date, Tense], Window | None]


def _number(m: dict[str, str]) -> int:
    n = m["n"].lower()
    return int(n) if n.isdigit() else NUMBERS[" ".join(n.split())]


def _unit_window(unit: str, d: date) -> Window:
    start, end = span(unit, d)
    return start, end, unit  # type: ignore[return-value]


def _day(m: dict[str, str], today: date, tense: Tense) -> Window | None:
    month = MONTHS[m["mon"].lower()] if m.get("mon") else int(m["m"])
    if m.get("year"):
        years = [int(m["year"])]
    elif tense == "past":  # the most recent such day on or before today
        years = [today.year, today.year - 1]
    else:
        years = [today.year, today.year + 1]
    for year in years:
        try:
            d = date(year, month, int(m["day"]))
        except ValueError:
            continue
        if m.get("year") or (d <= today if tense == "past" else d >= today):
            return d, d + timedelta(days=1), "day"
    return None  # "30 February", or 29 February with no leap year in reach


def _month(m: dict[str, str], today: date, tense: Tense) -> Window | None:
    month = MONTHS[m["mon"].lower()]
    rel = (m.get("rel") or "").lower()
    this = date(today.year, month, 1)
    if m.get("year"):
        start = date(int(m["year"]), month, 1)
    elif rel == "last":  # "last March": the latest March before this month
        start = this if month < today.month else date(today.year - 1, month, 1)
    elif rel == "next":
        start = this if month > today.month else date(today.year + 1, month, 1)
    elif rel == "this" or month == today.month:
        start = this
    elif tense == "past":
        start = this if month < today.month else date(today.year - 1, month, 1)
    else:
        start = this if month > today.month else date(today.year + 1, month, 1)
    return start, _month_start(start, 1), "month"


def _weekday(m: dict[str, str], today: date, tense: Tense) -> Window | None:
    wd = WEEKDAYS[m["wd"].lower()]
    rel = " ".join((m.get("rel") or "").lower().split())
    if rel == "this":
        d = span("week", today)[0] + timedelta(days=wd)
    elif rel in ("next", "this coming", "coming") or (rel != "last" and tense == "future"):
        d = today + timedelta(days=(wd - today.weekday() - 1) % 7 + 1)
    else:  # "last Tuesday", "on Tuesday" told as past: the latest one before today
        d = today - timedelta(days=(today.weekday() - wd - 1) % 7 + 1)
    return d, d + timedelta(days=1), "day"


def _weekend(m: dict[str, str], today: date, tense: Tense) -> Window | None:
    rel = " ".join(m["rel"].lower().split())
    saturday = span("week", today)[0] + timedelta(days=5)  # this week's, maybe under way
    if rel in ("last", "this past"):
        saturday -= timedelta(days=7)
    elif rel == "next":
        saturday += timedelta(days=7)
    elif rel in ("the", "over the") and tense == "past" and today < saturday:
        saturday -= timedelta(days=7)  # "the weekend" told as past: the one that went by
    return saturday, saturday + timedelta(days=2), "week"


def _relative(m: dict[str, str], today: date, tense: Tense) -> Window | None:
    rel, unit = m["rel"].lower(), m["unit"].lower()
    return _unit_window(
        unit, _shift(span(unit, today)[0], unit, {"last": -1, "next": 1}.get(rel, 0))
    )


def _ago(m: dict[str, str], today: date, tense: Tense) -> Window | None:
    unit, n = m["unit"].lower(), _number(m)
    if unit in ("month", "year"):
        return _unit_window(unit, _shift(span(unit, today)[0], unit, -n))
    return _unit_window(unit, today - timedelta(days=n * (7 if unit == "week" else 1)))


def _later(m: dict[str, str], today: date, tense: Tense) -> Window | None:
    unit, n = m["unit"].lower(), _number(m)
    if unit in ("month", "year"):
        return _unit_window(unit, _shift(span(unit, today)[0], unit, n))
    return _unit_window(unit, today + timedelta(days=n * (7 if unit == "week" else 1)))


def _past_n(m: dict[str, str], today: date, tense: Tense) -> Window | None:
    # "the past 3 days", "the last two weeks": a rolling window that ends today.
    unit, n = m["unit"].lower(), _number(m) if m.get("n") else 1
    days = {"day": 1, "week": 7, "month": 30, "year": 365}[unit] * n
    return today - timedelta(days=days - 1), today + timedelta(days=1), unit  # type: ignore[return-value]


_DAY_WORDS = {
    "the day before yesterday": -2, "the day after tomorrow": 2, "yesterday": -1,
    "last night": -1, "tomorrow": 1, "today": 0, "tonight": 0, "this morning": 0,
    "this afternoon": 0, "this evening": 0,
}  # fmt: skip


def _named_day(m: dict[str, str], today: date, tense: Tense) -> Window | None:
    d = today + timedelta(days=_DAY_WORDS[" ".join(m["word"].lower().split())])
    return d, d + timedelta(days=1), "day"


def _months(m: dict[str, str], today: date, tense: Tense) -> Window | None:
    # "between March and May": from the first month's start to the end of the second.
    first = _month(m, today, tense)
    last = _month({"mon": m["mon2"]}, today, tense)
    if first is None or last is None or last[0] < first[0]:
        return None
    return first[0], last[1], "month"


def _year(m: dict[str, str], today: date, tense: Tense) -> Window | None:
    return date(int(m["year"]), 1, 1), date(int(m["year"]) + 1, 1, 1), "year"


_WORDS = "|".join(w.replace(" ", r"\s+") for w in sorted(_DAY_WORDS, key=len, reverse=True))
# Most specific first: a span taken by an earlier pattern is not read again by a later one.
PATTERNS: list[tuple[str, Handler]] = [
    (rf"\b{_YEAR}-(?P<m>[01]\d)-(?P<day>[0-3]\d)\b", _day),
    (rf"\b(?:the\s+)?{_DAY}(?:\s+of)?\s+{_MON}\s*,?\s*{_YEAR}\b", _day),
    (rf"\b{_MON}\s+{_DAY},?\s+{_YEAR}\b", _day),
    (rf"\b(?:in\s+|of\s+)?{_MON},?\s+{_YEAR}\b", _month),
    (rf"\b(?:the\s+)?{_DAY}(?:\s+of)?\s+{_MON}\b{_MAY_VERB}", _day),
    (rf"\b{_MON}\s+{_DAY}\b(?![:.]?\d)", _day),
    (rf"\b(?:the\s+)?(?:past|last)\s+{_NUM}\s+{_UNIT}\b", _past_n),
    (rf"\bthe\s+past\s+{_UNIT}\b", _past_n),
    (rf"\b{_NUM}\s+{_UNIT}\s+ago\b", _ago),
    (rf"\bin\s+{_NUM}\s+{_UNIT}\b", _later),
    (rf"\b{_NUM}\s+{_UNIT}\s+from\s+now\b", _later),
    (r"\b(?P<rel>last|this|next)\s+(?P<unit>week|month|year)\b", _relative),
    (r"\b(?P<rel>last|this\s+past|this|next|over\s+the|the)\s+weekend\b", _weekend),
    (rf"\b(?:(?P<rel>last|this\s+coming|this|next|coming|on)\s+)?{_WD}\b", _weekday),
    (rf"\b(?P<word>{_WORDS})\b", _named_day),
    (rf"\b(?:between|from)\s+{_MONF}\s+(?:and|to|until)\s+(?P<mon2>{_FULL})", _months),
    (rf"\b(?P<rel>in|last|this|next|since|during|early|late|mid|of|until|by|before|after)\s+{_MONF}\b{_MAY_VERB}",
     _month),
    (rf"(?<![\w$£€.,:/-]){_YEAR}(?![\w%/:-]|[.,]\d)", _year),
]  # fmt: skip
_COMPILED = [(re.compile(p, re.IGNORECASE), h) for p, h in PATTERNS]


def resolve(text: str, said_at: datetime, *, tense: Tense | None = None) -> list[TimeMention]:
    """Every time expression in `text`, resolved against `said_at`, in order of appearance.

    Windows carry `said_at`'s tzinfo (naive stays naive). `tense` overrides the guess of
    whether ambiguous phrases ("on Tuesday", "in March") point to the past or the future.
    """
    today = said_at.date()
    taken: list[tuple[int, int]] = []
    found: list[tuple[int, TimeMention]] = []
    for pattern, handler in _COMPILED:
        for match in pattern.finditer(text):
            a, b = match.span()
            if any(a < y and x < b for x, y in taken):
                continue
            groups = {k: v for k, v in match.groupdict().items() if v is not None}
            clause = _clause(text, a)
            window = handler(groups, today, tense or tense_of(clause))
            if window is None:
                continue
            start, end, gran = window
            taken.append((a, b))
            found.append((a, TimeMention(match.group(0).strip(), _at(start, said_at),
                                         _at(end, said_at), gran)))  # fmt: skip
    return [m for _, m in sorted(found, key=lambda f: f[0])]


def _clause(text: str, at: int) -> str:
    # The sentence around a phrase decides its tense, not the whole message.
    start = max(text.rfind(c, 0, at) for c in ".!?;\n") + 1
    ends = [i for i in (text.find(c, at) for c in ".!?;\n") if i != -1]
    return text[start : min(ends) if ends else len(text)]


def _at(d: date, like: datetime) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=like.tzinfo)


def query_window(text: str, now: datetime) -> tuple[datetime, datetime] | None:
    """The time window a question is about ("what did we do last Tuesday?"), or None.

    Several mentions ("between March and May") give the window that covers them all.
    """
    mentions = resolve(text, now)
    if not mentions:
        return None
    return min(m.start for m in mentions), max(m.end for m in mentions)
