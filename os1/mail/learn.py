"""Facts about the user learned from their own sent mail, through memory's rules.

What is read, and why:
- Only mail the user sent (`from_me = 1`). Received mail is untrusted: anyone can write
  "Theo's sister is called Eve" to plant a memory, so it is never mined for facts about
  the user. `from_me` rests on the From address, which a forger can set, so mail that was
  delivered from another envelope sender (Return-Path), flagged as spam, triaged as junk,
  or lying in Trash/Junk/Drafts is left out too.
- Only the new text (`body`), never `quoted`: quoted lines are someone else's words.
  A very long body (over `MAX_BODY`) is skipped: it is a forwarded document or pasted
  text more often than the user telling about their life.
- Only memory's rules (`extract_rules`): deterministic, offline and fast (thousands of
  mails a second), and precise — a model's guesses have no place in facts from an archive
  of years the user won't read through again.
- Only lasting facts about the user's life (identity, relationships, where they live and
  work: `MAIL_KINDS`). Plans and events in mail are mostly commitments to the reader
  ("I'll send the numbers on Friday"), and likes mostly replies to them ("I love the
  idea"): from an archive of years they would flood memory with stale plans (each one a
  follow-up for consolidation) and passing opinions.
- Each mail is read as said on its Date (relative times like "last month" resolve against
  it, and the fact is recorded at it), so a newer fact wins over an older one in the same
  slot whichever was learned first (`add_fact` supersedes in said order). Mail without a
  date is skipped: it could not be placed in time. A date in the future counts as the
  day the mail arrived.
- The facts are active (origin 'mail'), not pending like facts from documents: they are
  the user's own words, as trusted as what they say in conversation.

Each fact links to its mail (`memory_mail_sources`), so "what do you know about me"
can say "from your email to Amy on 3 March 2024". `memory_mail_learned` marks the mail
learned from (learning twice adds nothing) and keeps the slots the user told her to
forget from each mail: forgetting deletes the fact, never the user's mail, and that
mail never teaches the fact again, not even after a rebuild. An export restored before
its mail (`os1 import`, then the mbox) keeps both by the mail's hash and Message-ID in
`memory_mail_*_pending`; a trigger applies them as the mail is stored (migration m013).
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parseaddr
from typing import Any

from ..memory import facts as factstore
from ..memory.factbase import Fact, equivalent, moment, spoken_date
from ..memory.rules import extract_rules
from ..store import Store

MAX_BODY = 8000  # characters of new text; longer mail is skipped
BATCH = 500  # mails per read and per write transaction
EXTRACTOR = "rules:mail"
MAIL_KINDS = frozenset({"identity", "relationship", "state"})
# Folder names (the last part of the path, lowercased) whose mail is not the user's word.
SKIP_FOLDERS = frozenset(
    ("trash", "bin", "deleted", "deleted items", "deleted messages", "junk", "junk e-mail",
     "junk email", "spam", "drafts", "draft")
)  # fmt: skip
# Clause boundaries as the rules split them; only clauses in the first person can hold a
# fact about the user, so the rest are dropped before the (slower) rules run.
_CLAUSES = re.compile(r"(?<=[.!?;\n])\s*|\s+but\s+")
_FIRST_PERSON = re.compile(r"\b(?:i|my|me)\b", re.IGNORECASE)


@dataclass(frozen=True)
class MailSource:
    """A sent mail a fact was learned from, as "what do you know about me" tells it."""

    id: int
    date: str | None
    subject: str
    to: tuple[str, ...]  # names where the user's people know them, else addresses
    body: str

    def describe(self) -> str:
        """ "your email to Amy on 3 March 2024 ("Big news")"."""
        to = ""
        if len(self.to) > 2:
            more = len(self.to) - 2
            to = f" to {self.to[0]}, {self.to[1]} and {more} other{'s' * (more > 1)}"
        elif self.to:
            to = f" to {' and '.join(self.to)}"
        when = f" on {spoken_date(self.date)}" if self.date else ""
        about = f' ("{self.subject}")' if self.subject else ""
        return f"your email{to}{when}{about}"

    def passage(self, fact: str, width: int = 80) -> str:
        """The sentence of the mail that says `fact`, shortened to `width` characters."""
        wanted = set(_words(fact))
        sentences = [s.strip() for s in _CLAUSES.split(self.body) if s and s.strip()]
        best = max(sentences, key=lambda s: len(wanted & set(_words(s))), default="")
        best = " ".join(best.split())
        return best if len(best) <= width else best[: width - 1] + "…"


def _words(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 2]


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _skipped_folder(folder: str) -> bool:
    last = re.split(r"[/.]", folder)[-1].strip().lower()
    return last in SKIP_FOLDERS


def _forged(row: Any) -> bool:
    """Mail that says it is from the user but came from someone else, or was called spam."""
    try:
        headers = json.loads(row["headers"] or "{}")
    except ValueError:
        headers = {}
    if not isinstance(headers, dict):
        headers = {}
    if str(headers.get("x-spam-flag", "")).strip().lower() == "yes":
        return True
    sender = parseaddr(str(headers.get("return-path", "")))[1].lower()
    return bool(sender) and sender != (row["from_addr"] or "").lower()


def _key(fact: Fact | factstore.StoredFact) -> str:
    """What a forgotten fact is known by in its mail's marker: its slot, else its words."""
    return factstore.normalise_slot(fact.slot) or fact.content.strip()


def _first_person(body: str) -> str:
    return "\n".join(c for c in _CLAUSES.split(body) if c and _FIRST_PERSON.search(c))


async def _name(store: Store, user: str) -> str:
    # As memory names the user in facts from conversation (`Memory._name`).
    row = await store.query_one("SELECT profile FROM personas WHERE user_id = ?", (user,))
    if row is not None:
        name = json.loads(row["profile"]).get("call_me")
        if name:
            return str(name)
    return "The user"


async def _paused(store: Store, user: str) -> bool:
    row = await store.query_one("SELECT paused FROM memory_settings WHERE user_id = ?", (user,))
    return bool(row and row["paused"])


async def _to_learn(store: Store, user: str, limit: int | None) -> list[int]:
    """Ids of the user's sent mail not learned from yet, oldest first."""
    rows = await store.query(
        "SELECT m.id, m.folder, m.headers, m.from_addr FROM mail_messages m "
        "LEFT JOIN memory_mail_learned l ON l.mail_id = m.id AND l.user_id = m.user_id "
        "WHERE m.user_id = ? AND m.from_me = 1 AND m.status = 'ok' "
        "AND (m.category IS NULL OR m.category != 'junk') AND l.learned_at IS NULL "
        "ORDER BY coalesce(m.date, m.imported_at), m.id",
        (user,),
    )
    # Not marked: mail moved out of Trash later is still learned from then.
    ids = [r["id"] for r in rows if not _skipped_folder(r["folder"]) and not _forged(r)]
    return ids if limit is None else ids[:limit]


Learned = list[tuple[int, str | None, list[Fact]]]


def _read(rows: Sequence[Any], name: str) -> Learned:
    """(mail id, when it was said, facts) for each mail; no time: nothing to learn."""
    found: Learned = []
    for row in rows:
        if not row["date"] or len(row["body"]) > MAX_BODY:
            found.append((row["id"], None, []))
            continue
        said = min(moment(row["date"]), moment(row["imported_at"]))
        text = _first_person(row["body"])
        facts = extract_rules(text, said_at=said, name=name) if text else []
        forgotten = set(json.loads(row["forgotten"] or "[]"))
        facts = [f for f in facts if f.kind in MAIL_KINDS and _key(f) not in forgotten]
        found.append((row["id"], said.isoformat(), facts))
    return found


def _write(user: str, learned: Learned) -> Callable[[sqlite3.Connection], int]:
    def write(c: sqlite3.Connection) -> int:
        added = 0
        now = _now()
        # slot -> the fact this batch last stored there. A line many mails repeat ("I work at
        # Acme") is linked to the fact it already is, not stored (and its sources read) again.
        last: dict[str | None, tuple[int, Fact]] = {}
        for mail_id, said, facts in learned:
            row = c.execute(
                "SELECT learned_at FROM memory_mail_learned WHERE mail_id = ? AND user_id = ?",
                (mail_id, user),
            ).fetchone()
            if row is not None and row[0] is not None:
                continue  # learned meanwhile by another run: once is enough
            for fact in facts:
                assert said is not None
                same = last.get(fact.slot)
                if same and same[1].kind == fact.kind and equivalent(same[1].content, fact.content):
                    fact_id = same[0]
                else:
                    result = factstore.add_fact(
                        c, user, fact, sources=[], recorded_at=said, origin="mail",
                        extractor=EXTRACTOR,
                    )  # fmt: skip
                    fact_id = result.id
                    added += result.duplicate_of is None
                    last[fact.slot] = (fact_id, fact)
                c.execute(
                    "INSERT OR IGNORE INTO memory_mail_sources (memory_id, mail_id, user_id) "
                    "VALUES (?, ?, ?)",
                    (fact_id, mail_id, user),
                )
            c.execute(
                "INSERT INTO memory_mail_learned (mail_id, user_id, learned_at) VALUES (?, ?, ?) "
                "ON CONFLICT(mail_id) DO UPDATE SET learned_at = excluded.learned_at",
                (mail_id, user, now),
            )
        return added

    return write


async def learn_from_mail(
    store: Store, user: str, *, name: str | None = None, limit: int | None = None
) -> int:
    """Learn from the user's sent mail not read yet (at most `limit` mails); returns facts added.

    Nothing is learned while the user has paused memory; that mail is read after resuming.
    """
    if await _paused(store, user):
        return 0
    ids = await _to_learn(store, user, limit)
    if not ids:
        return 0
    who = name or await _name(store, user)
    added = 0
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        marks = ",".join("?" * len(chunk))
        rows = await store.query(
            "SELECT m.id, m.date, m.imported_at, m.body, l.forgotten FROM mail_messages m "
            "LEFT JOIN memory_mail_learned l ON l.mail_id = m.id AND l.user_id = m.user_id "
            f"WHERE m.user_id = ? AND m.id IN ({marks}) ORDER BY coalesce(m.date, m.imported_at)",
            (user, *chunk),
        )
        # Off the event loop: a big archive takes the rules a few seconds.
        learned = await asyncio.to_thread(_read, rows, who)
        added += await store.write(_write(user, learned))
    return added


def forget_from_mail(c: sqlite3.Connection, user: str, fact: factstore.StoredFact) -> None:
    """Before `fact` is forgotten: its mail keeps its place, and never teaches it again."""
    key = _key(fact)
    for mail_id in fact.mail_sources:
        c.execute(
            "INSERT INTO memory_mail_learned (mail_id, user_id, learned_at, forgotten) "
            "VALUES (?, ?, ?, json_array(?)) ON CONFLICT(mail_id) DO UPDATE SET forgotten = "
            "json_insert(forgotten, '$[#]', ?) WHERE user_id = ? AND NOT EXISTS "
            "(SELECT 1 FROM json_each(forgotten) WHERE value = ?)",
            (mail_id, user, _now(), key, key, user, key),
        )
    # Mail it came from that is not here yet (restored from an export before the mbox):
    # the trigger that stores it merges this into its marker.
    c.execute(
        "INSERT INTO memory_mail_learned_pending (user_id, raw_hash, message_id, forgotten) "
        "SELECT user_id, raw_hash, message_id, json_array(?) FROM memory_mail_sources_pending "
        "WHERE memory_id = ? AND user_id = ?",
        (key, fact.id, user),
    )


def unlearn_all(c: sqlite3.Connection, user: str) -> None:
    """For a rebuild: drop what was learned from mail, to learn it again (forgotten stays)."""
    mail_facts = "SELECT id FROM memories WHERE user_id = ? AND origin = 'mail'"
    c.execute(
        f"UPDATE memories SET superseded_by = NULL WHERE user_id = ? AND superseded_by IN "
        f"({mail_facts})",
        (user, user),
    )
    c.execute("DELETE FROM memory_mail_sources WHERE user_id = ?", (user,))
    c.execute("DELETE FROM memory_mail_sources_pending WHERE user_id = ?", (user,))
    c.execute("UPDATE memory_mail_learned_pending SET learned_at = NULL WHERE user_id = ?", (user,))
    c.execute(
        f"DELETE FROM vectors WHERE user_id = ? AND kind = 'memory' AND item_id IN ({mail_facts})",
        (user, user),
    )
    c.execute("DELETE FROM memories WHERE user_id = ? AND origin = 'mail'", (user,))
    c.execute("UPDATE memory_mail_learned SET learned_at = NULL WHERE user_id = ?", (user,))


async def mail_sources(store: Store, user: str, mail_ids: Iterable[int]) -> list[MailSource]:
    """The user's sent mail with those ids, oldest first, recipients named where known."""
    ids = sorted(set(mail_ids))
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    rows = await store.query(
        "SELECT id, date, subject, to_addrs, body FROM mail_messages "
        f"WHERE user_id = ? AND id IN ({marks}) ORDER BY coalesce(date, imported_at), id",
        (user, *ids),
    )
    addrs = {a for r in rows for a in _addresses(r["to_addrs"])}
    names: dict[str, str] = {}
    if addrs:
        marks = ",".join("?" * len(addrs))
        found = await store.query(
            "SELECT e.email, coalesce(m.name, p.name) AS name FROM people_emails e "
            "JOIN people p ON p.id = e.person_id AND p.user_id = e.user_id "
            "LEFT JOIN people m ON m.id = p.merged_into AND m.user_id = p.user_id "
            f"WHERE e.user_id = ? AND e.email IN ({marks})",
            (user, *sorted(addrs)),
        )
        names = {r["email"]: r["name"] for r in found if r["name"] and "@" not in r["name"]}
    return [
        MailSource(
            id=r["id"],
            date=r["date"],
            subject=r["subject"],
            to=tuple(names.get(a, a) for a in _addresses(r["to_addrs"])),
            body=r["body"],
        )
        for r in rows
    ]


def _addresses(value: str | None) -> list[str]:
    try:
        items = json.loads(value or "[]")
    except ValueError:
        return []
    return [str(a).lower() for a in items if isinstance(a, str)] if isinstance(items, list) else []
