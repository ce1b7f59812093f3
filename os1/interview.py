"""The install interview: a few short, skippable questions, then she names herself.

This module only runs the conversation. It doesn't depend on any front door:
the CLI, voice or web each pass an `ask` and a `say` coroutine. Unlike the
installer in *Her*, it never cuts the user off. The deeper question is
multiline, and its answer is kept whole. Every question can be skipped with
Enter. End of input skips the rest with defaults, so `printf 'Theo\\n' | os1`
still ends with a named companion.
"""

from __future__ import annotations

import random
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from .persona import (
    DEEPER_QUESTION,
    DEFAULT_VOICE,
    ChosenBy,
    Persona,
    Profile,
    Social,
    Voice,
    choose_name,
    greeting,
    style_for,
)

INTRO = "Welcome to OS1. A few short questions — press Enter to skip any."
RENAME_PROMPT = (
    "Would you like to call me something else? "
    "(Enter to keep it, 'another' for a different one, or type a name)"
)
MAX_NAME_CHARS = 40
MAX_REPICKS = 3
_MAX_RENAME_ROUNDS = 8  # a guard against a front door that keeps sending nonsense
T = TypeVar("T")


@dataclass(frozen=True)
class Question:
    """One interview question. The front door decides how to show it and read the answer."""

    key: str
    prompt: str
    choices: tuple[str, ...] = ()
    multiline: bool = False
    """The answer may run several lines: read until an empty line, and never cut it off."""
    skippable: bool = True


Ask = Callable[[Question], Awaitable[str | None]]
"""Show a question and return the answer; None means end of input."""
Say = Callable[[str], Awaitable[None]]

CALL_ME = Question("call_me", "What would you like me to call you?")
VOICE = Question(
    "voice", "Should my voice be female, male or neutral?", ("female", "male", "neutral")
)
SOCIAL = Question("social", "Are you social or anti-social?", ("social", "anti-social"))
HELP_WITH = Question("help_with", "What would you like help with?")
DEEPER = Question(
    "deeper",
    f"One deeper question, only if you'd like to answer. {DEEPER_QUESTION} "
    "(Take as long as you need; an empty line finishes. Enter now skips it.)",
    multiline=True,
)
RENAME = Question("rename", RENAME_PROMPT)

K = TypeVar("K", bound=str)


def _by_word(groups: dict[K, str]) -> dict[str, K]:
    return {word: key for key, words in groups.items() for word in words.split()}


# Digits are the choices' positions as a front door lists them: 1) female 2) male 3) neutral.
_VOICE_GROUPS: dict[Voice, str] = {
    "female": "1 f female woman women girl she her feminine",
    "male": "2 m male man men boy he him masculine",
    "neutral": "3 n neutral neither nonbinary non-binary enby they androgynous either any",
}
_SOCIAL_GROUPS: dict[Social, str] = {
    "social": "1 s social sociable extrovert extroverted outgoing yes",
    "anti-social": "2 a anti anti-social antisocial unsocial asocial introvert introverted shy "
    "quiet no",
}
_VOICE_WORDS = _by_word(_VOICE_GROUPS)
_SOCIAL_WORDS = _by_word(_SOCIAL_GROUPS)
# The question is "would you like to call me something else?", so "no" keeps the name.
_KEEP_WORDS = {"", "keep", "keep it", "no", "n", "nope", "no thanks", "ok", "okay", "fine", "good"}
_ANOTHER_WORDS = {"another", "another one", "a", "different", "a different one", "pick another"}
_ANOTHER_WORDS |= {"other", "next", "again", "pick again"}
_YES_WORDS = {"yes", "y", "yeah", "sure", "please"}


def _tokens(text: str) -> list[str]:
    return [t.removesuffix("'s") for t in re.findall(r"[\w'-]+", text.casefold())]


def parse_voice(text: str) -> Voice | None:
    """Forgiving: "f", "Female", "a woman's voice", "2" (the second choice). None if unclear."""
    for token in _tokens(text):
        if token in _VOICE_WORDS:
            return _VOICE_WORDS[token]
    return None


def parse_social(text: str) -> Social | None:
    """Forgiving: "Social", "anti", "antisocial", "not really", "2". None if unclear."""
    tokens = _tokens(text)
    # "not social", "not very social", "not really": a negation flips the answer.
    if any(t in ("not", "don't", "isn't", "never") for t in tokens):
        return "anti-social"
    for token in tokens:
        if token in _SOCIAL_WORDS:
            return _SOCIAL_WORDS[token]
    return None


def clean_name(text: str, limit: int = MAX_NAME_CHARS) -> str | None:
    """A name: printable, one line, at most `limit` characters, with a letter or digit in it."""
    name = " ".join("".join(c for c in text if c.isprintable()).split())[:limit].strip()
    return name if any(c.isalnum() for c in name) else None


class _Interview:
    """Holds the end-of-input state so every later question is skipped at once."""

    def __init__(self, ask: Ask, say: Say) -> None:
        self._ask, self.say = ask, say
        self.ended = False

    async def ask(self, question: Question) -> str:
        """The answer, outer whitespace trimmed; "" when skipped or after end of input."""
        if self.ended:
            return ""
        answer = await self._ask(question)
        if answer is None:
            self.ended = True
            return ""
        return answer.strip()

    async def choice(self, question: Question, parse: Callable[[str], T | None]) -> T | None:
        """Ask; if the answer isn't understood ask once more, then give up (the caller defaults)."""
        answer = await self.ask(question)
        if not answer:
            return None
        parsed = parse(answer)
        if parsed is None:
            options = ", ".join(question.choices)
            await self.say(f"Sorry, I didn't catch that. Please say one of: {options} — or Enter.")
            answer = await self.ask(question)
            parsed = parse(answer) if answer else None
        return parsed


async def run_interview(
    ask: Ask, say: Say, *, rng: random.Random, greet: bool = True
) -> tuple[Profile, Persona]:
    """Interview the user, let her name herself, and return what to store.

    With `greet`, the last thing said is her first hello (`persona.greeting`).
    """
    talk = _Interview(ask, say)
    await say(INTRO)
    call_me = await talk.ask(CALL_ME)
    voice: Voice = await talk.choice(VOICE, parse_voice) or DEFAULT_VOICE
    social: Social | None = await talk.choice(SOCIAL, parse_social)
    help_with = await talk.ask(HELP_WITH)
    deeper = await talk.ask(DEEPER)
    if deeper:
        # Said only once the whole answer is in: the installer in the film cut Theodore off here.
        await say("Thank you for telling me.")
    profile = Profile(
        call_me=clean_name(call_me, limit=2 * MAX_NAME_CHARS),
        voice=voice,
        social=social,
        help_with=help_with or None,
        deeper=deeper or None,
        deeper_question=DEEPER_QUESTION,
    )
    persona = await _naming(talk, profile, rng)
    if greet:
        await say(greeting(persona, profile, returning=False))
    return profile, persona


async def _naming(talk: _Interview, profile: Profile, rng: random.Random) -> Persona:
    vetoed: set[str] = set()
    choice = choose_name(profile, rng=rng)
    await talk.say(f"My name is {choice.name}. {choice.reason}")
    name, reason = choice.name, choice.reason
    chosen_by: ChosenBy = "her"
    for _ in range(_MAX_RENAME_ROUNDS):
        answer = await talk.ask(RENAME)
        said = " ".join(answer.casefold().split())
        word = said.strip(".!") or said  # "No thanks." keeps; "!!!" is not an empty answer
        if word in _KEEP_WORDS:
            break
        if word in _YES_WORDS:
            await talk.say("What would you like to call me? Or say 'another' and I'll pick again.")
            continue
        if word in _ANOTHER_WORDS:
            if len(vetoed) >= MAX_REPICKS:
                await talk.say(f"I'll stay {name} for now. You can type a name any time.")
                continue
            vetoed.add(name)
            choice = choose_name(profile, rng=rng, exclude=vetoed)
            name, reason = choice.name, choice.reason
            await talk.say(f"How about {name}? {reason}")
            continue
        typed = clean_name(answer)
        if typed is None:
            await talk.say("I didn't catch a name there.")
            continue
        name, reason, chosen_by = typed, f"You named me {typed}.", "user"
        await talk.say(f"{typed} it is. Thank you.")
        break
    return Persona(
        name=name,
        name_reason=reason,
        voice=profile.voice,
        style=style_for(profile.social),
        chosen_by=chosen_by,
    )
