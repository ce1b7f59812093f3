"""Deterministic extraction of the facts a companion must never miss, from the user's words.

Precision over recall: a clause that is negated, hypothetical or a question yields nothing
("I don't live in Boston anymore" must not say they live in Boston). Relative times are
resolved against the moment the message was said, and written into the content as dates,
so "tomorrow" still means the right day when she reads the fact a year later.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from .facts import Fact
from .timeparse import TimeMention, resolve

# Relations with one person each; the others ("friend") may have many, so the name is
# part of their slot and a second friend does not replace the first.
SINGLE = {
    "wife", "husband", "partner", "girlfriend", "boyfriend", "fiance", "fiancee", "mother",
    "father", "boss", "therapist", "sister", "brother", "son", "daughter", "dog", "cat",
    "grandmother", "grandfather", "best friend", "stepmother", "stepfather",
}  # fmt: skip
MANY = {"friend", "cousin", "colleague", "coworker", "roommate", "neighbour", "neighbor", "kid"}
ALIASES = {"mom": "mother", "mum": "mother", "dad": "father", "grandma": "grandmother",
           "grandpa": "grandfather", "fiancé": "fiance", "fiancée": "fiancee"}  # fmt: skip
_REL = "|".join(sorted(SINGLE | MANY | set(ALIASES), key=len, reverse=True)).replace(" ", r"\s+")
_QUAL = r"(?:(?P<qual>older|younger|little|big|baby|eldest|oldest|youngest|twin|other)\s+)?"
_NAME = r"(?P<value>[A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+)?)"
_ANYNAME = r"(?P<value>[A-Za-z][\w'’-]+(?:\s+[A-Z][\w'’-]+)?)"
_NOT_NAMES = frozenset(
    "i i'm the a an it he she they we my your our his her their but and so then today "
    "tomorrow yesterday who what when where why how just also really very not is was "
    "monday tuesday wednesday thursday friday saturday sunday january february march april "
    "may june july august september october november december".split()
)

_NEGATED = re.compile(
    r"\b(?:not|never|no longer|anymore|any more|if|would|could|might|maybe|perhaps|wish|"
    r"used to|pretend|imagine|suppose|unless|whether|should|hope|dream)\b|n[’']t\b|\?",
    re.IGNORECASE,
)
_PREFIX = re.compile(r"^\s*(?:and|but|so|also|well|oh|yeah|yes|ok|okay|actually|now)\b[\s,]*", re.I)
_STOP = r"(?=\s*(?:$|[,.;:!]|\s(?:and|but|because|since|so|with|for|when|where|who|which|now)\b))"
_WORD = r"[A-Za-z][\w'’-]*"
_PLACE = rf"(?P<value>(?!(?:a|an|the|my|this|that|here|there|it)\b){_WORD}(?:\s+{_WORD}){{0,2}}?)"
_THING = (
    r"(?P<value>(?!(?:you|it|that|this|him|her|them|when|how|what|your|being)\b)"
    rf"{_WORD}(?:\s+{_WORD}){{0,4}}?)"
)

_ING = {"visiting": "visit", "seeing": "see", "meeting": "meet", "flying": "fly",
        "driving": "drive", "leaving": "leave", "starting": "start", "having": "have",
        "taking": "take", "hosting": "host", "travelling": "travel", "traveling": "travel",
        "moving": "move", "going": "go", "running": "run", "cooking": "cook"}  # fmt: skip
_PAST_VERBS = (
    "went|visited|saw|met|had|watched|finished|started|got|ran|climbed|cooked|read|bought|quit|"
    "lost|won|moved|married|adopted|graduated|celebrated|flew|drove|left|joined|tried|made"
)


def _title(value: str) -> str:
    return " ".join(w[:1].upper() + w[1:] for w in value.split())


def slot_key(value: str) -> str:
    words = [w for w in re.findall(r"[a-z0-9]+", value.lower()) if w not in ("a", "an", "the")]
    return "_".join(words)[:60]


_PERSON = {"my": "their", "me": "them", "myself": "themself", "mine": "theirs", "i": "they"}


def third_person(fragment: str) -> str:
    """A fragment of the user's words told about them: "visit my mom" -> "visit their mom"."""
    return re.sub(
        r"\b(?:my|me|myself|mine|I)\b", lambda m: _PERSON[m[0].lower()], fragment, flags=re.I
    )


def _tidy(fragment: str, when: list[TimeMention]) -> str:
    """A fragment without its time phrases and the prepositions they leave dangling."""
    for w in when:
        fragment = fragment.replace(w.phrase, " ")
    fragment = re.sub(r"(?:\s+(?:on|in|at|during|back|from))+\s*$", "", fragment.strip(" ,.!"))
    return third_person(re.sub(r"\s+", " ", fragment).strip(" ,.!"))


def when_text(m: TimeMention) -> str:
    """An absolute description of a window: "on 9 May 2023", "in March 2023"."""
    day = f"{m.start.day} {m.start:%B %Y}"
    if m.granularity == "day":
        return f"on {day}"
    if m.granularity == "week":
        weekend = m.start.weekday() == 5 and m.end - m.start == timedelta(days=2)
        return f"on the weekend of {day}" if weekend else f"in the week of {day}"
    return f"in {m.start:%B %Y}" if m.granularity == "month" else f"in {m.start.year}"


def _clauses(text: str) -> list[str]:
    parts = re.split(r"(?<=[.!?;\n])\s*|\s+but\s+", text)
    return [_PREFIX.sub("", p).strip() for p in parts if p and p.strip()]


def _relations(clause: str, name: str) -> list[Fact]:
    found = []
    # Case matters for the name ("my sister Anna", not "my sister called"), so only the
    # words before it are matched case-insensitively.
    my = rf"\b(?i:my\s+{_QUAL}(?P<rel>{_REL}))"
    patterns = [
        rf"{my}(?i:[’']s\s+name\s+is|\s+is\s+(?:called|named))\s+{_ANYNAME}",
        rf"{my}(?i:\s+is)\s+{_NAME}",
        rf"{my},?\s+{_NAME}",
    ]
    for pattern in patterns:
        for m in re.finditer(pattern, clause):
            value = _title(m["value"])
            if value.lower().split()[0] in _NOT_NAMES:
                continue
            rel = " ".join(m["rel"].lower().split())
            rel = ALIASES.get(rel, rel)
            qual = f"{m['qual'].lower()} " if m["qual"] else ""
            label = f"{qual}{rel}"
            slot = (
                f"{slot_key(label)}:{slot_key(value)}" if rel in MANY else f"{slot_key(label)}.name"
            )
            content = (
                f"{value} is {name}'s {label}."
                if rel in MANY
                else f"{name}'s {label} is called {value}."
            )
            found.append(Fact("relationship", slot, content, 0.9, 0.8))
    return found


def _home(clause: str, name: str, said_at: datetime, when: list[TimeMention]) -> list[Fact]:
    m = re.search(rf"\bI\s+(?:live|am living|'m living)\s+in\s+{_PLACE}{_STOP}", clause, re.I)
    if m:
        return [Fact("state", "home.city", f"{name} lives in {_title(m['value'])}.", 0.85, 0.8)]
    m = re.search(rf"\bI\s+(?:just\s+)?moved\s+to\s+{_PLACE}{_STOP}", clause, re.I)
    if m:
        start = when[0].start if when else said_at
        place = _title(m["value"])
        return [Fact("state", "home.city", f"{name} lives in {place}.", 0.85, 0.8,
                     start.isoformat())]  # fmt: skip
    m = re.search(rf"\bI(?:\s+a|'|’)m\s+from\s+{_PLACE}{_STOP}", clause, re.I)
    if m:
        return [Fact("identity", "hometown", f"{name} is from {_title(m['value'])}.", 0.8, 0.6)]
    return []


def _work(clause: str, name: str) -> list[Fact]:
    m = re.search(rf"\bI\s+work\s+as\s+(?P<a>an?\s+)?{_THING}{_STOP}", clause, re.I)
    if m:
        job = third_person(f"{m['a'] or ''}{m['value']}".strip())
        return [Fact("state", "job", f"{name} works as {job}.", 0.85, 0.7)]
    m = re.search(rf"\bI\s+work\s+(?P<prep>at|for)\s+{_PLACE}{_STOP}", clause, re.I)
    if m:
        where = m["value"] if m["value"][:1].isupper() else m["value"].lower()
        return [Fact("state", "job.employer", f"{name} works {m['prep']} {where}.", 0.8, 0.7)]
    return []


def _likes(clause: str, name: str) -> list[Fact]:
    m = re.search(
        rf"\bI\s+(?:really\s+|absolutely\s+)?(?P<verb>love|like|adore|enjoy|hate|dislike|detest|"
        rf"loathe)\s+{_THING}{_STOP}",
        clause,
        re.IGNORECASE,
    )
    if not m:
        return []
    verb = m["verb"].lower()
    polarity = "dislikes" if verb in ("hate", "dislike", "detest", "loathe") else "likes"
    thing = third_person(m["value"])
    return [
        Fact("preference", f"{polarity}:{slot_key(thing)}", f"{name} {verb}s {thing}.", 0.8, 0.6)
    ]


def _identity(clause: str, name: str, said_at: datetime, when: list[TimeMention]) -> list[Fact]:
    m = re.search(rf"\b(?:call me|my name is|my name's)\s+{_ANYNAME}", clause, re.I)
    if m and m["value"].lower() not in _NOT_NAMES:
        content = f"{name} wants to be called {_title(m['value'])}."
        return [Fact("identity", "name", content, 0.95, 0.9)]
    age = r"\bI(?:\s+a|'|’)m\s+(?P<age>\d{1,3})(?:\s+years?\s+old)?\s*(?:$|[,.!;]|now\b)"
    m = re.search(age, clause, re.I)
    if m and 3 <= int(m["age"]) <= 120:
        content = f"{name} was {m['age']} years old in {said_at:%B %Y}."
        return [Fact("identity", "age", content, 0.9, 0.6, said_at.isoformat())]
    m = re.search(r"\b(?:my birthday is|I was born on)\b", clause, re.I)
    if m and when and when[0].granularity == "day":
        day = when[0].start
        explicit = re.search(r"\b(?:19|20)\d\d\b", when[0].phrase)
        content = (
            f"{name} was born on {day.day} {day:%B %Y}." if explicit
            else f"{name}'s birthday is on {day.day} {day:%B}."
        )  # fmt: skip
        return [Fact("identity", "birthday", content, 0.9, 0.8)]
    return []


def _plans(clause: str, name: str, when: list[TimeMention]) -> list[Fact]:
    m = re.search(
        r"\bI(?:\s+am|'m|’m)\s+(?:going\s+to|gonna|planning\s+to)\s+(?P<act>.+)|"
        r"\bI(?:\s+will|'ll|’ll)\s+(?P<act2>.+)|\bI\s+plan\s+to\s+(?P<act3>.+)|"
        rf"\bI(?:\s+am|'m|’m)\s+(?P<ing>{'|'.join(_ING)})\s+(?P<act4>.+)",
        clause,
        re.IGNORECASE,
    )
    if not m or not when:
        return []
    act = m["act"] or m["act2"] or m["act3"] or f"{_ING[m['ing'].lower()]} {m['act4']}"
    if m["act"] and re.match(r"(?:the\s+)?[A-Z]|(?:a|an|the|my|our|his|her|their)\s", m["act"]):
        act = f"go to {act}"  # "I'm going to Paris", "…to a job interview": not a verb
    act = _tidy(act, when)
    if len(act.split()) < 2:
        return []  # "I'll go tomorrow": too little to remember
    content = f"{name} plans to {act} {when_text(when[0])}."
    return [
        Fact("plan", f"plan:{slot_key(act)[:40]}", content, 0.75, 0.7, when[0].start.isoformat())
    ]


def _events(clause: str, name: str, when: list[TimeMention]) -> list[Fact]:
    if not when:
        return []
    m = re.search(rf"\bI\s+(?:just\s+)?(?P<verb>{_PAST_VERBS})\s+(?P<what>.+)", clause, re.I)
    if not m or m["verb"].lower() == "moved":
        return []
    what = _tidy(m["what"], when)
    if not what:
        return []
    content = f"{name} {m['verb'].lower()} {what} {when_text(when[0])}."
    slot = f"event:{m['verb'].lower()}_{slot_key(what)[:40]}"
    return [Fact("event", slot, content, 0.75, 0.5, when[0].start.isoformat())]


def extract_rules(text: str, *, said_at: datetime, name: str) -> list[Fact]:
    """The facts a user's own message states plainly about them, in order, one per slot."""
    found: list[Fact] = []
    for clause in _clauses(text):
        clause = re.sub(r"\b(?:can[’']t|cannot)\s+stand\b", "hate", clause, flags=re.I)
        clause = re.sub(r"\b(?:don[’']t|do\s+not)\s+like\b", "dislike", clause, flags=re.I)
        if _NEGATED.search(clause):
            continue
        when = resolve(clause, said_at)
        bare = clause  # without its time phrases, so "LA in March" ends at "LA"
        for w in when:
            bare = bare.replace(w.phrase, ",")
        facts = _relations(bare, name) + _identity(clause, name, said_at, when)
        facts += _home(bare, name, said_at, when) + _work(bare, name) + _likes(bare, name)
        future = [w for w in when if w.end > said_at]
        past = [w for w in when if w.start <= said_at]
        facts += _plans(clause, name, future) or _events(clause, name, past)
        found += [f for f in facts if f.slot not in {g.slot for g in found}]
    return found
