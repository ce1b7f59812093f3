"""The people of a user's life: one row each, built from address books and mail.

A card joins the person with its UID, else the person with one of its addresses;
otherwise it is someone new. Nothing here ever merges two people: duplicates.py
only *proposes* merges (same address, or the same name), and the merge itself is
a destructive tool the user must say yes to (`tools.py`). People who were merged
away keep their row with `merged_into` set, so the merge can be undone.
People from mail are correspondents.py's; what she remembers of someone, links.py's.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..store import Store
from .vcard import Card, Problem

MAIL = "mail"


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    org: str = ""
    note: str = ""
    relation: str = ""
    sources: tuple[str, ...] = ()
    uid: str | None = None
    vcard: str | None = None
    merged_into: int | None = None


@dataclass
class Changes:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0


def _now() -> str:
    return datetime.now(UTC).isoformat()


def person_from_row(row: sqlite3.Row | dict[str, Any]) -> Person:
    r = dict(row)
    return Person(
        id=r["id"], name=r["name"], emails=tuple(json.loads(r["emails"])),
        phones=tuple(json.loads(r["phones"])), org=r["org"], note=r["note"],
        relation=r["relation"], sources=tuple(json.loads(r["sources"])), uid=r["uid"],
        vcard=r["vcard"], merged_into=r["merged_into"],
    )  # fmt: skip


def ensure_user(c: sqlite3.Connection, user: str) -> None:
    c.execute("INSERT OR IGNORE INTO users (id, created_at) VALUES (?, ?)", (user, _now()))


def live_id(c: sqlite3.Connection, user: str, person_id: int) -> int:
    """The person `person_id` became: itself, or whoever it was merged into."""
    seen = set()
    while person_id not in seen:
        seen.add(person_id)
        row = c.execute(
            "SELECT merged_into FROM people WHERE user_id = ? AND id = ?", (user, person_id)
        ).fetchone()
        if row is None or row[0] is None:
            return person_id
        person_id = row[0]
    return person_id


def load(c: sqlite3.Connection, user: str, person_id: int) -> Person | None:
    row = c.execute("SELECT * FROM people WHERE user_id = ? AND id = ?", (user, person_id))
    found = row.fetchone()
    return person_from_row(found) if found else None


def _digits(phone: str) -> str:
    return re.sub(r"[^\d]", "", phone)[-9:]


def match_card(c: sqlite3.Connection, user: str, card: Card) -> int | None:
    """The person a card is about: by UID, else by address, else by name and number."""
    if card.uid:
        row = c.execute(
            "SELECT id FROM people WHERE user_id = ? AND uid = ? ORDER BY id LIMIT 1",
            (user, card.uid),
        ).fetchone()
        if row:
            return live_id(c, user, row[0])
    for email in card.emails:
        row = c.execute(
            "SELECT person_id FROM people_emails WHERE user_id = ? AND email = ?", (user, email)
        ).fetchone()
        if row:
            pid = live_id(c, user, row[0])
            other = c.execute("SELECT uid FROM people WHERE id = ?", (pid,)).fetchone()[0]
            # Two cards with their own UIDs sharing an address may be two people (a shared
            # family address) or a duplicate: the user decides, through a merge proposal.
            if not (card.uid and other and other != card.uid):
                return pid
    if card.uid or card.emails:
        return None
    # No UID and no address (a phone-only card): the same card again, or the same name
    # with the same number, is the same person; otherwise re-importing a file would
    # make everyone twice.
    numbers = {_digits(p) for p in card.phones} - {""}
    for row in c.execute(
        "SELECT id, vcard, phones FROM people WHERE user_id = ? AND merged_into IS NULL "
        "AND (vcard = ? OR name = ? COLLATE NOCASE) ORDER BY id",
        (user, card.raw, card.name),
    ):
        if row[1] == card.raw or numbers & {_digits(p) for p in json.loads(row[2])}:
            return int(row[0])
    return None


def save(c: sqlite3.Connection, user: str, p: Person, *, new: bool = False) -> int:
    """Write `p` (insert when `new`) and claim its addresses that nobody else has."""
    values = (
        p.name, json.dumps(list(p.emails)), json.dumps(list(p.phones)), p.org, p.note,
        p.relation, json.dumps(list(p.sources)), p.uid, p.vcard, p.merged_into, _now(),
    )  # fmt: skip
    if new:
        cur = c.execute(
            "INSERT INTO people (name, emails, phones, org, note, relation, sources, uid, "
            "vcard, merged_into, updated_at, created_at, user_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (*values, _now(), user),
        )
        person_id = int(cur.lastrowid or 0)
    else:
        person_id = p.id
        c.execute(
            "UPDATE people SET name = ?, emails = ?, phones = ?, org = ?, note = ?, "
            "relation = ?, sources = ?, uid = ?, vcard = ?, merged_into = ?, updated_at = ? "
            "WHERE user_id = ? AND id = ?",
            (*values, user, person_id),
        )
    for email in p.emails if p.merged_into is None else ():
        c.execute(
            "INSERT OR IGNORE INTO people_emails (user_id, email, person_id) VALUES (?, ?, ?)",
            (user, email, person_id),
        )
    return person_id


def union(old: Sequence[str], new: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys([*old, *new]))


def _weak_name(p: Person) -> bool:
    return not p.name or "@" in p.name or set(p.sources) <= {MAIL}


def upsert_card(c: sqlite3.Connection, user: str, card: Card, source: str) -> tuple[int, str]:
    """Add or update the person `card` describes; returns (id, "added"|"updated"|"unchanged")."""
    pid = match_card(c, user, card)
    if pid is None:
        fresh = Person(0, card.name, card.emails, card.phones, card.org, card.note, "",
                       (source,), card.uid, card.raw)  # fmt: skip
        return save(c, user, fresh, new=True), "added"
    old = load(c, user, pid)
    assert old is not None
    same_card = bool(card.uid) and old.uid == card.uid
    new = Person(
        id=old.id,
        # The address book's name beats a mail display name; a card merged into someone
        # else does not rename them.
        name=card.name if same_card or _weak_name(old) else old.name,
        emails=union(old.emails, card.emails),
        phones=union(old.phones, card.phones),
        org=card.org if same_card else (old.org or card.org),
        note=card.note if same_card else (old.note or card.note),
        relation=old.relation,
        sources=union(old.sources, [source]),
        uid=old.uid or card.uid,
        vcard=card.raw if same_card or not old.vcard else old.vcard,
    )
    if new == old:
        return pid, "unchanged"
    return save(c, user, new), "updated"


def upsert_cards(
    c: sqlite3.Connection, user: str, items: Iterable[tuple[Card, str]], changes: Changes
) -> None:
    """Upsert each (card, source) in one transaction, counting what changed."""
    ensure_user(c, user)
    for card, source in items:
        _, what = upsert_card(c, user, card, source)
        if what == "unchanged":
            changes.unchanged += 1
        else:
            getattr(changes, what).append(card.name)


def keep_problems(
    c: sqlite3.Connection, user: str, source: str, problems: Iterable[Problem]
) -> int:
    """Keep each unreadable piece raw (once per source and text); returns how many are new."""
    ensure_user(c, user)
    added = 0
    for p in problems:
        digest = hashlib.sha256(p.raw.encode("utf-8", "surrogatepass")).hexdigest()
        cur = c.execute(
            "INSERT OR IGNORE INTO contact_problems (user_id, source, raw_hash, raw, error, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (
                user,
                source,
                digest,
                p.raw,
                p.error if p.where == source else f"{p.where}: {p.error}",
                _now(),
            ),
        )
        added += cur.rowcount
    return added


def clear_problems(c: sqlite3.Connection, user: str, source: str) -> None:
    c.execute("DELETE FROM contact_problems WHERE user_id = ? AND source = ?", (user, source))


async def problems(store: Store, user: str) -> list[dict[str, Any]]:
    rows = await store.query(
        "SELECT * FROM contact_problems WHERE user_id = ? ORDER BY id", (user,)
    )
    return [dict(r) for r in rows]


async def people(store: Store, user: str) -> list[Person]:
    """Everyone the user knows (not those merged into someone else), by name."""
    rows = await store.query(
        "SELECT * FROM people WHERE user_id = ? AND merged_into IS NULL "
        "ORDER BY name COLLATE NOCASE, id",
        (user,),
    )
    return [person_from_row(r) for r in rows]


async def get(store: Store, user: str, person_id: int) -> Person | None:
    return await store.read(lambda c: load(c, user, person_id))


def name_key(name: str) -> str:
    """A name as compared for duplicates: no accents, case or punctuation, words sorted."""
    plain = unicodedata.normalize("NFKD", name)
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch)).casefold()
    return " ".join(sorted(re.findall(r"[^\W_]+", plain)))


async def find(store: Store, user: str, query: str) -> list[Person]:
    """People by id, exact name, part of a name, or address; best matches first."""
    query = query.strip()
    everyone = await people(store, user)
    if query.lstrip("#").isdigit():
        found = await get(store, user, int(query.lstrip("#")))
        if found is not None:
            alive = await store.read(lambda c: load(c, user, live_id(c, user, found.id)))
            return [alive] if alive else []
    q = query.casefold()
    for test in (
        lambda p: p.name.casefold() == q or q in p.emails,
        lambda p: name_key(p.name) == name_key(query),
        lambda p: q in p.name.casefold() or any(q in e for e in p.emails),
    ):
        hits = [p for p in everyone if test(p)]
        if hits:
            return hits
    return []
