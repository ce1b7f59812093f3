"""The install interview, driven by scripted answers."""

from __future__ import annotations

import random

import pytest

from os1.interview import (
    INTRO,
    MAX_NAME_CHARS,
    RENAME_PROMPT,
    Question,
    clean_name,
    parse_social,
    parse_voice,
    run_interview,
)
from os1.persona import DEEPER_QUESTION, load_names


class Script:
    """An ask/say pair: answers from a list, then end of input (None)."""

    def __init__(self, *answers: str | None) -> None:
        self.answers = list(answers)
        self.asked: list[Question] = []
        self.said: list[str] = []

    async def ask(self, question: Question) -> str | None:
        self.asked.append(question)
        return self.answers.pop(0) if self.answers else None

    async def say(self, text: str) -> None:
        self.said.append(text)

    @property
    def keys(self) -> list[str]:
        return [q.key for q in self.asked]


async def interview(*answers: str | None, seed: int = 0):
    script = Script(*answers)
    profile, persona = await run_interview(script.ask, script.say, rng=random.Random(seed))
    return script, profile, persona


GENDER = {n.name: n.gender for n in load_names()}


async def test_full_interview():
    script, profile, persona = await interview(
        "Theo", "Female", "social", "writing letters", "It's complicated.", ""
    )
    assert script.said[0] == INTRO
    assert script.keys == ["call_me", "voice", "social", "help_with", "deeper", "rename"]
    assert profile.call_me == "Theo"
    assert profile.voice == "female"
    assert profile.social == "social"
    assert profile.help_with == "writing letters"
    assert profile.deeper == "It's complicated."
    assert profile.deeper_question == DEEPER_QUESTION
    assert persona.voice == "female" and persona.style == "warm" and persona.chosen_by == "her"
    assert GENDER[persona.name] in ("f", "n")
    assert persona.name != "Theo"
    assert any(s.startswith(f"My name is {persona.name}.") for s in script.said)
    assert persona.name_reason in script.said[-2]
    assert "Theo" in script.said[-1] and persona.name in script.said[-1]  # her first hello


async def test_questions_are_short_and_skippable():
    script, *_ = await interview("", "", "", "", "", "")
    for q in script.asked:
        assert q.skippable
    for q in (q for q in script.asked if q.key != "deeper"):
        assert len(q.prompt) <= 120
    deeper = next(q for q in script.asked if q.key == "deeper")
    assert deeper.multiline and DEEPER_QUESTION in deeper.prompt
    assert "only if you'd like" in deeper.prompt
    voice = next(q for q in script.asked if q.key == "voice")
    assert voice.choices == ("female", "male", "neutral")


async def test_skipping_everything_gives_defaults():
    script, profile, persona = await interview("", "", "", "", "", "")
    assert (profile.call_me, profile.social, profile.help_with, profile.deeper) == (None,) * 4
    assert profile.voice == "neutral"
    assert persona.voice == "neutral" and persona.style == "balanced"
    assert GENDER[persona.name] == "n"
    assert "Thank you for telling me." not in script.said


@pytest.mark.parametrize("answers", [(), ("Theo",), ("Theo", "m", None)])
async def test_end_of_input_skips_the_rest(answers):
    script, profile, persona = await interview(*answers)
    # Exactly one question sees the end of input; nothing is asked after it.
    assert len(script.asked) == len(answers) + (0 if answers and answers[-1] is None else 1)
    assert profile.call_me == (answers[0] if answers else None)
    assert persona.name and persona.chosen_by == "her"
    assert any(s.startswith("My name is") for s in script.said)


async def test_printf_theo_still_names_her():
    _, profile, persona = await interview("Theo")
    assert profile.call_me == "Theo" and profile.voice == "neutral"
    assert persona.name != "Theo"


async def test_unrecognised_choice_is_asked_once_more_then_defaults():
    script, profile, _ = await interview("Theo", "purple", "banana", "party animal", "???")
    assert script.keys[:5] == ["call_me", "voice", "voice", "social", "social"]
    assert profile.voice == "neutral" and profile.social is None
    assert sum("didn't catch that" in s for s in script.said) == 2


async def test_unrecognised_then_understood():
    _, profile, persona = await interview("Theo", "purple", "a woman", "not really")
    assert profile.voice == "female" and profile.social == "anti-social"
    assert persona.style == "quiet"


async def test_deeper_answer_is_stored_whole():
    long_answer = "\n".join(f"Line {i}: " + "my mother and I " * 10 for i in range(130))
    long_answer = long_answer[:20_000]
    assert len(long_answer) == 20_000
    script, profile, _ = await interview("Theo", "f", "s", "letters", long_answer, "")
    assert profile.deeper == long_answer
    # Thanked only after the whole answer, and before she moves on.
    thanks = script.said.index("Thank you for telling me.")
    assert script.said[thanks + 1].startswith("My name is")


async def test_another_repicks_excluding_vetoed_names():
    script, _, persona = await interview("Theo", "f", "", "", "", "another", "another", "")
    offered = [
        s.split("?")[0].removeprefix("How about ")
        for s in script.said
        if s.startswith("How about ")
    ]
    first = next(s for s in script.said if s.startswith("My name is"))
    first_name = first.removeprefix("My name is ").split(".")[0]
    assert len(offered) == 2
    assert len({first_name, *offered}) == 3
    assert persona.name == offered[-1] and persona.chosen_by == "her"
    assert persona.name_reason.startswith("I read ")
    assert GENDER[persona.name] in ("f", "n")


async def test_another_is_limited():
    script, _, persona = await interview("Theo", "m", "", "", "", *["another"] * 6, "")
    assert sum(s.startswith("How about ") for s in script.said) == 3
    assert any("stay" in s for s in script.said)
    assert GENDER[persona.name] in ("m", "n")


async def test_typed_name():
    script, _, persona = await interview("Theo", "f", "", "", "", "  Ava  ")
    assert persona.name == "Ava" and persona.chosen_by == "user"
    assert persona.name_reason == "You named me Ava."
    assert "Ava it is. Thank you." in script.said


async def test_typed_name_is_limited_and_empty_names_rejected():
    _, _, persona = await interview("", "", "", "", "", "!!!", "Z" * 100)
    assert persona.name == "Z" * MAX_NAME_CHARS and persona.chosen_by == "user"


@pytest.mark.parametrize("keep", ["", "keep", "no", "No thanks."])
async def test_keeping_her_name(keep):
    script, _, persona = await interview("Theo", "f", "", "", "", keep)
    assert persona.chosen_by == "her"
    assert any(s.startswith(f"My name is {persona.name}.") for s in script.said)
    assert script.asked[-1].prompt == RENAME_PROMPT


async def test_her_name_is_never_the_users():
    # Whatever she would pick with this seed, a user with that name makes her pick another.
    would_pick = (await interview("", "f", "", "", "", "", seed=5))[2].name
    _, _, persona = await interview(would_pick, "f", "", "", "", "", seed=5)
    assert persona.name != would_pick


@pytest.mark.parametrize(
    ("text", "voice"),
    [
        ("f", "female"),
        ("Female", "female"),
        ("woman", "female"),
        ("a woman's voice", "female"),
        ("1", "female"),
        ("M", "male"),
        ("male voice please", "male"),
        ("2", "male"),
        ("neutral", "neutral"),
        ("N", "neutral"),
        ("3", "neutral"),
        ("either", "neutral"),
        ("purple", None),
        ("", None),
    ],
)
def test_parse_voice(text, voice):
    assert parse_voice(text) == voice


@pytest.mark.parametrize(
    ("text", "social"),
    [
        ("social", "social"),
        ("Social!", "social"),
        ("s", "social"),
        ("outgoing", "social"),
        ("anti-social", "anti-social"),
        ("Antisocial", "anti-social"),
        ("anti", "anti-social"),
        ("not very social", "anti-social"),
        ("introvert", "anti-social"),
        ("2", "anti-social"),
        ("banana", None),
    ],
)
def test_parse_social(text, social):
    assert parse_social(text) == social


def test_clean_name():
    assert clean_name("  Her  \n name ") == "Her name"
    assert clean_name("\x00\x1b") is None
    assert clean_name("   ") is None
    assert clean_name("x" * 99) == "x" * MAX_NAME_CHARS
