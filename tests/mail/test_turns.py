"""Mail in conversation: what's important, reply, clean up — on the tiny model, with consent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

import pytest
from servers import SMTPServer

from os1 import plugins
from os1.companion import Companion
from os1.config import Config
from os1.mail.accounts import Account, save_account
from os1.mail.store import add_message
from os1.mail.turns import NO_MAIL
from os1.testing import ScriptedApprover, ScriptedModel

ME = frozenset({"theo@example.com"})


@pytest.fixture
async def companion(config: Config) -> AsyncIterator[Companion]:
    c = await Companion.open(
        config, embedder=None, model=ScriptedModel(small=True), tools=plugins.tools()
    )
    yield c
    await c.close()


def _mail(sender: str, subject: str, body: str, when: datetime, **headers: str) -> bytes:
    m = EmailMessage()
    m["From"], m["Subject"] = sender, subject
    m["To"] = headers.pop("To", "Theo <theo@example.com>")
    m["Date"] = format_datetime(when)
    m["Message-ID"] = f"<{abs(hash((sender, subject)))}@example.com>"
    for k, v in headers.items():
        m[k] = v
    m.set_content(body)
    return bytes(m)


async def _setup(companion: Companion, smtp_port: int) -> None:
    await save_account(
        companion.store, "theo",
        Account("home", "theo@example.com", display_name="Theo", smtp_host="127.0.0.1",
                smtp_port=smtp_port, smtp_security="none"),
    )  # fmt: skip
    now = datetime.now(UTC)
    old = now - timedelta(days=90)
    raws = [
        _mail("Amy <amy@example.com>", "Dinner on Friday?", "Are you coming on Friday, Theo?",
              now - timedelta(minutes=5)),
        _mail("Theo <theo@example.com>", "Re: hiking", "Hi Amy,\n\nSounds good!\n\nTheo",
              old, To="amy@example.com"),
    ] + [
        _mail("Deals <news@shop.example>", f"Sale {i}", "Big savings. Unsubscribe here.", old,
              **{"List-Unsubscribe": "<mailto:u@shop.example>", "List-Id": "deals.shop.example"})
        for i in range(5)
    ]  # fmt: skip

    def write(c):  # type: ignore[no-untyped-def]
        for raw in raws:
            add_message(c, "theo", raw, me=ME)

    await companion.store.write(write)


async def _say(companion: Companion, text: str, approve: ScriptedApprover | None = None) -> str:
    return "".join([p async for p in companion.reply("theo", text, approve=approve)])


async def test_without_mail_she_says_how_to_add_it(companion: Companion) -> None:
    assert await _say(companion, "Anything important today?") == NO_MAIL


async def test_whats_important_today(companion: Companion, smtp_server: SMTPServer) -> None:
    await _setup(companion, smtp_server.port)
    answer = await _say(companion, "Anything important today?")
    assert "Amy" in answer and "Dinner on Friday?" in answer
    assert "Sale" not in answer


async def test_reply_is_shown_approved_and_delivered(
    companion: Companion, smtp_server: SMTPServer
) -> None:
    await _setup(companion, smtp_server.port)
    approver = ScriptedApprover(True)
    await _say(companion, "reply to Amy that I'll come", approver)
    [proposal] = approver.shown
    assert "amy@example.com" in proposal.summary and "I'll come" in proposal.summary
    [got] = smtp_server.received
    assert got.rcpt_tos == ["amy@example.com"]
    assert got.message["Subject"] == "Re: Dinner on Friday?"
    assert "I'll come" in got.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


async def test_declined_reply_sends_nothing(companion: Companion, smtp_server: SMTPServer) -> None:
    await _setup(companion, smtp_server.port)
    answer = await _say(companion, "reply to Amy that I'll come", ScriptedApprover(False))
    assert "didn't send" in answer and smtp_server.received == []


async def test_cleanup_asks_then_archives_and_undoes(
    companion: Companion, smtp_server: SMTPServer
) -> None:
    await _setup(companion, smtp_server.port)
    declined = await _say(companion, "clean up my inbox", ScriptedApprover(False))
    assert "moved nothing" in declined

    approver = ScriptedApprover(True)
    answer = await _say(companion, "clean up my inbox", approver)
    assert "archive 5" in approver.shown[0].summary.lower() or "5" in approver.shown[0].summary
    assert "Done" in answer
    inbox = await companion.store.query(
        "SELECT subject FROM mail_messages WHERE folder = 'INBOX' AND from_me = 0"
    )
    assert [r["subject"] for r in inbox] == ["Dinner on Friday?"]
    await companion.actions.undo("theo")
    back = await companion.store.query("SELECT count(*) FROM mail_messages WHERE folder = 'INBOX'")
    assert back[0][0] >= 6
