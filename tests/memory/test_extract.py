"""Extraction: rules catch the plain facts and refuse negations; a model's facts are checked."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from os1.config import load_config
from os1.memory.extract import checked, extract, extract_model, extract_rules, grounded
from os1.memory.facts import Fact
from os1.models import get_model
from os1.models.base import Message
from os1.testing import ScriptedModel

SAID = datetime(2023, 5, 8, 15, 0, tzinfo=UTC)  # a Monday


def rules(text: str) -> list[tuple[str, str | None, str, str | None]]:
    return [
        (f.kind, f.slot, f.content, f.valid_from[:10] if f.valid_from else None)
        for f in extract_rules(text, said_at=SAID, name="Theo")
    ]


@pytest.mark.parametrize(
    ("text", "kind", "slot", "content", "since"),
    [
        (
            "My sister is called Anna.",
            "relationship",
            "sister.name",
            "Theo's sister is called Anna.",
            None,
        ),
        (
            "my sister's name is anna",
            "relationship",
            "sister.name",
            "Theo's sister is called Anna.",
            None,
        ),
        (
            "my sister Anna is visiting",
            "relationship",
            "sister.name",
            "Theo's sister is called Anna.",
            None,
        ),
        (
            "My older brother, Tom, lives far away.",
            "relationship",
            "older_brother.name",
            "Theo's older brother is called Tom.",
            None,
        ),
        (
            "my wife is named Catherine",
            "relationship",
            "wife.name",
            "Theo's wife is called Catherine.",
            None,
        ),
        ("my mom is Carol", "relationship", "mother.name", "Theo's mother is called Carol.", None),
        ("My dog is named Rex", "relationship", "dog.name", "Theo's dog is called Rex.", None),
        (
            "my friend Sam and I went out",
            "relationship",
            "friend:sam",
            "Sam is Theo's friend.",
            None,
        ),
        ("I live in Boston", "state", "home.city", "Theo lives in Boston.", None),
        ("I live in new york city now", "state", "home.city", "Theo lives in New York City.", None),
        ("I moved to LA in March", "state", "home.city", "Theo lives in LA.", "2023-03-01"),
        (
            "I moved to Denver last year.",
            "state",
            "home.city",
            "Theo lives in Denver.",
            "2022-01-01",
        ),
        ("I work as a letter writer", "state", "job", "Theo works as a letter writer.", None),
        ("I work at Google.", "state", "job.employer", "Theo works at Google.", None),
        ("I love coffee", "preference", "likes:coffee", "Theo loves coffee.", None),
        (
            "I really like old movies!",
            "preference",
            "likes:old_movies",
            "Theo likes old movies.",
            None,
        ),
        ("I can't stand mornings", "preference", "dislikes:mornings", "Theo hates mornings.", None),
        ("I don't like jazz", "preference", "dislikes:jazz", "Theo dislikes jazz.", None),
        ("call me Theo", "identity", "name", "Theo wants to be called Theo.", None),
        ("I'm 42", "identity", "age", "Theo was 42 years old in May 2023.", "2023-05-08"),
        ("my birthday is 8 May", "identity", "birthday", "Theo's birthday is on 8 May.", None),
        ("I was born on 8 May 1980", "identity", "birthday", "Theo was born on 8 May 1980.", None),
        ("I'm from Ohio", "identity", "hometown", "Theo is from Ohio.", None),
        (
            "I'm going to visit my mom tomorrow",
            "plan",
            "plan:visit_their_mom",
            "Theo plans to visit their mom on 9 May 2023.",
            "2023-05-09",
        ),
        (
            "I'm going to Paris next week",
            "plan",
            "plan:go_to_paris",
            "Theo plans to go to Paris in the week of 15 May 2023.",
            "2023-05-15",
        ),
        (
            "I'm going to a job interview at Google on Friday",
            "plan",
            "plan:go_to_job_interview_at_google",
            "Theo plans to go to a job interview at Google on 12 May 2023.",
            "2023-05-12",
        ),
        (
            "I'm meeting Sam on Friday.",
            "plan",
            "plan:meet_sam",
            "Theo plans to meet Sam on 12 May 2023.",
            "2023-05-12",
        ),
        (
            "I went to the beach last Saturday",
            "event",
            "event:went_to_beach",
            "Theo went to the beach on 6 May 2023.",
            "2023-05-06",
        ),
        (
            "I met my wife in 2010.",
            "event",
            "event:met_their_wife",
            "Theo met their wife in 2010.",
            "2010-01-01",
        ),
    ],
)
def test_rules_find(text: str, kind: str, slot: str, content: str, since: str | None) -> None:
    assert rules(text) == [(kind, slot, content, since)]


@pytest.mark.parametrize(
    "text",
    [
        "I don't live in Boston anymore",
        "I no longer live in Boston",
        "I used to live in Boston",
        "If I lived in Boston I'd be happy",
        "Do I live in Boston?",
        "I might move to Paris next year",
        "I live in a small flat",
        "my sister is sick",
        "my sister is called",
        "I love you",
        "I love it when you do that",
        "I don't work as a waiter",
        "Anna lives in Boston",  # someone else's fact, not the user's
        "I'm going to be late",  # no time: too vague to keep
        "I'm 5 minutes away",
        "Maybe I'll visit Anna tomorrow",
        "I never went to the beach last Saturday",
        "call me maybe",
        "",
    ],
)
def test_rules_refuse(text: str) -> None:
    assert rules(text) == []


def test_several_facts_in_one_message_one_per_slot() -> None:
    found = rules("Actually, I live in Denver now, but I love Boston. I live in Denver!")
    assert [f[1] for f in found] == ["home.city", "likes:boston"]


def test_a_negated_clause_does_not_spoil_the_others() -> None:
    found = rules("I don't live in Boston anymore. I live in Denver.")
    assert found == [("state", "home.city", "Theo lives in Denver.", None)]


def test_grounded() -> None:
    assert grounded("Anna", "my sister is called anna")
    assert grounded("moved Boston", "I'm moving to Boston")
    assert grounded("sisters", "my sister")
    assert not grounded("Paris", "I live in Boston")
    assert not grounded("the", "the cat")  # nothing meaningful to check: refused


class JsonModel(ScriptedModel):
    """Answers `json` with scripted values, keeping the prompts."""

    def __init__(self, answers: Sequence[Any]) -> None:
        super().__init__()
        self.answers = list(answers)
        self.schemas: list[dict[str, Any]] = []

    async def json(
        self,
        messages: Sequence[Message],
        schema: dict[str, Any],
        *,
        max_tokens: int = 512,
        temperature: float = 0.0,
    ) -> Any:
        self.prompts.append(list(messages))
        self.schemas.append(schema)
        return self.answers.pop(0)


def item(kind: str, about: str, value: str, statement: str, when: str | None = None) -> dict:
    return {"kind": kind, "about": about, "value": value, "statement": statement, "when": when}


async def test_model_facts_are_checked_against_the_message() -> None:
    text = "We had dinner at Luigi's yesterday; my cousin Maya cooked."
    model = JsonModel(
        [
            {
                "facts": [
                    item("event", "dinner", "dinner at Luigi's", "Theo had dinner at Luigi's.",
                         "yesterday"),
                    item("relationship", "cousin name", "Maya", "The user's cousin is Maya."),
                    item("state", "home city", "Paris", "Theo lives in Paris."),  # invented
                    item("preference", "food", "pizza", "Theo loves pizza."),  # invented
                    item("plan", "trip", "dinner", "Theo will fly to Rome.", "next week"),
                ]
            }
        ]
    )  # fmt: skip
    found = await extract_model(model, text, said_at=SAID, name="Theo", max_facts=5)
    assert [f.slot for f in found] == ["event:dinner", "cousin.name", "trip"]
    dinner, cousin, trip = found
    assert dinner.valid_from == "2023-05-07T00:00:00+00:00"
    assert dinner.content == "Theo had dinner at Luigi's on 7 May 2023."
    assert cousin.content == "Theo's cousin is Maya."  # "the user" becomes the name
    # "Rome" is not in the message, so the sentence is rebuilt from the checked value,
    # and "next week" is not in it either, so the plan gets no time.
    assert trip.content == "Theo's trip: dinner." and trip.valid_from is None
    assert all(f.confidence < 0.8 for f in found)
    schema = model.schemas[0]
    assert schema["properties"]["facts"]["maxItems"] == 5
    assert "Theo" in model.prompts[0][0].content and model.prompts[0][1].content == text


async def test_model_nonsense_yields_nothing() -> None:
    model = JsonModel([{"facts": [item("state", "", "", "")]}, {"facts": "no"}, []])
    for _ in range(3):
        assert await extract_model(model, "hello there", said_at=SAID, name="Theo") == []


async def test_extract_runs_rules_then_model_one_fact_per_slot() -> None:
    text = "I live in Boston and I adopted a puppy."
    model = JsonModel(
        [
            {
                "facts": [
                    item("state", "home city", "Boston", "Theo lives in Boston."),
                    item("event", "puppy", "adopted a puppy", "Theo adopted a puppy."),
                ]
            }
        ]
    )
    found = await extract(model, text, said_at=SAID, name="Theo", use_model=True)
    assert [f.slot for f in found] == ["home.city", "event:puppy"]
    assert found[0].confidence > 0.8  # the rule's fact, not the model's
    assert await extract(None, text, said_at=SAID, name="Theo", use_model=True) == found[:1]
    model = JsonModel([])  # would fail if asked
    assert await extract(model, text, said_at=SAID, name="Theo", use_model=False) == found[:1]


async def test_the_bundled_model_invents_nothing(tmp_path: Path) -> None:
    model = get_model(load_config(env={"OS1_HOME": str(tmp_path)}), cache_dir=tmp_path)
    answers: list[Any] = []
    ask = model.json

    async def recording(*args: Any, **kwargs: Any) -> Any:
        answers.append(await ask(*args, **kwargs))
        return answers[-1]

    model.json = recording  # type: ignore[method-assign]
    text = "My sister Anna moved to Boston last year, and I love hiking with my dog Rex."
    try:
        found = await extract_model(model, text, said_at=SAID, name="Theo")
    finally:
        await model.close()
    assert len(answers) == 1 and isinstance(answers[0], dict)  # grammar-constrained: valid
    pairs = checked(answers[0], text, said_at=SAID, name="Theo")
    assert found == [fact for _, fact in pairs][:3]
    for value, fact in pairs:
        assert value.lower() in text.lower() or grounded(value, text), (value, fact)
        assert isinstance(fact, Fact) and fact.content.strip()
    # What the model said that the message doesn't bear out was dropped, not kept.
    raw = [i for i in answers[0].get("facts", []) if isinstance(i, dict)]
    assert all(grounded(str(i.get("value", "")), text) for i in raw) or len(pairs) < len(raw)
