"""Understanding a spoken yes or no: only a clear answer counts, anything else is neither."""

from __future__ import annotations

import pytest

from os1.voice.answers import Answer, understand, words

YES = [
    "yes",
    "Yes.",
    "Yes, please.",
    "yes please",
    "Yeah.",
    "Yep!",
    "Yup",
    "Sure.",
    "Sure thing.",
    "Okay.",
    "OK",
    "Alright.",
    "All right, go ahead.",
    "Go ahead.",
    "Go for it!",
    "Do it.",
    "Please do.",
    "Of course.",
    "Absolutely.",
    "That's right.",
    "That’s fine.",  # a typographic apostrophe, as a recogniser may write it
    "Sounds good, thanks.",
    "Yes, thank you.",
    "Uh, yes.",
    "Um, yeah, go ahead.",
    "Sure, why not.",
    "Go ahead and add it.",
    "Yes, send it.",
    "YES PLEASE",
]

NO = [
    "no",
    "No.",
    "No, thank you.",
    "No thanks.",
    "Nope.",
    "Nah.",
    "Don't.",
    "Don't do it.",
    "Do not do that.",
    "Please don't.",
    "Please do not.",
    "Not now.",
    "Not yet, thanks.",
    "Never mind.",
    "Nevermind",
    "Cancel that.",
    "Forget it.",
    "I don't think so.",
    "I'd rather not.",
    "Let's not.",
    "No, no, no.",
    "Oh, no, don't.",
]

NEITHER = [
    "",
    "   ",
    "maybe",
    "Maybe later.",
    "I guess so.",
    "I think so.",
    "Hmm.",
    "Mm-hmm.",  # a backchannel, not a decision
    "Yes but no.",
    "Yes. No.",
    "No, go ahead.",  # which?
    "Yes, don't.",
    "Yes?",  # asks what she wants
    "Okay?",
    "Sure, why not?",
    "Wait.",
    "Hold on, what time was that?",
    "Yes, and remind me to call Anna tomorrow.",
    "No, put it on Saturday instead.",
    "Put lunch with Amy on Friday at one in my calendar.",
    "What's the weather like?",
    "Yes I said yes to the dress",
    "Cancel the dentist.",
    "Not sure.",
    "Yesterday.",  # starts like "yes"
    "Nobody.",  # starts like "no"
]


@pytest.mark.parametrize("text", YES)
def test_a_clear_yes(text: str) -> None:
    assert understand(text) is Answer.YES


@pytest.mark.parametrize("text", NO)
def test_a_clear_no(text: str) -> None:
    assert understand(text) is Answer.NO


@pytest.mark.parametrize("text", NEITHER)
def test_anything_else_is_neither(text: str) -> None:
    assert understand(text) is Answer.OTHER


def test_her_name_may_address_her_but_only_her_name() -> None:
    assert understand("Yes, Samantha.", ["Samantha"]) is Answer.YES
    assert understand("No, Samantha, not now.", ["Samantha"]) is Answer.NO
    assert understand("Yes, Samantha.") is Answer.OTHER  # a word that is no answer
    assert understand("Yes, Samantha Jones.", ["Samantha"]) is Answer.OTHER
    assert understand("Yes, Mary Ann.", ["Mary Ann"]) is Answer.YES


def test_words_keep_contractions_and_drop_punctuation() -> None:
    assert words("Don’t — do IT, please!") == ["don't", "do", "it", "please"]
    assert words("13:00–14:00 “Lunch”") == ["13", "00", "14", "00", "lunch"]
