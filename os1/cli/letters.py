"""`os1 letters`: write, draft, edit, proofread and keep letters; make PDFs and books; send them.

The letter's text comes from a file, from piped input, or from $EDITOR. Sending
goes through the action log like every outward action: at a terminal she asks
y/N on the terminal itself; without one the send waits for `os1 approve ID`.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import click

from ..companion import Companion
from ..letters import render, studio
from ..letters.render import RenderError
from ..letters.studio import Letter, LetterError
from ..letters.tools import flag, send_arguments
from ..mail.accounts import AccountError
from ..mail.smtp import SendError
from . import (
    EX_CONFIG,
    EX_DATAERR,
    EX_IOERR,
    EX_UNAVAILABLE,
    Settings,
    cli,
    fail,
    run,
    with_companion,
)
from .terminal import Terminal

MAX_INPUT = 4 * studio.MAX_BODY
"""Bytes read for one letter: enough for the longest letter in any script, and a bit over."""


def _do(settings: Settings, fn: Callable[[Companion, str], Awaitable[Any]]) -> Any:
    """Run `fn` with the companion, turning the studio's errors into clear messages."""
    try:
        return run(with_companion)(settings, fn)
    except (LetterError, RenderError) as e:
        fail(str(e), EX_DATAERR)
    except AccountError as e:
        fail(str(e), EX_CONFIG)
    except SendError as e:
        fail(str(e), EX_UNAVAILABLE)
    except OSError as e:
        fail(str(e), EX_IOERR)
    return None


def _decode(raw: bytes, where: str) -> str:
    if len(raw) > MAX_INPUT:
        fail(f"{where} is over {MAX_INPUT:,} bytes: too long for a letter", EX_DATAERR)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        fail(f"{where} is not UTF-8 text (byte {e.start}); nothing was saved", EX_DATAERR)
        raise  # unreachable


def _read_body(file: Path | None, current: str = "", *, optional: bool = False) -> str | None:
    """The letter's text from `file`, piped input, or the editor; None when nothing was given."""
    if file is not None:
        try:
            with file.open("rb") as f:
                return _decode(f.read(MAX_INPUT + 1), str(file))
        except OSError as e:
            fail(f"cannot read {file}: {e.strerror}", EX_IOERR)
    if not sys.stdin.isatty():
        text = _decode(sys.stdin.buffer.read(MAX_INPUT + 1), "the input")
        return None if optional and not text.strip() else text
    if optional:
        return None
    edited = click.edit(current, extension=".txt")
    if edited is None:
        fail("the editor was closed without saving: nothing changed", EX_DATAERR)
    return edited


def _line(x: Letter) -> str:
    client = f" (for {x.written_for})" if x.written_for else ""
    first = x.body.split("\n", 1)[0][:50]
    title = x.title or first
    return f"#{x.id:<4} {x.created_at[:10]}  to {x.recipient}{client}: {title} [{x.status}]"


async def _me(c: Companion, user: str) -> tuple[str, str]:
    """Her name (for approval prompts) and what the user asked to be called (for signatures)."""
    found = await c.persona(user)
    if found is None:
        return "She", ""
    return found[0].name, found[1].call_me or ""


@cli.group()
def letters() -> None:
    """The letter studio: personal letters, each kept with its earlier versions."""


@letters.command()
@click.option("--to", "recipient", required=True, help="Who the letter is to.")
@click.option("--for", "client", help="The client it is written for, on their behalf.")
@click.option("--title", default="", help="A title (shown in books and PDFs).")
@click.option("--file", "file", type=click.Path(path_type=Path, dir_okay=False))
@click.pass_obj
def new(settings: Settings, recipient: str, client: str | None, title: str, file: Path) -> None:
    """Write a new letter: from --file, from piped input, or in $EDITOR."""
    body = _read_body(file) or ""

    async def go(c: Companion, user: str) -> Letter:
        return await studio.new_letter(
            c.store, user, recipient, body, title=title, written_for=client
        )

    letter = _do(settings, go)
    click.echo(f"Saved letter #{letter.id} to {letter.recipient}.")


@letters.command()
@click.option("--to", "recipient", required=True)
@click.option("--for", "client")
@click.option("--title", default="")
@click.argument("notes", nargs=-1, required=True)
@click.pass_obj
def draft(
    settings: Settings, recipient: str, client: str | None, title: str, notes: tuple[str, ...]
) -> None:
    """Draft a letter from a few notes (each argument is one note)."""

    async def go(c: Companion, user: str) -> tuple[Letter, bool]:
        _, me = await _me(c, user)
        result = await studio.draft(
            c.model, recipient, notes, written_for=client, signed=client or me or None,
            on_text=lambda t: click.echo(t, nl=False),
        )  # fmt: skip
        letter = await studio.new_letter(
            c.store, user, recipient, result.body, title=title, written_for=client
        )
        return letter, result.skeleton

    letter, bones = _do(settings, go)
    if bones:
        click.echo(letter.body)
        click.echo(
            f"\nThis is a skeleton made from your notes, not a written letter: the model "
            f"in use is too small to write one. Saved as letter #{letter.id}; make it yours "
            f"with `os1 letters edit {letter.id}`."
        )
    else:
        click.echo(f"\n\nSaved the draft as letter #{letter.id}.")


@letters.command("list")
@click.option("--to", "recipient", help="Only letters to this person.")
@click.option("--for", "client", help="Only letters written for this client.")
@click.pass_obj
def list_(settings: Settings, recipient: str | None, client: str | None) -> None:
    """Every letter, oldest first."""
    found = _do(
        settings,
        lambda c, u: studio.list_letters(c.store, u, recipient=recipient, written_for=client),
    )
    click.echo("\n".join(_line(x) for x in found) or "No letters yet.")


@letters.command()
@click.argument("name")
@click.pass_obj
def history(settings: Settings, name: str) -> None:
    """The correspondence with one person: every letter to them, with its edits."""
    found = _do(settings, lambda c, u: studio.history(c.store, u, name))
    if not found:
        click.echo(f"No letters to {name} yet.")
        return
    click.echo(f"{len(found)} letter{'s' * (len(found) != 1)} to {found[0].recipient}:")
    for x in found:
        edits = f", edited {x.versions}×" if x.versions else ""
        click.echo(f"{_line(x)}{edits}")


@letters.command()
@click.argument("letter_id", type=int)
@click.option("--versions", is_flag=True, help="Show its earlier texts too.")
@click.pass_obj
def show(settings: Settings, letter_id: int, versions: bool) -> None:
    """One letter, whole."""

    async def go(c: Companion, user: str) -> tuple[Letter, list[studio.Version]]:
        letter = await studio.get_letter(c.store, user, letter_id)
        return letter, await studio.versions(c.store, user, letter_id) if versions else []

    letter, earlier = _do(settings, go)
    client = f"\nWritten for: {letter.written_for}" if letter.written_for else ""
    click.echo(f"Letter #{letter.id} to {letter.recipient}{client}")
    click.echo(f"{letter.heading} — {letter.created_at[:10]} [{letter.status}]\n")
    click.echo(letter.body)
    for v in earlier:
        click.echo(f"\n--- version #{v.id} (from {v.created_at[:16]}) ---\n{v.body}")


@letters.command()
@click.argument("letter_id", type=int)
@click.option("--file", "file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--title")
@click.option("--to", "recipient")
@click.option("--for", "client", help="The client it is written for ('' for nobody).")
@click.option("--final/--draft", "final", default=None, help="Mark it finished, or a draft.")
@click.pass_obj
def edit(
    settings: Settings,
    letter_id: int,
    file: Path | None,
    title: str | None,
    recipient: str | None,
    client: str | None,
    final: bool | None,
) -> None:
    """Change a letter (in $EDITOR, or from --file or piped input); the old text is kept."""
    details = any(v is not None for v in (title, recipient, client, final))
    current = (
        "" if details else _do(settings, lambda c, u: studio.get_letter(c.store, u, letter_id)).body
    )
    body = _read_body(file, current, optional=details)

    async def go(c: Companion, user: str) -> Letter:
        return await studio.edit_letter(
            c.store, user, letter_id, body=body, title=title, recipient=recipient,
            written_for=client, clear_written_for=client == "",
            status=None if final is None else ("final" if final else "draft"),
        )  # fmt: skip

    letter = _do(settings, go)
    click.echo(
        f"Saved letter #{letter.id}"
        + (
            f"; {letter.versions} earlier text(s) kept (`os1 letters revert {letter.id}`)."
            if letter.versions
            else "."
        )
    )


@letters.command()
@click.argument("letter_id", type=int)
@click.option("--version", "version_id", type=int, help="Which earlier text (default: the last).")
@click.pass_obj
def revert(settings: Settings, letter_id: int, version_id: int | None) -> None:
    """Bring back an earlier text; the current one is kept as a version too."""
    letter = _do(settings, lambda c, u: studio.revert(c.store, u, letter_id, version_id))
    click.echo(f"Letter #{letter.id} has its earlier text back.")


@letters.command()
@click.argument("letter_id", type=int)
@click.option("--all", "accept_all", is_flag=True, help="Accept every suggestion.")
@click.pass_obj
def proofread(settings: Settings, letter_id: int, accept_all: bool) -> None:
    """Check spelling and slips; accept or reject each suggestion, then save a new version."""
    from ..proofread import apply_suggestions
    from ..proofread import proofread as check

    async def go(c: Companion, user: str) -> str:
        letter = await studio.get_letter(c.store, user, letter_id)
        _, me = await _me(c, user)
        names = f"{letter.recipient} {letter.written_for or ''} {me}".split()
        found = await check(letter.body, c.model, known_words=names)
        if not found:
            return "No suggestions: it reads clean."
        accepted = []
        for i, s in enumerate(found, 1):
            before = letter.body[max(0, s.start - 30) : s.start].split("\n")[-1]
            after = letter.body[s.end : s.end + 30].split("\n")[0]
            change = f"[{s.original} → {s.replacement}]"
            click.echo(f"\n{i}/{len(found)} ({s.reason}): …{before}{change}{after}…")
            if accept_all:
                accepted.append(s)
                continue
            click.echo("  Accept? [y/N/q] ", nl=False)
            answer = await asyncio.to_thread(sys.stdin.readline)
            if not answer or answer.strip().lower() in ("q", "quit"):
                click.echo("(stopping: the rest are left as they are)")
                break
            if answer.strip().lower() in ("y", "yes"):
                accepted.append(s)
        if not accepted:
            return "Nothing changed."
        text = apply_suggestions(letter.body, accepted)
        saved = await studio.edit_letter(c.store, user, letter_id, body=text)
        return (
            f"Applied {len(accepted)} of {len(found)} suggestions to letter #{saved.id}; the "
            f"text before is kept (`os1 letters revert {saved.id}` brings it back)."
        )

    click.echo(_do(settings, go))


def _write_pdf(pdf: bytes, output: Path) -> None:
    if str(output) == "-":
        sys.stdout.buffer.write(pdf)
        sys.stdout.flush()
        return
    try:
        output.write_bytes(pdf)
    except OSError as e:
        fail(f"cannot write {output}: {e.strerror}", EX_IOERR)
    click.echo(f"Wrote {output} ({len(pdf):,} bytes).", err=True)


@letters.command()
@click.argument("letter_id", type=int)
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True)
@click.pass_obj
def pdf(settings: Settings, letter_id: int, output: Path) -> None:
    """One letter as a PDF (`-o -` writes it to standard output)."""

    async def go(c: Companion, user: str) -> bytes:
        letter = await studio.get_letter(c.store, user, letter_id)
        return await asyncio.to_thread(render.letter_pdf, letter)

    _write_pdf(_do(settings, go), output)


@letters.command()
@click.argument("letter_ids", type=int, nargs=-1, required=True)
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True)
@click.option("--title", default="Letters", show_default=True)
@click.option("--author", help="Who wrote them (default: the name you gave her).")
@click.pass_obj
def book(
    settings: Settings, letter_ids: tuple[int, ...], output: Path, title: str, author: str | None
) -> None:
    """A book of letters as a PDF: title page, contents, a chapter per letter."""

    async def go(c: Companion, user: str) -> bytes:
        chosen = await studio.get_letters(c.store, user, letter_ids)
        name = author if author is not None else (await _me(c, user))[1]
        return await asyncio.to_thread(render.book_pdf, chosen, title=title, author=name)

    _write_pdf(_do(settings, go), output)


@letters.command()
@click.argument("letter_ids", type=int, nargs=-1, required=True)
@click.option("--to", "address", required=True, help="The email address to send to.")
@click.option("--account", help="Which mail account sends it (default: the first).")
@click.option("--subject")
@click.option("--title", "book_title", help="The book's title (several letters make a book).")
@click.option("--note", help="The email's text.")
@click.option("--book", "as_book", is_flag=True, help="Make a book even of one letter.")
@click.option("--clients-agreed", is_flag=True, help="Letters written for clients may go.")
@click.pass_obj
def send(
    settings: Settings,
    letter_ids: tuple[int, ...],
    address: str,
    account: str | None,
    subject: str | None,
    book_title: str | None,
    note: str | None,
    as_book: bool,
    clients_agreed: bool,
) -> None:
    """Email letters as a PDF (a book when several); asks you first."""

    async def go(c: Companion, user: str) -> tuple[str, str]:
        args = await send_arguments(
            c.store, user, letter_ids, address, account=account, subject=subject,
            book_title=book_title, note=note, book=as_book, third_party_ok=clients_agreed,
        )  # fmt: skip
        warning = flag(args["letters"])
        if warning and not clients_agreed:
            return "refused", (
                f"{warning}\nNothing was sent. Once they agreed, send again with --clients-agreed."
            )
        name, _ = await _me(c, user)
        outcome = await c.actions.request(
            user, "send_letters", args, requested_by="user",
            approve=Terminal(None).approver(name),
        )  # fmt: skip
        return outcome.status, outcome.output

    status, output = _do(settings, go)
    click.echo(output)
    if status in ("refused", "failed", "declined"):
        sys.exit(EX_DATAERR if status == "refused" else 1)


@letters.command()
@click.argument("letter_id", type=int)
@click.pass_obj
def delete(settings: Settings, letter_id: int) -> None:
    """Delete a letter and its versions (asks first; `os1 undo` brings it back)."""

    async def go(c: Companion, user: str) -> str:
        await studio.get_letter(c.store, user, letter_id)
        name, _ = await _me(c, user)
        outcome = await c.actions.request(
            user, "delete_letter", {"letter_id": letter_id}, requested_by="user",
            approve=Terminal(None).approver(name),
        )  # fmt: skip
        return outcome.output

    click.echo(_do(settings, go))
