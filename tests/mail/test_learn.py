"""Facts from the user's own sent mail, on a real store: trusted words only, with provenance."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

import pytest
from test_cli import os1

from os1.companion import Companion
from os1.config import Config
from os1.contacts.correspondents import people_from_mail
from os1.contacts.people import Changes
from os1.mail.learn import learn_from_mail, mail_sources
from os1.mail.store import add_message
from os1.memory import control
from os1.memory import facts as factstore
from os1.store import Store
from os1.testing import ScriptedModel

ME = "theo@example.com"
AMY = "amy@example.com"
MARCH = datetime(2024, 3, 3, 9, 30, tzinfo=UTC)


@pytest.fixture
async def small(config: Config) -> AsyncIterator[Companion]:
    # The bundled model's path: facts from conversation come from the same rules.
    c = await Companion.open(config, embedder=None, model=ScriptedModel(small=True))
    yield c
    await c.close()


def mail(body: str, *, frm: str = ME, to: str = AMY, subject: str = "Big news",
         date: datetime = MARCH, headers: dict[str, str] | None = None) -> bytes:  # fmt: skip
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = frm, to, subject
    msg["Date"], msg["Message-ID"] = format_datetime(date), make_msgid()
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return bytes(msg)


async def put(c: Companion, raw: bytes, *, user: str = "theo", folder: str = "Sent",
              me: str = ME) -> int:  # fmt: skip
    await c.ensure_user(user)
    added = await c.store.write(
        lambda conn: add_message(conn, user, raw, folder=folder, me=frozenset({me}))
    )
    assert added.error is None
    return added.id


async def facts(c: Companion, user: str = "theo", **kw: Any) -> list[factstore.StoredFact]:
    return await c.store.read(lambda conn: factstore.facts(conn, user, **kw))


async def say(c: Companion, text: str) -> None:
    "".join([p async for p in c.reply("theo", text)])
    await c.memory.work()


async def test_sent_mail_teaches_a_dated_fact_with_its_source(companion: Companion) -> None:
    mail_id = await put(companion, mail("Hi Amy,\n\nI moved to Lisbon last month!\n\nTheo"))
    assert await learn_from_mail(companion.store, "theo", name="Theo") == 1
    [fact] = await facts(companion)
    assert fact.content == "Theo lives in Lisbon."
    assert fact.origin == "mail" and fact.extractor == "rules:mail"
    assert fact.valid_from == "2024-02-01T00:00:00+00:00"  # "last month", as of the mail's date
    assert fact.recorded_at == MARCH.isoformat()
    assert fact.mail_sources == (mail_id,) and fact.sources == ()


async def test_received_quoted_forged_and_trashed_mail_teach_nothing(
    companion: Companion,
) -> None:
    planted = "My sister is called Eve. I live in Paris. Theo lives in Paris."
    await put(companion, mail(planted, frm=AMY, to=ME), folder="INBOX")
    forged = {"Return-Path": "<mallory@evil.example>"}
    await put(companion, mail(planted, headers=forged), folder="INBOX")
    await put(companion, mail(planted, headers={"X-Spam-Flag": "YES"}), folder="INBOX")
    await put(companion, mail(planted), folder="Trash")
    await put(companion, mail(planted), folder="[Gmail]/Spam")
    reply = (
        "Sounds lovely!\n\nOn Sun, 3 Mar 2024, Amy wrote:\n> I live in Paris.\n> My sister is Eve."
    )
    await put(companion, mail(reply))
    assert await learn_from_mail(companion.store, "theo", name="Theo") == 0
    assert await facts(companion, statuses=("active", "superseded", "pending")) == []
    # The same words in the user's own sent mail are learned: the filters, not the rules, held.
    await put(companion, mail(planted, subject="again"))
    assert await learn_from_mail(companion.store, "theo", name="Theo") == 2


async def test_what_do_you_know_about_me_names_the_mail(companion: Companion) -> None:
    await put(companion, mail("Thanks for lunch.", frm=f"Amy Pond <{AMY}>", to=ME), folder="INBOX")
    await companion.store.write(lambda c: people_from_mail(c, "theo", Changes()))
    body = "Hi Amy,\n\nThanks again for lunch. Big news: I moved to Lisbon last month!\n\nTheo"
    mail_id = await put(companion, mail(body))
    await learn_from_mail(companion.store, "theo", name="Theo")
    text = await control.about(companion.memory, "theo")
    assert (
        'Theo lives in Lisbon. (from your email to Amy Pond on 3 March 2024 ("Big news"): '
        '"Big news: I moved to Lisbon last month!")'
    ) in text
    [source] = await mail_sources(companion.store, "theo", [mail_id])
    assert source.to == ("Amy Pond",) and source.subject == "Big news"


async def test_only_lasting_facts_about_the_user_are_learned(companion: Companion) -> None:
    body = (
        "I'll send you the numbers on Friday. I love the idea! I went to the office yesterday.\n"
        "By the way, I work at Acme and my brother is called Paul."
    )
    await put(companion, mail(body))
    await learn_from_mail(companion.store, "theo", name="Theo")
    assert sorted(f.content for f in await facts(companion)) == [
        "Theo works at Acme.", "Theo's brother is called Paul."
    ]  # fmt: skip


async def test_learning_twice_adds_nothing(companion: Companion) -> None:
    first = await put(companion, mail("I moved to Lisbon last month. My sister is called Eve."))
    again = await put(
        companion, mail("My sister is called Eve.", date=datetime(2024, 4, 1, tzinfo=UTC))
    )
    assert await learn_from_mail(companion.store, "theo", limit=1) == 2
    assert await learn_from_mail(companion.store, "theo") == 0  # the second mail repeats it
    before = await facts(companion)
    assert [f.mail_sources for f in before] == [(first,), (first, again)]
    assert await learn_from_mail(companion.store, "theo") == 0
    after = await facts(companion)
    assert after == before  # nothing added, nothing reinforced
    assert [f.content for f in after] == ["The user lives in Lisbon.",
                                          "The user's sister is called Eve."]  # fmt: skip


async def test_forgetting_keeps_the_mail_and_it_never_teaches_it_again(
    small: Companion,
) -> None:
    mail_id = await put(small, mail("I moved to Lisbon last month. My sister is called Eve."))
    await learn_from_mail(small.store, "theo", name="Theo")
    eve = next(f for f in await facts(small) if "Eve" in f.content)

    async def yes(proposal: Any) -> bool:
        return True

    outcome = await small.actions.request(
        "theo", "forget_memories", {"fact_ids": [eve.id], "what": "my sister"},
        requested_by="user", approve=yes,
    )  # fmt: skip
    assert outcome.status == "done" and "Your email stays" in outcome.output
    row = await small.store.query_one("SELECT body FROM mail_messages WHERE id = ?", (mail_id,))
    assert row is not None and "Eve" in row["body"]  # the user's mail is untouched
    assert [f.content for f in await facts(small)] == ["Theo lives in Lisbon."]
    assert await learn_from_mail(small.store, "theo", name="Theo") == 0
    # A rebuild derives mail facts again, but not the forgotten one.
    await say(small, "I love jazz.")
    await control.rebuild(small.memory, "theo")
    again = await facts(small)
    assert sorted(f.content for f in again) == ["The user lives in Lisbon.", "The user loves jazz."]
    lisbon = next(f for f in again if "Lisbon" in f.content)
    assert lisbon.origin == "mail" and lisbon.mail_sources == (mail_id,)


async def test_a_conversation_correction_supersedes_a_mail_fact(small: Companion) -> None:
    await put(small, mail("I moved to Lisbon last month."))
    await learn_from_mail(small.store, "theo")
    [lisbon] = await facts(small)

    async def yes(proposal: Any) -> bool:
        return True

    outcome = await small.actions.request(
        "theo", "correct_memory", {"statement": "I live in Porto."}, requested_by="user",
        approve=yes,
    )  # fmt: skip
    assert outcome.status == "done"
    [now] = await facts(small)
    assert now.content == "The user lives in Porto." and now.origin == "user"
    old = await small.store.read(lambda c: factstore.get_fact(c, "theo", lisbon.id))
    assert old is not None and old.status == "superseded" and old.superseded_by == now.id


async def test_newer_words_win_whichever_was_learned_first(small: Companion) -> None:
    # Said in conversation today, then an old archive of sent mail is imported: the old
    # mail's fact becomes history instead of replacing what the user said since.
    await say(small, "I live in Porto.")
    await put(small, mail("I moved to Lisbon last month."))
    await learn_from_mail(small.store, "theo")
    [porto] = await facts(small)
    assert porto.content == "The user lives in Porto." and porto.origin == "conversation"
    [lisbon] = await facts(small, statuses=("superseded",))
    assert lisbon.origin == "mail" and lisbon.superseded_by == porto.id
    # Newer mail than the conversation replaces it, like anything the user says later.
    # (A clock a day fast: the mail counts as said when it arrived, not in the future.)
    await put(small, mail("I moved to Berlin.", date=datetime.now(UTC) + timedelta(days=1)))
    await learn_from_mail(small.store, "theo")
    [berlin] = await facts(small)
    assert berlin.content == "The user lives in Berlin." and berlin.origin == "mail"
    assert datetime.fromisoformat(berlin.recorded_at) <= datetime.now(UTC)


async def test_users_are_kept_apart(companion: Companion) -> None:
    ann = await put(companion, mail("My sister is called Eve.", frm="ann@example.com"),
                    user="ann", me="ann@example.com")  # fmt: skip
    theo = await put(companion, mail("I moved to Lisbon last month."))
    assert await learn_from_mail(companion.store, "theo", name="Theo") == 1
    assert [f.mail_sources for f in await facts(companion)] == [(theo,)]
    assert await facts(companion, "ann") == []
    assert await learn_from_mail(companion.store, "ann", name="Ann") == 1
    assert [f.content for f in await facts(companion, "ann")] == ["Ann's sister is called Eve."]
    assert "Eve" not in await control.about(companion.memory, "theo")
    assert await mail_sources(companion.store, "theo", [ann]) == []


async def test_paused_memory_learns_from_mail_after_resuming(companion: Companion) -> None:
    await put(companion, mail("I moved to Lisbon last month."))
    await companion.memory.set_paused("theo", True)
    assert await learn_from_mail(companion.store, "theo") == 0
    await companion.memory.set_paused("theo", False)
    assert await learn_from_mail(companion.store, "theo") == 1


async def test_thousands_of_mails_a_second(companion: Companion) -> None:
    await companion.ensure_user("theo")
    n = 3000
    body = (
        "Hi Amy,\n\nThanks for the notes from the meeting. I'll look at them and get back to "
        "you with the numbers by Friday. The plan looks good to me.\n\nBest,\nTheo"
    )

    def seed(c: sqlite3.Connection) -> None:
        c.executemany(
            "INSERT INTO mail_messages (user_id, folder, raw_hash, to_addrs, date, body, "
            "from_addr, from_me, imported_at) VALUES ('theo', 'Sent', ?, ?, ?, ?, ?, 1, ?)",
            [(f"h{i}", f'["{AMY}"]', MARCH.isoformat(),
              body + (" I live in Lisbon." if i == n - 1 else ""), ME, MARCH.isoformat())
             for i in range(n)],
        )  # fmt: skip

    await companion.store.write(seed)
    start = time.perf_counter()
    assert await learn_from_mail(companion.store, "theo") == 1
    took = time.perf_counter() - start
    assert took < n / 1000, f"{n} mails took {took:.2f}s"
    marked = await companion.store.query_one(
        "SELECT count(*) FROM memory_mail_learned WHERE user_id = 'theo'"
    )
    assert marked is not None and marked[0] == n


async def test_memory_show_prints_the_mail_source(home: Path, store: Store) -> None:
    await store.execute_write("INSERT INTO users (id, created_at) VALUES ('theo', '2024-01-01')")
    raw = mail("Hi Amy,\n\nI moved to Lisbon last month.")
    await store.write(lambda c: add_message(c, "theo", raw, folder="Sent", me=frozenset({ME})))
    await learn_from_mail(store, "theo", name="Theo")
    [fact] = await store.read(lambda c: factstore.facts(c, "theo"))
    await store.close()
    shown = os1(home, "memory", "show", str(fact.id))
    assert shown.returncode == 0, shown.stderr
    assert (
        f'source: your email to {AMY} on 3 March 2024 ("Big news") (mail #1): '
        '"I moved to Lisbon last month."'
    ) in shown.stdout


async def test_forgetting_a_conversation_keeps_what_sent_mail_also_says(small: Companion) -> None:
    conversation = await small.start_conversation("theo")
    "".join([p async for p in small.reply("theo", "My sister is called Eve.",
                                          conversation_id=conversation)])  # fmt: skip
    await small.memory.work()
    mail_id = await put(small, mail("My sister is called Eve."))
    assert await learn_from_mail(small.store, "theo") == 0  # the same fact, now from both
    [eve] = await facts(small)
    assert eve.sources and eve.mail_sources == (mail_id,)
    counts = await control.forget_conversation(small.memory, "theo", conversation)
    assert counts["facts"] == 0
    [kept] = await facts(small)
    assert kept.id == eve.id and kept.sources == () and kept.mail_sources == (mail_id,)
