"""Reads a request for a reminder in the user's own words: what, and when.

"Remind me to call my sister at five tomorrow", "wake me at 6", "tomorrow at 5, remind
me to…". Strict like `when.py`: "remind me what we said", or a story around the words,
is no request; one that lacks its time or its what comes back as a `ReminderError`
asking for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, time

from .spoken import spoken, spoken_day, spoken_moment, you_form
from .when import When, WhenError, parse_when

DEFAULT_TIME = time(9)
"""A reminder for a day without a time of day rings that morning."""


@dataclass(frozen=True)
class ReminderRequest:
    """What the user asked to be reminded of, and when."""

    what: str
    """Their words, cleaned ("call my sister"): stored as said."""
    when: When
    link: str = "to"
    """How the reminder is said: "to call…", "about the dentist", "that…"."""


@dataclass
class ReminderError(Exception):
    """A request for a reminder that cannot be set as said; `message` asks what is missing.
    Returned by `parse_reminder`; an exception too, for callers that would rather raise it."""

    message: str

    def __str__(self) -> str:
        return self.message


# What may come before a request without changing it: "hey", "could you please".
POLITE = (
    r"(?:(?:hey|hi|ok|okay|so|and|oh|please|samantha)\b[\s,!]*)*"
    r"(?:(?:can|could|would|will)\s+you\s+(?:please\s+)?|please\s+"
    r"|i\s+(?:want|need|would\s+like|'d\s+like)\s+you\s+to\s+)?"
)
_ASK = re.compile(
    r"\b(?P<wake>wake\s+me(?:\s+up)?|set\s+(?:an|my|the)\s+alarm)\b[\s:,-]*"
    r"|\b(?P<verb>remind\s+me|(?:set|add|create|make)\s+(?:me\s+)?(?:up\s+)?an?\s+reminder"
    r"|new\s+reminder|reminder(?=\s*[:-]|\s+(?:to|for|that|about)\b)"
    r"|(?:don'?t|do\s+not)\s+let\s+me\s+forget)\b[\s:,-]*",
    re.IGNORECASE,
)
_POLITE_ONLY = re.compile(rf"^\W*{POLITE}\W*$", re.IGNORECASE)
# "remind me what we said": a question for her memory, not a reminder.
_QUESTION = re.compile(r"^(?:what|who|whom|where|how|why|which|if|whether|when)\b", re.I)
# Words that say which half of the day a time is in.
_HALF = re.compile(
    r"(?<=\d)\s*[ap]\.?m\b|\b(?:morning|afternoon|evening|night|tonight|noon|midnight)\b", re.I
)
_LINK = re.compile(r"^(?P<link>to|about|of|that|for)\s+", re.IGNORECASE)
_TAIL = re.compile(r"(?:[\s,]+(?:please|thanks|thank\s+you))?[\s.!?,;:]*$", re.IGNORECASE)


def parse_reminder(text: str, now: datetime) -> ReminderRequest | ReminderError | None:
    """The reminder asked for in the user's own words; a `ReminderError` when it lacks a
    time or a what; None when `text` does not ask for a reminder."""
    m = _ASK.search(text)
    if m is None:
        return None
    before, body = text[: m.start()], text[m.end() :]
    if not _POLITE_ONLY.match(before):
        # "Tomorrow at 5, remind me to…" — anything else before it is a story, not a request.
        try:
            said = parse_when(before, now)
        except WhenError:
            return None
        if said is None or not _POLITE_ONLY.match(said.rest):
            return None
        body = f"{body} {said.phrase}"
    body = _TAIL.sub("", body.strip())
    if _QUESTION.match(body):
        return None
    wake = bool(m["wake"])
    if wake:
        body = re.sub(r"^for\s+", "at ", body, flags=re.IGNORECASE)  # "an alarm for 7"
    try:
        when = parse_when(body, now, default_time=DEFAULT_TIME)
        if wake and when and not _HALF.search(body):
            # "wake me at 6": six in the morning, not in the evening
            morning = parse_when(f"{body} in the morning", now, default_time=DEFAULT_TIME)
            if morning is not None and morning.start != when.start:
                when = replace(morning, phrase=when.phrase, rest=when.rest)
    except WhenError as e:
        return ReminderError(str(e))
    link, what = _what(when.rest if when else body)
    if wake and not what:
        link, what = "to", "wake up"
    if when is None:
        if not what:
            return ReminderError("What should I remind you of, and when?")
        if link in ("about", "of"):
            return None  # "remind me about our trip": memory's to answer
        return ReminderError(f"When should I remind you {link} {you_form(what)}?")
    if not what:
        return ReminderError(f"What should I remind you of {spoken(when, now)}?")
    start = when.start
    if not when.rrule and isinstance(start, datetime) and start <= now:
        if not when.said_time:
            return ReminderError(f"At what time {spoken_day(start.date(), now.date())}?")
        moment = spoken_moment(start, now)
        return ReminderError(f"{moment[:1].upper()}{moment[1:]} has already passed. When, then?")
    return ReminderRequest(what, when, link)


def _what(rest: str) -> tuple[str, str]:
    rest = _TAIL.sub("", rest.strip(" ,;:-"))
    m = _LINK.match(rest)
    link = m["link"].lower() if m else "about"  # "reminder: dentist on Friday"
    what = rest[m.end() :] if m else rest
    return {"for": "about"}.get(link, link), what.strip(" ,;:-")
