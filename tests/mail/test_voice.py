"""The user's voice, learned from their sent mail; the plain reply built without a model."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from os1.mail.store import add_message
from os1.mail.voice import Voice, first_name, first_person, learn, learn_voice, plain_reply
from os1.store import Store

ME = frozenset({"theo@example.com"})


async def _sent(store: Store, to: str, body: str, n: int) -> None:
    msg = EmailMessage()
    msg["From"] = "Theo Twombly <theo@example.com>"
    msg["To"] = to
    msg["Subject"] = f"note {n}"
    msg["Message-ID"] = f"<sent{n}@example.com>"
    msg["Date"] = f"Mon, {n + 1:02d} Jan 2024 10:00:00 +0000"
    msg.set_content(body)
    raw = bytes(msg)
    await store.execute_write(
        "INSERT OR IGNORE INTO users (id, created_at) VALUES ('theo', '2024-01-01')"
    )
    added = await store.write(lambda c: add_message(c, "theo", raw, folder="Sent", me=ME))
    assert added.new


CASUAL = [
    "Hey Amy,\n\nSounds great! I'll be there at 8.\n\nx\nTheo",
    "Hey Amy,\n\nCan't wait! Don't forget the map.\n\nx\nTheo",
    "Hey Amy,\n\nI'm not sure that works, sorry. Let's try Sunday.\n\nx\nTheo",
]
FORMAL = [
    "Dear Mr Smith,\n\nThank you for your letter. I am happy to confirm that I will attend the "
    "meeting on Tuesday.\n\nKind regards,\nTheodore Twombly",
    "Dear Ms Jones,\n\nI do not think that is possible this week. I will write again on "
    "Monday.\n\nKind regards,\nTheodore Twombly",
]


def test_learns_a_casual_voice() -> None:
    voice = learn(CASUAL, ["Theo Twombly"])
    assert voice.greeting == "Hey {name},"
    assert voice.sign_off == "x\nTheo"
    assert voice.exclamations and voice.contractions
    assert voice.formality == "casual"
    assert voice.words == 7
    assert voice.learned_from == 3 and "3 messages you sent" in voice.note
    assert voice.name == "Theo"
    assert voice.examples[0].startswith("Hey Amy,")
    assert {"theo", "amy"} <= voice.vocabulary


def test_learns_a_formal_voice() -> None:
    voice = learn(FORMAL, ["Theodore Twombly"])
    assert voice.greeting == "Dear {name},"
    assert voice.sign_off == "Kind regards,\nTheodore Twombly"
    assert not voice.exclamations and not voice.contractions
    assert voice.formality == "formal"


def test_no_greeting_and_a_name_only_sign_off() -> None:
    bodies = ["Running late, start without me.\nT", "Done, it's on the shared drive.\nT"]
    voice = learn(bodies, ["Theo"])
    assert voice.greeting == ""
    assert voice.sign_off == "T"
    assert voice.letter("I'll come.", "Amy") == "I'll come.\n\nT"


def test_defaults_when_nothing_was_sent_say_so() -> None:
    voice = learn([], ["Theo Twombly"])
    assert voice.learned_from == 0
    assert "No sent mail" in voice.note and "default" in voice.note
    assert voice.letter("I'll come.", "Amy") == "Hi Amy,\n\nI'll come.\n\nBest,\nTheo"
    assert Voice().letter("I'll come.", None) == "Hi,\n\nI'll come.\n\nBest,"


async def test_learn_voice_from_the_store_prefers_mail_to_the_same_person(store: Store) -> None:
    for n, body in enumerate(CASUAL):
        await _sent(store, "Amy Pond <amy@example.com>", body, n)
    for n, body in enumerate(FORMAL, start=10):
        await _sent(store, "Mr Smith <smith@example.com>", body, n)
    # Mail someone else sent is not the user's voice.
    other = EmailMessage()
    other["From"] = "Amy Pond <amy@example.com>"
    other["To"] = "theo@example.com"
    other["Message-ID"] = "<amy1@example.com>"
    other.set_content("Yo Theo!!!\n\nLove, A")
    raw = bytes(other)
    await store.write(lambda c: add_message(c, "theo", raw, me=ME))

    to_amy = await learn_voice(store, "theo", to="amy@example.com")
    assert (to_amy.greeting, to_amy.formality, to_amy.learned_from) == ("Hey {name},", "casual", 3)
    to_smith = await learn_voice(store, "theo", to="smith@example.com")
    assert (to_smith.greeting, to_smith.formality) == ("Dear {name},", "formal")
    overall = await learn_voice(store, "theo")
    assert overall.learned_from == 5
    assert (await learn_voice(store, "someone-else")).learned_from == 0


@pytest.mark.parametrize(
    ("instruction", "said"),
    [
        ("tell her I'll come", "I'll come."),
        ("that I'll come", "I'll come."),
        ("say yes", "Yes."),
        ("Tell her that I'll see her on Friday", "I'll see you on Friday."),
        ("tell her I'll bring her book", "I'll bring your book."),
        ("let him know he's welcome to stay", "You're welcome to stay."),
        ("ask her if she can bring her laptop", "Can you bring your laptop?"),
        ("ask him whether he wants to join", "Do you want to join?"),
        ("ask them if they know the address", "Do you know the address?"),
        ("ask her if she got the tickets", "Did you get the tickets?"),
        ("ask him if he received my letter", "Have you received my letter?"),
        ("ask her if she was there", "Were you there?"),
        ("thank her for the flowers", "Thank you for the flowers."),
        ("reply that I will not make it", "I won't make it."),
        ("I'm running late", "I'm running late."),
        ("decline politely", "Decline politely."),
    ],
)
def test_first_person(instruction: str, said: str) -> None:
    assert first_person(instruction, Voice()) == said


def test_first_person_follows_the_voice() -> None:
    formal = Voice(contractions=False)
    assert first_person("tell her I'll come", formal) == "I will come."
    cheery = Voice(exclamations=True)
    assert first_person("say yes", cheery) == "Yes!"
    assert first_person("say no", cheery) == "No."


def test_plain_reply_is_greeting_instruction_sign_off() -> None:
    voice = learn(CASUAL, ["Theo Twombly"])
    assert plain_reply("tell her I'll come", voice, "Amy") == "Hey Amy,\n\nI'll come.\n\nx\nTheo"
    assert plain_reply("say yes", voice, None) == "Hey,\n\nYes!\n\nx\nTheo"


@pytest.mark.parametrize(
    ("display", "first"),
    [
        ("Amy Pond", "Amy"),
        ("Pond, Amy", "Amy"),
        ("amy", "Amy"),
        ("AMAZON", None),
        ("", None),
        ("2Checkout", None),
    ],
)
def test_first_name(display: str, first: str | None) -> None:
    assert first_name(display) == first


def test_vocabulary_is_names_used_again_not_repeated_typos() -> None:
    voice = learn(["Zorbla says teh plan is fine.", "Ask Zorbla about teh cake."], ["Theo"])
    assert "zorbla" in voice.vocabulary
    assert "teh" not in voice.vocabulary
