"""Recognises what the user asks of their calendar in plain words.

"What's on Thursday?", "remind me to call my sister at five tomorrow", "put lunch with
Amy on Friday at 1 in my calendar", "move the dentist to Friday at 3", "cancel the
dentist on Friday". Only the user's own words are read here — never mail or document
text — so nothing else can put anything in their calendar. Strict on purpose: a
sentence is a request only when it is shaped like one ("I had a great time on Friday"
is not; "remember that…" belongs to memory), and a request missing its time comes back
as `Unclear`, with the question to ask, rather than as a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ..memory.timeparse import WEEKDAYS, resolve
from .reminder_request import POLITE, ReminderError, ReminderRequest, parse_reminder
from .when import When, WhenError, parse_when


@dataclass(frozen=True)
class AgendaAsk:
    """A question about what happens from `start` to `end` (both days included)."""

    start: date
    end: date


@dataclass(frozen=True)
class ListReminders:
    """ "What are my reminders?" — all of them, or those due in a window (days included)."""

    start: date | None = None
    end: date | None = None


@dataclass(frozen=True)
class NewEvent:
    summary: str
    when: When


@dataclass(frozen=True)
class MoveEvent:
    """Move the event the user calls `what` to `when`; `when.said_day` False ("to 4pm")
    means the same day at that time. `day`: the day it is on now, when they said it."""

    what: str
    when: When
    day: date | None = None


@dataclass(frozen=True)
class CancelEvent:
    what: str
    day: date | None = None


@dataclass(frozen=True)
class Unclear:
    """A calendar request that lacks something; `message` is the question to ask."""

    message: str


CalendarIntent = (
    AgendaAsk | ListReminders | ReminderRequest | ReminderError | NewEvent | MoveEvent
    | CancelEvent | Unclear
)  # fmt: skip

MAX_REQUEST = 300
"""Longer sentences are not read as calendar requests: requests are short, stories long."""
_I = re.IGNORECASE
_LEAD = re.compile(rf"^\W*{POLITE}", _I)
_CAL = r"(?:calendar|diary|agenda|schedule)"
_PAST = re.compile(r"\b(?:did|was|were|had|last|yesterday|ago)\b", _I)

# ---------------------------------------------------------------------------------- windows

# Words that may stand around the time words of a question without changing it.
_FILLER = re.compile(
    r"\b(?:on|for|in|at|the|over|during|of|and|or|like|looking|look|be|to\s+do|morning"
    r"|afternoon|evening|night|all|day|then|please|me|us|coming|up|planned|at\s+all)\b|[\W_]+",
    _I,
)
_SPANS: list[tuple[re.Pattern[str], int | None]] = [
    (re.compile(r"\b(?:the\s+)?rest\s+of\s+(?:the|this|my)\s+week\b|\bmy\s+week\b|\bthe\s+week"
                r"(?:\s+ahead)?\b", _I), None),  # today to Sunday
    (re.compile(r"\b(?:the\s+)?(?:next|coming)\s+(?:few\s+)?days\b", _I), 3),
    (re.compile(r"\blater(?:\s+today)?\b|\bthe\s+rest\s+of\s+(?:the|my|to)\s*day\b", _I), 1),
]  # fmt: skip
_NEXT_DAYS = re.compile(r"\b(?:the\s+)?next\s+(?P<n>\d{1,2})\s+days\b", _I)


def _window(tail: str, now: datetime, *, past: bool = False) -> tuple[date, date] | bool:
    """The days a question's time words cover (both included); True when it has none,
    False when other words are left over (then it is not such a question). `past`: the
    question is about what was ("what did I have on Monday?")."""
    today = now.date()
    spans: list[tuple[date, date]] = []
    for pattern, days in _SPANS:
        for _ in pattern.finditer(tail):
            end = today + timedelta(days - 1 if days else 6 - today.weekday())
            spans.append((today, end))
        tail = pattern.sub(" ", tail)
    for m in _NEXT_DAYS.finditer(tail):
        spans.append((today, today + timedelta(days=max(1, int(m["n"])) - 1)))
    tail = _NEXT_DAYS.sub(" ", tail)
    future = not (past or _PAST.search(tail))
    for mention in resolve(tail, now, tense="future" if future else "past"):
        start, end = mention.start.date(), mention.end.date() - timedelta(days=1)
        if future and mention.granularity != "day" and start < today <= end:
            start = today  # "this week": what is still to come
        spans.append((start, end))
        tail = tail.replace(mention.phrase, " ", 1)
    try:
        clock = parse_when(tail, now)
    except WhenError:
        return False
    if clock is not None:  # "at 3", "on the 5th": what the memory's reader leaves
        if clock.said_day:
            day = clock.start.date() if isinstance(clock.start, datetime) else clock.start
            spans.append((day, day))
        tail = clock.rest
    if _FILLER.sub("", tail):
        return False
    if not spans:
        return True
    return min(s for s, _ in spans), max(e for _, e in spans)


def _days(n: int, now: datetime) -> tuple[date, date]:
    return now.date(), now.date() + timedelta(days=n - 1)


# ---------------------------------------------------------------------------------- agenda

_W = r"(?:what'?s|what\s+is|whats)"
_WD = "(?:" + "|".join(WEEKDAYS) + ")"
# (pattern, days when no time is said: None means a time must be said)
_AGENDA: list[tuple[re.Pattern[str], int | None]] = [
    (re.compile(rf"^{_W}\s+(?:on|happening|planned|scheduled|up)\b(?P<tail>.*)$", _I), None),
    (re.compile(rf"^{_W}\s+(?:coming\s+up|(?:on|in)\s+my\s+{_CAL})\b(?P<tail>.*)$", _I), 7),
    (re.compile(rf"^(?:{_W}|how'?s|how\s+is)\s+(?P<tail>.+?)\s+(?:look(?:ing)?\s+)?like\W*$", _I),
     None),
    (re.compile(r"^what\s+(?:do|did|have|will)\s+(?:i|we)\s+(?:got|have|have\s+got|get)\b\s*"
                r"(?:on|planned|scheduled|going\s+on|booked)?\b(?P<tail>.*)$", _I), None),
    (re.compile(r"^(?:what\s+have\s+(?:i|we)\s+got|have\s+(?:i|we)\s+got\s+anything)\s+on\b"
                r"(?P<tail>.*)$", _I), 1),
    (re.compile(r"^(?:am\s+i|are\s+we|will\s+i\s+be|is\s+my\s+calendar)\s+(?:free|busy"
                r"|available|booked|clear)\b(?P<tail>.*)$", _I), 1),
    (re.compile(rf"^(?:{_W}|how'?s|how\s+is|how\s+does|what\s+does|what\s+will)\s+"
                rf"(?P<subj>my\s+(?:day|week|weekend|{_CAL}|plans?|{_WD})|tomorrow|today)\b\s*"
                r"(?:look(?:ing)?|be)?(?P<tail>.*)$", _I), 7),
    (re.compile(rf"^(?:(?:show|tell|give|read)\s+(?:me\s+)?|check\s+|open\s+)?(?:what'?s\s+in\s+)?"
                rf"my\s+(?P<subj>{_CAL}|plans|appointments|meetings|day|week)\b(?P<tail>.*)$", _I),
     7),
    (re.compile(r"^(?:is\s+there\s+|do\s+i\s+have\s+|have\s+i\s+got\s+|got\s+)?anything\s+"
                rf"(?:on|planned|scheduled|happening|in\s+my\s+{_CAL})\b(?P<tail>.*)$", _I), 1),
    (re.compile(r"^(?:do|did|will)\s+i\s+have\s+(?:any\s+)?(?:meetings?|appointments?|events?"
                r"|plans|anything)\b(?:\s+(?:on|planned|scheduled))?(?P<tail>.*)$", _I), 1),
    (re.compile(r"^what\s+are\s+my\s+(?:plans|appointments|meetings|events)\b(?P<tail>.*)$", _I),
     1),
]  # fmt: skip


# A question's subject may say its days: "how does my week look?"
_SUBJECT = {"day": "today", "today": "today", "tomorrow": "tomorrow", "week": "my week",
            "weekend": "this weekend"}  # fmt: skip


def agenda_ask(text: str, now: datetime) -> AgendaAsk | None:
    """A question about the user's days ("what's on Thursday?"), or None."""
    said = _LEAD.sub("", text.strip())
    for pattern, default in _AGENDA:
        m = pattern.match(said)
        if m is None:
            continue
        past = bool(_PAST.search(said))
        window = _window(m["tail"], now, past=past)
        subject = (m.groupdict().get("subj") or "").lower().split()[-1:]
        if window is True and subject and (subject[0] in _SUBJECT or subject[0] in WEEKDAYS):
            window = _window(_SUBJECT.get(subject[0], subject[0]), now, past=past)
        if window is True and default is not None:
            window = _days(default, now)
        if isinstance(window, tuple):
            return AgendaAsk(*window)
    return None


# ---------------------------------------------------------------------------------- reminders

_LIST = re.compile(
    r"^(?:(?:what\s+are|what're|show(?:\s+me)?|list|tell\s+me|read(?:\s+me)?|give\s+me|check"
    r"|see)\s+)?(?:all\s+)?(?:of\s+)?my\s+(?:reminders|to-?dos?(?:\s+list)?)\b(?P<tail>.*)$"
    r"|^(?:what|which|any)\s+reminders\b(?:\s+(?:do|have)\s+i\s+(?:got|have|set))?(?P<tail2>.*)$"
    r"|^(?:do|have)\s+i\s+(?:have|got)\s+any\s+reminders\b(?P<tail3>.*)$",
    _I,
)


def list_reminders(text: str, now: datetime) -> ListReminders | None:
    """ "What are my reminders?", "any reminders for tomorrow?", or None."""
    m = _LIST.match(_LEAD.sub("", text.strip()))
    if m is None:
        return None
    window = _window(m["tail"] or m["tail2"] or m["tail3"] or "", now)
    if window is True:
        return ListReminders()
    return ListReminders(*window) if isinstance(window, tuple) else None


# ---------------------------------------------------------------------------------- events

_VERB_CAL = re.compile(
    r"^(?:put|pop|stick|write|pencil(?:\s+in)?|note|jot|add|enter|save)\s+(?P<what>.+?)\s+(?:down\s+)?"
    rf"(?:in(?:to)?|on|to)\s+(?:my|the)\s+{_CAL}\b(?P<more>.*)$",
    _I,
)
_VERB = re.compile(
    r"^(?P<verb>add|schedule|create|set\s+up)\s+(?P<what>.+)$",
    _I,
)
# What "add…" or "schedule…" may be about that is not an event.
_NOT_EVENT = re.compile(
    r"^(?:(?:a|an|the|my|some)\s+)?(?:e-?mails?|mails?|messages?|texts?|posts?|tweets?|reminders?"
    r"|notes?|alarms?|timers?|backups?|payments?|transfers?|contacts?|tasks?|to-?dos?|orders?"
    r"|deliver(?:y|ies)|subscriptions?|accounts?|memberships?|cards?|is|was|looks|seems|for)\b",
    _I,
)
_EVENTISH = re.compile(
    r"\b(?:meeting|appointment|call|lunch|dinner|breakfast|brunch|coffee|drinks|date|party|event"
    r"|session|class|lesson|practice|training|interview|visit|dentist|doctor|game|match|concert"
    r"|flight|trip|rehearsal|check-?up|haircut|massage|therapy|yoga|gym|workout|standup"
    r"|stand-up|sync|review|workshop|webinar|conference|reservation|birthday|wedding|show)s?\b",
    _I,
)
_NAMED = re.compile(r"^(?:an?\s+)?(?:event|appointment|meeting)\s+(?:called|named|titled)\s+", _I)


def _summary(words: str) -> str:
    words = _NAMED.sub("", words.strip(" ,;:-\"'“”"))
    words = re.sub(r"^(?:a|an|the|my|our)\s+", "", words, flags=_I).strip(" ,;:-")
    return words[:1].upper() + words[1:]


def new_event(text: str, now: datetime) -> NewEvent | Unclear | None:
    """ "Put lunch with Amy on Friday at 1 in my calendar", "schedule a call with Paul
    tomorrow at 4"; None when the sentence is not such a request."""
    said = _LEAD.sub("", text.strip()).rstrip(" .!?")
    explicit = _VERB_CAL.match(said)
    m = explicit or _VERB.match(said)
    if m is None or _NOT_EVENT.match(m["what"]):
        return None
    words = f"{m['what']} {m.groupdict().get('more') or ''}"
    try:
        when = parse_when(words, now)
    except WhenError as e:
        return Unclear(str(e))
    summary = _summary(when.rest if when else words)
    if not summary:
        return Unclear("What should I call it?") if when else None
    if when is None:
        if explicit or m["verb"].lower() == "schedule":
            return Unclear(f"When is “{summary}”?")
        return None
    if not explicit:
        # "add Amy to the group on Friday", "set up the tent at 5": not calendar entries.
        if re.search(r"\b(?:to|into)\s+(?:my|the|our)\s+\w+", when.rest, _I):
            return None
        if m["verb"].lower() in ("create", "set up") and not _EVENTISH.search(summary):
            return None
    return NewEvent(summary, when)


_MOVE = re.compile(
    r"^(?P<verb>move|reschedule|push|postpone|shift|change|bring)\s+(?:(?:forward|back)\s+)?"
    r"(?P<rest>.+)$",
    _I,
)
_SPLIT = re.compile(r"\s+(?:(?:forward|back)\s+)?(?:to|till|until|for)\s+", _I)


def _what_and_day(words: str, now: datetime) -> tuple[str, date | None]:
    """ "the dentist from Thursday" → ("dentist", Thursday); "my 3pm meeting" keeps its time."""
    try:
        said = parse_when(words, now)
    except WhenError:
        said = None
    if said is None or not said.said_day:
        return _summary(words), None
    day = said.start.date() if isinstance(said.start, datetime) else said.start
    what = re.sub(r"\s+(?:from|on)$", "", said.rest, flags=_I)
    return _summary(what), day


def move_event(text: str, now: datetime) -> MoveEvent | Unclear | None:
    """ "Move the dentist to Friday at 3", "push my meeting with Paul to 4pm", or None."""
    m = _MOVE.match(_LEAD.sub("", text.strip()).rstrip(" .!?"))
    if m is None:
        return None
    rest = m["rest"]
    for split in _SPLIT.finditer(rest):
        target = rest[split.end() :]
        try:
            # "to 4": after "move … to", a bare number is a time
            when = parse_when(target, now) or parse_when(f"at {target}", now)
        except WhenError as e:
            return Unclear(str(e))
        if when is None or _FILLER.sub("", when.rest):
            continue  # "move the trip to Rome to Friday": not yet
        what, day = _what_and_day(rest[: split.start()], now)
        if not what or re.fullmatch(r"it|that|this|them", what, _I):
            return None
        return MoveEvent(what, when, day)
    if m["verb"].lower() in ("reschedule", "postpone"):  # said without where to
        what, _ = _what_and_day(rest, now)
        return Unclear(f"When should “{what}” move to?") if what else None
    return None


_CANCEL = re.compile(
    r"^(?:cancel|delete|remove|drop|scrap|call\s+off)\s+(?P<what>.+?)"
    rf"(?P<cal>\s+(?:from|off|in)\s+(?:my|the)\s+{_CAL})?$",
    _I,
)


def cancel_event(text: str, now: datetime) -> CancelEvent | None:
    """ "Cancel the dentist on Friday", "delete my meeting with Paul", or None."""
    m = _CANCEL.match(_LEAD.sub("", text.strip()).rstrip(" .!?"))
    if m is None or _NOT_EVENT.match(m["what"]) or re.search(r"\bfrom\b", m["what"], _I):
        return None
    what, day = _what_and_day(m["what"], now)
    if not what or re.fullmatch(r"(?:it|that|this|them|those|these|everything|all)", what, _I):
        return None
    if not (m["cal"] or day or _EVENTISH.search(what)):
        return None  # "cancel my subscription": not a calendar request
    return CancelEvent(what, day)


# ---------------------------------------------------------------------------------- all


def recognise(text: str, now: datetime) -> CalendarIntent | None:
    """The calendar request in the user's words, or None. Tried on the whole message,
    then sentence by sentence ("Great, thanks. What's on Friday?")."""
    whole = text.strip()
    parts = [whole] + [s for s in re.split(r"(?<=[.!?])\s+", whole) if s != whole]
    for part in (p for p in parts if len(p) <= MAX_REQUEST):
        for reader in (list_reminders, parse_reminder, move_event, cancel_event, new_event,
                       agenda_ask):  # fmt: skip
            found = reader(part, now)
            if found is not None:
                return found
    return None
