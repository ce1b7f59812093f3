"""The letter studio's tools: draft a letter, delete one, and send letters (a book) by mail.

Sending is outward: it waits for a yes, and the approval prompt says who gets
what — the address, the attachment and every letter in it. A letter written for
a client is that client's private letter: the prompt flags it, and the send is
refused unless the request carries `third_party_ok: true` and described the
letter as it is, so a client's letter can only leave after a yes to exactly that.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from typing import Any

from ..actions import Effect, Tool, ToolContext, ToolResult
from ..hookspecs import hookimpl
from ..mail.accounts import get_account
from ..mail.smtp import deliver
from ..store import Store
from . import render, studio
from .studio import Letter, LetterError


def facts(letter: Letter) -> dict[str, Any]:
    """What the approval prompt must show about a letter."""
    return {
        "id": letter.id,
        "heading": letter.heading,
        "recipient": letter.recipient,
        "written_for": letter.written_for,
    }


def flag(described: Sequence[dict[str, Any]]) -> str:
    """The warning for letters written for clients ("" when there are none)."""
    flagged = [d for d in described if d.get("written_for")]
    if not flagged:
        return ""
    clients = ", ".join(dict.fromkeys(d["written_for"] for d in flagged))
    if len(described) == 1:
        return (
            f"⚠ This letter was written for a client ({clients}): it is their private "
            "letter — make sure they agreed."
        )
    if len(flagged) == 1:
        return (
            f"⚠ 1 of these letters was written for a client ({clients}): it is their private "
            "letter — make sure they agreed."
        )
    return (
        f"⚠ {len(flagged)} of these letters were written for clients ({clients}): they are "
        "their private letters — make sure they agreed."
    )


def _as_book(args: dict[str, Any]) -> bool:
    return bool(args.get("book")) or len(args["letter_ids"]) > 1


def _attachment(args: dict[str, Any], described: Sequence[dict[str, Any]]) -> str:
    if _as_book(args):
        return render.filename(args.get("book_title") or "Letters")
    heading = described[0]["heading"] if described else f"letter {args['letter_ids'][0]}"
    return render.filename(heading, "letter")


def describe_send(args: dict[str, Any]) -> str:
    """The approval prompt: recipient, attachment, which letters, and the client flag."""
    described = args.get("letters") or []
    ids = args["letter_ids"]
    if described:
        which = "; ".join(
            f"#{d['id']} {d['heading']!r} to {d['recipient']}"
            + (f" (written for {d['written_for']})" if d.get("written_for") else "")
            for d in described
        )
    else:
        which = ", ".join(f"#{i}" for i in ids) + " (not checked before asking)"
    kind = (
        f"a book {args.get('book_title') or 'Letters'!r} of {len(ids)} letter{'s' * (len(ids) > 1)}"
        if _as_book(args)
        else "a letter"
    )
    via = f" from account {args['account']!r}" if args.get("account") else ""
    text = (
        f"Email {args['to']}{via}, attaching {_attachment(args, described)} ({kind} as PDF). "
        f"Letters: {which}."
    )
    if warning := flag(described):
        text += f"\n{warning}"
        if args.get("third_party_ok"):
            text += " You say they agreed (third_party_ok)."
        else:
            text += " Not confirmed (third_party_ok): the send will refuse."
    elif not described:
        text += "\nA letter written for a client among them would not be sent."
    return text


async def send_arguments(
    store: Store,
    user: str,
    letter_ids: Sequence[int],
    to: str,
    **options: Any,
) -> dict[str, Any]:
    """The `send_letters` arguments for these letters, described as they are now."""
    letters = await studio.get_letters(store, user, letter_ids)
    args: dict[str, Any] = {"letter_ids": [x.id for x in letters], "to": to}
    args.update({k: v for k, v in options.items() if v not in (None, "", False)})
    args["letters"] = [facts(x) for x in letters]
    return args


def _check_address(to: str) -> str:
    _, address = parseaddr(to)
    if "\n" in to or "\r" in to or "@" not in address or " " in address:
        raise LetterError(f"{to!r} is not an email address")
    return to


async def _send(ctx: ToolContext, args: dict[str, Any]) -> ToolResult:
    store, user = ctx.companion.store, ctx.user
    to = _check_address(args["to"])
    letters = await studio.get_letters(store, user, args["letter_ids"])
    described = {int(d["id"]): d for d in args.get("letters") or []}
    if described and set(described) != {x.id for x in letters}:
        raise LetterError("the approval described other letters than these; nothing was sent")
    if described:
        for letter in letters:
            if described.get(letter.id) != facts(letter):
                raise LetterError(
                    f"letter #{letter.id} is not what the approval described "
                    "(it changed, or was described wrongly); nothing was sent — ask again"
                )
    clients = [x for x in letters if x.written_for]
    if clients and not described:
        raise LetterError(
            "letters written for clients ("
            + ", ".join(f"#{x.id} for {x.written_for}" for x in clients)
            + ") can only be sent when the request describes them; nothing was sent"
        )
    if clients and args.get("third_party_ok") is not True:
        raise LetterError(
            flag([facts(x) for x in letters]) + " Nothing was sent: send again with "
            "third_party_ok once they have."
        )
    account = await get_account(store, user, args.get("account"))
    title = " ".join((args.get("book_title") or "Letters").split())
    if _as_book(args):
        pdf = await asyncio.to_thread(render.book_pdf, letters, title=title)
    else:
        pdf = await asyncio.to_thread(render.letter_pdf, letters[0])
    name = _attachment(args, [facts(x) for x in letters])
    message = EmailMessage()
    message["From"] = formataddr((account.display_name, account.address))
    message["To"] = to
    message["Subject"] = args.get("subject") or (title if _as_book(args) else letters[0].heading)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=account.address.rpartition("@")[2] or None)
    message.set_content(
        args.get("note")
        or f"Please find attached {name} ({len(letters)} letter{'s' * (len(letters) > 1)}).\n"
    )
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename=name)
    await deliver(account, message)
    return ToolResult(
        f"Sent {name} ({len(letters)} letter{'s' * (len(letters) > 1)}) to {to} "
        f"from {account.address}."
    )


async def _draft(ctx: ToolContext, args: dict[str, Any]) -> ToolResult:
    notes = [n for n in args["notes"].split("\n") if n.strip()]
    result = await studio.draft(
        ctx.companion.model, args["recipient"], notes, written_for=args.get("written_for")
    )
    letter = await studio.new_letter(
        ctx.companion.store, ctx.user, args["recipient"], result.body,
        title=args.get("title", ""), written_for=args.get("written_for"),
    )  # fmt: skip
    how = "a skeleton from your notes (edit it to make it a letter)" if result.skeleton else ""
    return ToolResult(
        f"Drafted letter #{letter.id} to {letter.recipient}{': ' + how if how else ''}.\n\n"
        f"{letter.body}",
        undo={"letter_id": letter.id},
    )


async def _undo_draft(ctx: ToolContext, undo: dict[str, Any]) -> str:
    await studio.delete_letter(ctx.companion.store, ctx.user, int(undo["letter_id"]))
    return f"Letter #{undo['letter_id']} is gone again."


async def _delete(ctx: ToolContext, args: dict[str, Any]) -> ToolResult:
    snapshot = await studio.delete_letter(ctx.companion.store, ctx.user, int(args["letter_id"]))
    return ToolResult(f"Deleted letter #{args['letter_id']}.", undo=snapshot)


async def _undo_delete(ctx: ToolContext, undo: dict[str, Any]) -> str:
    letter = await studio.restore_letter(ctx.companion.store, ctx.user, undo)
    return f"Letter #{letter.id} to {letter.recipient} is back."


_LETTER = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "heading": {"type": "string"},
        "recipient": {"type": "string"},
        "written_for": {"type": ["string", "null"]},
    },
    "required": ["id", "heading", "recipient", "written_for"],
}

SEND = Tool(
    name="send_letters",
    description="Email letters as a PDF (several become a book with a contents page), e.g. to "
    "a publisher. Letters written for clients need third_party_ok once they agreed.",
    effect=Effect.OUTWARD,
    run=_send,
    describe=describe_send,
    parameters={
        "type": "object",
        "properties": {
            "letter_ids": {"type": "array", "items": {"type": "integer", "minimum": 1}},
            "to": {"type": "string", "minLength": 3, "maxLength": 320},
            "account": {"type": "string"},
            "subject": {"type": "string", "maxLength": 300},
            "note": {"type": "string", "maxLength": 10000},
            "book": {"type": "boolean"},
            "book_title": {"type": "string", "maxLength": 200},
            "third_party_ok": {"type": "boolean"},
            "letters": {"type": "array", "items": _LETTER},
        },
        "required": ["letter_ids", "to"],
        "additionalProperties": False,
    },
)

DRAFT = Tool(
    name="draft_letter",
    description="Draft a personal letter to someone from a few notes (one per line) and keep "
    "it in the letter studio; written_for is the client it is written on behalf of.",
    effect=Effect.LOCAL_WRITE,
    run=_draft,
    undo=_undo_draft,
    describe=lambda a: f"Draft a letter to {a['recipient']} from your notes.",
    parameters={
        "type": "object",
        "properties": {
            "recipient": {"type": "string", "minLength": 1, "maxLength": 200},
            "notes": {"type": "string", "minLength": 1, "maxLength": 20000},
            "written_for": {"type": "string", "maxLength": 200},
            "title": {"type": "string", "maxLength": 200},
        },
        "required": ["recipient", "notes"],
    },
)

DELETE = Tool(
    name="delete_letter",
    description="Delete a letter and its earlier versions from the letter studio.",
    effect=Effect.DESTRUCTIVE,
    run=_delete,
    undo=_undo_delete,
    describe=lambda a: (
        f"Delete letter #{a['letter_id']} and its earlier versions. (Undo: os1 undo)"
    ),
    parameters={
        "type": "object",
        "properties": {"letter_id": {"type": "integer", "minimum": 1}},
        "required": ["letter_id"],
    },
)


@hookimpl
def register_tools(register: Callable[[Tool], None]) -> None:
    for tool in (SEND, DRAFT, DELETE):
        register(tool)
