"""`os1 mail`: accounts, import and sync, reading, searching, triage and clean-up.

Writing and sending live in `mail_out`. Nothing here sends or deletes: the clean-up
is a proposal that only runs after a yes on the terminal (or `os1 approve ID`).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from email.utils import formataddr
from pathlib import Path
from typing import Any

import click

from ..actions import Outcome
from ..companion import Companion
from ..mail import accounts as mailaccounts
from ..mail.importer import ImportError_, import_path
from ..mail.search import MailSearch
from . import EX_CONFIG, EX_DATAERR, Settings, cli, fail, run, with_companion


async def with_mail(
    settings: Settings, fn: Callable[[Companion, str], Awaitable[Any]], *, embedder: bool = False
) -> Any:
    """`with_companion`, with a problem of a mail account told as bad configuration (78)."""
    try:
        return await with_companion(settings, fn, embedder=embedder)
    except mailaccounts.AccountError as e:
        fail(str(e), EX_CONFIG)


def utf8(value: str, what: str) -> str:
    """`value` (an argument or piped text) if it is valid UTF-8; else a clear error, nothing saved.

    Python hands over undecodable argv and stdin bytes as lone surrogates, which SQLite and
    mail headers cannot hold.
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        fail(f"{what} is not UTF-8 text (character {e.start + 1}); nothing was saved", EX_DATAERR)
    return value


def said(outcome: Outcome, declined: str, done: str = "") -> None:
    """What came of an action asked for here; a failure or a no exits non-zero."""
    if outcome.status == "proposed":
        click.echo(outcome.output)  # it ends with how to say yes
    elif outcome.status == "declined":
        click.echo(declined)
        sys.exit(1)
    elif outcome.status == "failed":
        fail(outcome.output, 1)
    else:
        click.echo(outcome.output + (f"\n{done}" if done else ""))


async def learned(c: Companion, user: str) -> None:
    """Learn from the user's own sent mail (their words only), and say what was learned."""
    from ..mail.learn import learn_from_mail

    if added := await learn_from_mail(c.store, user):
        click.echo(
            f"I learned {added} thing(s) about you from mail you sent; "
            "`os1 memory list` shows them, with the mail each came from."
        )


def short(row: Any) -> str:
    """One line per message: id, date, sender, subject, and triage where known."""
    when = (row["date"] or "")[:10] or "????-??-??"
    sender = row["from_name"] or row["from_addr"] or "(unknown sender)"
    unread = " " if "\\Seen" in (row["flags"] or "") else "*"
    tag = f" [{row['category']}]" if row["category"] else ""
    return f"{unread}#{row['id']:<6} {when}  {sender[:24]:<24}  {row['subject'][:60]}{tag}"


@cli.group()
def mail() -> None:
    """Your mail, on your machine: import, sync, read, triage; drafts are sent only on a yes."""


@mail.group()
def account() -> None:
    """Mail accounts (the password is never stored: a command or the keyring gives it)."""


@account.command("add")
@click.argument("name")
@click.option("--address", required=True, help="Your address on this account.")
@click.option("--display-name", default="", help="The name your mail is sent under.")
@click.option("--imap-host")
@click.option("--imap-port", type=click.IntRange(1, 65535))
@click.option("--imap-security", type=click.Choice(mailaccounts.SECURITY), default="ssl")
@click.option("--imap-user", help="IMAP login (default: the address).")
@click.option("--smtp-host")
@click.option("--smtp-port", type=click.IntRange(1, 65535))
@click.option("--smtp-security", type=click.Choice(mailaccounts.SECURITY), default="starttls")
@click.option("--smtp-user", help="SMTP login (default: the IMAP login, if any).")
@click.option(
    "--no-smtp-login", is_flag=True, help="The SMTP server takes mail without a login (a relay)."
)
@click.option("--password-command", help='A command that prints the password, e.g. "pass mail".')
@click.option("--keyring", "keyring_service", help="Take the password from the system keyring.")
@click.option("--folder", "folders", multiple=True, help="Folders to sync (default: INBOX).")
@click.option("--archive-folder", default="Archive", show_default=True)
@click.pass_obj
def account_add(settings: Settings, name: str, **o: Any) -> None:
    """Add (or replace) the account NAME."""
    if o["password_command"] and o["keyring_service"]:
        fail("give either --password-command or --keyring, not both", EX_CONFIG)
    if o["smtp_user"] and o["no_smtp_login"]:
        fail("give either --smtp-user or --no-smtp-login, not both", EX_CONFIG)
    secret = (
        {"command": o["password_command"]}
        if o["password_command"]
        else {"keyring": o["keyring_service"]}
        if o["keyring_service"]
        else {}
    )
    login = o["imap_user"] or (o["address"] if o["imap_host"] and secret else None)
    smtp_login = None if o["no_smtp_login"] else (o["smtp_user"] or (login if secret else None))
    try:
        acct = mailaccounts.Account(
            name=name,
            address=o["address"],
            display_name=o["display_name"],
            imap_host=o["imap_host"],
            imap_port=o["imap_port"],
            imap_security=o["imap_security"],
            imap_username=login,
            smtp_host=o["smtp_host"],
            smtp_port=o["smtp_port"],
            smtp_security=o["smtp_security"],
            smtp_username=smtp_login,
            secret=secret,
            folders=tuple(o["folders"]) or ("INBOX",),
            archive_folder=o["archive_folder"],
        )
    except mailaccounts.AccountError as e:
        fail(str(e), EX_CONFIG)
        return

    async def go(c: Companion, user: str) -> None:
        await mailaccounts.save_account(c.store, user, acct)

    run(with_mail)(settings, go)
    click.echo(f"Account {name!r} saved. The password is not stored; it is fetched when needed.")


@account.command("list")
@click.pass_obj
def account_list(settings: Settings) -> None:
    """Your accounts (without passwords: only where they come from)."""

    async def go(c: Companion, user: str) -> list[mailaccounts.Account]:
        return await mailaccounts.accounts(c.store, user)

    found = run(with_mail)(settings, go) or []
    for a in found:
        click.echo(json.dumps(mailaccounts.describe(a), indent=2))
    if not found:
        click.echo("No accounts yet. Add one with `os1 mail account add NAME --address …`.")


@mail.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.pass_obj
def import_(settings: Settings, paths: tuple[Path, ...]) -> None:
    """Import Maildir folders, mbox files or .eml messages (safe to repeat or resume)."""

    async def go(c: Companion, user: str) -> int:
        me = frozenset(await mailaccounts.my_addresses(c.store, user))
        problems = 0
        for path in paths:
            with click.progressbar(
                length=1, label=f"Importing {path.name}", file=sys.stderr
            ) as bar:

                def progress(done: int, total: int, bar: Any = bar) -> None:
                    bar.length = max(total, 1)
                    bar.update(done - bar.pos)

                try:
                    report = await import_path(c.store, user, path, me=me, on_progress=progress)
                except ImportError_ as e:
                    fail(str(e), EX_DATAERR)
                    return 1
            resumed = f", resumed at {report.resumed_at:,}" if report.resumed_at else ""
            click.echo(
                f"{path}: {report.added:,} new, {report.duplicates:,} already here{resumed}."
            )
            for where, error in report.unparsed:
                click.secho(f"  kept raw, could not parse ({where}): {error}", fg="yellow")
            problems += len(report.unparsed)
        if problems:
            click.echo(f"{problems} message(s) kept raw; see them with `os1 mail problems`.")
        await learned(c, user)
        return problems

    run(with_mail)(settings, go)


@mail.command("list")
@click.option("--folder", default="INBOX", show_default=True)
@click.option(
    "--category", type=click.Choice(["personal", "work", "transactional", "newsletter", "junk"])
)
@click.option("-n", "limit", default=20, show_default=True, type=click.IntRange(1))
@click.pass_obj
def list_(settings: Settings, folder: str, category: str | None, limit: int) -> None:
    """The newest messages in a folder (* = unread)."""

    async def go(c: Companion, user: str) -> list[Any]:
        sql = "SELECT * FROM mail_messages WHERE user_id = ? AND folder = ? AND status = 'ok'"
        params: list[Any] = [user, folder]
        if category:
            sql += " AND category = ?"
            params.append(category)
        return await c.store.query(sql + " ORDER BY date DESC LIMIT ?", (*params, limit))

    rows = run(with_mail)(settings, go) or []
    click.echo("\n".join(short(r) for r in rows) or f"No messages in {folder}.")


@mail.command()
@click.argument("message_id", type=int)
@click.option("--thread", is_flag=True, help="The whole conversation, oldest first.")
@click.option("--raw", is_flag=True, help="The message exactly as it arrived.")
@click.pass_obj
def show(settings: Settings, message_id: int, thread: bool, raw: bool) -> None:
    """Read a message."""
    from ..mail import store as mailstore

    async def go(c: Companion, user: str) -> tuple[list[Any], bytes | None, list[Any]]:
        def read(conn: Any) -> tuple[list[Any], bytes | None, list[Any]]:
            row = mailstore.get(conn, user, message_id)
            if row is None:
                return [], None, []
            rows = mailstore.thread(conn, user, message_id) if thread else [row]
            data = mailstore.blob(conn, user, row["raw_hash"]) if raw else None
            files = conn.execute(
                "SELECT filename, content_type, size FROM mail_attachments WHERE message_id = ?",
                (message_id,),
            ).fetchall()
            return rows, data, files

        return await c.store.read(read)

    rows, data, files = run(with_mail)(settings, go) or ([], None, [])
    if not rows:
        fail(f"no message #{message_id}", EX_DATAERR)
    if raw and data is not None:
        sys.stdout.buffer.write(data)
        return
    for row in rows:
        if row["status"] == "unparsed":
            click.secho(f"#{row['id']}  (could not be parsed: {row['error']})", bold=True)
            click.echo(
                f"Kept raw in {row['folder']}; see it with `os1 mail show {row['id']} --raw`."
            )
            continue
        click.secho(f"#{row['id']}  {row['subject'] or '(no subject)'}", bold=True)
        click.echo(f"From: {formataddr((row['from_name'], row['from_addr'])) or '(unknown)'}")
        click.echo(f"To: {', '.join(json.loads(row['to_addrs']))}")
        click.echo(f"Date: {row['date'] or 'unknown'}   Folder: {row['folder']}")
        if row["category"]:
            click.echo(
                f"Triage: {row['category']}, importance {row['importance']:.1f} — {row['reason']}"
            )
        click.echo("\n" + row["body"] + "\n")
    for f in files:
        click.echo(
            f"[attachment] {f['filename'] or '(unnamed)'} {f['content_type']} {f['size']:,} bytes"
        )


@mail.command()
@click.argument("query")
@click.option("-n", "limit", default=10, show_default=True, type=click.IntRange(1))
@click.option("--meaning/--words", default=True, help="Also search by meaning (default).")
@click.pass_obj
def search(settings: Settings, query: str, limit: int, meaning: bool) -> None:
    """Search your mail by words and meaning."""
    utf8(query, "the query")

    async def go(c: Companion, user: str) -> list[Any]:
        searcher = MailSearch(c.store, c.memory.searcher.embedder if meaning else None)
        return await searcher.search(user, query, limit=limit)

    hits = run(with_mail)(settings, go, embedder=meaning) or []
    for h in hits:
        click.echo(
            f"#{h.id:<6} {(h.date or '')[:10]}  {h.from_name or h.from_addr:<24}  {h.subject}"
        )
    if not hits:
        click.echo("Nothing found.")


@mail.command()
@click.option("--limit", type=click.IntRange(1), help="Embed at most this many (newest first).")
@click.pass_obj
def index(settings: Settings, limit: int | None) -> None:
    """Prepare mail for search by meaning (runs on this machine; can take a while)."""

    async def go(c: Companion, user: str) -> int:
        return await MailSearch(c.store, c.memory.searcher.embedder).index(user, limit=limit)

    n = run(with_mail)(settings, go, embedder=True) or 0
    click.echo(f"{n:,} message(s) prepared for search by meaning.")


@mail.command()
@click.pass_obj
def problems(settings: Settings) -> None:
    """Messages that could not be parsed; they are kept raw (see `os1 mail show ID --raw`)."""

    async def go(c: Companion, user: str) -> list[Any]:
        return await c.store.query(
            "SELECT id, error, imported_at FROM mail_messages WHERE user_id = ? "
            "AND status = 'unparsed' ORDER BY id",
            (user,),
        )

    rows = run(with_mail)(settings, go) or []
    for r in rows:
        click.echo(f"#{r['id']:<6} {r['imported_at'][:10]}  {r['error']}")
    if not rows:
        click.echo("Every message was read without trouble.")


@mail.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--folder", help="Only this folder (default: all your mail).")
@click.pass_obj
def export_(settings: Settings, file: Path, folder: str | None) -> None:
    """Write your mail to an mbox file (raw, as it arrived; any mail program reads it)."""
    from ..mail.export import export_mbox

    async def go(c: Companion, user: str) -> int:
        with click.progressbar(length=1, label=f"Writing {file.name}", file=sys.stderr) as bar:

            def progress(done: int, total: int) -> None:
                bar.length = max(total, 1)
                bar.update(done - bar.pos)

            return await export_mbox(c.store, user, file, folder=folder, on_progress=progress)

    n = run(with_mail)(settings, go) or 0
    click.echo(f"Wrote {file}: {n:,} message(s).")
