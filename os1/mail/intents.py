"""Recognises what the user asks of their mail in plain words.

"Anything important today?", "reply to Amy that I'll come", "clean up my inbox",
"summarise my mail from Paul". Only the user's own words are read here — never the
text of a message — so mail cannot ask for anything on the user's behalf.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_IMPORTANT = re.compile(
    r"\b(anything|something|what'?s|what is|is there|any)\b.{0,40}"
    r"\b(important|urgent|new)\b.{0,30}\b(today|mail|e-?mail|inbox|messages?)\b"
    r"|\b(anything|something)\s+(important|urgent)\b.{0,12}\??$"
    r"|\b(check|read me) my (mail|e-?mail|inbox)\b",
    re.IGNORECASE,
)
_REPLY = re.compile(
    r"^\W*(?:please\s+|can you\s+|could you\s+)?"
    r"(?:(?:reply|respond|write back|write)\s+to|answer)\s+(?P<who>[\w.@' -]{1,60}?)"
    r"(?:\s+(?:and\s+)?(?:say|saying|tell(?:ing)?\s+(?:her|him|them))|\s*[:,]|\s+that|\s+to say)"
    r"\s+(?:that\s+)?(?P<what>.+?)\s*$",
    re.IGNORECASE,
)
_CLEANUP = re.compile(
    r"\b(clean\s*up|tidy( up)?|declutter|sort out|clear out)\b.{0,20}\b(inbox|mail|e-?mails?)\b",
    re.IGNORECASE,
)
_SUMMARY = re.compile(
    r"\bsummari[sz]e\b.{0,30}\b(?:mail|e-?mails?|thread|conversation)\s+(?:with|from)\s+"
    r"(?P<who>[\w.@' -]{1,60}?)\W*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Reply:
    who: str
    what: str


def asks_whats_important(text: str) -> bool:
    return bool(_IMPORTANT.search(text))


def reply_request(text: str) -> Reply | None:
    m = _REPLY.match(text.strip())
    if m is None:
        return None
    return Reply(m["who"].strip(), m["what"].strip())


def asks_cleanup(text: str) -> bool:
    return bool(_CLEANUP.search(text))


def summary_request(text: str) -> str | None:
    m = _SUMMARY.search(text.strip())
    return m["who"].strip() if m else None
