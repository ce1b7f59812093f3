"""Memory's tools: forgetting (destructive, asks first, leaves no trace) and correcting.

They arrive through the same plugin hook as every other tool, so the consent rules
and the action log apply to memory exactly as to sending mail.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ..actions import Effect, Tool, ToolContext, ToolResult
from ..hookspecs import hookimpl
from ..mail.learn import forget_from_mail
from . import control
from . import facts as factstore
from .control import delete_messages
from .extract import extract_rules


async def _forget(ctx: ToolContext, args: dict[str, Any]) -> ToolResult:
    user, fact_ids = ctx.user, [int(i) for i in args.get("fact_ids", [])]

    def write(c: sqlite3.Connection) -> dict[str, int]:
        message_ids = {int(i) for i in args.get("message_ids", [])}
        # Her question quoting a message to forget (a spoken "Shall I go ahead?" is stored
        # with the conversation) goes with it.
        quoted = [
            f'"{control.quoted(row[0])}"'
            for i in sorted(message_ids)
            if (row := c.execute(
                "SELECT content FROM messages WHERE user_id = ? AND id = ?", (user, i)
            ).fetchone())
        ]  # fmt: skip
        mails = 0
        for fact_id in fact_ids:
            fact = factstore.get_fact(c, user, fact_id)
            if fact is not None:
                # Its sources go too: otherwise rebuilding memory would learn it again.
                message_ids.update(fact.sources)
                quoted.append(fact.content)
                # Mail is the user's own and stays; it is marked never to teach this again.
                forget_from_mail(c, user, fact)
                mails += len(fact.mail_sources)
                factstore.forget_fact(c, user, fact_id)
        return {**delete_messages(c, user, sorted(message_ids), quoting=quoted), "mails": mails}

    counts = await ctx.companion.store.write(write)
    ctx.companion.memory.searcher.forget_cache(user)
    n = len(fact_ids) + counts["facts"]
    kept = " Your email stays; I won't learn that from it again." if counts["mails"] else ""
    return ToolResult(
        f"Forgotten: {n} fact{'s' * (n != 1)} and {counts['messages']} "
        f"message{'s' * (counts['messages'] != 1)}. They're deleted, not hidden.{kept}"
    )


async def _correct(ctx: ToolContext, args: dict[str, Any]) -> ToolResult:
    user, statement = ctx.user, args["statement"]
    name = await ctx.companion.memory._name(user)
    now = datetime.now(UTC)
    found = extract_rules(statement, said_at=now, name=name)
    if not found:
        raise ValueError(
            'I couldn\'t tell which fact that changes; `os1 memory edit ID "…"` fixes one exactly'
        )
    sources = [int(args["message_id"])] if args.get("message_id") else []

    def write(c: sqlite3.Connection) -> dict[str, list[int]]:
        added, superseded = [], []
        for fact in found:
            stated = factstore.Fact(
                kind=fact.kind, slot=fact.slot, content=fact.content, confidence=1.0,
                importance=max(fact.importance, 0.7), valid_from=fact.valid_from,
                valid_until=fact.valid_until,
            )  # fmt: skip
            result = factstore.add_fact(
                c, user, stated, sources=sources, recorded_at=now.isoformat(), origin="user",
                extractor="correction",
            )  # fmt: skip
            added.append(result.id)
            superseded += result.superseded
        return {"added": added, "superseded": superseded}

    changed = await ctx.companion.store.write(write)
    ctx.companion.memory.searcher.forget_cache(user)
    text = " ".join(f.content for f in found)
    return ToolResult(f"Thanks — corrected. I now remember: {text}", undo=changed)


async def _undo_correct(ctx: ToolContext, undo: dict[str, Any]) -> str:
    user = ctx.user

    def write(c: sqlite3.Connection) -> None:
        for fact_id in undo["added"]:
            factstore.forget_fact(c, user, fact_id)
        for fact_id in undo["superseded"]:
            c.execute(
                "UPDATE memories SET status = 'active', valid_until = NULL, superseded_by = NULL "
                "WHERE user_id = ? AND id = ?",
                (user, fact_id),
            )

    await ctx.companion.store.write(write)
    ctx.companion.memory.searcher.forget_cache(user)
    return "Undone: I remember it the way I did before your correction."


FORGET = Tool(
    name="forget_memories",
    description=(
        "Delete remembered facts and the messages they came from, for good "
        "(email a fact was learned from is kept, and not learned from again)."
    ),
    effect=Effect.DESTRUCTIVE,
    run=_forget,
    parameters={
        "type": "object",
        "properties": {
            "fact_ids": {"type": "array", "items": {"type": "integer"}},
            "message_ids": {"type": "array", "items": {"type": "integer"}},
            "what": {"type": "string"},
        },
        "required": ["what"],
    },
    describe=lambda a: f"Forget for good: {a['what']} (this cannot be undone).",
    private=True,
)
CORRECT = Tool(
    name="correct_memory",
    description="Replace a remembered fact with what the user says is true.",
    effect=Effect.LOCAL_WRITE,
    run=_correct,
    undo=_undo_correct,
    parameters={
        "type": "object",
        "properties": {"statement": {"type": "string"}, "message_id": {"type": "integer"}},
        "required": ["statement"],
    },
    describe=lambda a: f"Correct my memory: {a['statement']}",
)


@hookimpl
def register_tools(register: Callable[[Tool], None]) -> None:
    register(FORGET)
    register(CORRECT)
