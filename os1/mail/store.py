"""The user's mail in the database: messages, raw bytes and attachments, threads.

Every message is stored with its raw bytes, once, keyed by their SHA-256 (with line
endings normalised): importing the same archive twice, or a message that is both in
an mbox and on the IMAP server, adds nothing. A message that cannot be parsed is
stored too — raw, marked `unparsed`, with the reason — so an import never loses
anything. Threads follow
Message-ID, In-Reply-To and References, whichever order the messages arrive in.
Functions here take a connection and run inside the caller's write transaction.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from .parse import MailParseError, ParsedMail, now_iso, parse

FLAG_LETTERS = {
    "S": "\\Seen",
    "R": "\\Answered",
    "F": "\\Flagged",
    "T": "\\Deleted",
    "D": "\\Draft",
}


@dataclass(frozen=True)
class Added:
    """What storing one message did: its row id, and whether it was new."""

    id: int
    new: bool
    error: str | None = None


def digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def message_key(raw: bytes) -> str:
    """The hash a message is known by: the same mail read from an mbox (LF line ends)
    and from an IMAP server (CRLF) is one message, not two."""
    return digest(raw.replace(b"\r\n", b"\n").rstrip())


def put_blob(c: sqlite3.Connection, user: str, data: bytes, hash_: str | None = None) -> str:
    hash_ = hash_ or digest(data)
    c.execute(
        "INSERT OR IGNORE INTO mail_blobs (user_id, hash, size, data) VALUES (?, ?, ?, ?)",
        (user, hash_, len(data), data),
    )
    return hash_


def blob(c: sqlite3.Connection, user: str, hash_: str) -> bytes | None:
    row = c.execute(
        "SELECT data FROM mail_blobs WHERE user_id = ? AND hash = ?", (user, hash_)
    ).fetchone()
    return bytes(row[0]) if row else None


def find(c: sqlite3.Connection, user: str, raw_hash: str) -> int | None:
    row = c.execute(
        "SELECT id FROM mail_messages WHERE user_id = ? AND raw_hash = ?", (user, raw_hash)
    ).fetchone()
    return int(row[0]) if row else None


def add_message(
    c: sqlite3.Connection,
    user: str,
    raw: bytes,
    *,
    folder: str = "INBOX",
    account: str | None = None,
    flags: Iterable[str] = (),
    me: frozenset[str] = frozenset(),
    parsed: ParsedMail | MailParseError | None = None,
) -> Added:
    """Store one raw message (parsed here unless the caller parsed it already)."""
    raw_hash = message_key(raw)
    existing = find(c, user, raw_hash)
    if existing is not None:
        return Added(existing, False)
    if parsed is None:
        try:
            parsed = parse(raw)
        except MailParseError as e:
            parsed = e
    put_blob(c, user, raw, raw_hash)
    flag_text = " ".join(sorted(set(flags)))
    if isinstance(parsed, MailParseError):
        cur = c.execute(
            "INSERT INTO mail_messages (user_id, account, folder, raw_hash, flags, status, error, "
            "imported_at) VALUES (?, ?, ?, ?, ?, 'unparsed', ?, ?)",
            (user, account, folder, raw_hash, flag_text, str(parsed), now_iso()),
        )
        return Added(int(cur.lastrowid or 0), True, str(parsed))
    p = parsed
    cur = c.execute(
        "INSERT INTO mail_messages (user_id, account, folder, raw_hash, message_id, in_reply_to, "
        "refs, subject, from_name, from_addr, to_addrs, cc_addrs, date, body, quoted, "
        "signature, headers, flags, from_me, imported_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            user,
            account,
            folder,
            raw_hash,
            p.message_id,
            p.in_reply_to,
            json.dumps(list(p.references)),
            p.subject,
            p.from_name,
            p.from_addr,
            json.dumps(list(p.to)),
            json.dumps(list(p.cc)),
            p.date,
            p.body,
            p.quoted,
            p.signature,
            json.dumps(p.headers),
            flag_text,
            int(p.from_addr in me),
            now_iso(),
        ),
    )
    message_id = int(cur.lastrowid or 0)
    for attachment in p.attachments:
        hash_ = put_blob(c, user, attachment.data)
        c.execute(
            "INSERT INTO mail_attachments (user_id, message_id, filename, content_type, size, "
            "hash) VALUES (?, ?, ?, ?, ?, ?)",
            (
                user,
                message_id,
                attachment.filename,
                attachment.content_type,
                len(attachment.data),
                hash_,
            ),
        )
    _thread(c, user, message_id, p)
    return Added(message_id, True)


def _thread(c: sqlite3.Connection, user: str, message_id: int, p: ParsedMail) -> None:
    """Join the thread of a parent already stored, and adopt children that came first."""
    parents = [p.in_reply_to, *reversed(p.references)] if p.in_reply_to else p.references[::-1]
    thread = message_id
    for ref in dict.fromkeys(r for r in parents if r):
        row = c.execute(
            "SELECT thread_id FROM mail_messages WHERE user_id = ? AND message_id = ? "
            "AND +thread_id IS NOT NULL LIMIT 1",  # "+": not the thread index
            (user, ref),
        ).fetchone()
        if row is not None:
            thread = int(row[0])
            break
    c.execute("UPDATE mail_messages SET thread_id = ? WHERE id = ?", (thread, message_id))
    if p.message_id:
        # Replies imported before this message started threads of their own: merge them.
        orphans = c.execute(
            "SELECT DISTINCT thread_id FROM mail_messages INDEXED BY mail_messages_reply "
            "WHERE user_id = ? AND in_reply_to = ? AND thread_id != ?",
            (user, p.message_id, thread),
        ).fetchall()
        for (orphan,) in orphans:
            c.execute(
                "UPDATE mail_messages SET thread_id = ? WHERE user_id = ? AND thread_id = ?",
                (thread, user, orphan),
            )


def maildir_flags(filename: str) -> list[str]:
    """IMAP flags from a Maildir file name's ":2,FRS" info part."""
    if ":2," not in filename:
        return []
    return [FLAG_LETTERS[ch] for ch in filename.rsplit(":2,", 1)[1] if ch in FLAG_LETTERS]


def set_folder(c: sqlite3.Connection, user: str, ids: Iterable[int], folder: str) -> list[int]:
    """Move messages to `folder` locally; returns the ids that actually moved."""
    moved = []
    for message_id in ids:
        cur = c.execute(
            "UPDATE mail_messages SET folder = ? WHERE user_id = ? AND id = ? AND folder != ?",
            (folder, user, message_id, folder),
        )
        if cur.rowcount:
            moved.append(message_id)
    return moved


def get(c: sqlite3.Connection, user: str, message_id: int) -> sqlite3.Row | None:
    row: sqlite3.Row | None = c.execute(
        "SELECT * FROM mail_messages WHERE user_id = ? AND id = ?", (user, message_id)
    ).fetchone()
    return row


def thread(c: sqlite3.Connection, user: str, message_id: int) -> list[sqlite3.Row]:
    """Every message in the thread of `message_id`, oldest first."""
    row = get(c, user, message_id)
    if row is None:
        return []
    return list(
        c.execute(
            "SELECT * FROM mail_messages WHERE user_id = ? AND thread_id = ? "
            "ORDER BY coalesce(date, imported_at), id",
            (user, row["thread_id"] if row["thread_id"] is not None else message_id),
        )
    )
