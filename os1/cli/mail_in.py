"""`os1 mail sync|triage|important|cleanup`: bring mail in, sort it, propose a clean-up.

The clean-up moves nothing by itself: it becomes an `archive_mail` action that asks on
the terminal, or waits for `os1 approve ID`, and `os1 undo ID` moves it all back.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from ..actions import Outcome
from ..companion import Companion
from ..mail import accounts as mailaccounts
from ..mail import cleanup as mailcleanup
from ..mail import triage as mailtriage
from ..mail.imap import SyncReport, sync_account
from ..mail.imap_session import ImapError
from ..mail.imap_watch import watch
from . import EX_CONFIG, EX_UNAVAILABLE, Settings, fail, run
from .mail import learned, mail, said, with_mail
from .terminal import Terminal


def _report(report: SyncReport) -> str:
    parts = [f"{report.account}: {report.new:,} new", f"{report.flag_updates:,} flag changes"]
    if report.removed:
        parts.append(f"{report.removed:,} gone from the server (kept here)")
    if report.written_back:
        parts.append(f"{report.written_back:,} of your changes written back")
    if report.uploaded:
        parts.append(f"{report.uploaded:,} sent message(s) copied to the server's Sent folder")
    return ", ".join(parts) + "."


@mail.command()
@click.option("--account", "name", help="Which account (default: all).")
@click.option("--watch", "keep_watching", is_flag=True, help="Keep syncing as mail arrives.")
@click.option(
    "--interval",
    default=300,
    show_default=True,
    type=click.IntRange(1),
    help="Seconds between polls.",
)
@click.pass_obj
def sync(settings: Settings, name: str | None, keep_watching: bool, interval: int) -> None:
    """Two-way IMAP sync: new mail in, your flags and moves back to the server."""

    async def go(c: Companion, user: str) -> None:
        chosen = (
            [await mailaccounts.get_account(c.store, user, name)]
            if name
            else await mailaccounts.accounts(c.store, user)
        )
        chosen = [a for a in chosen if a.imap_host]
        if not chosen:
            fail("no account with an IMAP server: `os1 mail account add … --imap-host`", EX_CONFIG)
        me = frozenset(await mailaccounts.my_addresses(c.store, user))
        try:
            for account in chosen:
                report = await sync_account(c.store, user, account, me=me)
                click.echo(_report(report))
                for error in report.errors:
                    click.secho(f"  {error}", fg="yellow")
            await learned(c, user)
            if keep_watching:
                click.echo("Watching for new mail (Ctrl-C to stop)…", err=True)
                stop = asyncio.Event()
                await asyncio.gather(
                    *(
                        watch(
                            c.store, user, a, me=me, interval=interval, stop=stop,
                            on_report=lambda r: click.echo(_report(r)) if r.new else None,
                            on_error=lambda e: click.secho(f"sync: {e}", fg="yellow", err=True),
                        )
                        for a in chosen
                    )
                )  # fmt: skip
        except ImapError as e:
            fail(str(e), EX_UNAVAILABLE)

    run(with_mail)(settings, go)


@mail.command()
@click.option("--again", is_flag=True, help="Triage every message again, not just new ones.")
@click.option("--use-model/--rules-only", default=True, help="Let a capable model refine.")
@click.pass_obj
def triage(settings: Settings, again: bool, use_model: bool) -> None:
    """Sort mail into personal, work, transactional, newsletter and junk, with importance."""

    async def go(c: Companion, user: str) -> dict[str, int]:
        with click.progressbar(length=1, label="Triage", file=sys.stderr) as bar:

            def progress(done: int, total: int) -> None:
                bar.length = max(total, 1)
                bar.update(done - bar.pos)

            return await mailtriage.triage_all(
                c.store, user, model=c.model if use_model else None, only_new=not again,
                on_progress=progress,
            )  # fmt: skip

    counts = run(with_mail)(settings, go) or {}
    total = counts.pop("total", 0)
    by_model = counts.pop("by_model", 0)
    shown = ", ".join(f"{n:,} {cat}" for cat, n in sorted(counts.items(), key=lambda kv: -kv[1]))
    click.echo(f"Triaged {total:,} message(s){': ' + shown if shown else ''}.")
    if by_model:
        click.echo(f"({by_model:,} uncertain ones were checked by the model.)")


@mail.command()
@click.option("--days", default=1, show_default=True, type=click.IntRange(0), help="How far back.")
@click.option("-n", "limit", default=10, show_default=True, type=click.IntRange(1))
@click.pass_obj
def important(settings: Settings, days: int, limit: int) -> None:
    """What matters in your recent mail, and why."""

    async def go(c: Companion, user: str) -> list[Any]:
        await mailtriage.triage_all(c.store, user)
        since = datetime.now(UTC) - timedelta(days=days)
        return await mailtriage.important(c.store, user, since, limit)

    rows = run(with_mail)(settings, go) or []
    for r in rows:
        who = r["from_name"] or r["from_addr"]
        click.echo(f"#{r['id']:<6} {who[:24]:<24} {r['subject'][:50]:<50} {r['reason']}")
    if not rows:
        click.echo(f"Nothing important in the last {days} day(s).")


@mail.command()
@click.option("--folder", default="INBOX", show_default=True)
@click.option(
    "--older-than", "days", default=30, show_default=True, type=click.IntRange(0),
    help="Only mail at least this many days old.",
)  # fmt: skip
@click.pass_obj
def cleanup(settings: Settings, folder: str, days: int) -> None:
    """Propose archiving old newsletters, receipts and junk; nothing moves without a yes."""

    async def go(c: Companion, user: str) -> Outcome | None:
        plan = await mailcleanup.propose_cleanup(c.store, user, folder=folder, older_than_days=days)
        click.echo(plan.summary + ".")
        if not plan.archive_ids:
            click.echo("Nothing to archive.")
            return None
        outcome: Outcome = await c.actions.request(
            user, "archive_mail", plan.arguments(), requested_by="user",
            approve=Terminal(None).approver("OS1"),
        )  # fmt: skip
        return outcome

    outcome = run(with_mail)(settings, go)
    if outcome is not None:
        said(
            outcome,
            "All right, nothing moved.",
            f"Undo with `os1 undo {outcome.action_id}`. IMAP mail moves on the server at the "
            "next `os1 mail sync`.",
        )
