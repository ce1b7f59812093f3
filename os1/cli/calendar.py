"""`os1 calendar …` and `os1 agenda`: your calendars in the terminal.

Import and export iCalendar files, sync with CalDAV servers, and see the agenda.
Adding, moving and deleting events go through the action log: the terminal asks
y/N, and without a terminal each waits for `os1 approve ID` (`os1 undo ID` takes
it back). Anything in a file that cannot be read is kept (`os1 calendar problems`)
and the command exits 65 so a script notices.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from ..calendar import accounts, agenda, caldav, importer, invitations
from ..calendar import store as calstore
from ..calendar.tools import user_zone
from ..calendar.when import parse_when
from ..companion import Companion
from . import EX_DATAERR, EX_UNAVAILABLE, Settings, cli, fail, run, with_companion
from .mail import said
from .terminal import Terminal


def _call(settings: Settings, fn: Callable[[Companion, str], Awaitable[Any]]) -> Any:
    try:
        return run(with_companion)(settings, fn)
    except caldav.CalDAVError as e:
        fail(str(e), EX_UNAVAILABLE)


async def _zone(c: Companion, user: str) -> Any:
    return await user_zone(c.store, user, c.config.timezone)


def moment(text: str, now: datetime) -> str:
    """An ISO date/time from words ("friday at 3pm") or ISO text; a clear error otherwise."""
    text = text.strip()
    try:
        datetime.fromisoformat(text)
        return text
    except ValueError:
        pass
    found = parse_when(text, now)
    if found is None:
        raise click.BadParameter(f"I can't tell when {text!r} is (try 'friday at 3pm' or ISO)")
    if found.rrule:
        raise click.BadParameter("use --repeat for repeating events")
    return found.start.isoformat()


@cli.group()
def calendar() -> None:
    """Your calendars: import/export .ics, CalDAV sync, events (asks before changing)."""


@calendar.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--calendar", "name", help="Which calendar to put them in (default: the file's).")
@click.pass_obj
def import_(settings: Settings, paths: tuple[Path, ...], name: str | None) -> None:
    """Read events and to-dos from .ics files or folders of them (again: only what changed)."""

    async def go(c: Companion, user: str) -> int:
        tz = await _zone(c, user)
        bad = 0
        for path in paths:
            report = await importer.import_path(c.store, user, path, calendar=name, tz=tz)
            click.echo(report.summary())
            for p in report.problems[:20]:
                click.secho(f"  {p.source}: {p.error}", fg="yellow", err=True)
            bad += len(report.problems)
        if bad:
            click.secho(
                f"{bad} part(s) could not be read; kept as they were (os1 calendar problems).",
                fg="yellow",
                err=True,
            )
        return bad

    if _call(settings, go):
        raise SystemExit(EX_DATAERR)


@calendar.command("export")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--calendar", "name", help="Only this calendar (default: all).")
@click.pass_obj
def export(settings: Settings, path: Path, name: str | None) -> None:
    """Write events and to-dos to one .ics file (any calendar program reads it)."""

    async def go(c: Companion, user: str) -> int:
        return await importer.export_ics(c.store, user, path, calendar=name)

    count = _call(settings, go)
    click.echo(f"Wrote {count} event(s) and to-do(s) to {path}.")


@calendar.command("list")
@click.pass_obj
def list_(settings: Settings) -> None:
    """Your calendars, where they sync to, and how many entries each holds."""

    async def go(c: Companion, user: str) -> list[Any]:
        return await c.store.read(lambda conn: calstore.calendars(conn, user))

    rows = _call(settings, go)
    if not rows:
        click.echo(
            "No calendars yet: `os1 calendar import FILE.ics` or `os1 calendar account add URL`."
        )
    for r in rows:
        where = r["url"] or "on this computer"
        synced = f", synced {r['synced_at'][:16].replace('T', ' ')}" if r["synced_at"] else ""
        ro = ", read-only" if r["read_only"] else ""
        click.echo(f"{r['name']}: {r['objects']} entries ({where}{synced}{ro})")


@calendar.group()
def account() -> None:
    """CalDAV servers your calendars sync with."""


@account.command("add")
@click.argument("url")
@click.option("--username", help="Login name (or put it in the URL: https://me@host/…).")
@click.option("--password-command", help="A command that prints the password (`pass show dav`).")
@click.pass_obj
def account_add(
    settings: Settings, url: str, username: str | None, password_command: str | None
) -> None:
    """Find the calendars behind URL and sync them from now on (the password is never stored)."""

    async def go(c: Companion, user: str) -> list[Any]:
        rows = await accounts.add_account(
            c.store, user, url, username=username, password_command=password_command
        )
        tz = await _zone(c, user)
        for row in rows:
            report = await caldav.sync(c.store, user, row["id"], tz=tz)
            click.echo(report.summary())
        return rows

    rows = _call(settings, go)
    click.echo(f"{len(rows)} calendar(s) will sync: `os1 calendar sync` (or `os1 daemon`).")


@calendar.command("sync")
@click.pass_obj
def sync(settings: Settings) -> None:
    """Two-way sync with your CalDAV servers: their changes in, yours out."""

    async def go(c: Companion, user: str) -> None:
        tz = await _zone(c, user)
        reports = await caldav.sync_all(c.store, user, tz=tz)
        if not reports:
            fail("no calendar syncs with a server: `os1 calendar account add URL`", 1)
        for report in reports:
            click.echo(report.summary())

    _call(settings, go)


@calendar.command("problems")
@click.pass_obj
def problems(settings: Settings) -> None:
    """What could not be read from files, servers or mail: kept whole, with the reason."""

    async def go(c: Companion, user: str) -> list[Any]:
        return await importer.problems(c.store, user)

    rows = _call(settings, go)
    if not rows:
        click.echo("Nothing: every calendar entry could be read.")
    for r in rows:
        first = next((x for x in r["raw"].splitlines() if x.upper().startswith("SUMMARY")), "")
        click.echo(f"#{r['id']} {r['source']}: {r['error']}  {first[:60]}")


@calendar.command("invitations")
@click.pass_obj
def invitations_cmd(settings: Settings) -> None:
    """Look through your mail for invitations; each becomes a proposal you can accept."""

    async def go(c: Companion, user: str) -> list[Any]:
        return await invitations.scan(c, user)

    found = _call(settings, go)
    if not found:
        click.echo("No new invitations in your mail.")
    for inv in found:
        click.echo(
            f"“{inv.summary}” (mail #{inv.mail_id}): accept with `os1 approve {inv.action_id}`"
        )


def _request(settings: Settings, tool: str, args: dict[str, Any], declined: str) -> None:
    async def go(c: Companion, user: str) -> Any:
        if tool == "add_event":
            args.setdefault("timezone", str(await _zone(c, user)))
        return await c.actions.request(
            user, tool, args, requested_by="user", approve=Terminal(None).approver()
        )

    said(_call(settings, go), declined)


@calendar.command("add")
@click.argument("summary")
@click.option(
    "--at", "at", required=True, help="When: 'friday at 3pm', '2026-12-03T10:30', a date."
)
@click.option("--end", help="When it ends (default: an hour later; all day for a date).")
@click.option("--location", default="")
@click.option("--repeat", help="An RFC 5545 rule, e.g. FREQ=WEEKLY;BYDAY=MO.")
@click.option("--calendar", "name", help="Which calendar (default: the synced one, else Personal).")
@click.pass_obj
def add(
    settings: Settings,
    summary: str,
    at: str,
    end: str | None,
    location: str,
    repeat: str | None,
    name: str | None,
) -> None:
    """Add an event (asks first)."""
    config = settings.config
    from zoneinfo import ZoneInfo

    now = datetime.now(ZoneInfo(config.timezone))
    args: dict[str, Any] = {"summary": summary, "start": moment(at, now), "location": location}
    if end:
        args["end"] = moment(end, now)
    if repeat:
        args["rrule"] = repeat
    if name:
        args["calendar"] = name
    _request(settings, "add_event", args, "All right, nothing was added.")


@calendar.command("move")
@click.argument("event_id", type=int)
@click.option("--to", "to", required=True, help="The new start: 'friday at 3pm' or ISO.")
@click.pass_obj
def move(settings: Settings, event_id: int, to: str) -> None:
    """Move an event to another time (asks first; `os1 undo` moves it back)."""
    from zoneinfo import ZoneInfo

    now = datetime.now(ZoneInfo(settings.config.timezone))
    _request(
        settings, "move_event", {"object_id": event_id, "start": moment(to, now)}, "Not moved."
    )


@calendar.command("delete")
@click.argument("event_id", type=int)
@click.pass_obj
def delete(settings: Settings, event_id: int) -> None:
    """Delete an event (asks first; `os1 undo` brings it back)."""
    _request(settings, "delete_event", {"object_id": event_id}, "Not deleted.")


@cli.command("agenda")
@click.argument("when", required=False)
@click.option("--days", type=click.IntRange(1, 366), help="How many days (default 7; 1 for a day).")
@click.pass_obj
def agenda_cmd(settings: Settings, when: str | None, days: int | None) -> None:
    """What's on: the next seven days, or a day ("thursday", "tomorrow", 2026-12-03)."""

    async def go(c: Companion, user: str) -> str:
        tz = await _zone(c, user)
        now = datetime.now(tz)
        first, count = now.date(), days or 7
        if when:
            try:
                first = date.fromisoformat(when)
            except ValueError:
                found = parse_when(when, now)
                if found is None:
                    fail(f"I can't tell which day {when!r} is", EX_DATAERR)
                    raise AssertionError from None  # unreachable
                first = found.start if not isinstance(found.start, datetime) else found.start.date()
            count = days or 1
        last = first + timedelta(days=count - 1)
        start, _ = agenda.day_bounds(first, tz)
        _, end = agenda.day_bounds(last, tz)
        items = await agenda.items(c.store, user, start, end, tz)
        text = agenda.describe(items, first, last, tz, now.date())
        return text or "Nothing on your calendar then."

    click.echo(_call(settings, go))
