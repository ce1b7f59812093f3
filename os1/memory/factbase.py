"""What a fact is, and reading facts back: the types and the read side of the fact store.

`facts.py` writes and re-exports all of this; import from there. Every query is filtered
by user: one user can never read another's facts.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

KINDS = ("event", "state", "preference", "relationship", "plan", "identity", "insight")
ORIGINS = ("conversation", "user", "document", "mail", "consolidation")
# One occurrence per event: the same slot at another time is another event, not a change.
DATED_KINDS = frozenset({"event"})


@dataclass(frozen=True)
class Fact:
    """A candidate fact, before it is stored: one plain third-person sentence and its slot.

    Times are ISO 8601 strings, like every time in the database (`messages.created_at`).
    """

    kind: str
    slot: str | None
    content: str
    confidence: float = 0.5
    importance: float = 0.5
    valid_from: str | None = None
    valid_until: str | None = None


@dataclass(frozen=True)
class StoredFact:
    """A row of `memories` with the ids of the messages (and sent mail) it was derived from."""

    id: int
    user_id: str
    kind: str
    slot: str | None
    content: str
    confidence: float
    importance: float
    origin: str
    status: str
    recorded_at: str
    valid_from: str | None
    valid_until: str | None
    superseded_by: int | None
    extractor: str | None
    sources: tuple[int, ...]
    mail_sources: tuple[int, ...] = ()  # ids in mail_messages: the user's own sent mail


@dataclass(frozen=True)
class AddResult:
    """What `add_fact` did: the fact's id, the facts it superseded, or the one it repeated."""

    id: int
    superseded: list[int]
    duplicate_of: int | None


class FactNotFound(LookupError):
    """No fact with that id belongs to that user."""


def normalise_slot(slot: str | None) -> str | None:
    """Lowercase, single underscores for spaces: "Home City " and "home_city" are one slot."""
    if slot is None or not slot.strip():
        return None
    return re.sub(r"[\s_]+", "_", slot.strip().lower())


# Words that change the phrasing but not the claim: "is called Anna" == "is named Anna".
_FILLER = frozenset("a an the is are was called named s 's really very".split())


def equivalent(a: str, b: str) -> bool:
    """Whether two statements say the same thing (same words, ignoring case and filler)."""

    def words(text: str) -> frozenset[str]:
        return frozenset(re.findall(r"[a-z0-9]+", text.lower())) - _FILLER

    return words(a) == words(b)


def iso(when: datetime | str | None) -> str | None:
    """A time as the ISO 8601 text the database keeps (a string is checked, then kept)."""
    if when is None or isinstance(when, datetime):
        return when.isoformat() if when is not None else None
    datetime.fromisoformat(when)  # raises ValueError on anything that is not a time
    return when


def moment(when: str) -> datetime:
    """An ISO time as a comparable datetime: naive times are taken as UTC."""
    at = datetime.fromisoformat(when)
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


_SELECT = (
    "SELECT m.*, (SELECT group_concat(s.message_id) FROM memory_sources s "
    "WHERE s.memory_id = m.id AND s.user_id = m.user_id) AS source_ids, "
    "(SELECT group_concat(s.mail_id) FROM memory_mail_sources s "
    "WHERE s.memory_id = m.id AND s.user_id = m.user_id) AS mail_ids FROM memories m "
)


def _ids(text: str | None) -> tuple[int, ...]:
    return tuple(sorted(int(i) for i in text.split(","))) if text else ()


def _row(row: sqlite3.Row) -> StoredFact:
    return StoredFact(
        id=row["id"],
        user_id=row["user_id"],
        kind=row["kind"],
        slot=row["slot"],
        content=row["content"],
        confidence=row["confidence"],
        importance=row["importance"],
        origin=row["origin"],
        status=row["status"],
        recorded_at=row["recorded_at"],
        valid_from=row["valid_from"],
        valid_until=row["valid_until"],
        superseded_by=row["superseded_by"],
        extractor=row["extractor"],
        sources=_ids(row["source_ids"]),
        mail_sources=_ids(row["mail_ids"]),
    )


def get_fact(conn: sqlite3.Connection, user: str, fact_id: int) -> StoredFact | None:
    row = conn.execute(_SELECT + "WHERE m.id = ? AND m.user_id = ?", (fact_id, user)).fetchone()
    return _row(row) if row else None


def facts(
    conn: sqlite3.Connection,
    user: str,
    *,
    statuses: Sequence[str] = ("active",),
    kinds: Sequence[str] | None = None,
) -> list[StoredFact]:
    """The user's facts with those statuses (and kinds), oldest recorded first."""
    sql = _SELECT + f"WHERE m.user_id = ? AND m.status IN ({','.join('?' * len(statuses))})"
    params: list[object] = [user, *statuses]
    if kinds is not None:
        sql += f" AND m.kind IN ({','.join('?' * len(kinds))})"
        params.extend(kinds)
    return [_row(r) for r in conn.execute(sql + " ORDER BY m.recorded_at, m.id", params)]


def in_slot(
    conn: sqlite3.Connection, user: str, slot: str | None, statuses: Sequence[str]
) -> list[StoredFact]:
    """The user's facts in one slot (None: the facts without a slot) with those statuses."""
    marks = ",".join("?" * len(statuses))
    where = "m.slot IS NULL" if slot is None else "m.slot = ?"
    params = [user, *([] if slot is None else [slot]), *statuses]
    rows = conn.execute(
        _SELECT + f"WHERE m.user_id = ? AND {where} AND m.status IN ({marks}) ORDER BY m.id",
        params,
    )
    return [_row(r) for r in rows]


def slot_history(conn: sqlite3.Connection, user: str, slot: str) -> list[StoredFact]:
    """Every confirmed value the slot has had, oldest first in world time: the story of it."""
    rows = conn.execute(
        _SELECT + "WHERE m.user_id = ? AND m.slot = ? AND m.status != 'pending' "
        "ORDER BY COALESCE(m.valid_from, m.recorded_at), m.id",
        (user, normalise_slot(slot)),
    )
    return [_row(r) for r in rows]


def spoken_date(iso: str) -> str:
    """ "8 May 2023" for an ISO time; the text itself if it is not one."""
    try:
        at = datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return str(iso)[:10]
    return f"{at.day} {at.strftime('%B %Y')}"


def _when(text: str) -> str:
    at = datetime.fromisoformat(text)
    # Resolved months are stored as their first midnight: say "March 2023", not "1 March".
    if at.day == 1 and (at.hour, at.minute) == (0, 0):
        return at.strftime("%B %Y")
    return f"{at.day} {at.strftime('%B %Y')}"


def story(history: Sequence[StoredFact]) -> str:
    """The slot's history in plain lines, e.g. "Until March 2023: Theo lives in Boston."."""
    by_id = {f.id: f for f in history}
    lines = []
    for f in history:
        after = by_id.get(f.superseded_by) if f.superseded_by else None
        if after is not None and after.extractor == "correction":
            lines.append(f"Once noted, wrongly: {f.content} (you corrected it)")
            continue
        if f.valid_from and f.valid_until:
            label = f"From {_when(f.valid_from)} to {_when(f.valid_until)}: "
        elif f.valid_from:
            label = f"{'Since' if f.status == 'active' else 'From'} {_when(f.valid_from)}: "
        elif f.valid_until:
            label = f"Until {_when(f.valid_until)}: "
        else:
            label = f"As of {_when(f.recorded_at)}: "
        note = " (now)" if f.status == "active" else ""
        lines.append(f"{label}{f.content}{note}")
    return "\n".join(lines)
