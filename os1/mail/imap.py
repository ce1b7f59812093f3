"""Incremental two-way IMAP sync: server mail into the store, local flags and moves back.

Each folder is matched by (UIDVALIDITY, UID): `mail_imap_uids` says which stored
message a server UID is, `mail_imap_state` what was seen last. A sync writes local
changes back first (see imap_writeback), then per folder: forgets the UID mapping
when UIDVALIDITY changed (the raw-hash dedupe of `add_message` re-links the same
mail, so nothing doubles), notes messages gone from the server, fetches the UIDs
it has not stored yet in batches (BODY.PEEK[]: syncing never marks mail read),
and refreshes the flags of the rest. Each batch is one transaction, so a sync cut
off half-way keeps what it committed and the next one continues from there.

The connection itself is imap_session's; watching an account is imap_watch's.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from imapclient.response_parser import parse_fetch_response

from ..store import Store
from .accounts import Account
from .imap_session import Session, connect
from .importer import parse_many
from .parse import MailParseError, ParsedMail, now_iso
from .store import add_message

BATCH = 100
"""Messages per FETCH of new mail, and per transaction."""
REMOVED = "(removed)"
"""The folder of a message that is gone from the server. Its row and raw bytes stay:
the user's stored mail is never deleted because a server dropped it."""
Progress = Callable[[str, int, int], None]
"""Called with (folder, new messages stored so far, new messages to fetch)."""


@dataclass
class FolderReport:
    new: int = 0
    flags: int = 0
    removed: int = 0
    unparsed: int = 0
    reset: bool = False
    """UIDVALIDITY changed: the folder was matched again from scratch."""


@dataclass
class SyncReport:
    account: str
    folders: dict[str, FolderReport] = field(default_factory=dict)
    written_back: int = 0
    uploaded: int = 0
    """Sent mail copied into the server's Sent folder."""
    errors: list[str] = field(default_factory=list)

    @property
    def new(self) -> int:
        return sum(f.new for f in self.folders.values())

    @property
    def flag_updates(self) -> int:
        return sum(f.flags for f in self.folders.values())

    @property
    def removed(self) -> int:
        return sum(f.removed for f in self.folders.values())


def _flags(raw: Iterable[bytes | str]) -> str:
    """Stored form of IMAP flags: sorted, space-separated, without the per-session \\Recent."""
    names = {f.decode(errors="replace") if isinstance(f, bytes) else f for f in raw}
    return " ".join(sorted(names - {"\\Recent"}))


def _all_flags(client: IMAPClient) -> dict[int, str]:
    """UID -> flags of every message in the selected folder, in one round trip.

    Without CONDSTORE (pymap, many small servers) every flag is asked for each time;
    the answer is a few dozen bytes a message. imapclient's fetch() cannot send
    "1:*", so this goes through imaplib underneath.
    """
    typ, data = client._imap.uid("FETCH", "1:*", "(FLAGS)")
    if typ != "OK":
        raise IMAPClientError(f"UID FETCH 1:* FLAGS: {typ} {data!r}")
    fetched = parse_fetch_response([d for d in data if d is not None])
    return {uid: _flags(item.get(b"FLAGS", ())) for uid, item in fetched.items()}


async def sync_account(
    store: Store,
    user: str,
    account: Account,
    *,
    me: frozenset[str] = frozenset(),
    on_progress: Progress | None = None,
    batch: int = BATCH,
) -> SyncReport:
    """Write local changes back, then bring every folder of `account` up to date."""
    # Imported here: imap_writeback builds on this module's SyncReport and REMOVED.
    from .imap_writeback import apply_pending

    me = me | {account.address.lower()}
    await store.execute_write(
        "INSERT OR IGNORE INTO users (id, created_at) VALUES (?, ?)", (user, now_iso())
    )
    report = SyncReport(account.name)
    session = await connect(account)
    try:
        await apply_pending(store, user, account, session, report)
        for folder in account.folders:
            report.folders[folder] = await _sync_folder(
                store, user, account.name, folder, session, me, on_progress, batch
            )
    finally:
        await session.close()
    return report


async def _sync_folder(
    store: Store,
    user: str,
    account: str,
    folder: str,
    session: Session,
    me: frozenset[str],
    on_progress: Progress | None,
    batch: int,
) -> FolderReport:
    report = FolderReport()
    uidvalidity = await session.select(folder, again=True)
    key = (user, account, folder)

    def begin(c: sqlite3.Connection) -> tuple[bool, list[int]]:
        """Start the folder's sync; what UIDs under an old UIDVALIDITY were mapped to."""
        where = "WHERE user_id = ? AND account = ? AND folder = ? AND uidvalidity != ?"
        args = (*key, uidvalidity)
        reset = c.execute(f"SELECT 1 FROM mail_imap_state {where}", args).fetchone()
        stale = [r[0] for r in c.execute(f"SELECT message_id FROM mail_imap_uids {where}", args)]
        # Those UIDs name other messages now (or nothing): forget them.
        c.execute(f"DELETE FROM mail_imap_uids {where}", args)
        c.execute(
            "INSERT INTO mail_imap_state (user_id, account, folder, uidvalidity, last_uid) "
            "VALUES (?, ?, ?, ?, 0) ON CONFLICT(user_id, account, folder) DO UPDATE SET "
            "last_uid = CASE WHEN uidvalidity = excluded.uidvalidity THEN last_uid ELSE 0 END, "
            "uidvalidity = excluded.uidvalidity",
            args,
        )
        return reset is not None, stale

    report.reset, stale = await store.write(begin)
    on_server = await session.call(f"FETCH {folder} FLAGS", _all_flags, session.client)
    rows = await store.query(
        "SELECT uid, message_id, flags FROM mail_imap_uids WHERE user_id = ? AND account = ? "
        "AND folder = ?",
        key,
    )
    known = {r["uid"]: (r["message_id"], r["flags"]) for r in rows}
    present = set(on_server)
    gone = [(uid, known[uid][0]) for uid in known if uid not in present]
    if gone:
        report.removed += await store.write(lambda c: _mark_gone(c, key, gone))

    # New = not mapped yet (not just > last_uid): a cut-off sync resumes exactly, and a
    # message this sync moved here (its UID learned from COPYUID) is not fetched again.
    new = sorted(present - set(known))
    for start in range(0, len(new), batch):
        chunk = new[start : start + batch]
        fetched = await session.call(
            f"FETCH {folder}", session.client.fetch, chunk, [b"BODY.PEEK[]", b"FLAGS"]
        )
        items = [
            (uid, bytes(data[b"BODY[]"]), _flags(data.get(b"FLAGS", ())))
            for uid, data in sorted(fetched.items())
            if b"BODY[]" in data
        ]
        parsed = await asyncio.to_thread(parse_many, [raw for _, raw, _ in items])

        if items:
            await store.write(
                partial(
                    _store_batch,
                    key=key,
                    uidvalidity=uidvalidity,
                    items=items,
                    parsed=parsed,
                    me=me,
                    report=report,
                )
            )
        if on_progress is not None:
            on_progress(folder, min(start + batch, len(new)), len(new))

    if stale:
        # Matched again above by their bytes, unless they are gone from the server.
        report.removed += await store.write(lambda c: _mark_gone(c, key, [(0, i) for i in stale]))

    report.flags = await _refresh_flags(store, key, known, on_server)
    await store.execute_write(
        "UPDATE mail_imap_state SET synced_at = ? WHERE user_id = ? AND account = ? AND folder = ?",
        (now_iso(), *key),
    )
    return report


def _store_batch(
    c: sqlite3.Connection,
    *,
    key: tuple[str, str, str],
    uidvalidity: int,
    items: list[tuple[int, bytes, str]],
    parsed: list[ParsedMail | MailParseError],
    me: frozenset[str],
    report: FolderReport,
) -> None:
    """Store one batch of fetched messages and their UIDs, in one transaction."""
    user, account, folder = key
    for (uid, raw, flags), p in zip(items, parsed, strict=True):
        added = add_message(
            c, user, raw, folder=folder, account=account, flags=flags.split(), me=me, parsed=p
        )
        if added.new:
            report.new += 1
            report.unparsed += added.error is not None
        else:
            _adopt(c, user, account, folder, added.id, flags)
        c.execute(
            "INSERT OR REPLACE INTO mail_imap_uids (user_id, account, folder, uidvalidity, uid, "
            "message_id, flags) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (*key, uidvalidity, uid, added.id, flags),
        )
    c.execute(
        "UPDATE mail_imap_state SET last_uid = max(last_uid, ?), synced_at = ? "
        "WHERE user_id = ? AND account = ? AND folder = ?",
        (max(uid for uid, _, _ in items), now_iso(), *key),
    )


def _adopt(
    c: sqlite3.Connection, user: str, account: str, folder: str, message_id: int, flags: str
) -> None:
    """A message stored already (from an archive, or moved here on the server) is now here.

    It takes this folder and the server's flags, unless it is on the server in another
    folder too, or a local change to it is still waiting to be written back.
    """
    c.execute(
        "UPDATE mail_messages SET account = :account, folder = :folder, flags = :flags "
        "WHERE user_id = :user AND id = :id AND NOT EXISTS (SELECT 1 FROM mail_imap_uids u "
        "WHERE u.user_id = :user AND u.account = :account AND u.message_id = :id "
        "AND u.folder != :folder) AND NOT EXISTS (SELECT 1 FROM mail_pending p "
        "WHERE p.user_id = :user AND p.message_id = :id)",
        {"account": account, "folder": folder, "flags": flags, "user": user, "id": message_id},
    )


def _mark_gone(
    c: sqlite3.Connection, key: tuple[str, str, str], gone: list[tuple[int, int]]
) -> int:
    """Messages no longer in the folder on the server: drop the UID, keep the mail.

    A message still on the server elsewhere (moved by another client) takes that folder;
    otherwise its folder becomes REMOVED. Mail the user moved locally meanwhile stays
    put. Returns how many are not in this folder any more.
    """
    user, account, folder = key
    count = 0
    for uid, message_id in gone:
        c.execute(
            "DELETE FROM mail_imap_uids WHERE user_id = ? AND account = ? AND folder = ? "
            "AND uid = ?",
            (*key, uid),
        )
        other = c.execute(
            "SELECT folder FROM mail_imap_uids WHERE user_id = ? AND account = ? "
            "AND message_id = ? ORDER BY folder = ? DESC LIMIT 1",
            (user, account, message_id, folder),
        ).fetchone()
        if other is None or other[0] != folder:
            count += 1
            c.execute(
                "UPDATE mail_messages SET folder = ? WHERE user_id = ? AND id = ? AND folder = ?",
                (other[0] if other else REMOVED, user, message_id, folder),
            )
    return count


async def _refresh_flags(
    store: Store,
    key: tuple[str, str, str],
    known: dict[int, tuple[int, str]],
    on_server: dict[int, str],
) -> int:
    """Take flags changed on the server (read elsewhere, flagged on the phone)."""
    user, account, _ = key
    waiting = {
        r["message_id"]
        for r in await store.query(
            "SELECT DISTINCT message_id FROM mail_pending WHERE user_id = ? AND account = ?",
            (user, account),
        )
    }
    # A local change not written back yet wins until it is.
    changed = [
        (uid, message_id, on_server[uid])
        for uid, (message_id, before) in known.items()
        if uid in on_server and on_server[uid] != before and message_id not in waiting
    ]

    def write(c: sqlite3.Connection) -> None:
        for uid, message_id, flags in changed:
            c.execute(
                "UPDATE mail_imap_uids SET flags = ? WHERE user_id = ? AND account = ? "
                "AND folder = ? AND uid = ?",
                (flags, *key, uid),
            )
            c.execute(
                "UPDATE mail_messages SET flags = ? WHERE user_id = ? AND id = ?",
                (flags, user, message_id),
            )

    if changed:
        await store.write(write)
    return len(changed)
