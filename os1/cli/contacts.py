"""`os1 contacts`: the people of your life, from vCard files, CardDAV address books and mail.

Cards that cannot be read are kept raw (`os1 contacts problems`) and the rest are
imported; the command then exits 65 so a script notices. Duplicates are only
ever proposed: `os1 contacts merge` asks y/N on the terminal, and without one
each merge waits for `os1 approve ID`.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import click

from ..actions import Proposal
from ..companion import Companion
from ..contacts import carddav, vcard
from ..contacts import people as peoplestore
from ..contacts.correspondents import people_from_mail
from ..contacts.duplicates import duplicates as merge_proposals
from ..contacts.links import describe
from ..contacts.tools import pending_merges
from . import EX_DATAERR, EX_UNAVAILABLE, Settings, cli, fail, run, with_companion
from .terminal import Terminal


def _call(settings: Settings, fn: Callable[[Companion, str], Awaitable[Any]]) -> Any:
    try:
        return run(with_companion)(settings, fn)
    except carddav.CardDAVError as e:
        fail(str(e), EX_UNAVAILABLE)


def _problem_lines(problems: list[vcard.Problem], where: str) -> None:
    if not problems:
        return
    n = len(problems)
    click.secho(
        f"{where}: {n} part{'s' * (n != 1)} could not be read; kept as they were "
        "(os1 contacts problems):",
        fg="yellow",
        err=True,
    )
    for p in problems:
        lines = [x for x in p.raw.splitlines() if x.strip()]
        telling = [x for x in lines if not x.upper().startswith(("BEGIN:", "VERSION:"))]
        first = (telling or lines or [""])[0][:60]
        click.echo(f"  {p.where}: {p.error}  [{first}]", err=True)


def _counts(changes: peoplestore.Changes) -> str:
    return f"{len(changes.added)} added, {len(changes.updated)} updated"


@cli.group()
def contacts() -> None:
    """The people of your life: from address books (vCard, CardDAV) and from mail."""


@contacts.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def import_(settings: Settings, files: tuple[Path, ...]) -> None:
    """Read people from vCard files (3.0 and 4.0); unreadable cards are kept and reported."""
    loaded: list[tuple[Path, vcard.Parsed]] = []
    for path in files:
        try:
            loaded.append((path, vcard.parse(path.read_bytes())))
        except OSError as e:
            fail(f"cannot read {path}: {e.strerror or e}", EX_DATAERR)

    async def go(c: Companion, user: str) -> int:
        bad = 0
        for path, parsed in loaded:
            source, changes = f"file:{path.resolve()}", peoplestore.Changes()

            def write(
                conn: Any,
                parsed: vcard.Parsed = parsed,
                source: str = source,
                changes: peoplestore.Changes = changes,
            ) -> None:
                items = [(card, source) for card in parsed.cards]
                peoplestore.upsert_cards(conn, user, items, changes)
                peoplestore.clear_problems(conn, user, source)
                peoplestore.keep_problems(conn, user, source, parsed.problems)

            await c.store.write(write)
            for note in parsed.notes:
                click.secho(f"{path}: note: {note}", fg="yellow", err=True)
            n = len(parsed.cards)
            click.echo(f"{path}: {n} card{'s' * (n != 1)} read: {_counts(changes)}.")
            _problem_lines(parsed.problems, str(path))
            bad += len(parsed.problems)
        return bad

    if _call(settings, go):
        sys.exit(EX_DATAERR)


@contacts.command()
@click.argument("url", required=False)
@click.option("--username", help="Login name on the CardDAV server.")
@click.option(
    "--password-command",
    help="A command that prints the password (e.g. 'pass show dav'); run without a shell.",
)
@click.pass_obj
def sync(
    settings: Settings, url: str | None, username: str | None, password_command: str | None
) -> None:
    """Sync a CardDAV address book (or, with no URL, every one synced before)."""

    async def go(c: Companion, user: str) -> int:
        urls = [url] if url else await carddav.sources(c.store, user)
        if not urls:
            fail("no address book yet: os1 contacts sync URL [--username U]", EX_DATAERR)
        password = (
            await carddav.password_from_command(password_command) if password_command else None
        )
        bad = 0
        for place in urls:
            for r in await carddav.sync(c.store, user, place, username=username, password=password):
                line = f"{r.book}: {r.listed} cards, {r.fetched} fetched: "
                line += f"{len(r.added)} added, {len(r.updated)} updated"
                if r.removed:
                    names = f" ({', '.join(r.removed_from)} kept here)" if r.removed_from else ""
                    line += f", {r.removed} removed on the server{names}"
                click.echo(line + ".")
                _problem_lines(r.problems, r.book)
                bad += len(r.problems)
        return bad

    if _call(settings, go):
        sys.exit(EX_DATAERR)


def _where_from(person: peoplestore.Person) -> str:
    kinds = {s.split(":", 1)[0] for s in person.sources}
    names = {"carddav": "address book", "file": "vCard file", "mail": "mail"}
    return ", ".join(names.get(k, k) for k in sorted(kinds)) or "no source left"


@contacts.command("list")
@click.pass_obj
def list_(settings: Settings) -> None:
    """Everyone, with their first address and where they came from."""
    everyone = _call(settings, lambda c, u: peoplestore.people(c.store, u)) or []
    for p in everyone:
        reach = (p.emails or p.phones or ("",))[0]
        click.echo(f"#{p.id:<5} {p.name:<30} {reach:<32} ({_where_from(p)})")
    if not everyone:
        click.echo("No one yet: os1 contacts import FILE.vcf, sync URL or from-mail.")


@contacts.command()
@click.argument("name_or_id")
@click.pass_obj
def show(settings: Settings, name_or_id: str) -> None:
    """One person: who they are to you (from what she remembers), and how to reach them."""

    async def go(c: Companion, user: str) -> tuple[list[peoplestore.Person], str]:
        found = await peoplestore.find(c.store, user, name_or_id)
        line = await describe(c.store, user, found[0]) if len(found) == 1 else ""
        return found, line

    found, line = _call(settings, go)
    if not found:
        fail(f"no one called {name_or_id!r} (os1 contacts list shows everyone)", 1)
    if len(found) > 1:
        click.echo("\n".join(f"#{p.id:<5} {p.name}  {' '.join(p.emails)}" for p in found))
        fail(f"{len(found)} people match {name_or_id!r}: show one by its #id", 1)
    p = found[0]
    click.echo(f"#{p.id} {line}")
    for label, values in (("email", p.emails), ("phone", p.phones)):
        for value in values:
            click.echo(f"  {label}: {value}")
    for label, value in (("org", p.org), ("note", p.note), ("uid", p.uid or "")):
        if value:
            click.echo(f"  {label}: {value}")
    click.echo(f"  from: {_where_from(p)}")


@contacts.command("from-mail")
@click.pass_obj
def from_mail(settings: Settings) -> None:
    """Add the people you write to or hear from in your mail (not lists or robots)."""

    async def go(c: Companion, user: str) -> tuple[peoplestore.Changes, int]:
        changes = peoplestore.Changes()
        await c.store.write(lambda conn: people_from_mail(conn, user, changes))
        return changes, len(merge_proposals(await peoplestore.people(c.store, user)))

    changes, duplicates = _call(settings, go)
    click.echo(f"From mail: {_counts(changes)}.")
    for name in changes.added:
        click.echo(f"  + {name}")
    if duplicates:
        click.echo(f"{duplicates} possible duplicate(s): os1 contacts merge")


def _label(p: peoplestore.Person) -> str:
    reach = ", ".join([*p.emails[:2], *p.phones[:1]])
    return f"{p.name} (#{p.id}{'; ' + reach if reach else ''}; {_where_from(p)})"


@contacts.command()
@click.argument("ids", nargs=-1, type=int)
@click.pass_obj
def merge(settings: Settings, ids: tuple[int, ...]) -> None:
    """Merge duplicates, each only with your yes: proposals, or KEEP OTHER that you name."""
    if len(ids) not in (0, 2):
        raise click.UsageError("name two people (KEEP OTHER), or none to review proposals")
    approver = Terminal(None).approver("OS1")

    async def yes(proposal: Proposal) -> bool:
        return True  # the user named exactly these two people on the command line

    async def go(c: Companion, user: str) -> bool:
        if ids:
            keep, other = [await peoplestore.get(c.store, user, i) for i in ids]
            what = f"{_label(other)} into {_label(keep)}" if keep and other else ""
            args = {"keep": ids[0], "other": ids[1], "what": what}
            outcome = await c.actions.request(
                user, "merge_people", args, requested_by="user", approve=approver or yes
            )
            click.echo(outcome.output)
            return outcome.status != "failed"
        asked = await c.store.query(
            "SELECT id, arguments, status FROM actions WHERE user_id = ? "
            "AND tool = 'merge_people' AND status IN ('proposed', 'declined')",
            (user,),
        )
        skip = pending_merges([dict(r) for r in asked])
        proposals = merge_proposals(await peoplestore.people(c.store, user), skip)
        waiting = [str(r["id"]) for r in asked if r["status"] == "proposed"]
        if not proposals:
            click.echo("No new duplicates to merge.")
            if waiting:
                click.echo(f"Waiting for your answer: {', '.join(waiting)} (os1 approve ID)")
        ok = True
        for p in proposals:
            what = f"{_label(p.other)} into {_label(p.keep)} — {p.reason}"
            args = {"keep": p.keep.id, "other": p.other.id, "what": what}
            outcome = await c.actions.request(
                user, "merge_people", args, requested_by="user", approve=approver
            )
            click.echo(outcome.output)
            ok = ok and outcome.status != "failed"
        return ok

    if not _call(settings, go):
        sys.exit(1)


@contacts.command("export")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.pass_obj
def export_(settings: Settings, file: str) -> None:
    """Write everyone as vCard 3.0 (FILE.vcf, or - for stdout)."""

    async def go(c: Companion, user: str) -> list[str]:
        return [
            vcard.to_vcard(
                p.name, p.emails, p.phones, org=p.org, note=p.note,
                uid=p.uid or str(uuid.uuid5(uuid.NAMESPACE_URL, f"os1:{user}:person:{p.id}")),
            )
            for p in await peoplestore.people(c.store, user)
        ]  # fmt: skip

    cards = _call(settings, go) or []
    text = "".join(cards)
    if file == "-":
        click.echo(text, nl=False)
        return
    tmp = Path(file + ".tmp")
    tmp.write_text(text, encoding="utf-8", newline="")
    os.replace(tmp, file)
    click.echo(f"Wrote {len(cards)} people to {file}.", err=True)


@contacts.command()
@click.argument("problem_id", type=int, required=False)
@click.pass_obj
def problems(settings: Settings, problem_id: int | None) -> None:
    """Cards that could not be read, kept as they were; with an ID, its raw text."""
    rows = _call(settings, lambda c, u: peoplestore.problems(c.store, u)) or []
    if problem_id is not None:
        row = next((r for r in rows if r["id"] == problem_id), None)
        if row is None:
            fail(f"no problem #{problem_id}", 1)
        else:
            click.echo(row["raw"], nl=False)
        return
    for r in rows:
        click.echo(f"#{r['id']:<5} {r['source']}\n       {r['error']}")
    if not rows:
        click.echo("Every card was read.")
