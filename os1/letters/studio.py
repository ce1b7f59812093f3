"""Letters and their versions in the store: write, edit (keeping every old text), find, delete.

Every edit keeps the text it replaces as a version, so any earlier text can be
brought back and nothing written is ever lost by editing. A letter may be
written *for* someone (`written_for`: the client on whose behalf Theodore
writes); such letters are private to that client, which the send tool flags.
Drafting from notes asks the model when it can write; the tiny bundled model
cannot, so there the draft is an honest skeleton made of the notes themselves.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..models.base import Message, Model, TextDelta
from ..store import Store

MAX_BODY = 100_000
"""Characters in one letter: a long letter is a few thousand; more is a mistake, not a letter."""
MAX_NAME = 200
MAX_TITLE = 200


class LetterError(ValueError):
    """Bad letter input or a letter that isn't there; the message says which."""


@dataclass(frozen=True)
class Letter:
    id: int
    recipient: str
    written_for: str | None
    title: str
    body: str
    status: str
    created_at: str
    updated_at: str
    versions: int = 0
    """How many earlier texts are kept."""

    @property
    def heading(self) -> str:
        return self.title or f"To {self.recipient}"


@dataclass(frozen=True)
class Version:
    id: int
    letter_id: int
    body: str
    created_at: str


def _now() -> str:
    return datetime.now(UTC).isoformat()


def clean_body(text: str) -> str:
    """The letter text as stored: Unix newlines, no control characters, no trailing blanks."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        raise LetterError("that looks like a binary file, not a letter (it has NUL bytes)")
    text = "".join(ch for ch in text if ch in "\n\t" or (ch >= " " and ch != "\x7f"))
    text = "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")
    if not text.strip():
        raise LetterError("the letter is empty: write something first")
    if len(text) > MAX_BODY:
        raise LetterError(
            f"the letter is {len(text):,} characters; the most one letter may hold is {MAX_BODY:,}"
        )
    return text


def _clean_name(value: str | None, what: str, *, required: bool) -> str | None:
    name = " ".join((value or "").split())
    if not name:
        if required:
            raise LetterError(f"the {what} needs a name")
        return None
    if len(name) > MAX_NAME:
        raise LetterError(f"the {what}'s name is longer than {MAX_NAME} characters")
    return name


def _clean_title(title: str | None) -> str:
    title = " ".join((title or "").split())
    if len(title) > MAX_TITLE:
        raise LetterError(f"the title is longer than {MAX_TITLE} characters")
    return title


_COLUMNS = (
    "l.id, l.recipient, l.written_for, l.title, l.body, l.status, l.created_at, l.updated_at, "
    "(SELECT count(*) FROM letter_versions v WHERE v.letter_id = l.id) AS versions"
)


def _letter(row: sqlite3.Row) -> Letter:
    return Letter(**{k: row[k] for k in row.keys()})


def _get(c: sqlite3.Connection, user: str, letter_id: int) -> Letter:
    row = c.execute(
        f"SELECT {_COLUMNS} FROM letters l WHERE l.id = ? AND l.user_id = ?", (letter_id, user)
    ).fetchone()
    if row is None:
        raise LetterError(f"there is no letter #{letter_id}")
    return _letter(row)


async def new_letter(
    store: Store,
    user: str,
    recipient: str,
    body: str,
    *,
    title: str = "",
    written_for: str | None = None,
) -> Letter:
    """Save a new draft letter to `recipient`, linked to them if they are in the address book."""
    to = _clean_name(recipient, "recipient", required=True)
    client = _clean_name(written_for, "client", required=False)
    text, heading = clean_body(body), _clean_title(title)

    def write(c: sqlite3.Connection) -> Letter:
        now = _now()
        c.execute("INSERT OR IGNORE INTO users (id, created_at) VALUES (?, ?)", (user, now))
        person = c.execute(
            "SELECT id FROM people WHERE user_id = ? AND merged_into IS NULL "
            "AND name = ? COLLATE NOCASE ORDER BY id LIMIT 1",
            (user, to),
        ).fetchone()
        cur = c.execute(
            "INSERT INTO letters (user_id, recipient, person_id, written_for, title, body, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (user, to, person[0] if person else None, client, heading, text, now, now),
        )
        return _get(c, user, int(cur.lastrowid or 0))

    return await store.write(write)


async def get_letter(store: Store, user: str, letter_id: int) -> Letter:
    return await store.read(lambda c: _get(c, user, letter_id))


async def get_letters(store: Store, user: str, letter_ids: Sequence[int]) -> list[Letter]:
    """The letters in the order asked for (each once); a missing one is an error."""
    if not letter_ids:
        raise LetterError("name at least one letter")
    ids = list(dict.fromkeys(int(i) for i in letter_ids))
    return await store.read(lambda c: [_get(c, user, i) for i in ids])


async def list_letters(
    store: Store, user: str, *, recipient: str | None = None, written_for: str | None = None
) -> list[Letter]:
    """The user's letters, oldest first; to one recipient or for one client if asked."""
    rows = await store.query(
        f"SELECT {_COLUMNS} FROM letters l WHERE l.user_id = ? ORDER BY l.created_at, l.id",
        (user,),
    )
    letters = [_letter(r) for r in rows]
    # Names compare case-insensitively in any script (SQLite's NOCASE knows only ASCII).
    if recipient is not None:
        want = " ".join(recipient.split()).casefold()
        letters = [x for x in letters if x.recipient.casefold() == want]
    if written_for is not None:
        want = " ".join(written_for.split()).casefold()
        letters = [x for x in letters if (x.written_for or "").casefold() == want]
    return letters


async def history(store: Store, user: str, recipient: str) -> list[Letter]:
    """Every letter written to `recipient`, oldest first: the story of one correspondence."""
    return await list_letters(store, user, recipient=recipient)


async def edit_letter(
    store: Store,
    user: str,
    letter_id: int,
    *,
    body: str | None = None,
    title: str | None = None,
    recipient: str | None = None,
    written_for: str | None = None,
    clear_written_for: bool = False,
    status: str | None = None,
) -> Letter:
    """Change a letter; a changed text keeps the one it replaces as a version."""
    text = clean_body(body) if body is not None else None
    heading = _clean_title(title) if title is not None else None
    to = _clean_name(recipient, "recipient", required=True) if recipient is not None else None
    client = _clean_name(written_for, "client", required=False)
    if status is not None and status not in ("draft", "final"):
        raise LetterError("a letter's status is 'draft' or 'final'")

    def write(c: sqlite3.Connection) -> Letter:
        old, now = _get(c, user, letter_id), _now()
        if text is not None and text != old.body:
            c.execute(
                "INSERT INTO letter_versions (user_id, letter_id, body, created_at) "
                "VALUES (?, ?, ?, ?)",
                (user, letter_id, old.body, old.updated_at),
            )
        fields: dict[str, Any] = {"body": text, "title": heading, "recipient": to}
        fields["status"] = status
        fields = {k: v for k, v in fields.items() if v is not None}
        if clear_written_for or client is not None:
            fields["written_for"] = client
        if fields:
            sets = ", ".join(f"{k} = ?" for k in fields)
            c.execute(
                f"UPDATE letters SET {sets}, updated_at = ? WHERE id = ? AND user_id = ?",
                (*fields.values(), now, letter_id, user),
            )
        return _get(c, user, letter_id)

    return await store.write(write)


async def versions(store: Store, user: str, letter_id: int) -> list[Version]:
    """The earlier texts of a letter, oldest first."""
    await get_letter(store, user, letter_id)
    rows = await store.query(
        "SELECT id, letter_id, body, created_at FROM letter_versions "
        "WHERE letter_id = ? AND user_id = ? ORDER BY id",
        (letter_id, user),
    )
    return [Version(r["id"], r["letter_id"], r["body"], r["created_at"]) for r in rows]


async def revert(store: Store, user: str, letter_id: int, version_id: int | None = None) -> Letter:
    """Bring back an earlier text (default: the one before the last edit).

    The text it replaces is kept as a version too, so reverting loses nothing and
    can itself be reverted.
    """
    found = await versions(store, user, letter_id)
    if not found:
        raise LetterError(f"letter #{letter_id} has no earlier text to go back to")
    wanted = found[-1].id if version_id is None else version_id
    chosen = next((v for v in found if v.id == wanted), None)
    if chosen is None:
        raise LetterError(f"letter #{letter_id} has no version #{version_id}")
    return await edit_letter(store, user, letter_id, body=chosen.body)


async def delete_letter(store: Store, user: str, letter_id: int) -> dict[str, Any]:
    """Delete a letter and its versions; returns everything needed to restore it."""

    def write(c: sqlite3.Connection) -> dict[str, Any]:
        letter = _get(c, user, letter_id)
        row = c.execute("SELECT * FROM letters WHERE id = ?", (letter_id,)).fetchone()
        kept = c.execute(
            "SELECT body, created_at FROM letter_versions WHERE letter_id = ? ORDER BY id",
            (letter_id,),
        ).fetchall()
        c.execute("DELETE FROM letter_versions WHERE letter_id = ?", (letter.id,))
        c.execute("DELETE FROM letters WHERE id = ? AND user_id = ?", (letter.id, user))
        return {"letter": dict(row), "versions": [dict(v) for v in kept]}

    return await store.write(write)


async def restore_letter(store: Store, user: str, snapshot: dict[str, Any]) -> Letter:
    """Put a deleted letter back, under its old number when that is still free."""
    data = dict(snapshot["letter"])
    if data.get("user_id") != user:
        raise LetterError("that letter belongs to someone else")

    def write(c: sqlite3.Connection) -> Letter:
        taken = c.execute("SELECT 1 FROM letters WHERE id = ?", (data["id"],)).fetchone()
        if taken:
            data.pop("id")
        if (
            data.get("person_id") is not None
            and not c.execute("SELECT 1 FROM people WHERE id = ?", (data["person_id"],)).fetchone()
        ):
            data["person_id"] = None
        cur = c.execute(
            f"INSERT INTO letters ({', '.join(data)}) VALUES ({', '.join('?' * len(data))})",
            tuple(data.values()),
        )
        letter_id = int(cur.lastrowid or 0)
        for v in snapshot.get("versions", []):
            c.execute(
                "INSERT INTO letter_versions (user_id, letter_id, body, created_at) "
                "VALUES (?, ?, ?, ?)",
                (user, letter_id, v["body"], v["created_at"]),
            )
        return _get(c, user, letter_id)

    return await store.write(write)


# --- drafting from notes -------------------------------------------------------------------


@dataclass(frozen=True)
class Draft:
    body: str
    skeleton: bool
    """True when the text is the notes laid out as a letter, not written by the model."""


def _sentence(note: str) -> str:
    note = " ".join(note.split())
    if not note:
        return ""
    note = note[0].upper() + note[1:]
    return note if re.search(r"[.!?…:;\"'”’)]$", note) else note + "."


def skeleton(recipient: str, notes: Sequence[str], signed: str | None = None) -> str:
    """A letter's bones from the notes: greeting, one paragraph per note, a sign-off."""
    paragraphs = [p for p in (_sentence(n) for n in notes) if p]
    if not paragraphs:
        raise LetterError("give a few notes to draft the letter from")
    sign_off = "With love," + (f"\n{signed}" if signed else "")
    return "\n\n".join([f"Dear {recipient},", *paragraphs, sign_off])


async def draft(
    model: Model,
    recipient: str,
    notes: Sequence[str],
    *,
    written_for: str | None = None,
    signed: str | None = None,
    on_text: Callable[[str], None] | None = None,
) -> Draft:
    """A first draft of a letter from a few notes; `on_text` sees the model's text as it comes."""
    to = _clean_name(recipient, "recipient", required=True) or ""
    client = _clean_name(written_for, "client", required=False)
    bones = skeleton(to, notes, signed or client)
    if model.info.small:
        # The bundled model would invent things the writer never said: give the notes back.
        return Draft(bones, skeleton=True)
    whose = f", written on behalf of {client}, who signs it" if client else ""
    prompt = (
        f"Write a personal letter to {to}{whose}. Use only what these notes say; add no "
        "facts of your own. Warm, specific, in plain words. Reply with the letter text "
        "only, from the greeting to the signature.\n\nNotes:\n"
        + "\n".join(f"- {' '.join(n.split())}" for n in notes if n.strip())
    )
    messages = [
        Message("system", "You help write heartfelt, personal letters."),
        Message("user", prompt),
    ]
    parts: list[str] = []
    async for chunk in model.stream(messages, max_tokens=800, temperature=0.7):
        if isinstance(chunk, TextDelta):
            parts.append(chunk.text)
            if on_text is not None:
                on_text(chunk.text)
    text = "".join(parts).strip()
    if not text:
        return Draft(bones, skeleton=True)
    return Draft(clean_body(text), skeleton=False)
