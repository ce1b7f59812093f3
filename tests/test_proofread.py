"""Proofreading: each rule, offsets, accepting some suggestions and not others, the model's part."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

from os1.models.base import Message, ModelError
from os1.proofread import Suggestion, apply_suggestions, check, proofread
from os1.testing import ScriptedModel


class JSONModel(ScriptedModel):
    """Answers `json` with scripted values (or raises a scripted error); keeps the prompts."""

    def __init__(self, answers: Sequence[Any], **kw: Any) -> None:
        super().__init__(**kw)
        self.answers = list(answers)
        self.json_prompts: list[list[Message]] = []

    async def json(self, messages: Sequence[Message], schema: dict[str, Any], **kw: Any) -> Any:
        self.json_prompts.append(list(messages))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def _only(text: str, reason: str) -> list[Suggestion]:
    return [s for s in check(text) if s.reason == reason]


def _offsets_right(text: str, suggestions: Sequence[Suggestion]) -> None:
    for s in suggestions:
        assert text[s.start : s.end] == s.original
    spans = [(s.start, s.end) for s in suggestions]
    assert spans == sorted(spans)
    assert all(a[1] <= b[0] for a, b in pairwise(spans))


def test_spelling() -> None:
    text = "We recieved teh parcel and it was becuase of you."
    found = check(text)
    _offsets_right(text, found)
    assert [(s.original, s.replacement) for s in found] == [
        ("recieved", "received"),
        ("teh", "the"),
        ("becuase", "because"),
    ]
    assert {s.reason for s in found} == {"spelling", "common confusion"}


def test_spelling_leaves_names_links_numbers_and_british_spelling_alone() -> None:
    text = (
        "Ask Theodore about the iPhone and NASA at 10am on the 3rd. See "
        "https://exmaple.com/teh or write to amy@exmaple.com. The colour of the centre "
        "was realised when we travelled. Ça va, café?"
    )
    assert _only(text, "spelling") == []


def test_known_words_are_not_misspelt() -> None:
    text = "Zorbly will bring the cake."
    assert [s.original for s in check(text)] == ["Zorbly"]
    assert check(text, known_words={"zorbly"}) == []


def test_a_name_signing_off_alone_on_its_line_is_not_flagged() -> None:
    assert _only("See you then.\n\nBest,\nZorbly", "spelling") == []


def test_repeated_word() -> None:
    text = "I think the the plan is fine, and we had had enough."
    [s] = _only(text, "repeated word")
    assert (s.original, s.replacement) == ("the the", "the")
    _offsets_right(text, [s])


def test_double_space_and_missing_space() -> None:
    text = "Thanks,see you  soon.Tomorrow works."
    found = check(text)
    _offsets_right(text, found)
    assert [(s.original, s.replacement, s.reason) for s in found] == [
        (",", ", ", "missing space"),
        ("  ", " ", "double space"),
        (".", ". ", "missing space"),
    ]
    assert apply_suggestions(text, found) == "Thanks, see you soon. Tomorrow works."


def test_lone_i() -> None:
    text = "Yes i can, and i'm sure i.e. the rest is fine."
    found = _only(text, "capital I")
    assert [(s.start, s.replacement) for s in found] == [(4, "I"), (15, "I")]
    assert apply_suggestions(text, found) == "Yes I can, and I'm sure i.e. the rest is fine."


def test_sentence_starting_lowercase() -> None:
    text = "hello there. this is it! Really? yes. e.g. not this.\n\nthanks,\nx"
    found = _only(text, "capital letter")
    assert [s.original for s in found] == ["hello", "this", "yes", "thanks"]
    _offsets_right(text, found)


def test_common_confusions() -> None:
    text = "I could of come, alot of it definately went better then planned."
    found = _only(text, "common confusion")
    assert [(s.original, s.replacement) for s in found] == [
        ("could of", "could have"),
        ("alot", "a lot"),
        ("definately", "definitely"),
        ("better then", "better than"),
    ]
    assert check("I could of course come; it definitely went better than planned.") == []


def test_a_clean_text_has_no_suggestions() -> None:
    text = "Hi Amy,\n\nThanks for the invitation. I'll be there at eight.\n\nBest,\nTheo"
    assert check(text) == []


def test_apply_some_accepted_some_rejected() -> None:
    text = "teh cat sat on on the mat,i think."
    found = check(text)
    _offsets_right(text, found)
    by_reason = {s.reason: s for s in found}
    assert set(by_reason) == {"spelling", "repeated word", "missing space", "capital I"}
    accepted = [by_reason["spelling"], by_reason["capital I"]]
    assert apply_suggestions(text, accepted) == "The cat sat on on the mat,I think."
    assert apply_suggestions(text, []) == text
    assert apply_suggestions(text, found) == "The cat sat on the mat, I think."


def test_apply_skips_overlapping_and_outdated_suggestions() -> None:
    text = "one two three"
    first = Suggestion(0, 7, "one two", "1 2", "style")
    overlapping = Suggestion(4, 13, "two three", "2 3", "style")
    outdated = Suggestion(8, 13, "THREE", "3", "style")
    out_of_range = Suggestion(10, 40, "ree", "x", "style")
    assert apply_suggestions(text, [first, overlapping]) == "one 2 3"
    assert apply_suggestions(text, [first, outdated, out_of_range]) == "1 2 three"


def test_unicode_offsets_are_characters() -> None:
    text = "Grüße 🙂 aus Köln, teh Stadt."
    [s] = check(text)
    assert (s.original, text[s.start : s.end]) == ("teh", "teh")
    assert apply_suggestions(text, [s]) == "Grüße 🙂 aus Köln, the Stadt."


def test_empty_text() -> None:
    assert check("") == []
    assert check("   \n ") == []
    assert apply_suggestions("", []) == ""


async def test_a_megabyte_of_text_is_capped_not_stuck() -> None:
    text = "Teh quick brown fox jumps over the the lazy dog.  " * 21000
    assert len(text) > 1_000_000
    found = await proofread(text)
    assert 0 < len(found) <= 1000
    _offsets_right(text, found)
    assert found[0] == Suggestion(0, 3, "Teh", "The", "spelling")


async def test_capable_model_adds_grammar_only_when_quoted_verbatim() -> None:
    text = "She don't like it. teh end."
    model = JSONModel(
        [
            {
                "suggestions": [
                    {"original": "She don't", "replacement": "She doesn't", "reason": "agreement"},
                    {"original": "He never said", "replacement": "x", "reason": "invented"},
                    {"original": "it", "replacement": "it", "reason": "no change"},
                    {"original": "teh end", "replacement": "the end", "reason": "overlaps"},
                ]
            }
        ]
    )
    found = await proofread(text, model)
    _offsets_right(text, found)
    assert [(s.original, s.replacement, s.reason) for s in found] == [
        ("She don't", "She doesn't", "agreement"),
        ("teh", "The", "spelling"),  # the rule wins over the model's overlapping one
    ]
    [prompt] = model.json_prompts
    assert "<<<TEXT\nShe don't like it. teh end.\nTEXT>>>" in prompt[-1].content


async def test_small_model_is_not_asked_and_a_failing_model_leaves_the_rules() -> None:
    small = JSONModel([], small=True)
    assert [s.original for s in await proofread("teh end", small)] == ["teh"]
    assert small.json_prompts == []
    broken = JSONModel([ModelError("backend gone")])
    assert [s.original for s in await proofread("teh end", broken)] == ["teh"]
    assert len(broken.json_prompts) == 1
