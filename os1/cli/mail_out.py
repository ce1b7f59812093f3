"""`os1 mail summary|draft|drafts|proofread|send|discard`: writing mail, sent only on a yes.

Always draft → show → approve → send: `send` shows the whole message and asks on the
terminal (or waits for `os1 approve ID` when there is none); sending is logged.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import click

from ..actions import Outcome
from ..companion import Companion
from ..mail import compose
from ..mail import send as mailsend
from ..mail.reply import draft_reply
from ..mail.summary import summarise_thread
from ..proofread import Suggestion
from . import EX_DATAERR, Settings, fail, run
from .mail import mail, said, utf8, with_mail
from .terminal import Terminal


async def _guard(coro: Any) -> Any:
    try:
        return await coro
    except compose.DraftError as e:
        fail(str(e), EX_DATAERR)


@mail.command()
@click.argument("message_id", type=int)
@click.pass_obj
def summary(settings: Settings, message_id: int) -> None:
    """Summarise the thread message MESSAGE_ID belongs to."""

    async def go(c: Companion, user: str) -> str:
        return str(await _guard(summarise_thread(c, user, message_id)))

    click.echo(run(with_mail)(settings, go) or "")


@mail.command()
@click.argument("message_id", type=int, required=False)
@click.argument("instruction", required=False)
@click.option("--all", "reply_all", is_flag=True, help="Reply to everyone on the message.")
@click.option("--to", "to", multiple=True, help="A new message to this address.")
@click.option("--cc", multiple=True)
@click.option("--subject", default="")
@click.option("--body", help="The text (default: read from stdin for a new message).")
@click.option("--attach", multiple=True, type=click.Path(exists=True, path_type=Path))
@click.pass_obj
def draft(
    settings: Settings,
    message_id: int | None,
    instruction: str | None,
    reply_all: bool,
    to: tuple[str, ...],
    cc: tuple[str, ...],
    subject: str,
    body: str | None,
    attach: tuple[Path, ...],
) -> None:
    """Draft a reply (`os1 mail draft 42 "tell her I'll come"`) or a new message (--to)."""
    if message_id is None and not to:
        fail('say which message to answer (`os1 mail draft ID "what to say"`) or --to', 64)
    if message_id is not None and not instruction:
        fail("say what the reply should say", 64)
    if message_id is None and body is None:
        body = _read_body()
    for value, what in (
        (instruction, "the instruction"),
        (body, "the text"),
        (subject, "the subject"),
        *((a, "an address") for a in (*to, *cc)),
    ):
        utf8(value or "", what)

    async def go(c: Companion, user: str) -> compose.Draft:
        if message_id is not None:
            draft_id = await _guard(
                draft_reply(c, user, message_id, instruction or "", reply_all=reply_all)
            )
        else:
            draft_id = await _guard(
                compose.new_draft(
                    c.store, user, to=to, cc=cc, subject=subject, body=body or "",
                    attachments=attach,
                )
            )  # fmt: skip
        result: compose.Draft = await compose.get_draft(c.store, user, draft_id)
        return result

    d = run(with_mail)(settings, go)
    if d is None:
        return
    click.echo(_show(d))
    click.echo(
        f"\nDraft #{d.id}. Proofread: `os1 mail proofread {d.id}`; send: `os1 mail send {d.id}`."
    )


def _read_body() -> str:
    """A new message's text: piped in, or written in $EDITOR at a terminal."""
    if sys.stdin.isatty():
        edited = click.edit("", extension=".txt")
        if edited is None:
            fail("the editor was closed without saving: no draft was made", EX_DATAERR)
        return edited or ""
    raw = sys.stdin.buffer.read(compose.MAX_BODY * 4 + 1)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        fail(f"the text is not UTF-8 (byte {e.start}); no draft was made", EX_DATAERR)
        raise  # unreachable


def _show(d: compose.Draft) -> str:
    lines = [f"To: {', '.join(d.to)}"]
    if d.cc:
        lines.append(f"Cc: {', '.join(d.cc)}")
    lines += [f"Subject: {d.subject}", "", d.body]
    lines += [f"[attachment] {a.filename}" for a in d.attachments]
    return "\n".join(lines)


@mail.command()
@click.option("--all", "show_all", is_flag=True, help="Also sent and discarded drafts.")
@click.pass_obj
def drafts(settings: Settings, show_all: bool) -> None:
    """Your drafts."""

    async def go(c: Companion, user: str) -> list[compose.Draft]:
        result: list[compose.Draft] = await compose.list_drafts(
            c.store, user, None if show_all else "draft"
        )
        return result

    found = run(with_mail)(settings, go) or []
    for d in found:
        click.echo(f"#{d.id:<5} {d.status:<9} {', '.join(d.to)[:30]:<30} {d.subject[:50]}")
    if not found:
        click.echo("No drafts.")


@mail.command()
@click.argument("draft_id", type=int)
@click.option("--all", "accept_all", is_flag=True, help="Accept every suggestion.")
@click.pass_obj
def proofread(settings: Settings, draft_id: int, accept_all: bool) -> None:
    """Go through suggestions one by one: y accepts, n rejects, q stops."""

    async def decide(s: Suggestion) -> bool | None:
        click.echo(f"\n{s.reason}: {s.original!r} → {s.replacement!r}")
        if accept_all:
            return True
        click.echo("  Accept? [y/N/q] ", nl=False)
        answer = await asyncio.to_thread(sys.stdin.readline)
        if not answer or answer.strip().lower() in ("q", "quit"):
            # End of input stops too: what was accepted so far is still saved.
            click.echo("(stopping: the rest are left as they are)")
            return None
        return answer.strip().lower() in ("y", "yes")

    async def go(c: Companion, user: str) -> int:
        return int(await _guard(compose.proofread_draft(c, user, draft_id, decide)))

    accepted = run(with_mail)(settings, go) or 0
    click.echo(
        f"\n{accepted} suggestion(s) accepted; draft #{draft_id} saved."
        if accepted
        else f"\nNothing changed in draft #{draft_id}."
    )


@mail.command()
@click.argument("draft_id", type=int)
@click.pass_obj
def send(settings: Settings, draft_id: int) -> None:
    """Show the draft exactly as it will leave and send it on your yes."""

    async def go(c: Companion, user: str) -> Outcome:
        outcome: Outcome = await _guard(
            mailsend.request_send(c, user, draft_id, approve=Terminal(None).approver("OS1"))
        )
        return outcome

    outcome = run(with_mail)(settings, go)
    if outcome is not None:
        said(outcome, f"Not sent; draft #{draft_id} is kept.")


@mail.command()
@click.argument("draft_id", type=int)
@click.pass_obj
def discard(settings: Settings, draft_id: int) -> None:
    """Discard a draft (it is kept, marked discarded)."""

    async def go(c: Companion, user: str) -> None:
        await _guard(compose.discard_draft(c.store, user, draft_id))

    run(with_mail)(settings, go)
    click.echo(f"Draft #{draft_id} discarded.")
