"""Contacts' tools: find a person (a read), and merge two people (destructive: asks first).

A merge folds one person into another and marks the first `merged_into`; the
undo data holds both rows as they were, so `os1 undo` gives the user both
people back. Merging is only ever proposed by OS1 — the user says yes.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import asdict, replace
from typing import Any

from ..actions import Effect, Tool, ToolContext, ToolResult
from ..hookspecs import hookimpl
from . import people as peoplestore
from .links import describe
from .people import Person


class MergeError(ValueError):
    """Two people cannot be merged; the message says why."""


def _union(*lists: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(x for items in lists for x in items))


def merge(c: sqlite3.Connection, user: str, keep_id: int, other_id: int) -> dict[str, Any]:
    """Fold `other` into `keep` in one transaction; returns what is needed to undo it."""
    keep, other = peoplestore.load(c, user, keep_id), peoplestore.load(c, user, other_id)
    if keep is None or other is None:
        raise MergeError(f"no person #{keep_id if keep is None else other_id}")
    if keep_id == other_id:
        raise MergeError("a person cannot be merged with themselves")
    for p in (keep, other):
        if p.merged_into is not None:
            raise MergeError(f"#{p.id} {p.name} was already merged into #{p.merged_into}")
    undo = {
        "keep": asdict(keep),
        "other": asdict(other),
        "emails": [list(r) for r in c.execute(
            "SELECT email, person_id FROM people_emails WHERE user_id = ? AND person_id IN (?, ?)",
            (user, keep_id, other_id),
        )],
        "letters": [r[0] for r in c.execute(
            "SELECT id FROM letters WHERE user_id = ? AND person_id = ?", (user, other_id)
        )],
    }  # fmt: skip
    notes = [n for n in dict.fromkeys((keep.note, other.note)) if n]
    merged = replace(
        keep,
        emails=_union(keep.emails, other.emails),
        phones=_union(keep.phones, other.phones),
        org=keep.org or other.org,
        note="\n\n".join(notes),
        relation=keep.relation or other.relation,
        sources=_union(keep.sources, other.sources),
        uid=keep.uid or other.uid,
        vcard=keep.vcard or other.vcard,
    )
    c.execute(
        "UPDATE people_emails SET person_id = ? WHERE user_id = ? AND person_id = ?",
        (keep_id, user, other_id),
    )
    peoplestore.save(c, user, merged)
    peoplestore.save(c, user, replace(other, merged_into=keep_id))
    c.execute(
        "UPDATE letters SET person_id = ? WHERE user_id = ? AND person_id = ?",
        (keep_id, user, other_id),
    )
    return undo


def unmerge(c: sqlite3.Connection, user: str, undo: dict[str, Any]) -> tuple[Person, Person]:
    """Give back both people as they were before the merge (keeping what arrived since)."""
    was_keep, was_other = (_person(undo[k]) for k in ("keep", "other"))
    now = peoplestore.load(c, user, was_keep.id)
    if now is None:
        raise MergeError(f"#{was_keep.id} no longer exists")
    if now.merged_into is not None:
        raise MergeError(
            f"{now.name} (#{now.id}) was merged into #{now.merged_into} since: undo that first"
        )
    # What reached the kept person after the merge (a later sync) and wasn't the other's stays.
    extra = {
        field: tuple(
            x for x in getattr(now, field)
            if x not in getattr(was_other, field) and x not in getattr(was_keep, field)
        )
        for field in ("emails", "phones", "sources")
    }  # fmt: skip
    keep = replace(
        was_keep,
        emails=was_keep.emails + extra["emails"],
        phones=was_keep.phones + extra["phones"],
        sources=was_keep.sources + extra["sources"],
    )
    c.execute(
        "DELETE FROM people_emails WHERE user_id = ? AND person_id IN (?, ?)",
        (user, keep.id, was_other.id),
    )
    c.executemany(
        "INSERT OR REPLACE INTO people_emails (user_id, email, person_id) VALUES (?, ?, ?)",
        [(user, email, pid) for email, pid in undo["emails"]],
    )
    peoplestore.save(c, user, keep)
    peoplestore.save(c, user, was_other)
    c.executemany(
        "UPDATE letters SET person_id = ? WHERE user_id = ? AND id = ?",
        [(was_other.id, user, letter) for letter in undo["letters"]],
    )
    return keep, was_other


def _person(data: dict[str, Any]) -> Person:
    lists = ("emails", "phones", "sources")
    fields: dict[str, Any] = {k: tuple(v) if k in lists else v for k, v in data.items()}
    return Person(**fields)


async def _merge(ctx: ToolContext, args: dict[str, Any]) -> ToolResult:
    keep, other = int(args["keep"]), int(args["other"])
    undo = await ctx.companion.store.write(lambda c: merge(c, ctx.user, keep, other))
    return ToolResult(
        f"Merged {undo['other']['name']} (#{other}) into {undo['keep']['name']} (#{keep}).",
        undo=undo,
    )


async def _unmerge(ctx: ToolContext, undo: dict[str, Any]) -> str:
    keep, other = await ctx.companion.store.write(lambda c: unmerge(c, ctx.user, undo))
    return f"Undone: {keep.name} (#{keep.id}) and {other.name} (#{other.id}) are two people again."


async def _find(ctx: ToolContext, args: dict[str, Any]) -> ToolResult:
    store, user = ctx.companion.store, ctx.user
    found = await peoplestore.find(store, user, str(args["name"]))
    if not found:
        return ToolResult(f"No one called {args['name']!r} among the user's contacts.")
    lines = []
    for person in found[:5]:
        line = await describe(store, user, person)
        reach = ", ".join([*person.emails, *person.phones])
        lines.append(f"#{person.id} {line}" + (f" ({reach})" if reach else ""))
    more = f"\n…and {len(found) - 5} more" if len(found) > 5 else ""
    return ToolResult("\n".join(lines) + more)


MERGE = Tool(
    name="merge_people",
    description="Merge two entries for the same person into one (the user is asked first).",
    effect=Effect.DESTRUCTIVE,
    run=_merge,
    undo=_unmerge,
    parameters={
        "type": "object",
        "properties": {
            "keep": {"type": "integer"},
            "other": {"type": "integer"},
            "what": {"type": "string"},
        },
        "required": ["keep", "other"],
    },
    describe=lambda a: (
        f"Merge person #{a['other']} into #{a['keep']}"
        + (f": {a['what']}" if a.get("what") else "")
        + " (os1 undo gives both back)"
    ),
)
FIND = Tool(
    name="find_person",
    description="Look up someone in the user's contacts: who they are to the user, and "
    "their addresses and numbers.",
    effect=Effect.READ,
    run=_find,
    parameters={
        "type": "object",
        "properties": {"name": {"type": "string", "description": "a name or email address"}},
        "required": ["name"],
    },
)
TOOLS = (MERGE, FIND)


def pending_merges(rows: list[dict[str, Any]]) -> set[frozenset[int]]:
    """Pairs already asked about (waiting or declined), from action-log rows."""
    pairs = set()
    for row in rows:
        args = json.loads(row["arguments"] or "{}")
        if "keep" in args and "other" in args:
            pairs.add(frozenset((int(args["keep"]), int(args["other"]))))
    return pairs


@hookimpl
def register_tools(register: Callable[[Tool], None]) -> None:
    for tool in TOOLS:
        register(tool)
