"""The fact store: typed, timed facts about a user, with provenance, superseded and never lost.

Sync functions over a `sqlite3.Connection`, so callers run them inside `store.write` or
`store.read` (one transaction each). Every query is filtered by user: one user can never
read or change another's facts. A newer value for the same slot closes the old fact's
validity and links it (`superseded_by`) instead of replacing it, so she can answer with
the current value and still tell the story. Only the user's "forget" deletes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime

from .factbase import (
    DATED_KINDS,
    KINDS,
    ORIGINS,
    AddResult,
    Fact,
    FactNotFound,
    StoredFact,
    equivalent,
    facts,
    get_fact,
    in_slot,
    iso,
    moment,
    normalise_slot,
    slot_history,
    story,
)

__all__ = [
    "KINDS",
    "ORIGINS",
    "AddResult",
    "Fact",
    "FactNotFound",
    "StoredFact",
    "add_fact",
    "confirm_fact",
    "correct_fact",
    "equivalent",
    "facts",
    "forget_fact",
    "forget_messages",
    "get_fact",
    "iso",
    "normalise_slot",
    "slot_history",
    "story",
]


def _check_sources(conn: sqlite3.Connection, user: str, sources: Iterable[int]) -> list[int]:
    ids = sorted(set(sources))
    for message_id in ids:
        row = conn.execute(
            "SELECT 1 FROM messages WHERE id = ? AND user_id = ?", (message_id, user)
        ).fetchone()
        if row is None:
            raise ValueError(f"message {message_id} is not one of {user}'s messages")
    return ids


def _link(conn: sqlite3.Connection, user: str, fact_id: int, sources: Iterable[int]) -> None:
    conn.executemany(
        "INSERT OR IGNORE INTO memory_sources (memory_id, message_id, user_id) VALUES (?, ?, ?)",
        [(fact_id, m, user) for m in sources],
    )


def _rivals(conn: sqlite3.Connection, user: str, fact: StoredFact) -> list[StoredFact]:
    """Active facts the new one replaces: the same slot (or its opposite preference)."""
    if fact.slot is None:
        return []
    slots = [fact.slot]
    if fact.kind == "preference" and ":" in fact.slot:
        head, _, what = fact.slot.partition(":")
        opposite = {"likes": "dislikes", "dislikes": "likes"}.get(head)
        slots += [f"{opposite}:{what}"] if opposite else []
    found = []
    for slot in slots:
        for other in in_slot(conn, user, slot, ("active",)):
            if other.id == fact.id:
                continue
            if fact.kind in DATED_KINDS and other.valid_from and fact.valid_from:
                if moment(other.valid_from) != moment(fact.valid_from):
                    continue  # it happened again: both occurrences stand
            found.append(other)
    return found


def _supersede(
    conn: sqlite3.Connection, user: str, new: StoredFact, *, in_said_order: bool = False
) -> list[int]:
    """Close the validity of what `new` replaces and link it; returns the ids superseded.

    With `in_said_order`, a fact said before its rival (an old sent mail learned after a
    newer conversation) is history too, whatever order they were stored in.
    """
    closed = []
    for old in _rivals(conn, user, new):
        said_before = in_said_order and moment(new.recorded_at) < moment(old.recorded_at)
        if said_before or (
            old.valid_from and new.valid_from and moment(new.valid_from) < moment(old.valid_from)
        ):
            # Told late about an older state ("I lived in Boston in 2019"): it is history.
            end = new.valid_until or old.valid_from or old.recorded_at
            if new.valid_from and moment(end) < moment(new.valid_from):
                end = new.valid_from  # contradicted from before it began: it never held
            conn.execute(
                "UPDATE memories SET status = 'superseded', superseded_by = ?, valid_until = ? "
                "WHERE id = ? AND user_id = ?",
                (old.id, end, new.id, user),
            )
            continue
        end = new.valid_from or new.recorded_at
        if old.valid_until is not None and moment(old.valid_until) < moment(end):
            end = old.valid_until
        conn.execute(
            "UPDATE memories SET status = 'superseded', superseded_by = ?, valid_until = ? "
            "WHERE id = ? AND user_id = ?",
            (new.id, end, old.id, user),
        )
        closed.append(old.id)
    return closed


def _reinforce(conn: sqlite3.Connection, user: str, old: StoredFact, fact: Fact) -> None:
    # Heard again: more certain (noisy-or of the two), never less important.
    confidence = 1 - (1 - old.confidence) * (1 - max(0.0, min(fact.confidence, 1.0)))
    conn.execute(
        "UPDATE memories SET confidence = ?, importance = MAX(importance, ?), "
        "valid_from = COALESCE(valid_from, ?) WHERE id = ? AND user_id = ?",
        (confidence, fact.importance, fact.valid_from, old.id, user),
    )


def add_fact(
    conn: sqlite3.Connection,
    user: str,
    fact: Fact,
    *,
    sources: Iterable[int],
    recorded_at: datetime | str,
    origin: str = "conversation",
    extractor: str | None,
    status: str = "active",
) -> AddResult:
    """Store a fact: supersede the slot's old value, or reinforce the same fact said again.

    `status="pending"` (from documents or mail, awaiting the user's yes) supersedes nothing
    until `confirm_fact`.
    """
    if fact.kind not in KINDS or origin not in ORIGINS or status not in ("active", "pending"):
        raise ValueError(f"bad fact: kind {fact.kind!r}, origin {origin!r}, status {status!r}")
    if not fact.content.strip():
        raise ValueError("a fact needs content")
    fact = replace(
        fact,
        slot=normalise_slot(fact.slot),
        content=fact.content.strip(),
        valid_from=iso(fact.valid_from),
        valid_until=iso(fact.valid_until),
    )
    ids = _check_sources(conn, user, sources)
    for old in in_slot(conn, user, fact.slot, ("active", "pending")):
        if old.kind == fact.kind and equivalent(old.content, fact.content):
            if fact.kind in DATED_KINDS and old.valid_from and fact.valid_from:
                if moment(old.valid_from) != moment(fact.valid_from):
                    continue
            _reinforce(conn, user, old, fact)
            _link(conn, user, old.id, ids)
            superseded: list[int] = []
            if old.status == "pending" and status == "active":
                superseded = confirm_fact(conn, user, old.id)  # said by the user too
            return AddResult(old.id, superseded, old.id)
    cursor = conn.execute(
        "INSERT INTO memories (user_id, kind, slot, content, confidence, importance, origin, "
        "status, recorded_at, valid_from, valid_until, extractor) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            user, fact.kind, fact.slot, fact.content, max(0.0, min(fact.confidence, 1.0)),
            fact.importance, origin, status, iso(recorded_at), fact.valid_from,
            fact.valid_until, extractor,
        ),
    )  # fmt: skip
    new_id = int(cursor.lastrowid or 0)
    _link(conn, user, new_id, ids)
    if status == "pending":
        return AddResult(new_id, [], None)
    stored = get_fact(conn, user, new_id)
    assert stored is not None
    return AddResult(new_id, _supersede(conn, user, stored, in_said_order=True), None)


def _require(conn: sqlite3.Connection, user: str, fact_id: int) -> StoredFact:
    fact = get_fact(conn, user, fact_id)
    if fact is None:
        raise FactNotFound(f"no fact {fact_id} for {user}")
    return fact


def confirm_fact(conn: sqlite3.Connection, user: str, fact_id: int) -> list[int]:
    """The user said yes to a pending fact: it becomes active and supersedes; returns ids."""
    fact = _require(conn, user, fact_id)
    if fact.status != "pending":
        return []
    conn.execute(
        "UPDATE memories SET status = 'active', confidence = MAX(confidence, 0.9) "
        "WHERE id = ? AND user_id = ?",
        (fact_id, user),
    )
    return _supersede(conn, user, replace(fact, status="active"))


def correct_fact(
    conn: sqlite3.Connection,
    user: str,
    fact_id: int,
    new_content: str,
    *,
    slot: str | None = None,
    message_id: int | None = None,
    at: datetime | str | None = None,
) -> int:
    """The user says a fact is wrong and gives the right one: theirs supersedes it; new id.

    The wrong fact is kept, superseded, with a validity that closes where it opened: it was
    never true, which is different from a value that changed.
    """
    old = _require(conn, user, fact_id)
    result = add_fact(
        conn,
        user,
        Fact(old.kind, slot or old.slot, new_content, 1.0, max(old.importance, 0.5),
             old.valid_from, old.valid_until),
        sources=[message_id] if message_id is not None else [],
        recorded_at=at or datetime.now(UTC),
        origin="user",
        extractor="correction",
    )  # fmt: skip
    conn.execute(
        "UPDATE memories SET origin = 'user', confidence = 1.0 WHERE id = ? AND user_id = ?",
        (result.id, user),
    )
    if result.id != old.id:
        conn.execute(
            "UPDATE memories SET status = 'superseded', superseded_by = ?, "
            "valid_until = COALESCE(valid_from, recorded_at) WHERE id = ? AND user_id = ?",
            (result.id, old.id, user),
        )
    return result.id


def forget_fact(conn: sqlite3.Connection, user: str, fact_id: int) -> None:
    """Delete one fact for good: the row, its provenance and its vector."""
    _require(conn, user, fact_id)
    # A predecessor stays superseded; it just no longer points at a fact that is gone.
    conn.execute(
        "UPDATE memories SET superseded_by = NULL WHERE superseded_by = ? AND user_id = ?",
        (fact_id, user),
    )
    conn.execute("DELETE FROM memory_sources WHERE memory_id = ? AND user_id = ?", (fact_id, user))
    # Only the link: the mail it was learned from is the user's, and stays.
    conn.execute(
        "DELETE FROM memory_mail_sources WHERE memory_id = ? AND user_id = ?", (fact_id, user)
    )
    conn.execute(
        "DELETE FROM vectors WHERE kind = 'memory' AND item_id = ? AND user_id = ?",
        (fact_id, user),
    )
    conn.execute("DELETE FROM memories WHERE id = ? AND user_id = ?", (fact_id, user))


def forget_messages(conn: sqlite3.Connection, user: str, message_ids: Iterable[int]) -> int:
    """Cascade a deletion of messages to facts: those resting only on them go; returns count.

    A fact the user's sent mail says too stays, resting on the mail.

    Call it before deleting the messages themselves (their provenance rows go with them).
    """
    gone = set(message_ids)
    deleted = 0
    for fact in facts(conn, user, statuses=("active", "superseded", "pending")):
        if not gone.intersection(fact.sources):
            continue
        if gone.issuperset(fact.sources) and not fact.mail_sources:
            forget_fact(conn, user, fact.id)
            deleted += 1
        else:
            conn.executemany(
                "DELETE FROM memory_sources WHERE memory_id = ? AND message_id = ? AND user_id = ?",
                [(fact.id, m, user) for m in gone.intersection(fact.sources)],
            )
    return deleted
