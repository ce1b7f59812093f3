"""Recognises what the user asks of her memory in plain words.

"What do you know about me?", "forget that", "that's wrong, my sister is called Anna",
"do you remember…?": these are answered from stored facts, with sources, rather than
left to a language model that might invent a shared past.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ABOUT_ME = re.compile(
    r"\bwhat (do|did) you (know|remember|have stored|keep) (about|on|of) me\b"
    r"|\bwhat have you (learned|learnt|remembered|stored) about me\b"
    r"|\bwhat do you remember\??$",
    re.IGNORECASE,
)
_FORGET = re.compile(
    r"^\W*(please\s+|can you\s+|could you\s+)?forget\s+(?P<what>.*?)\W*$", re.IGNORECASE
)
_FORGET_LAST = re.compile(
    r"^(that|this|it|what i (just )?(said|told you)|my last message|the last thing)$",
    re.IGNORECASE,
)
_CORRECTION = re.compile(
    r"^\W*(no[,.!]?\s+)?(that'?s|that is|this is|you'?re|you are)\s+"
    r"(wrong|not right|not true|incorrect|mistaken)\W*\s*(?P<rest>.*)$"
    r"|^\W*(actually|correction)[,:]?\s+(?P<rest2>.+)$",
    re.IGNORECASE,
)
_QUESTION = re.compile(
    r"\b(do you remember|did i (ever )?(tell|mention|say)|what did i (say|tell)"
    r"|what('?s| is| are) my|who('?s| is| are) my|where (do|did) i|when (did|do|is) (i|my)"
    r"|what do i (like|love|hate|do)|how old am i|what'?s the name of my)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Forget:
    """A request to forget: the last thing said (`target` None) or something named."""

    target: str | None


def asks_what_you_know(text: str) -> bool:
    return bool(_ABOUT_ME.search(text.strip()))


def forget_request(text: str) -> Forget | None:
    match = _FORGET.match(text.strip())
    if not match:
        return None
    what = match.group("what").strip()
    if not what or _FORGET_LAST.match(what):
        return Forget(None)
    what = re.sub(r"^(about|that|the fact that)\s+", "", what, flags=re.IGNORECASE)
    return Forget(what or None)


def correction(text: str) -> str | None:
    """The corrected statement in "that's wrong, my sister is called Anna" ("" if none given)."""
    match = _CORRECTION.match(text.strip())
    if not match:
        return None
    return (match.group("rest") or match.group("rest2") or "").strip()


def memory_question(text: str) -> bool:
    return bool(_QUESTION.search(text))
