"""How mail takes part in a conversation: requests she handles herself, with consent.

"Anything important today?" is answered from triage; "reply to Amy that I'll come"
drafts a reply in the user's voice and asks to send it, showing exactly what will
leave; "clean up my inbox" proposes what to keep and archive and asks. These run on
any model, the bundled one included, because the steps are fixed and only the
user's own words choose them. Sending and archiving go through the action log, so
the yes comes from the front door and `os1 undo` can take an archive back.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ..actions import ActionError, Approver, Outcome
from . import cleanup, compose, intents, send, triage
from .accounts import AccountError
from .reply import draft_reply
from .summary import summarise_thread

if TYPE_CHECKING:
    from ..companion import Companion

NO_MAIL = (
    "I don't have any of your mail yet. Import an archive with `os1 mail import PATH`, "
    "or add your account with `os1 mail account add` and run `os1 mail sync`."
)


def _said(outcome: Outcome, done: str, declined: str) -> str:
    if outcome.status == "proposed":
        return outcome.output  # what will happen, and how to say yes
    if outcome.status == "declined":
        return declined
    if outcome.status == "failed":
        return f"That didn't work: {outcome.output}"
    return done or outcome.output


async def _has_mail(companion: Companion, user: str) -> bool:
    row = await companion.store.query_one(
        "SELECT 1 FROM mail_messages WHERE user_id = ? LIMIT 1", (user,)
    )
    return row is not None


async def _important(companion: Companion, user: str) -> str:
    # A capable model refines a few uncertain cases; a conversation can't wait for more.
    await triage.triage_all(companion.store, user, model=companion.model, max_model_calls=20)
    midnight = datetime.now().astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
    rows = await triage.important(companion.store, user, since=midnight, limit=5)
    when = "today"
    if not rows:
        rows = await triage.important(
            companion.store, user, since=midnight - timedelta(days=7), limit=5
        )
        when = "this past week"
    if not rows:
        return "Nothing important in your mail today, or in the past week."
    lines = [
        f"- #{r['id']} from {r['from_name'] or r['from_addr']}: {r['subject'] or '(no subject)'}"
        f" — {r['reason']}"
        for r in rows
    ]
    head = "Nothing important today. " if when != "today" else ""
    return f"{head}What matters {when}:\n" + "\n".join(lines)


async def _find_latest_from(companion: Companion, user: str, who: str) -> int | None:
    """The newest message from someone the user names (a name, part of one, or an address)."""
    who = who.strip().lower()
    if who.startswith(("my ", "the ")):
        who = who.split(" ", 1)[1]
    like = f"%{who}%"
    row = await companion.store.query_one(
        "SELECT m.id FROM mail_messages m WHERE m.user_id = ? AND m.from_me = 0 "
        "AND m.status = 'ok' AND (lower(m.from_name) LIKE ? OR lower(m.from_addr) LIKE ? "
        "OR m.from_addr IN (SELECT e.email FROM people_emails e JOIN people p "
        "ON p.id = e.person_id WHERE p.user_id = ? AND (lower(p.name) LIKE ? "
        "OR lower(p.relation) LIKE ?))) ORDER BY m.date DESC, m.id DESC LIMIT 1",
        (user, like, like, user, like, like),
    )
    return int(row[0]) if row else None


async def _reply(
    companion: Companion, user: str, request: intents.Reply, approve: Approver | None
) -> str:
    message_id = await _find_latest_from(companion, user, request.who)
    if message_id is None:
        return f"I couldn't find any mail from {request.who} to reply to."
    try:
        draft_id = await draft_reply(companion, user, message_id, request.what)
        outcome = await send.request_send(companion, user, draft_id, approve=approve)
    except (compose.DraftError, AccountError, ActionError) as e:
        return f"I couldn't prepare that reply: {e}"
    return _said(
        outcome,
        "",
        f"I didn't send it. The draft is kept as #{draft_id}: "
        f"`os1 mail drafts` to see it, `os1 mail send {draft_id}` when it's right.",
    )


async def _cleanup(companion: Companion, user: str, approve: Approver | None) -> str:
    plan = await cleanup.propose_cleanup(companion.store, user)
    if not plan.archive_ids:
        return f"Your inbox is already tidy: {plan.summary}. Nothing to archive."
    outcome = await companion.actions.request(
        user, "archive_mail", plan.arguments(), requested_by="user", approve=approve
    )
    return _said(
        outcome,
        f"Done: {plan.summary}. Changed your mind? `os1 undo {outcome.action_id}` puts them back.",
        f"All right, I moved nothing. ({plan.summary} was the proposal.)",
    )


async def _summary(companion: Companion, user: str, who: str) -> str:
    message_id = await _find_latest_from(companion, user, who)
    if message_id is None:
        return f"I couldn't find any mail from {who}."
    return await summarise_thread(companion, user, message_id)


async def direct_answer(
    companion: Companion, user: str, text: str, approve: Approver | None
) -> str | None:
    """An answer the mail part gives itself, or None when the message isn't about mail."""
    reply = intents.reply_request(text)
    who = intents.summary_request(text)
    if not (reply or who or intents.asks_whats_important(text) or intents.asks_cleanup(text)):
        return None
    if not await _has_mail(companion, user):
        return NO_MAIL
    if reply is not None:
        return await _reply(companion, user, reply, approve)
    if who is not None:
        return await _summary(companion, user, who)
    if intents.asks_cleanup(text):
        return await _cleanup(companion, user, approve)
    return await _important(companion, user)
