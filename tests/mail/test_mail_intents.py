"""Recognising mail requests in the user's own words."""

from __future__ import annotations

import pytest

from os1.mail import intents


@pytest.mark.parametrize(
    "text",
    [
        "Anything important today?",
        "anything important?",
        "is there anything new in my inbox",
        "check my mail",
        "Any urgent email?",
    ],
)
def test_whats_important(text: str) -> None:
    assert intents.asks_whats_important(text)


@pytest.mark.parametrize(
    "text", ["What is important to you in life?", "My mail carrier is new", "I'm important"]
)
def test_not_about_mail(text: str) -> None:
    assert not intents.asks_whats_important(text)
    assert intents.reply_request(text) is None and not intents.asks_cleanup(text)


@pytest.mark.parametrize(
    ("text", "who", "what"),
    [
        ("reply to Amy that I'll come", "Amy", "I'll come"),
        ("Reply to Amy Lee: sounds great, see you then", "Amy Lee", "sounds great, see you then"),
        ("please write back to paul and say the report is late", "paul", "the report is late"),
        ("can you reply to mum saying I love the flowers", "mum", "I love the flowers"),
        ("answer amy@example.com, yes please", "amy@example.com", "yes please"),
    ],
)
def test_reply(text: str, who: str, what: str) -> None:
    assert intents.reply_request(text) == intents.Reply(who, what)


def test_cleanup_and_summary() -> None:
    assert intents.asks_cleanup("clean up my inbox")
    assert intents.asks_cleanup("Could you tidy up my email?")
    assert not intents.asks_cleanup("clean up the kitchen")
    assert intents.summary_request("summarise my mail from Paul") == "Paul"
    assert intents.summary_request("summarize the thread with amy@example.com") == (
        "amy@example.com"
    )
