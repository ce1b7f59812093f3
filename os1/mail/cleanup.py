"""Bulk clean-up: propose what to archive, archive it only after a yes, put it back on undo.

A proposal keeps what matters (personal and work mail, anything important, flagged or in
a thread the user answered, everything recent, anything triage could not read) and
offers to archive old newsletters, receipts and junk: "Keep 86, archive 2,914 (…)".
Archiving is the `archive_mail` tool, DESTRUCTIVE so it always asks first; its approval
text says exactly what will move (counts, the senders it is mostly from, from where to
where), and the tool refuses to run if the mailbox no longer matches that text. It takes
message ids, or a plan reference (folder and cut-off date, recomputed when it runs), so
thousands of ids need not pass through a model. Messages move to their account's archive
folder ("archive" for mail with no account); mail from an IMAP account gets the same move
queued for the server. Undo moves back what is still where the archive put it.
"""

from __future__ import annotations

import importlib
import json
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from ..actions import Effect, Tool, ToolContext, ToolResult
from ..hookspecs import hookimpl
from ..store import Store
from .parse import now_iso
from .signals import load_history
from .store import set_folder
from .triage import IMPORTANT, triage_all

LOCAL_ARCHIVE = "archive"
KEEP = frozenset({"personal", "work"})
NAMES = {
    "newsletter": "newsletters",
    "transactional": "receipts and notices",
    "junk": "junk",
    "personal": "personal",
    "work": "work",
    None: "untriaged",
}
CHUNK = 500  # ids per SQL statement, well under SQLite's parameter limit
COLUMNS = "id, folder, account, category, importance, flags, date, thread_id, from_addr"


@dataclass(frozen=True)
class CleanupPlan:
    """What a clean-up would keep and archive, and the exact text the approval shows."""

    keep_ids: list[int]
    archive_ids: list[int]
    summary: str
    description: str
    folder: str
    before: str
    """Only mail dated before this (UTC ISO) is archived."""

    def arguments(self) -> dict[str, Any]:
        """Arguments for the `archive_mail` tool that carry out this plan."""
        return {
            "plan": {"folder": self.folder, "before": self.before},
            "description": self.description,
        }


async def _folders(store: Store, user: str) -> dict[str, str]:
    rows = await store.query(
        "SELECT name, archive_folder FROM mail_accounts WHERE user_id = ?", (user,)
    )
    return {r["name"]: r["archive_folder"] for r in rows}


def _target(row: sqlite3.Row | dict[str, Any], folders: dict[str, str]) -> str:
    return folders.get(row["account"] or "", LOCAL_ARCHIVE)


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'s' * (n != 1)}"


def _breakdown(rows: Sequence[Any]) -> str:
    by_cat: dict[Any, list[str]] = defaultdict(list)
    for r in rows:
        by_cat[r["category"]].append(r["from_addr"] or "?")
    order = ("newsletter", "transactional", "junk", "personal", "work", None)
    parts = []
    for cat in sorted(by_cat, key=order.index):
        senders = by_cat[cat]
        parts.append(f"{len(senders):,} {NAMES[cat]} from {_plural(len(set(senders)), 'sender')}")
    return ", ".join(parts)


def describe_archive(rows: Sequence[Any], folders: dict[str, str]) -> str:
    """The approval text for archiving exactly these message rows."""
    top = sorted(Counter(r["from_addr"] or "?" for r in rows).items(), key=lambda x: (-x[1], x[0]))
    sources = sorted({r["folder"] for r in rows})
    targets = sorted({_target(r, folders) for r in rows})
    return (
        f"Archive {_plural(len(rows), 'message')} ({_breakdown(rows)}), moving them from "
        f"{', '.join(sources) or '-'} to {', '.join(targets) or '-'}. Most are from: "
        + ", ".join(f"{a[:60]} ({n:,})" for a, n in top[:3])
        + ". They stay searchable, and undo moves them back."
    )


async def _plan_rows(
    store: Store, user: str, folder: str, before: str
) -> tuple[list[sqlite3.Row], list[sqlite3.Row]]:
    """(keep, archive) for `folder`, archiving only old bulk mail nobody answered."""
    history = await load_history(store, user)
    rows = await store.query(
        f"SELECT {COLUMNS} FROM mail_messages WHERE user_id = ? AND folder = ? ORDER BY id",
        (user, folder),
    )
    keep, archive = [], []
    for r in rows:
        flags = r["flags"] or ""
        if (
            r["category"] is None
            or r["category"] in KEEP
            or (r["importance"] or 0) >= IMPORTANT
            or "\\Flagged" in flags
            or "\\Answered" in flags
            or r["thread_id"] in history.answered_threads
            or r["date"] is None
            or r["date"] >= before
        ):
            keep.append(r)
        else:
            archive.append(r)
    return keep, archive


async def propose_cleanup(
    store: Store,
    user: str,
    *,
    folder: str = "INBOX",
    older_than_days: int = 30,
    now: datetime | None = None,
) -> CleanupPlan:
    """What to keep and what to archive in `folder`; nothing moves until archive_mail runs."""
    await triage_all(store, user)  # untriaged mail first, by rules only
    before = ((now or datetime.now(UTC)) - timedelta(days=older_than_days)).astimezone(UTC)
    cutoff = before.isoformat()
    keep, archive = await _plan_rows(store, user, folder, cutoff)
    summary = f"Keep {len(keep):,}, archive {len(archive):,}"
    if archive:
        summary += f" ({_breakdown(archive)})"
    description = describe_archive(archive, await _folders(store, user))
    return CleanupPlan(
        [r["id"] for r in keep], [r["id"] for r in archive], summary, description, folder, cutoff
    )


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i : i + CHUNK]


async def _rows_by_id(store: Store, user: str, ids: Sequence[int]) -> list[sqlite3.Row]:
    found = []
    for chunk in _chunks(ids):
        found += await store.query(
            f"SELECT {COLUMNS} FROM mail_messages WHERE user_id = ? "
            f"AND id IN ({','.join('?' * len(chunk))}) ORDER BY id",
            (user, *chunk),
        )
    return found


def _queue_move() -> Callable[..., Any] | None:
    """The IMAP write-back's `queue_move` (it moves locally and queues the server move)."""
    for name in ("os1.mail.imap_writeback", "os1.mail.imap"):
        try:
            fn = getattr(importlib.import_module(name), "queue_move", None)
        except ImportError:
            continue
        if callable(fn):
            return fn
    return None


def _move_here(
    c: sqlite3.Connection, *, user: str, accounts: dict[int, str | None], to: str
) -> list[int]:
    moved = set_folder(c, user, list(accounts), to)
    c.executemany(
        "INSERT INTO mail_pending (user_id, account, message_id, op, args, created_at) "
        "VALUES (?, ?, ?, 'move', ?, ?)",
        [(user, accounts[i], i, json.dumps({"to": to}), now_iso())
         for i in moved if accounts[i] is not None],
    )  # fmt: skip
    return moved


Groups = dict[tuple[str, str], list[sqlite3.Row]]
"""Message rows to move, by (from folder, to folder)."""


async def _move(store: Store, user: str, groups: Groups) -> list[dict[str, Any]]:
    """Move each group locally; mail from an IMAP account gets the move queued for the server."""
    queue = _queue_move()
    done = []
    for (source, target), rows in sorted(groups.items()):
        ids = [int(r["id"]) for r in rows]
        accounts = {int(r["id"]): r["account"] for r in rows}
        if queue is not None:
            moved = [int(i) for i in await queue(store, user, ids, target)]
        else:  # no write-back module here: queue the move in its table, in its shape
            moved = await store.write(partial(_move_here, user=user, accounts=accounts, to=target))
        imap = [i for i in moved if accounts[i] is not None]
        done.append({"from": source, "to": target, "ids": moved, "imap": imap})
    return done


async def _archive(ctx: ToolContext, args: dict[str, Any]) -> ToolResult:
    store, user = ctx.companion.store, ctx.user
    if ("message_ids" in args) == ("plan" in args):
        raise ValueError("give either message_ids or plan, not both or neither")
    folders = await _folders(store, user)
    if "plan" in args:
        _, rows = await _plan_rows(store, user, args["plan"]["folder"], args["plan"]["before"])
    else:
        ids = sorted({int(i) for i in args["message_ids"]})
        rows = await _rows_by_id(store, user, ids)
        if len(rows) != len(ids):
            raise ValueError(
                f"{len(ids) - len(rows):,} of these messages are not in your mail; nothing moved"
            )
    if describe_archive(rows, folders) != args["description"]:
        raise ValueError(
            "your mailbox changed since this was proposed, so what was approved no longer "
            "matches; nothing moved. Ask for a fresh clean-up proposal."
        )
    groups: Groups = defaultdict(list)
    for r in rows:
        groups[(r["folder"], _target(r, folders))].append(r)
    done = await _move(store, user, groups)
    moved = sum(len(g["ids"]) for g in done)
    targets = ", ".join(sorted({g["to"] for g in done})) or "the archive"
    return ToolResult(f"Archived {_plural(moved, 'message')} to {targets}.", undo={"groups": done})


async def _unarchive(ctx: ToolContext, undo: dict[str, Any]) -> str:
    store, user = ctx.companion.store, ctx.user
    back: Groups = defaultdict(list)
    for group in undo["groups"]:
        rows = await _rows_by_id(store, user, group["ids"])
        # Only what is still where the archive put it: a message moved since stays put.
        back[(group["to"], group["from"])] += [r for r in rows if r["folder"] == group["to"]]
    done = await _move(store, user, back)
    moved = sum(len(g["ids"]) for g in done)
    places = ", ".join(sorted({g["to"] for g in done})) or "where they were"
    return f"Moved {_plural(moved, 'message')} back to {places}."


def _describe(args: dict[str, Any]) -> str:
    text = str(args.get("description", ""))
    ids = args.get("message_ids")
    if isinstance(ids, list) and not text.startswith(f"Archive {_plural(len(ids), 'message')} "):
        return (
            f"Archive {_plural(len(ids), 'message')}. The description given does not match "
            "them, so this will be refused."
        )
    return text + " (Checked against your mailbox before anything moves.)"


async def _proposal_tool(ctx: ToolContext, args: dict[str, Any]) -> ToolResult:
    plan = await propose_cleanup(
        ctx.companion.store,
        ctx.user,
        folder=str(args.get("folder", "INBOX")),
        older_than_days=int(args.get("older_than_days", 30)),
    )
    if not plan.archive_ids:
        return ToolResult(f"{plan.summary}: nothing to clean up.")
    return ToolResult(
        f"{plan.summary}. To do it, call archive_mail with these arguments (the user is asked "
        f"first): {json.dumps(plan.arguments())}"
    )


ARCHIVE_TOOL = Tool(
    name="archive_mail",
    description="Archive mail (a clean-up plan from mail_cleanup_proposal, or message ids); "
    "asks the user first and can be undone.",
    effect=Effect.DESTRUCTIVE,
    run=_archive,
    undo=_unarchive,
    describe=_describe,
    parameters={
        "type": "object",
        "properties": {
            "message_ids": {"type": "array", "items": {"type": "integer", "minimum": 1}},
            "plan": {
                "type": "object",
                "properties": {"folder": {"type": "string"}, "before": {"type": "string"}},
                "required": ["folder", "before"],
                "additionalProperties": False,
            },
            "description": {"type": "string", "minLength": 1, "maxLength": 2000},
        },
        "required": ["description"],
        "additionalProperties": False,
    },
)
PROPOSAL_TOOL = Tool(
    name="mail_cleanup_proposal",
    description="Propose an inbox clean-up: which old newsletters, receipts and junk to "
    "archive and what to keep. Moves nothing.",
    effect=Effect.READ,
    run=_proposal_tool,
    parameters={
        "type": "object",
        "properties": {
            "folder": {"type": "string"},
            "older_than_days": {"type": "integer", "minimum": 0, "maximum": 36500},
        },
        "additionalProperties": False,
    },
)


@hookimpl
def register_tools(register: Callable[[Tool], None]) -> None:
    register(PROPOSAL_TOOL)
    register(ARCHIVE_TOOL)
