"""`os1 remind`, `os1 reminders`, `os1 notifications` and `os1 daemon`: time, from the terminal.

A reminder is the user's own request, so it is set at once (`os1 undo ID` takes it
back). What fires lands in the notifications inbox, which a running conversation shows
as it arrives and `os1 notifications` lists; other channels (desktop, email, ntfy) are
the user's choice in `os1 notifications settings`. `os1 daemon` keeps the scheduler
running; a second one says who holds it and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from datetime import UTC, datetime
from typing import Any

import click

from ..actions import ActionError
from ..calendar import reminder_request, spoken
from ..calendar import reminders as remindersmod
from ..calendar.tools import user_zone
from ..calendar.when import WhenError, rule_text
from ..companion import Companion
from ..daemon import AlreadyRunning, holder, run_daemon
from ..scheduler import channels as chans
from ..scheduler import settings as schedsettings
from . import EX_DATAERR, Settings, cli, fail, load, run, with_companion
from .mail import said
from .terminal import Terminal


@cli.command()
@click.argument("words", nargs=-1, required=True)
@click.pass_obj
def remind(settings: Settings, words: tuple[str, ...]) -> None:
    """Set a reminder in plain words: os1 remind me to call my sister at five tomorrow."""
    text = " ".join(words)
    if text.strip().lower() in ("me", "me to", "remind me"):
        raise click.UsageError("say what and when: os1 remind me to call Amy tomorrow at 5pm")
    lowered = text.lower()
    if lowered.startswith("me "):  # `os1 remind me to …`
        text = "remind " + text
    elif not lowered.startswith("remind"):  # `os1 remind "call Amy at 5"`
        text = (
            "remind me to " + text
            if not lowered.startswith(("to ", "about "))
            else ("remind me " + text)
        )

    async def go(c: Companion, user: str) -> Any:
        tz = await user_zone(c.store, user, c.config.timezone)
        try:
            request = reminder_request.parse_reminder(text, datetime.now(tz))
        except WhenError as e:
            request = reminder_request.ReminderError(str(e))
        if not isinstance(request, reminder_request.ReminderRequest):
            fail(
                request.message
                if request
                else "I couldn't read that as a reminder: say what "
                "and when, e.g. os1 remind me to call Amy tomorrow at 5pm",
                EX_DATAERR,
            )
            raise AssertionError  # unreachable
        args: dict[str, Any] = {"text": request.what, "due": _iso(request.when.start)}
        if rule := rule_text(request.when.rrule):
            args["rrule"] = rule
        return await c.actions.request(
            user, "add_reminder", args, requested_by="user", approve=Terminal(None).approver()
        )

    outcome = run(with_companion)(settings, go)
    assert outcome is not None
    said(outcome, "Not set.", f"(`os1 undo {outcome.action_id}` takes it back.)")


def _iso(start: Any) -> str:
    return start.isoformat()


@cli.group(invoke_without_command=True)
@click.pass_context
def reminders(ctx: click.Context) -> None:
    """Your reminders: list them (the default), or mark one done, snooze or delete it."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_reminders)


@reminders.command("list")
@click.pass_obj
def list_reminders(settings: Settings) -> None:
    """Reminders still to come, soonest first."""

    async def go(c: Companion, user: str) -> list[Any]:
        tz = await user_zone(c.store, user, c.config.timezone)
        return await remindersmod.upcoming(c.store, user, tz, now=datetime.now(tz))

    found = run(with_companion)(settings, go)
    if not found:
        click.echo("No reminders. Set one: os1 remind me to call Amy tomorrow at 5pm")
    for r in found or []:
        click.echo(spoken.format_line(r))


def _tool(settings: Settings, tool: str, args: dict[str, Any]) -> None:
    async def go(c: Companion, user: str) -> Any:
        return await c.actions.request(
            user, tool, args, requested_by="user", approve=Terminal(None).approver()
        )

    outcome = run(with_companion)(settings, go)
    assert outcome is not None
    said(outcome, "Nothing changed.")


@reminders.command("done")
@click.argument("reminder_id", type=int)
@click.pass_obj
def done(settings: Settings, reminder_id: int) -> None:
    """Mark a reminder done (a repeating one: this time only)."""
    _tool(settings, "complete_reminder", {"object_id": reminder_id})


@reminders.command("snooze")
@click.argument("reminder_id", type=int)
@click.option("--minutes", default=10, show_default=True, type=click.IntRange(1, 10080))
@click.pass_obj
def snooze(settings: Settings, reminder_id: int, minutes: int) -> None:
    """Ring again in a few minutes."""
    _tool(settings, "snooze_reminder", {"object_id": reminder_id, "minutes": minutes})


@reminders.command("delete")
@click.argument("reminder_id", type=int)
@click.pass_obj
def delete(settings: Settings, reminder_id: int) -> None:
    """Delete a reminder (and its repeats)."""

    async def go(c: Companion, user: str) -> str:
        await remindersmod.delete(c.store, user, reminder_id)
        return f"Deleted reminder #{reminder_id}."

    try:
        click.echo(run(with_companion)(settings, go))
    except ActionError as e:
        fail(str(e), 1)


@cli.group(invoke_without_command=True)
@click.option("--all", "everything", is_flag=True, help="Also those you have already seen.")
@click.pass_context
def notifications(ctx: click.Context, everything: bool) -> None:
    """What she told you on her own: reminders that rang, briefings, check-ins."""
    if ctx.invoked_subcommand is not None:
        return
    settings: Settings = ctx.obj

    async def go(c: Companion, user: str) -> list[Any]:
        sql = "SELECT * FROM notifications WHERE user_id = ?"
        if not everything:
            sql += " AND seen_at IS NULL"
        rows = await c.store.query(sql + " ORDER BY fired_at DESC, id DESC LIMIT 50", (user,))
        await chans.mark_seen(c.store, user, [r["id"] for r in rows])
        tz = await user_zone(c.store, user, c.config.timezone)
        return [(datetime.fromisoformat(r["fired_at"]).astimezone(tz), r) for r in rows[::-1]]

    rows = run(with_companion)(settings, go)
    if not rows:
        click.echo("Nothing new." if not everything else "Nothing yet.")
    for when, r in rows or []:
        body = f"\n    {r['body']}" if r["body"] else ""
        click.echo(f"{when:%a %d %b %H:%M}  {r['title']}{body}")


@notifications.command("settings")
@click.argument("pairs", nargs=-1)
@click.pass_obj
def notification_settings(settings: Settings, pairs: tuple[str, ...]) -> None:
    """Show or change: quiet_start/quiet_end (22:00), initiative (on/off), briefing_at
    (08:00 or off), checkins_per_day, channels (terminal,desktop,email,ntfy), email_to,
    ntfy_url, timezone. Example: os1 notifications settings quiet_start 23:00 initiative off"""
    if len(pairs) % 2:
        raise click.UsageError("give settings as NAME VALUE pairs")
    changes = dict(zip(pairs[::2], pairs[1::2], strict=True))
    known = set(chans.available_channels())

    async def go(c: Companion, user: str) -> schedsettings.SchedulerSettings:
        def write(conn: Any) -> schedsettings.SchedulerSettings:
            if not changes:
                return schedsettings.load(conn, user)
            return schedsettings.change(conn, user, **changes)

        found = await c.store.write(write)
        unknown = set(found.channels) - known
        if unknown:
            raise schedsettings.SettingsError(
                f"no channel called {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}"
            )
        return found

    try:
        found = run(with_companion)(settings, go)
    except schedsettings.SettingsError as e:
        fail(str(e), EX_DATAERR)
        return
    assert found is not None
    config = load(settings)
    for key, value in found.to_dict().items():
        shown = ",".join(value) if isinstance(value, list) else value
        if key == "timezone" and shown is None:
            shown = f"(not set: {config.timezone}, from `os1 config`)"
        click.echo(f"{key} = {shown if shown is not None else '(not set)'}")


@cli.command()
@click.option("--status", is_flag=True, help="Only say whether a daemon runs for this home.")
@click.pass_obj
def daemon(settings: Settings, status: bool) -> None:
    """Run the scheduler (reminders, briefing, check-ins) and mail and calendar sync.

    Safe to start twice: the second says which one runs, and exits."""
    config = load(settings)
    if status:
        who = holder(config.home)
        click.echo(f"Running: {who}." if who else "Not running.")
        return

    def log(message: str) -> None:
        click.echo(f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} {message}", err=True)

    async def go() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        await run_daemon(config, stop, log)

    try:
        run(go)()
    except AlreadyRunning as e:
        fail(f"{e}; not starting another.", 1)
