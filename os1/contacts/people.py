"""The people of a user's life: one row each, built from address books and mail.

A card joins the person with its UID, else the person with one of its addresses;
otherwise it is someone new. Nothing here ever merges two people: `duplicates`
only *proposes* merges (same address, or the same name), and the merge itself is
a destructive tool the user must say yes to (`tools.py`). People who were merged
away keep their row with `merged_into` set, so the merge can be undone.
`describe` links a person to what she remembers about them.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import unicodedata
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import parseaddr
from typing import Any

from ..memory.lexical import fts_query
from ..store import Store
from .vcard import Card, Problem

MAIL = "mail"
_NOREPLY = re.compile(
    r"^(?:no-?reply|do-?not-?reply|mailer-daemon|postmaster|bounces?|notifications?|alerts?)"
    r"(?:[+._-]|$)"
)


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


@dataclass(frozen=True)
class MergeProposal:
    """Two rows that look like one person; `other` would be merged into `keep`."""

    keep: Person
    other: Person
    reason: str


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


def _match(c: sqlite3.Connection, user: str, card: Card) -> int | None:
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


def _union(old: Sequence[str], new: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys([*old, *new]))


def _weak_name(p: Person) -> bool:
    return not p.name or "@" in p.name or set(p.sources) <= {MAIL}


def upsert_card(c: sqlite3.Connection, user: str, card: Card, source: str) -> tuple[int, str]:
    """Add or update the person `card` describes; returns (id, "added"|"updated"|"unchanged")."""
    pid = _match(c, user, card)
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
        emails=_union(old.emails, card.emails),
        phones=_union(old.phones, card.phones),
        org=card.org if same_card else (old.org or card.org),
        note=card.note if same_card else (old.note or card.note),
        relation=old.relation,
        sources=_union(old.sources, [source]),
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


# --- people from mail ---------------------------------------------------------------


def _addresses(value: str | None) -> list[tuple[str, str]]:
    """(name, address) from a JSON list of addresses, "Name <a@b>" strings or pairs."""
    try:
        items = json.loads(value or "[]")
    except ValueError:
        return []
    found = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, str):
            found.append(parseaddr(item))
        elif isinstance(item, list | tuple) and len(item) == 2:
            found.append((str(item[0] or ""), str(item[1] or "")))
        elif isinstance(item, dict):
            addr = item.get("addr") or item.get("address") or item.get("email") or ""
            found.append((str(item.get("name") or ""), str(addr)))
    return [(n.strip().strip('"'), a.strip().lower()) for n, a in found if "@" in a]


_BULK = """NOT (json_valid(headers) AND (
    json_extract(headers, '$."list-id"') IS NOT NULL
    OR json_extract(headers, '$."list-unsubscribe"') IS NOT NULL
    OR lower(coalesce(json_extract(headers, '$.precedence'), '')) IN ('bulk', 'list', 'junk')
    OR lower(coalesce(json_extract(headers, '$."auto-submitted"'), 'no')) != 'no'))"""


def _correspondents(c: sqlite3.Connection, user: str) -> dict[str, dict[str, int]]:
    """address -> {display name: times seen}, for everyone the user writes to or hears from."""
    me = {r[0] for r in c.execute(
        "SELECT lower(address) FROM mail_accounts WHERE user_id = ? UNION "
        "SELECT DISTINCT from_addr FROM mail_messages WHERE user_id = ? AND from_me = 1",
        (user, user),
    )}  # fmt: skip
    seen: dict[str, dict[str, int]] = {}

    def note(name: str, addr: str, n: int = 1) -> None:
        if addr in me or _NOREPLY.match(addr.split("@")[0]):
            return
        names = seen.setdefault(addr, {})
        if name and "@" not in name:
            names[name] = names.get(name, 0) + n

    for row in c.execute(
        "SELECT to_addrs, cc_addrs FROM mail_messages "
        "WHERE user_id = ? AND from_me = 1 AND status = 'ok'",
        (user,),
    ):
        for name, addr in _addresses(row[0]) + _addresses(row[1]):
            note(name, addr)
    for row in c.execute(
        "SELECT from_name, lower(from_addr), count(*) FROM mail_messages "
        "WHERE user_id = ? AND from_me = 0 AND status = 'ok' AND from_addr LIKE '%@%' "
        "AND (category IS NULL OR category IN ('personal', 'work')) AND " + _BULK + " "
        "GROUP BY from_name, lower(from_addr)",
        (user,),
    ):
        note(row[0].strip().strip('"'), row[1], row[2])
    return seen


def people_from_mail(c: sqlite3.Connection, user: str, changes: Changes) -> None:
    """Add the people the user writes to or hears from (not lists, robots or themselves)."""
    ensure_user(c, user)
    for addr, names in sorted(_correspondents(c, user).items()):
        name = max(names, key=lambda n: (names[n], n)) if names else addr
        pid = _match(c, user, Card(addr, (addr,)))
        if pid is None:
            save(c, user, Person(0, name, (addr,), sources=(MAIL,)), new=True)
            changes.added.append(name)
            continue
        old = load(c, user, pid)
        assert old is not None
        better = name if names and (not old.name or "@" in old.name) else old.name
        new = replace(old, name=better, sources=_union(old.sources, [MAIL]))
        if new == old:
            changes.unchanged += 1
        else:
            save(c, user, new)
            changes.updated.append(new.name)


# --- duplicates ---------------------------------------------------------------------


def name_key(name: str) -> str:
    """A name as compared for duplicates: no accents, case or punctuation, words sorted."""
    plain = unicodedata.normalize("NFKD", name)
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch)).casefold()
    return " ".join(sorted(re.findall(r"[^\W_]+", plain)))


def _strength(p: Person) -> tuple[int, int, int]:
    # Keep the richer row: an address-book card over a mail-only one, then the older.
    return (int(p.vcard is not None), len(p.emails) + len(p.phones), -p.id)


def duplicates(
    everyone: Sequence[Person], skip: Collection[frozenset[int]] = ()
) -> list[MergeProposal]:
    """Merge proposals for people who share an address or a name; pairs in `skip` are left out."""
    parent = {p.id: p.id for p in everyone}

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    groups: dict[str, list[int]] = {}
    for p in everyone:
        for email in p.emails:
            groups.setdefault("@" + email, []).append(p.id)
        if "@" not in p.name and (key := name_key(p.name)):
            groups.setdefault("n" + key, []).append(p.id)
    for ids in groups.values():
        for other in ids[1:]:
            parent[root(other)] = root(ids[0])
    clusters: dict[int, list[Person]] = {}
    for p in everyone:
        clusters.setdefault(root(p.id), []).append(p)
    proposals = []
    for members in clusters.values():
        if len(members) < 2:
            continue
        keep = max(members, key=_strength)
        for dup in members:
            if dup.id != keep.id and frozenset((keep.id, dup.id)) not in skip:
                proposals.append(MergeProposal(keep, dup, _reason(keep, dup, members)))
    return proposals


def _reason(keep: Person, other: Person, members: Sequence[Person]) -> str:
    for a in (keep, *members):
        if a.id == other.id:
            continue
        shared = sorted(set(a.emails) & set(other.emails))
        if shared:
            return f"both have {shared[0]}" + ("" if a is keep else f" (with {a.name}, #{a.id})")
        if name_key(a.name) == name_key(other.name) and "@" not in a.name:
            return "same name" + ("" if a is keep else f" as {a.name} (#{a.id})")
    return "linked through others in this group"


# --- what she remembers -------------------------------------------------------------


def _phrase(content: str, name: str) -> str:
    """ "Amy is Theo's college friend." -> "college friend"; "Amy lives upstairs." -> the rest."""
    text = content.strip().rstrip(".!")
    n = re.escape(name)
    owner = r"(?:[\w'’-]+['’]s |the user's |my |his |her |their )?"
    for pattern in (
        rf"^{n} is (?:a |an |the )?{owner}(.+)$",
        rf"^[\w'’-]+['’]s (.+?) is (?:called |named )?{n}$",
        rf"^[\w'’-]+['’]s (.+?),? {n},? (.+)$",
        rf"^{n}(?:['’]s)? (.+)$",
    ):
        m = re.match(pattern, text, flags=re.IGNORECASE)
        if m:
            return ", ".join(g.strip() for g in m.groups() if g and g.strip())
    return text


def remembered(c: sqlite3.Connection, user: str, person: Person, limit: int = 4) -> list[str]:
    """What active memories say about `person`, each as a short phrase."""
    first = person.name.split()[0] if person.name.split() else ""
    if not first or "@" in person.name:
        return []
    names = [person.name]
    # A first name alone counts only if no one else the user knows has it.
    shared = c.execute(
        "SELECT count(*) FROM people WHERE user_id = ? AND merged_into IS NULL AND id != ? "
        "AND (name = ? COLLATE NOCASE OR name LIKE ? ESCAPE '\\')",
        (user, person.id, first, first.replace("\\", "\\\\").replace("%", "\\%")
         .replace("_", "\\_") + " %"),
    ).fetchone()[0]  # fmt: skip
    if not shared and first != person.name:
        names.append(first)
    match = fts_query(first)
    if match is None:
        return []
    rows = c.execute(
        "SELECT m.content FROM memories_fts JOIN memories m ON m.id = memories_fts.rowid "
        "WHERE memories_fts MATCH ? AND m.user_id = ? AND m.status = 'active' "
        "ORDER BY m.importance DESC, m.recorded_at DESC LIMIT 200",
        (match, user),
    ).fetchall()
    phrases: list[str] = []
    for (content,) in rows:
        for name in names:
            if re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", content, re.IGNORECASE):
                phrase = _phrase(content, name)
                if phrase and phrase not in phrases:
                    phrases.append(phrase)
                break
        if len(phrases) >= limit:
            break
    return phrases


async def describe(store: Store, user: str, person: Person) -> str:
    """One line: who this is to the user, e.g. "Amy — college friend, lives upstairs"."""
    phrases = [person.relation] if person.relation else []
    phrases += await store.read(lambda c: remembered(c, user, person))
    if not phrases:
        phrases = [x for x in (person.org, person.emails[0] if person.emails else "") if x][:1]
    return f"{person.name} — {', '.join(phrases)}" if phrases else person.name
