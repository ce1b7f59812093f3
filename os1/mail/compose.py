"""Drafts: saving, reading, editing, proofreading and discarding the mail the user writes.

Nothing here sends. A draft is a row in `mail_drafts` the user can read, edit,
proofread and discard; only the `send_mail` tool (send.py), with the user's
approval, lets one leave. Replies are drafted in reply.py, thread summaries
made in summary.py.
"""

from __future__ import annotations

import asyncio
import json
import mimetypes
import re
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import Address
from email.utils import getaddresses, parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..proofread import Suggestion, apply_suggestions, proofread
from ..store import Store
from . import store as mailstore
from .parse import Attachment
from .voice import learn_voice

if TYPE_CHECKING:
    from ..companion import Companion

MAX_BODY = 1_000_000
MAX_ATTACHMENTS = 25 * 1024 * 1024
"""Bytes of attachments in one message: what most mail servers accept."""


class DraftError(ValueError):
    """A draft is missing, already sent, or the input for one is wrong; the message says which."""


@dataclass(frozen=True)
class DraftAttachment:
    filename: str
    content_type: str
    size: int
    hash: str


@dataclass(frozen=True)
class Draft:
    id: int
    account: str | None
    reply_to: int | None
    """The stored message this answers (mail_messages.id), if it is a reply."""
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    body: str
    attachments: tuple[DraftAttachment, ...]
    status: str
    """"draft", "sent" or "discarded"."""
    created_at: str
    updated_at: str
    sent_at: str | None


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _row_to_draft(row: sqlite3.Row) -> Draft:
    return Draft(
        id=row["id"],
        account=row["account"],
        reply_to=row["reply_to"],
        to=tuple(json.loads(row["to_addrs"])),
        cc=tuple(json.loads(row["cc_addrs"])),
        subject=row["subject"],
        body=row["body"],
        attachments=tuple(DraftAttachment(**a) for a in json.loads(row["attachments"])),
        status=row["status"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        sent_at=row["sent_at"],
    )


def addresses(values: Sequence[str]) -> tuple[str, ...]:
    """Addresses as headers will carry them ("Amy Pond <amy@example.com>"); bad ones refused."""
    if isinstance(values, str):
        values = [values]
    found: list[str] = []
    for value in values:
        if "\n" in value or "\r" in value:
            raise DraftError(f"{value!r} is not an email address")
        for name, addr in getaddresses([value]) if value.strip() else []:
            if not re.fullmatch(r"[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+", addr):
                raise DraftError(f"{value!r} is not an email address")
            try:
                found.append(str(Address(display_name=name.strip(), addr_spec=addr)))
            except (ValueError, IndexError) as e:
                raise DraftError(f"{value!r} is not an email address: {e}") from e
    return tuple(dict.fromkeys(found))


def _clean_subject(subject: str) -> str:
    return " ".join(subject.split())[:300]


def _check_body(body: str) -> str:
    if len(body) > MAX_BODY:
        raise DraftError(f"the text is {len(body):,} characters; a mail can hold {MAX_BODY:,}")
    return body


def _store_attachments(
    c: sqlite3.Connection, user: str, files: Sequence[Attachment]
) -> list[dict[str, Any]]:
    kept = []
    for f in files:
        hash_ = mailstore.put_blob(c, user, f.data)
        kept.append(
            {
                "filename": f.filename,
                "content_type": f.content_type,
                "size": len(f.data),
                "hash": hash_,
            }
        )
    return kept


def _read_attachments(items: Sequence[Path | Attachment]) -> list[Attachment]:
    files = []
    for item in items:
        if isinstance(item, Attachment):
            files.append(item)
            continue
        path = Path(item)
        try:
            data = path.read_bytes()
        except OSError as e:
            raise DraftError(f"can't attach {path}: {e.strerror or e}") from e
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        files.append(Attachment(path.name, kind, data))
    if sum(len(f.data) for f in files) > MAX_ATTACHMENTS:
        raise DraftError(f"attachments over {MAX_ATTACHMENTS // 2**20} MB won't go through mail")
    return files


async def new_draft(
    store: Store,
    user: str,
    *,
    to: Sequence[str] = (),
    subject: str = "",
    body: str = "",
    cc: Sequence[str] = (),
    account: str | None = None,
    reply_to: int | None = None,
    attachments: Sequence[Path | Attachment] = (),
) -> int:
    """Save a new draft; returns its id. Attachments are copied in, so moving a file later
    changes nothing."""
    to_, cc_ = addresses(to), addresses(cc)
    files = await asyncio.to_thread(_read_attachments, attachments)
    body = _check_body(body)

    def write(c: sqlite3.Connection) -> int:
        now = _now()
        c.execute("INSERT OR IGNORE INTO users (id, created_at) VALUES (?, ?)", (user, now))
        if reply_to is not None and mailstore.get(c, user, reply_to) is None:
            raise DraftError(f"there is no message {reply_to} to reply to")
        cur = c.execute(
            "INSERT INTO mail_drafts (user_id, account, reply_to, to_addrs, cc_addrs, subject, "
            "body, attachments, status, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'draft', ?, ?)",
            (
                user, account, reply_to, json.dumps(list(to_)), json.dumps(list(cc_)),
                _clean_subject(subject), body, json.dumps(_store_attachments(c, user, files)),
                now, now,
            ),
        )  # fmt: skip
        return int(cur.lastrowid or 0)

    return await store.write(write)


async def get_draft(store: Store, user: str, draft_id: int) -> Draft:
    row = await store.query_one(
        "SELECT * FROM mail_drafts WHERE id = ? AND user_id = ?", (draft_id, user)
    )
    if row is None:
        raise DraftError(f"there is no draft {draft_id}")
    return _row_to_draft(row)


async def list_drafts(store: Store, user: str, status: str | None = "draft") -> list[Draft]:
    """The user's drafts, newest change first (`status=None`: sent and discarded ones too)."""
    sql, params = "SELECT * FROM mail_drafts WHERE user_id = ?", [user]
    if status is not None:
        sql, params = sql + " AND status = ?", [user, status]
    rows = await store.query(sql + " ORDER BY updated_at DESC, id DESC", params)
    return [_row_to_draft(r) for r in rows]


async def update_draft(
    store: Store,
    user: str,
    draft_id: int,
    *,
    to: Sequence[str] | None = None,
    cc: Sequence[str] | None = None,
    subject: str | None = None,
    body: str | None = None,
    attachments: Sequence[Path | Attachment] | None = None,
    expect_body: str | None = None,
) -> Draft:
    """Change an unsent draft; what isn't given stays. `expect_body`: refuse if the body is no
    longer this (someone changed it meanwhile)."""
    changes: dict[str, Any] = {}
    if to is not None:
        changes["to_addrs"] = json.dumps(list(addresses(to)))
    if cc is not None:
        changes["cc_addrs"] = json.dumps(list(addresses(cc)))
    if subject is not None:
        changes["subject"] = _clean_subject(subject)
    if body is not None:
        changes["body"] = _check_body(body)
    files = None if attachments is None else await asyncio.to_thread(_read_attachments, attachments)

    def write(c: sqlite3.Connection) -> None:
        row = c.execute(
            "SELECT status, body FROM mail_drafts WHERE id = ? AND user_id = ?", (draft_id, user)
        ).fetchone()
        if row is None:
            raise DraftError(f"there is no draft {draft_id}")
        if row["status"] != "draft":
            raise DraftError(f"draft {draft_id} is {row['status']}; it can't be changed")
        if expect_body is not None and row["body"] != expect_body:
            raise DraftError(f"draft {draft_id} changed meanwhile; nothing was changed")
        if files is not None:
            changes["attachments"] = json.dumps(_store_attachments(c, user, files))
        sets = ", ".join(f"{k} = ?" for k in changes)
        c.execute(
            f"UPDATE mail_drafts SET {sets}{', ' if sets else ''}updated_at = ? "
            "WHERE id = ? AND user_id = ?",
            (*changes.values(), _now(), draft_id, user),
        )

    await store.write(write)
    return await get_draft(store, user, draft_id)


async def discard_draft(store: Store, user: str, draft_id: int) -> None:
    """Mark a draft discarded (kept, not deleted: `list_drafts(status="discarded")`)."""

    def write(c: sqlite3.Connection) -> None:
        cur = c.execute(
            "UPDATE mail_drafts SET status = 'discarded', updated_at = ? "
            "WHERE id = ? AND user_id = ? AND status = 'draft'",
            (_now(), draft_id, user),
        )
        if not cur.rowcount:
            row = c.execute(
                "SELECT status FROM mail_drafts WHERE id = ? AND user_id = ?", (draft_id, user)
            ).fetchone()
            raise DraftError(
                f"there is no draft {draft_id}" if row is None else
                f"draft {draft_id} is {row['status']}; only an unsent draft can be discarded"
            )  # fmt: skip

    await store.write(write)


# --- proofreading a draft --------------------------------------------------------------------


async def proofread_draft(
    companion: Companion,
    user: str,
    draft_id: int,
    decide: Callable[[Suggestion], Awaitable[bool | None]],
) -> int:
    """Offer each suggestion for the draft's body to `decide`, in order; make the accepted ones.

    `decide` answers True (accept), False (reject) or None (stop: the rest stay as they
    are). Returns how many were accepted. The recipients' names and names the user writes
    often are not flagged as misspelt.
    """
    draft = await get_draft(companion.store, user, draft_id)
    if draft.status != "draft":
        raise DraftError(f"draft {draft_id} is {draft.status}; it can't be changed")
    voice = await learn_voice(companion.store, user)
    names = {part for a in (*draft.to, *draft.cc) for part in parseaddr(a)[0].split()}
    known = voice.vocabulary | {n.lower() for n in names}
    suggestions = await proofread(draft.body, companion.model, known_words=known)
    accepted = []
    for suggestion in suggestions:
        answer = await decide(suggestion)
        if answer is None:
            break
        if answer:
            accepted.append(suggestion)
    if accepted:
        body = apply_suggestions(draft.body, accepted)
        await update_draft(companion.store, user, draft_id, body=body, expect_body=draft.body)
    return len(accepted)
