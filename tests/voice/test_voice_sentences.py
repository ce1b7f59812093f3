"""Splitting a streamed reply into speakable chunks."""

from __future__ import annotations

import pytest

from os1.voice.sentences import SentenceSplitter, speakable


def split(text: str, step: int = 3) -> list[str]:
    splitter = SentenceSplitter()
    chunks: list[str] = []
    for i in range(0, len(text), step):
        chunks += splitter.feed(text[i : i + step])
    return chunks + splitter.flush()


def test_first_chunk_is_a_short_clause_then_sentences():
    text = "Oh, I see what you mean, and I agree. It rained, so we stayed in, all day."
    assert split(text) == [
        "Oh,",  # a short opener goes first on its own
        "I see what you mean,",
        "and I agree.",
        "It rained, so we stayed in, all day.",
    ]


def test_first_clause_waits_for_enough_words():
    assert split("Well, sure. Fine.") == ["Well, sure.", "Fine."]


@pytest.mark.parametrize(
    ("text", "chunks"),
    [
        ("I'm sorry, that sounds hard. Tell me.", ["I'm sorry,", "that sounds hard.", "Tell me."]),
        ("You’re right, it was late.", ["You’re right,", "it was late."]),
        ("Well, I think we could, maybe, go.", ["Well,", "I think we could,", "maybe, go."]),
        ("Well, okay.", ["Well, okay."]),  # one word after the comma: not worth a chunk
        ("Sorry, no.", ["Sorry, no."]),
        ("Tuesday, we met at noon.", ["Tuesday, we met at noon."]),  # not an opener
        ("I'm sorry to hear that, truly. Yes.", ["I'm sorry to hear that,", "truly.", "Yes."]),
    ],
)
def test_a_short_opener_is_its_own_first_chunk(text: str, chunks: list[str]):
    assert split(text) == chunks
    assert split(text, step=1) == chunks


def test_an_opener_goes_out_as_soon_as_two_words_follow():
    splitter = SentenceSplitter()
    assert splitter.feed("I'm sorry, that") == []
    assert splitter.feed(" was") == ["I'm sorry,"]  # a second word has begun
    assert splitter.feed(" unkind of me.") == []
    assert splitter.flush() == ["that was unkind of me."]


@pytest.mark.parametrize(
    ("text", "chunks"),
    [
        ("Ask Dr. Smith about it. Now.", ["Ask Dr. Smith about it.", "Now."]),
        ("Try fruit, e.g. apples or pears. Yes.", ["Try fruit, e.g. apples or pears.", "Yes."]),
        ("It costs 3.5 euros today. Good.", ["It costs 3.5 euros today.", "Good."]),
        ("Ask J. R. Tolkien now. Ok.", ["Ask J. R. Tolkien now.", "Ok."]),
        ("I think... maybe not. So... Anyway!", ["I think... maybe not.", "So...", "Anyway!"]),
        ("Really?! Yes.", ["Really?!", "Yes."]),
        ('She said "go." Then left.', ['She said "go."', "Then left."]),
    ],
)
def test_sentence_boundaries(text, chunks):
    assert split(text) == chunks


def test_a_chunk_is_only_cut_once_the_next_character_arrives():
    splitter = SentenceSplitter()
    assert splitter.feed("I went to see Dr.") == []
    assert splitter.feed(" Who") == []  # "Dr." is not an end, whatever follows
    assert splitter.feed(" came. And") == ["I went to see Dr. Who came."]
    assert splitter.flush() == ["And"]


def test_markdown_and_emoji_are_not_spoken():
    text = "**Great** idea 😀! Here is [the link](http://x.y/z).\n- `one`\n- two 👍🏽\n"
    assert split(text) == ["Great idea!", "Here is the link.", "one", "two"]
    assert speakable("🎉🎉") == ""
    assert speakable("It is 20° out ©") == "It is 20° out ©"


def test_a_run_on_without_punctuation_is_cut_at_a_space():
    splitter = SentenceSplitter(max_chars=40)
    chunks = splitter.feed("word " * 20)
    assert chunks and all(len(c) <= 40 for c in chunks)
    assert " ".join(chunks + splitter.flush()).split() == ["word"] * 20
