"""Local flag changes, moves and sent mail, written back to the IMAP server at the next sync.

`queue_flags` and `queue_move` change the stored messages at once and, for mail that
came from an IMAP account, queue the change in `mail_pending`. `queue_append` queues a
copy of mail sent from here for the account's Sent folder (`mail_appends`), so other
mail programs show it too. A sync applies the queues first: uploads, then changes,
oldest first (so a sent mail moved locally meanwhile is uploaded, then moved). An
entry stays queued while the server cannot be reached (the sync fails before dropping
it), and is dropped once done, when the server refuses it (reported), or when the
message is no longer on the server.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from imapclient import IMAPClient
from imapclient.imapclient import SENT

from ..store import Store
from .accounts import Account
from .imap import REMOVED, SyncReport
from .imap_session import ImapRefused, Session
from .parse import now_iso
from .store import blob, set_folder

SYSTEM_FLAGS = frozenset({"\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft"})
_KEYWORD = re.compile(r'[^\s(){%*"\\\]\x00-\x1f\x7f]+')
_COPYUID = re.compile(rb"(\d+) (\d+) (\d+)")
_APPENDUID = re.compile(rb"\[APPENDUID (\d+) (\d+)\]", re.IGNORECASE)
SENT_NAMES = ("Sent", "Sent Items", "Sent Messages")
"""Where other mail programs keep sent mail, when the server names no \\Sent folder."""
LOCAL_SENT = "Sent"
"""The folder sent mail is stored in here (send.py)."""


def _check_flags(flags: Iterable[str]) -> list[str]:
    checked = []
    for flag in flags:
        if flag not in SYSTEM_FLAGS and not _KEYWORD.fullmatch(flag):
            raise ValueError(
                f"{flag!r} is not an IMAP flag: use {', '.join(sorted(SYSTEM_FLAGS))} "
                "or a keyword such as $Important"
            )
        checked.append(flag)
    return checked


def _messages(c: sqlite3.Connection, user: str, ids: list[int]) -> list[sqlite3.Row]:
    rows = []
    for message_id in ids:
        row = c.execute(
            "SELECT id, account, folder, flags FROM mail_messages WHERE user_id = ? AND id = ?",
            (user, message_id),
        ).fetchone()
        if row is None:
            raise ValueError(f"there is no message {message_id}")
        rows.append(row)
    return rows


def _queue(
    c: sqlite3.Connection, user: str, account: str, message_id: int, op: str, args: dict[str, Any]
) -> None:
    c.execute(
        "INSERT INTO mail_pending (user_id, account, message_id, op, args, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (user, account, message_id, op, json.dumps(args), now_iso()),
    )


async def queue_flags(
    store: Store,
    user: str,
    message_ids: Iterable[int],
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
) -> list[int]:
    """Add and remove flags on messages now; IMAP mail gets them on the server at next sync.

    Returns the ids whose stored flags changed. An unknown id or a malformed flag raises
    ValueError and changes nothing.
    """
    plus, minus = _check_flags(add), _check_flags(remove)
    if set(plus) & set(minus):
        raise ValueError(f"cannot both add and remove {sorted(set(plus) & set(minus))}")
    ids = list(message_ids)

    def write(c: sqlite3.Connection) -> list[int]:
        changed = []
        for row in _messages(c, user, ids):
            before = set(row["flags"].split())
            after = (before | set(plus)) - set(minus)
            if after != before:
                c.execute(
                    "UPDATE mail_messages SET flags = ? WHERE user_id = ? AND id = ?",
                    (" ".join(sorted(after)), user, row["id"]),
                )
                changed.append(row["id"])
            # Queued as asked, not as the local difference: the server may have
            # changed since the last sync, and STORE +FLAGS/-FLAGS is idempotent.
            if row["account"] is not None and (plus or minus):
                _queue(c, user, row["account"], row["id"], "flags", {"add": plus, "remove": minus})
        return changed

    return await store.write(write)


async def queue_move(
    store: Store, user: str, message_ids: Iterable[int], to_folder: str
) -> list[int]:
    """Move messages to `to_folder` now; IMAP mail is moved on the server at next sync.

    Returns the ids that moved. An unknown id raises ValueError and moves nothing.
    """
    if not to_folder.strip() or to_folder == REMOVED:
        raise ValueError(f"{to_folder!r} is not a folder to move mail to")
    ids = list(message_ids)

    def write(c: sqlite3.Connection) -> list[int]:
        accounts = {row["id"]: row["account"] for row in _messages(c, user, ids)}
        moved = set_folder(c, user, ids, to_folder)
        for message_id in moved:
            if accounts[message_id] is not None:
                _queue(c, user, accounts[message_id], message_id, "move", {"to": to_folder})
        return moved

    return await store.write(write)


async def queue_append(
    store: Store, user: str, mail_id: int, folder: str | None = None
) -> int | None:
    """Queue a stored message for upload to its account's server at the next sync.

    `folder` None: the account's Sent folder, found on the server then. Returns the
    queue entry's id, or None for mail of no account (nothing to upload it to). An
    unknown id raises ValueError and queues nothing.
    """

    def write(c: sqlite3.Connection) -> int | None:
        [row] = _messages(c, user, [mail_id])
        if row["account"] is None:
            return None
        cur = c.execute(
            "INSERT INTO mail_appends (user_id, account, mail_id, folder, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (user, row["account"], mail_id, folder, now_iso()),
        )
        return int(cur.lastrowid or 0)

    return await store.write(write)


async def apply_pending(
    store: Store, user: str, account: Account, session: Session, report: SyncReport
) -> None:
    """Upload the queued sent mail of `account`, then write its queued changes, oldest first."""
    await _apply_appends(store, user, account, session, report)
    pending = await store.query(
        "SELECT id, message_id, op, args FROM mail_pending WHERE user_id = ? AND account = ? "
        "ORDER BY id",
        (user, account.name),
    )
    for op in pending:
        places = await store.query(
            "SELECT folder, uidvalidity, uid, flags, message_id FROM mail_imap_uids "
            "WHERE user_id = ? AND account = ? AND message_id = ? ORDER BY folder, uid",
            (user, account.name, op["message_id"]),
        )
        args = json.loads(op["args"])
        keep = False
        try:
            for place in places:
                if await session.select(place["folder"]) != place["uidvalidity"]:
                    # The folder was recreated on the server: this UID names nothing now.
                    # Syncing that folder matches the message again; keep the change for then.
                    await _forget(store, user, account.name, place)
                    keep = True
                elif op["op"] == "flags":
                    await _store_flags(store, user, account.name, session, place, args)
                else:
                    await _move(store, user, account.name, session, place, args["to"])
        except ImapRefused as e:
            report.errors.append(f"message {op['message_id']}: {op['op']} not written back: {e}")
        else:
            if keep:
                continue
            report.written_back += bool(places)
        await store.execute_write("DELETE FROM mail_pending WHERE id = ?", (op["id"],))


async def _forget(store: Store, user: str, account: str, place: sqlite3.Row) -> None:
    await store.execute_write(
        "DELETE FROM mail_imap_uids WHERE user_id = ? AND account = ? AND folder = ? AND uid = ?",
        (user, account, place["folder"], place["uid"]),
    )


async def _store_flags(
    store: Store,
    user: str,
    account: str,
    session: Session,
    place: sqlite3.Row,
    args: dict[str, list[str]],
) -> None:
    uid, client = place["uid"], session.client
    if args["add"]:
        await session.call("STORE +FLAGS", client.add_flags, [uid], args["add"], silent=True)
    if args["remove"]:
        await session.call("STORE -FLAGS", client.remove_flags, [uid], args["remove"], silent=True)
    after = (set(place["flags"].split()) | set(args["add"])) - set(args["remove"])
    # What the server has now, so the flag refresh does not take it for a change there.
    await store.execute_write(
        "UPDATE mail_imap_uids SET flags = ? WHERE user_id = ? AND account = ? AND folder = ? "
        "AND uid = ?",
        (" ".join(sorted(after)), user, account, place["folder"], uid),
    )


async def _move(
    store: Store, user: str, account: str, session: Session, place: sqlite3.Row, target: str
) -> None:
    if place["folder"] == target:
        return
    await session.ensure_folder(target)
    landed = await session.call(
        f"MOVE to {target}",
        _move_one,
        session.client,
        place["uid"],
        target,
        session.has("MOVE"),
        session.has("UIDPLUS"),
    )

    def write(c: sqlite3.Connection) -> None:
        c.execute(
            "DELETE FROM mail_imap_uids WHERE user_id = ? AND account = ? AND folder = ? "
            "AND uid = ?",
            (user, account, place["folder"], place["uid"]),
        )
        if landed is not None:
            # Its UID in the target, so syncing that folder knows it and fetches nothing.
            # Without COPYUID the message is matched there by its raw bytes instead.
            c.execute(
                "INSERT OR REPLACE INTO mail_imap_uids (user_id, account, folder, uidvalidity, "
                "uid, message_id, flags) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (user, account, target, *landed, place["message_id"], place["flags"]),
            )

    await store.write(write)


def _move_one(
    client: IMAPClient, uid: int, target: str, can_move: bool, uidplus: bool
) -> tuple[int, int] | None:
    """Move one message (MOVE, or COPY + \\Deleted + EXPUNGE); its UIDVALIDITY and UID there.

    The new UID comes from a COPYUID response (UIDPLUS) in an untagged OK, which imaplib
    keeps in `untagged_responses`. imapclient does not return the tagged OK, where some
    servers put it after a COPY: then the UID is learned at the next sync of the target.
    """
    untagged = client._imap.untagged_responses
    untagged.pop("COPYUID", None)
    if can_move:
        client.move([uid], target)
    else:
        client.copy([uid], target)
        client.add_flags([uid], [b"\\Deleted"], silent=True)
        if uidplus:
            client.uid_expunge([uid])
        else:
            client.expunge()  # also expunges others marked \Deleted there, as any client would
    for data in untagged.pop("COPYUID", []):
        found = _COPYUID.fullmatch(bytes(data))
        if found and int(found[2]) == uid:
            return int(found[1]), int(found[3])
    return None


async def _apply_appends(
    store: Store, user: str, account: Account, session: Session, report: SyncReport
) -> None:
    queued = await store.query(
        "SELECT a.id, a.mail_id, a.folder, m.raw_hash, m.date "
        "FROM mail_appends a JOIN mail_messages m ON m.id = a.mail_id AND m.user_id = a.user_id "
        "WHERE a.user_id = ? AND a.account = ? ORDER BY a.id",
        (user, account.name),
    )
    sent: str | None = None
    for entry in queued:
        try:
            folder = entry["folder"]
            if folder is None:
                sent = sent or await _sent_folder(session)
                folder = sent
            await _append(store, user, account.name, session, entry, folder)
            report.uploaded += 1  # apart from written_back, which counts flags and moves
        except ImapRefused as e:
            report.errors.append(f"message {entry['mail_id']}: not uploaded: {e}")
        await store.execute_write("DELETE FROM mail_appends WHERE id = ?", (entry["id"],))


async def _sent_folder(session: Session) -> str:
    """The server's Sent folder: marked \\Sent (SPECIAL-USE), else by a usual name, else made."""
    listed = await session.call("LIST", session.client.list_folders)
    for flags, _, name in listed:
        if SENT in flags:
            return str(name)
    # A \\Noselect folder is only a parent of others: mail cannot go in it.
    names = {
        str(name).lower(): str(name)
        for flags, _, name in listed
        if b"\\noselect" not in {f.lower() for f in flags}
    }
    for candidate in SENT_NAMES:
        if candidate.lower() in names:
            return names[candidate.lower()]
    await session.ensure_folder(LOCAL_SENT)
    return LOCAL_SENT


async def _append(
    store: Store, user: str, account: str, session: Session, entry: sqlite3.Row, folder: str
) -> None:
    raw = await store.read(lambda c: blob(c, user, entry["raw_hash"]))
    if raw is None:
        raise ImapRefused(f"its raw bytes are missing here ({entry['raw_hash'][:12]})")
    await session.ensure_folder(folder)
    when = datetime.fromisoformat(entry["date"]) if entry["date"] else None
    answer = await session.call(
        f"APPEND to {folder}", session.client.append, folder, raw, [b"\\Seen"], when
    )
    found = _APPENDUID.search(bytes(answer or b""))

    def write(c: sqlite3.Connection) -> None:
        if found:
            # Its UID there (UIDPLUS), so syncing that folder knows it and fetches nothing.
            # Without APPENDUID it is matched there by its raw bytes instead.
            c.execute(
                "INSERT OR REPLACE INTO mail_imap_uids (user_id, account, folder, uidvalidity, "
                "uid, message_id, flags) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (user, account, folder, int(found[1]), int(found[2]), entry["mail_id"], "\\Seen"),
            )
        # Where it is on the server, as a synced message would be (unless moved meanwhile).
        c.execute(
            "UPDATE mail_messages SET folder = ? WHERE user_id = ? AND id = ? AND folder = ?",
            (folder, user, entry["mail_id"], LOCAL_SENT),
        )

    await store.write(write)
