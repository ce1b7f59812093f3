"""Sending a draft: the approval shows exactly what will leave, and only that leaves.

Always draft → show → approve → send. `send_mail` is OUTWARD, so it runs only
after the user's yes. Its approval prompt can only show what its arguments
hold, so a request carries the message as it stands (`request_send` builds
it): From, To, Cc, Subject, attachments and the whole body. When it runs, the
draft is rebuilt and compared with what was shown: if anything changed since,
nothing is sent. After the server takes it, the draft is marked sent, a copy
goes into the Sent folder as the user's own mail (so the voice learns from it
and the thread shows it), and the message answered is flagged \\Answered.
`draft_mail` lets the model write a draft; drafting never sends.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from functools import partial
from typing import TYPE_CHECKING, Any

from ..actions import Approver, Effect, Outcome, Tool, ToolContext, ToolResult
from ..hookspecs import hookimpl
from ..store import Store
from . import store as mailstore
from .accounts import Account, AccountError, get_account, my_addresses
from .compose import Draft, DraftError, discard_draft, get_draft, new_draft
from .parse import now_iso
from .reply import draft_reply, reply_fields
from .smtp import deliver

if TYPE_CHECKING:
    from ..companion import Companion

MAX_REFERENCES = 20
"""References kept in a reply: the thread's root and its latest messages are what count."""
_sending: set[tuple[str, int]] = set()


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    return f"{n / 1024:.0f} KB" if n < 2**20 else f"{n / 2**20:.1f} MB"


async def build(
    store: Store, user: str, draft: Draft
) -> tuple[EmailMessage, Account, sqlite3.Row | None]:
    """The message a draft would send, the account it leaves from, and the mail it answers."""
    account = await get_account(store, user, draft.account)
    original = None
    if draft.reply_to is not None:
        reply_to = draft.reply_to
        original = await store.read(lambda c: mailstore.get(c, user, reply_to))
    msg = EmailMessage()
    msg["From"] = Address(display_name=account.display_name, addr_spec=account.address)
    if draft.to:
        msg["To"] = ", ".join(draft.to)
    if draft.cc:
        msg["Cc"] = ", ".join(draft.cc)
    msg["Subject"] = draft.subject
    if original is not None and original["message_id"]:
        refs = [*json.loads(original["refs"]), original["message_id"]]
        refs = list(dict.fromkeys(refs))
        if len(refs) > MAX_REFERENCES:
            refs = [refs[0], *refs[-(MAX_REFERENCES - 1) :]]
        msg["In-Reply-To"] = original["message_id"]
        msg["References"] = " ".join(refs)
    msg.set_content(draft.body)
    for a in draft.attachments:
        data = await store.read(partial(mailstore.blob, user=user, hash_=a.hash))
        if data is None:
            raise DraftError(f"attachment {a.filename!r} of draft {draft.id} is missing")
        maintype, _, subtype = a.content_type.partition("/")
        msg.add_attachment(
            data, maintype=maintype, subtype=subtype or "octet-stream", filename=a.filename
        )
    return msg, account, original


def shown(msg: EmailMessage, draft: Draft) -> dict[str, Any]:
    """What the approval prompt shows of a message: everything that leaves but the
    Date and Message-ID, which are made at the moment of sending."""
    return {
        "from": str(msg["From"]),
        "to": list(draft.to),
        "cc": list(draft.cc),
        "subject": draft.subject,
        "body": draft.body,
        "attachments": [{"filename": a.filename, "size": a.size} for a in draft.attachments],
    }


async def send_arguments(store: Store, user: str, draft_id: int) -> dict[str, Any]:
    """The `send_mail` arguments for a draft as it stands now."""
    draft = await get_draft(store, user, draft_id)
    if draft.status != "draft":
        raise DraftError(f"draft {draft_id} is {draft.status}; only a draft can be sent")
    msg, account, _ = await build(store, user, draft)
    if not account.smtp_host:  # asking for a yes to what cannot be sent would waste it
        raise AccountError(
            f"account {account.name!r} has no SMTP server to send through; add it again with "
            "--smtp-host (`os1 mail account add --help`)"
        )
    return {"draft_id": draft_id, "message": shown(msg, draft)}


async def request_send(
    companion: Companion,
    user: str,
    draft_id: int,
    *,
    approve: Approver | None,
    requested_by: str = "user",
) -> Outcome:
    """Ask to send a draft: the approver sees exactly what will leave (None: it waits for
    `os1 approve ID`)."""
    args = await send_arguments(companion.store, user, draft_id)
    return await companion.actions.request(
        user, "send_mail", args, requested_by=requested_by, approve=approve
    )


def describe(args: dict[str, Any]) -> str:
    """The approval prompt: every header that leaves, the attachments and the whole body."""
    m = args["message"]
    files = ", ".join(f"{a['filename']} ({_size(a['size'])})" for a in m["attachments"])
    lines = [
        f"Send this email (draft #{args['draft_id']})? Once sent it can't be unsent.",
        f"From: {m['from']}",
        f"To: {', '.join(m['to']) or '(nobody)'}",
        *([f"Cc: {', '.join(m['cc'])}"] if m["cc"] else []),
        f"Subject: {m['subject']}",
        f"Attachments: {files or 'none'}",
        "",
        m["body"],
    ]
    return "\n".join(lines)


async def _send(ctx: ToolContext, args: dict[str, Any]) -> ToolResult:
    store, user, draft_id = ctx.companion.store, ctx.user, int(args["draft_id"])
    if (user, draft_id) in _sending:
        raise DraftError(f"draft {draft_id} is being sent already")
    _sending.add((user, draft_id))
    try:
        draft = await get_draft(store, user, draft_id)
        if draft.status != "draft":
            raise DraftError(f"draft {draft_id} is {draft.status}; nothing was sent")
        msg, account, original = await build(store, user, draft)
        if shown(msg, draft) != args["message"]:
            raise DraftError(
                f"draft {draft_id} is not what the approval showed (it changed since, or was "
                "described wrongly); nothing was sent — ask again to see it as it is"
            )
        if not draft.to and not draft.cc:
            raise DraftError(f"draft {draft_id} has no recipients; nothing was sent")
        msg["Date"] = formatdate(localtime=True)
        msg["Message-ID"] = make_msgid(domain=account.address.rpartition("@")[2])
        reply = await deliver(account, msg)
        await _record(ctx, draft, msg, account, original)
    finally:
        _sending.discard((user, draft_id))
    who = ", ".join([*draft.to, *draft.cc])
    return ToolResult(f"Sent “{draft.subject}” to {who}. The server said: {reply.strip()}")


async def _record(
    ctx: ToolContext,
    draft: Draft,
    msg: EmailMessage,
    account: Account,
    original: sqlite3.Row | None,
) -> None:
    """After the server took it: the draft is sent, a copy is in Sent, the original answered."""
    store, user = ctx.companion.store, ctx.user
    me = frozenset(await my_addresses(store, user, (account.address,)))
    raw = bytes(msg)

    def write(c: sqlite3.Connection) -> int:
        c.execute(
            "UPDATE mail_drafts SET status = 'sent', sent_at = ?, updated_at = ? "
            "WHERE id = ? AND user_id = ?",
            (now_iso(), now_iso(), draft.id, user),
        )
        return mailstore.add_message(
            c, user, raw, folder="Sent", account=account.name, flags=("\\Seen",), me=me
        ).id

    sent_id = await store.write(write)
    from .imap_writeback import queue_append, queue_flags

    if account.imap_host:
        # Uploaded to the server's Sent folder at the next sync, for the user's other programs.
        await queue_append(store, user, sent_id)
    if original is not None:
        # Written back to the IMAP server at the next sync, as any flag change is.
        await queue_flags(store, user, [original["id"]], add=["\\Answered"])


async def _draft(ctx: ToolContext, args: dict[str, Any]) -> ToolResult:
    store, user = ctx.companion.store, ctx.user
    if args.get("reply_to") is not None:
        message_id = int(args["reply_to"])
        if args.get("body"):
            fields = await reply_fields(
                store, user, message_id, reply_all=bool(args.get("reply_all"))
            )
            draft_id = await new_draft(
                store, user, to=fields.to, cc=fields.cc, subject=fields.subject,
                body=args["body"], account=fields.account, reply_to=message_id,
            )  # fmt: skip
        else:
            draft_id = await draft_reply(
                ctx.companion, user, message_id, args.get("instruction", ""),
                reply_all=bool(args.get("reply_all")),
            )  # fmt: skip
    else:
        if not args.get("to"):
            raise DraftError("a new mail needs someone to go to (to), or reply_to")
        draft_id = await new_draft(
            store, user, to=args["to"], cc=args.get("cc", []), subject=args.get("subject", ""),
            body=args.get("body", ""),
        )  # fmt: skip
    try:
        send = await send_arguments(store, user, draft_id)
    except Exception as e:  # no account yet: the draft is kept all the same
        return ToolResult(
            f"Saved draft #{draft_id}; nothing was sent. It can't be sent yet: {e}",
            undo={"draft_id": draft_id},
        )
    return ToolResult(
        f"Saved draft #{draft_id}; nothing was sent.\n{describe(send)}\n\n"
        "To send it, the user must approve send_mail with exactly these arguments: "
        + json.dumps(send, ensure_ascii=False),
        undo={"draft_id": draft_id},
    )


async def _undo_draft(ctx: ToolContext, undo: dict[str, Any]) -> str:
    await discard_draft(ctx.companion.store, ctx.user, int(undo["draft_id"]))
    return f"Discarded draft #{undo['draft_id']}."


def _describe_draft(args: dict[str, Any]) -> str:
    if args.get("reply_to") is not None:
        return f"Draft a reply to mail #{args['reply_to']} (nothing is sent)."
    return f"Draft a mail to {', '.join(args.get('to', [])) or '(nobody yet)'} (nothing is sent)."


_ADDRESSES = {"type": "array", "items": {"type": "string", "maxLength": 320}, "maxItems": 50}
SEND_MAIL = Tool(
    name="send_mail",
    description="Send a saved mail draft. The user must approve; the message must be the "
    "draft exactly as draft_mail showed it.",
    effect=Effect.OUTWARD,
    run=_send,
    describe=describe,
    parameters={
        "type": "object",
        "properties": {
            "draft_id": {"type": "integer", "minimum": 1},
            "message": {
                "type": "object",
                "properties": {
                    "from": {"type": "string"},
                    "to": _ADDRESSES,
                    "cc": _ADDRESSES,
                    "subject": {"type": "string"},
                    "body": {"type": "string"},
                    "attachments": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "filename": {"type": "string"},
                                "size": {"type": "integer"},
                            },
                            "required": ["filename", "size"],
                        },
                    },
                },
                "required": ["from", "to", "cc", "subject", "body", "attachments"],
            },
        },
        "required": ["draft_id", "message"],
        "additionalProperties": False,
    },
)
DRAFT_MAIL = Tool(
    name="draft_mail",
    description="Write an email draft (nothing is sent): either to/subject/body for a new "
    "mail, or reply_to (a mail's id) with an instruction or a body for a reply.",
    effect=Effect.LOCAL_WRITE,
    run=_draft,
    undo=_undo_draft,
    describe=_describe_draft,
    parameters={
        "type": "object",
        "properties": {
            "to": _ADDRESSES,
            "cc": _ADDRESSES,
            "subject": {"type": "string", "maxLength": 300},
            "body": {"type": "string", "maxLength": 100_000},
            "reply_to": {"type": "integer", "minimum": 1},
            "instruction": {"type": "string", "maxLength": 2000},
            "reply_all": {"type": "boolean"},
        },
        "additionalProperties": False,
    },
)


@hookimpl
def register_tools(register: Callable[[Tool], None]) -> None:
    register(SEND_MAIL)
    register(DRAFT_MAIL)
