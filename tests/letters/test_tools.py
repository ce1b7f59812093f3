"""Sending letters to a real SMTP server (aiosmtpd on loopback), only after a yes; drafting and
deleting through the action log, with undo."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from servers import SMTPServer

from os1.actions import Effect
from os1.companion import Companion
from os1.config import Config
from os1.letters import studio, tools
from os1.letters.render import book_pdf, letter_pdf
from os1.letters.studio import Letter
from os1.mail.accounts import Account, save_account
from os1.testing import ScriptedApprover, ScriptedModel

PUBLISHER = "editor@publisher.example"


@pytest.fixture
async def studio_companion(
    config: Config, model: ScriptedModel, smtp_server: SMTPServer
) -> AsyncIterator[Companion]:
    c = await Companion.open(
        config, model=model, embedder=None, tools=[tools.SEND, tools.DRAFT, tools.DELETE]
    )
    account = Account(
        "studio", "theodore@beautifulhandwrittenletters.example", "Theodore Twombly",
        smtp_host="127.0.0.1", smtp_port=smtp_server.port, smtp_security="none",
    )  # fmt: skip
    await save_account(c.store, "theo", account)
    yield c
    await c.close()


async def _letters(c: Companion) -> list[Letter]:
    return [
        await studio.new_letter(c.store, "theo", "Catherine", "Dear Catherine,\n\nI remember.",
                                title="What I remember"),
        await studio.new_letter(c.store, "theo", "Paul", "Dear Paul,\n\nThank you.", title=""),
    ]  # fmt: skip


async def _client_letters(c: Companion) -> list[Letter]:
    return [
        await studio.new_letter(c.store, "theo", "Roger", "Dear Roger,\n\nFifty years.",
                                written_for="Loretta"),
        await studio.new_letter(c.store, "theo", "Chris", "Dear Chris,\n\nHappy birthday.",
                                written_for="Lewman"),
    ]  # fmt: skip


async def _send(c: Companion, approve: Any, ids: list[int], **options: Any) -> Any:
    args = await tools.send_arguments(c.store, "theo", ids, PUBLISHER, **options)
    return await c.actions.request("theo", "send_letters", args, requested_by="user",
                                   approve=approve)  # fmt: skip


async def test_a_book_of_letters_goes_to_the_publisher_after_a_yes(
    studio_companion: Companion, smtp_server: SMTPServer
) -> None:
    c = studio_companion
    letters = await _letters(c)
    yes = ScriptedApprover(True)
    outcome = await _send(c, yes, [x.id for x in letters], book_title="Letters from the heart")
    assert outcome.status == "done", outcome.output

    prompt = yes.shown[0].summary
    assert yes.shown[0].effect is Effect.OUTWARD
    assert PUBLISHER in prompt and "letters-from-the-heart.pdf" in prompt
    assert "'What I remember' to Catherine" in prompt and "'To Paul' to Paul" in prompt
    assert "⚠" not in prompt

    [delivered] = smtp_server.received
    assert delivered.rcpt_tos == [PUBLISHER]
    assert delivered.mail_from == "theodore@beautifulhandwrittenletters.example"
    message = delivered.message
    assert message["Subject"] == "Letters from the heart"
    assert "Theodore Twombly" in message["From"]
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "letters-from-the-heart.pdf"
    pdf = attachment.get_content()
    # Exactly the book (its pages and contents are read back in test_render) …
    assert pdf == book_pdf(letters, title="Letters from the heart")
    # … with a title page, a contents page and a page for each letter.
    assert pdf.startswith(b"%PDF-") and b"/Type/Pages/Count 4/" in pdf


async def test_one_letter_goes_as_its_own_pdf(
    studio_companion: Companion, smtp_server: SMTPServer
) -> None:
    letter = (await _letters(studio_companion))[0]
    outcome = await _send(studio_companion, ScriptedApprover(True), [letter.id], subject="For you")
    assert outcome.status == "done", outcome.output
    message = smtp_server.received[0].message
    assert message["Subject"] == "For you"
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "what-i-remember.pdf"
    assert attachment.get_content() == letter_pdf(letter)


async def test_a_no_sends_nothing(studio_companion: Companion, smtp_server: SMTPServer) -> None:
    letters = await _letters(studio_companion)
    outcome = await _send(studio_companion, ScriptedApprover(False), [x.id for x in letters])
    assert outcome.status == "declined"
    assert smtp_server.received == []


async def test_without_anyone_to_ask_it_waits_for_approve(
    studio_companion: Companion, smtp_server: SMTPServer
) -> None:
    letters = await _letters(studio_companion)
    outcome = await _send(studio_companion, None, [x.id for x in letters])
    assert outcome.status == "proposed" and "os1 approve" in outcome.output
    assert smtp_server.received == []
    done = await studio_companion.actions.approve("theo", outcome.action_id)
    assert done.status == "done", done.output
    assert len(smtp_server.received) == 1


async def test_client_letters_are_flagged_and_refused_without_third_party_ok(
    studio_companion: Companion, smtp_server: SMTPServer
) -> None:
    c = studio_companion
    mine = await _letters(c)
    theirs = await _client_letters(c)
    yes = ScriptedApprover(True)
    outcome = await _send(c, yes, [mine[0].id, *(x.id for x in theirs)])
    prompt = yes.shown[0].summary
    assert (
        "⚠ 2 of these letters were written for clients (Loretta, Lewman): they are their "
        "private letters — make sure they agreed." in prompt
    )
    assert "(written for Loretta)" in prompt and "the send will refuse" in prompt
    assert outcome.status == "failed" and "Nothing was sent" in outcome.output
    assert smtp_server.received == []

    agreed = ScriptedApprover(True)
    outcome = await _send(c, agreed, [x.id for x in theirs], third_party_ok=True)
    assert outcome.status == "done", outcome.output
    assert "written for clients (Loretta, Lewman)" in agreed.shown[0].summary
    assert "You say they agreed" in agreed.shown[0].summary
    assert len(smtp_server.received) == 1


async def test_a_request_that_hides_a_client_letter_is_refused(
    studio_companion: Companion, smtp_server: SMTPServer
) -> None:
    c = studio_companion
    theirs = await _client_letters(c)
    # As a model might ask: ids only, nothing said about whose letters they are.
    bare = {"letter_ids": [theirs[0].id], "to": PUBLISHER, "third_party_ok": True}
    yes = ScriptedApprover(True)
    outcome = await c.actions.request("theo", "send_letters", bare, requested_by="model",
                                      approve=yes)  # fmt: skip
    assert "not checked before asking" in yes.shown[0].summary
    assert outcome.status == "failed" and "for Loretta" in outcome.output
    # Described as nobody's letter, then sent: the description must match the letter.
    lying = {**bare, "letters": [{**tools.facts(theirs[0]), "written_for": None}]}
    outcome = await c.actions.request("theo", "send_letters", lying, requested_by="model",
                                      approve=yes)  # fmt: skip
    assert "⚠" not in yes.shown[-1].summary
    assert outcome.status == "failed" and "not what the approval described" in outcome.output
    # Describing more letters than are sent is refused too: the prompt must be exact.
    mine = (await _letters(c))[0]
    extra = {**bare, "letter_ids": [mine.id], "letters": [tools.facts(mine), tools.facts(mine)]}
    extra["letters"][1] = {**tools.facts(theirs[1])}
    outcome = await c.actions.request("theo", "send_letters", extra, requested_by="model",
                                      approve=yes)  # fmt: skip
    assert outcome.status == "failed" and "other letters" in outcome.output
    assert smtp_server.received == []


async def test_a_letter_changed_after_asking_is_not_sent(
    studio_companion: Companion, smtp_server: SMTPServer
) -> None:
    c = studio_companion
    letter = (await _letters(c))[0]
    args = await tools.send_arguments(c.store, "theo", [letter.id], PUBLISHER)
    outcome = await c.actions.request("theo", "send_letters", args, requested_by="user",
                                      approve=None)  # fmt: skip
    await studio.edit_letter(c.store, "theo", letter.id, written_for="Chris")
    done = await c.actions.approve("theo", outcome.action_id)
    assert done.status == "failed" and "not what the approval described" in done.output
    assert smtp_server.received == []


@pytest.mark.parametrize(
    ("to", "account", "error"),
    [
        (f"{PUBLISHER}\nBcc: spy@example.com", None, "not an email address"),
        ("nobody", None, "not an email address"),
        (PUBLISHER, "missing", "no mail account called 'missing'"),
    ],
)
async def test_bad_addresses_and_accounts_send_nothing(
    studio_companion: Companion, smtp_server: SMTPServer, to: str, account: str | None, error: str
) -> None:
    letter = (await _letters(studio_companion))[0]
    args = await tools.send_arguments(
        studio_companion.store, "theo", [letter.id], to, account=account
    )
    outcome = await studio_companion.actions.request(
        "theo", "send_letters", args, requested_by="user", approve=ScriptedApprover(True)
    )
    assert outcome.status == "failed" and error in outcome.output
    assert smtp_server.received == []


async def test_drafting_runs_at_once_and_can_be_undone(studio_companion: Companion) -> None:
    c = studio_companion
    args = {"recipient": "Roger", "notes": "the lake\nfifty years", "written_for": "Loretta"}
    outcome = await c.actions.request("theo", "draft_letter", args, requested_by="model",
                                      approve=None)  # fmt: skip
    assert outcome.status == "done", outcome.output
    [letter] = await studio.list_letters(c.store, "theo")
    assert letter.written_for == "Loretta" and f"#{letter.id}" in outcome.output
    await c.actions.undo("theo", outcome.action_id)
    assert await studio.list_letters(c.store, "theo") == []


async def test_deleting_asks_first_and_undo_brings_the_letter_back(
    studio_companion: Companion,
) -> None:
    c = studio_companion
    letter = (await _letters(c))[0]
    await studio.edit_letter(c.store, "theo", letter.id, body="Dear Catherine,\n\nStill.")
    declined = await c.actions.request(
        "theo", "delete_letter", {"letter_id": letter.id}, requested_by="user",
        approve=ScriptedApprover(False),
    )  # fmt: skip
    assert declined.status == "declined"
    assert (await studio.get_letter(c.store, "theo", letter.id)).versions == 1
    yes = ScriptedApprover(True)
    done = await c.actions.request("theo", "delete_letter", {"letter_id": letter.id},
                                   requested_by="user", approve=yes)  # fmt: skip
    assert done.status == "done" and yes.shown[0].effect is Effect.DESTRUCTIVE
    assert letter.id not in [x.id for x in await studio.list_letters(c.store, "theo")]
    await c.actions.undo("theo", done.action_id)
    back = await studio.get_letter(c.store, "theo", letter.id)
    assert back.body == "Dear Catherine,\n\nStill." and back.versions == 1


def test_the_plugin_offers_its_tools_with_their_effects() -> None:
    found: list[Any] = []
    tools.register_tools(found.append)
    assert {t.name: t.effect for t in found} == {
        "send_letters": Effect.OUTWARD,
        "draft_letter": Effect.LOCAL_WRITE,
        "delete_letter": Effect.DESTRUCTIVE,
    }
    assert all(t.undo is not None for t in found if t.effect is not Effect.OUTWARD)
