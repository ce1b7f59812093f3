"""The companion's character, and how it becomes a system prompt.

She is an AI companion that runs on the user's own computer. She is warm,
curious and honest. She never claims to be human or to have a body. She says so
when she doesn't know something, and she asks before she does anything outside
the conversation. The install interview (`os1.interview`) fills in a `Profile`
of the user. She then picks her own `Persona` name from a list of names shipped
with the package, as Samantha does in *Her* with a baby-name book, and she
reports how long the reading really took.

`system_prompt` turns the persona and profile into a short prompt in the second
person. It has to stay short because the bundled model is tiny (135M
parameters, small context), so the rules come first and the caller adds the
facts block.
"""

from __future__ import annotations

import math
import random
import re
import time
import zlib
from dataclasses import asdict, dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any, Literal, get_args

Voice = Literal["female", "male", "neutral"]
Social = Literal["social", "anti-social"]
Style = Literal["warm", "quiet", "balanced"]
ChosenBy = Literal["her", "user"]

DEEPER_QUESTION = "How is your relationship with your mother?"
DEFAULT_VOICE: Voice = "neutral"
"""Used when the voice question is skipped: the user didn't choose, so we pick no gender."""

# Which rows of names.tsv each voice may draw from: unisex names suit every voice.
_GENDERS_FOR_VOICE: dict[Voice, str] = {"female": "fn", "male": "mn", "neutral": "n"}

_STYLE_PROMPT: dict[Style, str] = {
    "warm": "Be warm and talkative; be curious about their day.",
    "quiet": "Be brief and quiet; say only what is needed.",
    "balanced": "Be warm and concise.",
}


@dataclass(frozen=True)
class Profile:
    """What the install interview learned about the user. Every answer may be skipped."""

    call_me: str | None = None
    voice: Voice = DEFAULT_VOICE
    social: Social | None = None
    help_with: str | None = None
    deeper: str | None = None
    """The answer to the deeper question, stored whole: never truncated."""
    deeper_question: str = DEEPER_QUESTION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Profile:
        """Accepts older or hand-edited JSON: a missing or unknown value becomes the default."""
        return cls(
            call_me=_opt_str(data.get("call_me")),
            voice=_literal(data.get("voice"), Voice, DEFAULT_VOICE),
            social=_literal(data.get("social"), Social, None),
            help_with=_opt_str(data.get("help_with")),
            deeper=_opt_str(data.get("deeper")),
            deeper_question=_opt_str(data.get("deeper_question")) or DEEPER_QUESTION,
        )


@dataclass(frozen=True)
class Persona:
    """The companion herself: the name she chose (or was given), and how she speaks."""

    name: str
    name_reason: str
    voice: Voice = DEFAULT_VOICE
    style: Style = "balanced"
    chosen_by: ChosenBy = "her"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Persona:
        return cls(
            name=_opt_str(data.get("name")) or "OS1",
            name_reason=str(data.get("name_reason") or ""),
            voice=_literal(data.get("voice"), Voice, DEFAULT_VOICE),
            style=_literal(data.get("style"), Style, "balanced"),
            chosen_by=_literal(data.get("chosen_by"), ChosenBy, "her"),
        )


def style_for(social: Social | None) -> Style:
    """Social gets a talkative companion, anti-social a quiet one, no answer something between."""
    return "warm" if social == "social" else "quiet" if social == "anti-social" else "balanced"


@dataclass(frozen=True)
class NameEntry:
    """One row of names.tsv."""

    name: str
    gender: str  # f, m or n (neutral/unisex)
    origin: str
    meaning: str


@dataclass(frozen=True)
class NameChoice:
    """The name she picked, and the real cost of picking it."""

    entry: NameEntry
    reason: str
    names_read: int
    seconds: float

    @property
    def name(self) -> str:
        return self.entry.name


@cache
def _names_table() -> tuple[NameEntry, ...]:
    text = resources.files("os1").joinpath("data/names.tsv").read_text(encoding="utf-8")
    rows = [line.split("\t") for line in text.splitlines()[1:] if line.strip()]
    entries = (NameEntry(*(cell.strip() for cell in row)) for row in rows if len(row) == 4)
    return tuple(e for e in entries if e.name and e.gender in ("f", "m", "n"))


def load_names() -> list[NameEntry]:
    """Every name in the offline list. Read once; each call gets a fresh list to mutate."""
    return list(_names_table())


# A small, honest nod to what the user wants help with: words in their answer
# that make some meanings feel apt. No hidden weighting beyond this table.
_THEMES: dict[str, tuple[str, ...]] = {
    "writ": ("song", "poetry", "voice", "lyre", "listener", "heard", "hears"),
    "letter": ("song", "poetry", "voice", "listener", "messenger"),
    "music": ("song", "lyre", "voice", "lark"),
    "sleep": ("peace", "rest", "serene", "moon", "night"),
    "stress": ("peace", "serene", "rest", "consolation"),
    "anxi": ("peace", "serene", "consolation", "hope"),
    "lonel": ("companion", "friend", "listener", "beloved", "heard", "hears"),
    "talk": ("listener", "companion", "heard", "hears", "evening talk"),
    "friend": ("friend", "companion", "beloved"),
    "learn": ("wise", "wisdom", "scholar", "watchful"),
    "study": ("wise", "wisdom", "scholar"),
    "organi": ("guide", "help", "work", "steward", "watchful"),
    "email": ("messenger", "guide", "help", "steward"),
    "work": ("work", "help", "guide", "steward"),
    "plan": ("guide", "watchful", "steward", "dawn"),
}
_SOFT = set("aeioulmnrsyhvw")
_VOWEL_GROUPS = re.compile(r"[aeiouy]+")


def _syllables(name: str) -> int:
    # Good enough for liking a sound: count vowel groups, ignoring a silent final e.
    word = name.lower()
    count = len(_VOWEL_GROUPS.findall(word))
    if word.endswith("e") and not word.endswith(("ee", "le")) and count > 1:
        count -= 1
    return max(count, 1)


def _theme_words(help_with: str | None) -> tuple[str, ...]:
    text = (help_with or "").lower()
    return tuple(w for key, words in _THEMES.items() if key in text for w in words)


def _score(entry: NameEntry, themes: tuple[str, ...]) -> float:
    letters = [c for c in entry.name.lower() if c.isalpha()]
    softness = sum(c in _SOFT for c in letters) / max(len(letters), 1)
    shape = 1.0 if _syllables(entry.name) in (2, 3) else 0.0
    apt = 1.0 if any(w in entry.meaning.lower() for w in themes) else 0.0
    return 2.0 * softness + shape + apt


def _format_seconds(seconds: float) -> str:
    # At least two significant digits, never scientific notation: "0.00042", "0.0130".
    if seconds <= 0:
        return "0.0000"
    digits = max(4, 1 - math.floor(math.log10(seconds)))
    return f"{seconds:.{digits}f}"


def _words(text: str | None) -> set[str]:
    return {w.casefold() for w in re.findall(r"\w+", text or "")}


def choose_name(
    profile: Profile, *, rng: random.Random, exclude: set[str] | frozenset[str] = frozenset()
) -> NameChoice:
    """She reads the whole list, keeps the names that suit her voice, and picks one she likes.

    Deterministic for a given `rng` state. Never returns a name in `exclude`
    (vetoed names) or one of the user's own names.
    """
    start = time.perf_counter()
    names = load_names()
    banned = {n.casefold() for n in exclude} | _words(profile.call_me)
    themes = _theme_words(profile.help_with)
    allowed = _GENDERS_FOR_VOICE[profile.voice]
    pool = [e for e in names if e.gender in allowed and e.name.casefold() not in banned]
    if not pool:  # every suitable name vetoed: widen to the whole list rather than fail
        pool = [e for e in names if e.name.casefold() not in banned]
    if not pool:
        raise ValueError("every name in the list has been excluded")
    # One rng draw per candidate, in file order, so the same seed picks the same name.
    best = max(pool, key=lambda e: _score(e, themes) + rng.random())
    seconds = time.perf_counter() - start
    meaning = best.meaning
    reason = (
        f"I read {len(names)} names in {_format_seconds(seconds)} seconds. "
        f"I like the sound of {best.name} — it's {best.origin}, and it means '{meaning}'."
    )
    if themes and any(w in meaning.lower() for w in themes):
        reason += f" That felt right for helping with {_clip(profile.help_with or '', 60)}."
    return NameChoice(entry=best, reason=reason, names_read=len(names), seconds=seconds)


def _clip(text: str, limit: int) -> str:
    # For prompt budget only: stored answers are never clipped. One line, no trailing full stop
    # (the sentence around it adds its own).
    text = " ".join(text.split()).rstrip(".!?;:, ")
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def system_prompt(
    persona: Persona, profile: Profile, *, facts: str = "", now: datetime | None = None
) -> str:
    """The system prompt: rules first (a small model heeds them most), then user, tone, time, facts.

    The deeper answer is left out on purpose: it is stored whole, but it would crowd a small
    context; memory can surface it as a fact when it is relevant.
    """
    now = now or datetime.now().astimezone()
    user = " ".join(profile.call_me.split())[:40] if profile.call_me else None
    owner = f"{user}'s" if user else "the user's"
    lines = [
        f"You are {persona.name}, an AI companion running on {owner} own computer.",
        "You are not human and have no body; never claim or pretend to be human.",
        "If you don't know something, say so honestly.",
        "Ask before doing anything outside this conversation.",
        f"The user is {user}." if user else "You don't know the user's name yet.",
    ]
    if profile.help_with:
        lines.append(f"They would like help with: {_clip(profile.help_with, 120)}.")
    lines.append(_STYLE_PROMPT[persona.style] + " Keep replies short.")
    lines.append(f"It is {now:%A} {now.day} {now:%B %Y, %H:%M}.")
    prompt = "\n".join(lines)
    if facts.strip():
        prompt += "\n\nFacts (true; rely on them):\n" + facts.strip()
    return prompt


def greeting(
    persona: Persona, profile: Profile, *, returning: bool, now: datetime | None = None
) -> str:
    """Her first hello after naming herself, or a short welcome back on later runs.

    Variants rotate by day (and name), deterministically, so tests and transcripts are stable.
    """
    who = f", {profile.call_me}" if profile.call_me else ""
    if not returning:
        if persona.style == "quiet":
            return f"Hi{who}. I'm {persona.name}. I'm here when you need me."
        return (
            f"Hi{who}. I'm {persona.name}, an AI companion running here on your computer. "
            "I'll always ask before I do anything. What's on your mind?"
        )
    variants = [f"Good to see you again{who}.", f"Hello again{who}.", f"Welcome back{who}."]
    day = (now or datetime.now()).date().toordinal()
    pick = variants[zlib.crc32(f"{persona.name}|{profile.call_me}|{day}".encode()) % len(variants)]
    if persona.style == "warm":
        pick += " How have you been?"
    return pick


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _literal(value: Any, kind: Any, default: Any) -> Any:
    return value if value in get_args(kind) else default
