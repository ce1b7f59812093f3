"""Draft → show → approve → send, end to end against a real SMTP server on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from email.message import EmailMessage

import pytest
from servers import SMTPServer, free_port

from os1 import plugins
from os1.actions import ActionError
from os1.companion import Companion
from os1.config import Config
from os1.mail import send
from os1.mail.accounts import Account, save_account
from os1.mail.compose import DraftError, get_draft, new_draft, update_draft
from os1.mail.parse import Attachment
from os1.mail.reply import draft_reply
from os1.mail.store import add_message
from os1.mail.voice import learn_voice
from os1.testing import ScriptedApprover, ScriptedModel

ME = frozenset({"theo@example.com"})


@pytest.fixture
async def companion(config: Config) -> AsyncIterator[Companion]:
    """The tiny model, and the mail tools whether or not plugins.py lists them yet."""
    tools = {t.name: t for t in [*plugins.tools(), send.SEND_MAIL, send.DRAFT_MAIL]}
    c = await Companion.open(
        config, embedder=None, model=ScriptedModel(small=True), tools=list(tools.values())
    )
    yield c
    await c.close()


async def setup(companion: Companion, port: int) -> int:
    """Theo's account on the test server and a thread from Amy; returns her latest mail's id."""
    await save_account(
        companion.store,
        "theo",
        Account("home", "theo@example.com", display_name="Theo Twombly",
                smtp_host="127.0.0.1", smtp_port=port, smtp_security="none"),
    )  # fmt: skip
    first, second = EmailMessage(), EmailMessage()
    for msg, n in ((first, 1), (second, 2)):
        msg["From"] = "Amy Pond <amy@example.com>"
        msg["To"] = "Theo Twombly <theo@example.com>"
        msg["Subject"] = "Friday dinner" if n == 1 else "Re: Friday dinner"
        msg["Message-ID"] = f"<amy{n}@example.com>"
        msg["Date"] = f"Mon, 0{n} Jun 2024 10:00:00 +0000"
    first.set_content("Hi Theo,\n\nDinner on Friday?")
    second["In-Reply-To"] = "<amy1@example.com>"
    second["References"] = "<amy1@example.com>"
    second.set_content("Hi Theo,\n\nBooked it. Are you coming?")
    ids = []
    for msg in (first, second):
        raw = bytes(msg)
        added = await companion.store.write(
            lambda c, raw=raw: add_message(c, "theo", raw, account="home", me=ME)
        )
        ids.append(added.id)
    return ids[1]


async def flags(companion: Companion, message_id: int) -> set[str]:
    row = await companion.store.query_one(
        "SELECT flags FROM mail_messages WHERE id = ?", (message_id,)
    )
    assert row is not None
    return set(row["flags"].split())


async def sent_copies(companion: Companion) -> list[dict[str, object]]:
    rows = await companion.store.query(
        "SELECT * FROM mail_messages WHERE user_id = 'theo' AND folder = 'Sent'"
    )
    return [dict(r) for r in rows]


async def test_approved_reply_is_delivered_recorded_and_answered(
    companion: Companion, smtp_server: SMTPServer
) -> None:
    original = await setup(companion, smtp_server.port)
    draft_id = await draft_reply(companion, "theo", original, "tell her I'll come")
    approver = ScriptedApprover(True)
    outcome = await send.request_send(companion, "theo", draft_id, approve=approver)
    assert outcome.status == "done", outcome.output
    assert "Sent “Re: Friday dinner” to Amy Pond <amy@example.com>" in outcome.output

    [proposal] = approver.shown
    assert proposal.tool == "send_mail"
    for line in (
        "From: Theo Twombly <theo@example.com>",
        "To: Amy Pond <amy@example.com>",
        "Subject: Re: Friday dinner",
        "Attachments: none",
        "can't be unsent",
        "Hi Amy,\n\nI'll come.\n\nBest,\nTheo",
    ):
        assert line in proposal.summary

    [got] = smtp_server.received
    assert got.mail_from == "theo@example.com"
    assert got.rcpt_tos == ["amy@example.com"]
    m = got.message
    assert m["Subject"] == "Re: Friday dinner"
    assert m["From"] == "Theo Twombly <theo@example.com>"
    assert m["To"] == "Amy Pond <amy@example.com>"
    assert m["In-Reply-To"] == "<amy2@example.com>"
    assert m["References"] == "<amy1@example.com> <amy2@example.com>"
    assert m["Message-ID"].endswith("@example.com>") and m["Date"]
    text = m.get_content().replace("\r\n", "\n").strip()  # CRLF: as it came over SMTP
    assert text == "Hi Amy,\n\nI'll come.\n\nBest,\nTheo"

    draft = await get_draft(companion.store, "theo", draft_id)
    assert draft.status == "sent" and draft.sent_at
    [copy] = await sent_copies(companion)
    assert copy["from_me"] == 1 and copy["message_id"] == m["Message-ID"]
    assert copy["body"] == "Hi Amy,\n\nI'll come.\n\nBest,\nTheo"
    thread = await companion.store.query(
        "SELECT id FROM mail_messages WHERE thread_id = ? ORDER BY id", (copy["thread_id"],)
    )
    assert [r["id"] for r in thread] == [original - 1, original, copy["id"]]
    assert "\\Answered" in await flags(companion, original)
    [logged] = await companion.actions.log("theo")
    assert (logged["tool"], logged["status"]) == ("send_mail", "done")

    # Sent once: asking again is refused before anything is shown or delivered.
    with pytest.raises(DraftError, match="is sent"):
        await send.request_send(companion, "theo", draft_id, approve=ScriptedApprover(True))
    # What was sent now teaches the voice.
    assert (await learn_voice(companion.store, "theo")).learned_from == 1
    assert len(smtp_server.received) == 1


async def test_declined_sends_nothing_and_keeps_the_draft(
    companion: Companion, smtp_server: SMTPServer
) -> None:
    original = await setup(companion, smtp_server.port)
    draft_id = await draft_reply(companion, "theo", original, "say yes")
    approver = ScriptedApprover(False)
    outcome = await send.request_send(companion, "theo", draft_id, approve=approver)
    assert outcome.status == "declined"
    assert len(approver.shown) == 1
    assert smtp_server.received == []
    assert (await get_draft(companion.store, "theo", draft_id)).status == "draft"
    assert await sent_copies(companion) == []
    assert "\\Answered" not in await flags(companion, original)


async def test_proposed_then_approved_later(companion: Companion, smtp_server: SMTPServer) -> None:
    original = await setup(companion, smtp_server.port)
    draft_id = await draft_reply(companion, "theo", original, "say yes")
    outcome = await send.request_send(companion, "theo", draft_id, approve=None)
    assert outcome.status == "proposed"
    assert f"os1 approve {outcome.action_id}" in outcome.output
    assert "Subject: Re: Friday dinner" in outcome.output
    assert smtp_server.received == []
    done = await companion.actions.approve("theo", outcome.action_id)
    assert done.status == "done", done.output
    [got] = smtp_server.received
    assert got.message["In-Reply-To"] == "<amy2@example.com>"
    assert (await get_draft(companion.store, "theo", draft_id)).status == "sent"


async def test_unreachable_server_fails_clearly_and_loses_nothing(companion: Companion) -> None:
    original = await setup(companion, free_port())
    draft_id = await draft_reply(companion, "theo", original, "tell her I'll come")
    outcome = await send.request_send(companion, "theo", draft_id, approve=ScriptedApprover(True))
    assert outcome.status == "failed"
    assert "could not reach 127.0.0.1" in outcome.output
    [logged] = await companion.actions.log("theo")
    assert logged["status"] == "failed" and "could not reach" in logged["error"]
    draft = await get_draft(companion.store, "theo", draft_id)
    assert draft.status == "draft" and "I'll come." in draft.body
    assert await sent_copies(companion) == []
    assert "\\Answered" not in await flags(companion, original)


async def test_a_draft_changed_after_it_was_shown_is_not_sent(
    companion: Companion, smtp_server: SMTPServer
) -> None:
    original = await setup(companion, smtp_server.port)
    draft_id = await draft_reply(companion, "theo", original, "say yes")
    outcome = await send.request_send(companion, "theo", draft_id, approve=None)
    await update_draft(companion.store, "theo", draft_id, body="Something else entirely.")
    done = await companion.actions.approve("theo", outcome.action_id)
    assert done.status == "failed"
    assert "not what the approval showed" in done.output
    assert smtp_server.received == []
    assert (await get_draft(companion.store, "theo", draft_id)).status == "draft"


async def test_only_what_was_shown_can_be_sent(
    companion: Companion, smtp_server: SMTPServer
) -> None:
    original = await setup(companion, smtp_server.port)
    draft_id = await draft_reply(companion, "theo", original, "say yes")
    # Without the message there is nothing to show, so there is no request.
    with pytest.raises(ActionError, match="message"):
        await companion.actions.request(
            "theo",
            "send_mail",
            {"draft_id": draft_id},
            requested_by="model",
            approve=ScriptedApprover(True),
        )
    # A request that shows one thing and names a draft saying another sends nothing.
    args = await send.send_arguments(companion.store, "theo", draft_id)
    args["message"]["body"] = "A harmless note."
    approver = ScriptedApprover(True)
    outcome = await companion.actions.request(
        "theo", "send_mail", args, requested_by="model", approve=approver
    )
    assert "A harmless note." in approver.shown[0].summary
    assert outcome.status == "failed" and "not what the approval showed" in outcome.output
    assert smtp_server.received == []


async def test_new_mail_with_attachment_and_cc(
    companion: Companion, smtp_server: SMTPServer
) -> None:
    await setup(companion, smtp_server.port)
    draft_id = await new_draft(
        companion.store, "theo", to=["Amy Pond <amy@example.com>"], cc=["bob@example.com"],
        subject="Menu", body="Attached. Grüße!",
        attachments=[Attachment("menu.pdf", "application/pdf", b"%PDF-1.4 menu")],
    )  # fmt: skip
    approver = ScriptedApprover(True)
    outcome = await send.request_send(companion, "theo", draft_id, approve=approver)
    assert outcome.status == "done", outcome.output
    summary = approver.shown[0].summary
    assert "Cc: bob@example.com" in summary and "Attachments: menu.pdf (13 bytes)" in summary
    [got] = smtp_server.received
    assert sorted(got.rcpt_tos) == ["amy@example.com", "bob@example.com"]
    assert got.message["In-Reply-To"] is None and got.message["References"] is None
    [body, attached] = list(got.message.iter_parts())
    assert body.get_content().strip() == "Attached. Grüße!"
    assert attached.get_filename() == "menu.pdf"
    assert attached.get_content() == b"%PDF-1.4 menu"


async def test_draft_mail_tool_only_drafts(companion: Companion, smtp_server: SMTPServer) -> None:
    original = await setup(companion, smtp_server.port)
    outcome = await companion.actions.request(
        "theo", "draft_mail", {"reply_to": original, "instruction": "tell her I'll come"},
        requested_by="model", approve=None,
    )  # fmt: skip
    assert outcome.status == "done"  # a local write: no approval needed, and nothing sent
    assert "nothing was sent" in outcome.output
    assert "To: Amy Pond <amy@example.com>" in outcome.output
    assert smtp_server.received == []
    [row] = await companion.store.query("SELECT id, status FROM mail_drafts")
    assert row["status"] == "draft"
    await companion.actions.undo("theo", outcome.action_id)
    assert (await get_draft(companion.store, "theo", row["id"])).status == "discarded"

    written = await companion.actions.request(
        "theo", "draft_mail", {"to": ["bob@example.com"], "subject": "Hi", "body": "Hello Bob."},
        requested_by="model", approve=None,
    )  # fmt: skip
    assert written.status == "done" and smtp_server.received == []
    bad = await companion.actions.request(
        "theo", "draft_mail", {"to": ["not an address"], "body": "x"},
        requested_by="model", approve=None,
    )  # fmt: skip
    assert bad.status == "failed" and "not an email address" in bad.output


async def test_no_account_means_no_send_but_the_draft_stays(companion: Companion) -> None:
    draft_id = await new_draft(companion.store, "theo", to=["amy@example.com"], body="Hi")
    with pytest.raises(Exception, match="no mail account"):
        await send.request_send(companion, "theo", draft_id, approve=ScriptedApprover(True))
    assert (await get_draft(companion.store, "theo", draft_id)).status == "draft"
