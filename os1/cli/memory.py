"""`os1 memory`: see, search, correct and forget what she remembers; pause, rebuild, export."""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import click

from ..companion import Companion
from ..mail import learn as maillearn
from ..memory import control
from ..memory import facts as factstore
from . import Settings, cli, run, with_companion


def _line(fact: Any) -> str:
    when = f" (from {fact.valid_from[:10]})" if fact.valid_from else ""
    status = "" if fact.status == "active" else f" [{fact.status}]"
    return f"#{fact.id:<5} {fact.kind:<12} {fact.content}{when}{status}"


def _call(settings: Settings, fn: Callable[[Companion, str], Awaitable[Any]]) -> Any:
    """Run `fn` with the companion and its dense-search model (memory search uses it)."""
    return run(with_companion)(settings, fn, embedder=True)


@cli.group()
def memory() -> None:
    """What she remembers about you: every fact has its sources, and you can change any."""


@memory.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include superseded and pending facts.")
@click.pass_obj
def list_(settings: Settings, show_all: bool) -> None:
    """Every fact she holds about you."""

    async def go(c: Companion, user: str) -> list[Any]:
        return await c.memory.facts(user, include_superseded=show_all)

    items = _call(settings, go) or []
    click.echo("\n".join(_line(f) for f in items) or "Nothing remembered yet.")


@memory.command()
@click.argument("query")
@click.option("-k", default=10, show_default=True)
@click.pass_obj
def search(settings: Settings, query: str, k: int) -> None:
    """Search everything said and remembered, with where each result came from."""

    async def go(c: Companion, user: str) -> list[Any]:
        await c.memory.searcher.index(user)
        return await c.memory.searcher.search(user, query, k=k)

    for hit in _call(settings, go) or []:
        source = f"message #{hit.id}" if hit.kind == "message" else f"fact #{hit.id}"
        click.echo(f"{hit.created_at[:10]}  {source:<14} {hit.content[:120]}")


@memory.command()
@click.argument("fact_id", type=int)
@click.pass_obj
def show(settings: Settings, fact_id: int) -> None:
    """One fact: its sources, and the story of what it replaced."""

    async def go(c: Companion, user: str) -> str:
        fact = await c.store.read(lambda conn: factstore.get_fact(conn, user, fact_id))
        if fact is None:
            return f"No fact #{fact_id}."
        lines = [_line(fact), f"  confidence {fact.confidence:.2f}, recorded {fact.recorded_at}"]
        for row in await control.sources_of(c.memory, user, fact.sources):
            lines.append(f"  source: message #{row['id']} on {row['created_at'][:10]}: "
                         f"\"{row['content'][:200]}\"")  # fmt: skip
        for mail in await maillearn.mail_sources(c.store, user, fact.mail_sources):
            lines.append(f"  source: {mail.describe()} (mail #{mail.id}): "
                         f"\"{mail.passage(fact.content, 200)}\"")  # fmt: skip
        if slot := fact.slot:
            history = await c.store.read(lambda conn: factstore.slot_history(conn, user, slot))
            if len(history) > 1:
                lines.append("  story: " + factstore.story(history))
        return "\n".join(lines)

    click.echo(_call(settings, go))


@memory.command()
@click.argument("fact_id", type=int)
@click.argument("content")
@click.pass_obj
def edit(settings: Settings, fact_id: int, content: str) -> None:
    """Correct a fact: the old one is kept as superseded, the new one is marked as yours."""

    async def go(c: Companion, user: str) -> int:
        return await c.store.write(
            lambda conn: factstore.correct_fact(conn, user, fact_id, content)
        )

    click.echo(f"Now remembered as #{_call(settings, go)}: {content}")


@memory.command()
@click.argument("fact_id", type=int)
@click.pass_obj
def confirm(settings: Settings, fact_id: int) -> None:
    """Accept a pending fact (one learned from a document or mail, not from you)."""

    async def go(c: Companion, user: str) -> list[int]:
        return await c.store.write(lambda conn: factstore.confirm_fact(conn, user, fact_id))

    replaced = _call(settings, go) or []
    click.echo(
        f"Confirmed #{fact_id}"
        + (f"; it replaces #{', #'.join(map(str, replaced))}." if replaced else ".")
    )


@memory.command()
@click.argument("fact_id", type=int, required=False)
@click.option("--conversation", type=int, help="Forget a whole conversation instead.")
@click.option("--yes", is_flag=True, help="Don't ask first.")
@click.pass_obj
def forget(settings: Settings, fact_id: int | None, conversation: int | None, yes: bool) -> None:
    """Delete a fact and the messages it came from, or a whole conversation — for good."""
    if (fact_id is None) == (conversation is None):
        raise click.UsageError("name a fact ID or --conversation ID")
    if not yes and sys.stdin.isatty():
        what = f"fact #{fact_id}" if fact_id else f"conversation #{conversation}"
        click.confirm(f"Forget {what} and what was derived from it, for good?", abort=True)

    async def go(c: Companion, user: str) -> str:
        if conversation is not None:
            counts = await control.forget_conversation(c.memory, user, conversation)
            return f"Forgotten: {counts['messages']} messages, {counts['facts']} facts."
        outcome = await c.actions.request(
            user, "forget_memories", {"fact_ids": [fact_id], "what": f"fact #{fact_id}"},
            requested_by="user", approve=_yes,
        )  # fmt: skip
        return outcome.output

    click.echo(_call(settings, go))


async def _yes(proposal: Any) -> bool:
    return True  # the user typed the command (and confirmed above when at a terminal)


@memory.command()
@click.pass_obj
def pause(settings: Settings) -> None:
    """Stop learning new facts (conversations are still kept; use incognito to keep nothing)."""
    _call(settings, lambda c, u: c.memory.set_paused(u, True))
    click.echo("Memory paused: I won't learn anything new until `os1 memory resume`.")


@memory.command()
@click.pass_obj
def resume(settings: Settings) -> None:
    """Learn from conversations again."""
    _call(settings, lambda c, u: c.memory.set_paused(u, False))
    click.echo("Memory resumed.")


@memory.command()
@click.pass_obj
def rebuild(settings: Settings) -> None:
    """Derive every fact and vector again from the conversation log."""
    n = _call(settings, lambda c, u: control.rebuild(c.memory, u))
    click.echo(f"Rebuilt memory from {n} messages.")


@memory.command()
@click.pass_obj
def consolidate(settings: Settings) -> None:
    """Merge duplicates and note follow-ups now (it also runs on its own)."""
    counts = _call(settings, lambda c, u: control.consolidate(c.memory, u)) or {}
    click.echo(f"Merged {counts.get('merged', 0)}, noted {counts.get('followups', 0)} follow-ups.")


@memory.command("export")
@click.pass_obj
def export_(settings: Settings) -> None:
    """Every fact, with its sources and history, as JSON on stdout."""
    data = _call(settings, lambda c, u: control.export(c.memory, u))
    click.echo(json.dumps(data, ensure_ascii=False, indent=1))
