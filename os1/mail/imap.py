"""Incremental two-way IMAP sync: server mail into the store, local flags and moves back.

Each folder is matched by (UIDVALIDITY, UID): `mail_imap_uids` says which stored
message a server UID is, `mail_imap_state` what was seen last. A sync writes local
changes back first (see imap_writeback), then per folder: forgets the UID mapping
when UIDVALIDITY changed (the raw-hash dedupe of `add_message` re-links the same
mail, so nothing doubles), notes messages gone from the server, fetches the UIDs
it has not stored yet in batches (BODY.PEEK[]: syncing never marks mail read),
and refreshes the flags of the rest. Each batch is one transaction, so a sync cut
off half-way keeps what it committed and the next one continues from there.

imapclient is blocking: every call runs in a worker thread, one at a time per
connection. The password is fetched when connecting (a command or the keyring)
and never stored.
"""

from __future__ import annotations

import asyncio
import logging
import selectors
import sqlite3
import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from imapclient import IMAPClient
from imapclient.exceptions import (
    IMAPClientAbortError,
    IMAPClientError,
    LoginError,
)
from imapclient.response_parser import parse_fetch_response

from ..store import Store
from .accounts import Account, AccountError, password
from .importer import parse_many
from .parse import MailParseError, ParsedMail, now_iso
from .store import add_message

log = logging.getLogger(__name__)

BATCH = 100
"""Messages per FETCH of new mail, and per transaction."""
REMOVED = "(removed)"
"""The folder of a message that is gone from the server. Its row and raw bytes stay:
the user's stored mail is never deleted because a server dropped it."""
IDLE_RENEW = 25 * 60  # RFC 2177: re-issue IDLE before servers drop it at 30 minutes
T = TypeVar("T")
Progress = Callable[[str, int, int], None]
"""Called with (folder, new messages stored so far, new messages to fetch)."""


class ImapError(Exception):
    """The IMAP server could not be reached, refused the login, or lacks a folder."""


class ImapRefused(ImapError):
    """The server answered NO or BAD to one command; the connection is still usable."""


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


class Session:
    """One logged-in IMAP connection; each command runs in a worker thread."""

    def __init__(self, client: IMAPClient, where: str) -> None:
        self.client = client
        self.where = where
        self.selected: str | None = None
        self.uidvalidity = 0
        self._folders: set[str] = set()

    def has(self, capability: str) -> bool:
        return bool(self.client.has_capability(capability))

    async def call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except (IMAPClientAbortError, OSError) as e:
            self.selected = None
            raise ImapError(f"lost the connection to {self.where} during {what}: {e}") from e
        except IMAPClientError as e:
            raise ImapRefused(f"{self.where} refused {what}: {e}") from e

    async def select(self, folder: str, *, again: bool = False) -> int:
        """Select `folder` (unless it is selected already) and return its UIDVALIDITY."""
        if folder == self.selected and not again:
            return self.uidvalidity
        try:
            info = await self.call(f"SELECT {folder}", self.client.select_folder, folder)
        except ImapRefused as e:
            if not await self.call("LIST", self.client.folder_exists, folder):
                listed = await self.call("LIST", self.client.list_folders)
                names = ", ".join(str(f[2]) for f in listed)
                raise ImapRefused(
                    f"there is no folder {folder!r} on {self.where} (it has: {names})"
                ) from e
            raise
        self.selected, self.uidvalidity = folder, int(info[b"UIDVALIDITY"])
        return self.uidvalidity

    async def ensure_folder(self, folder: str) -> None:
        if folder in self._folders:
            return
        if not await self.call("LIST", self.client.folder_exists, folder):
            await self.call(f"CREATE {folder}", self.client.create_folder, folder)
        self._folders.add(folder)

    async def close(self) -> None:
        def close() -> None:
            try:
                self.client.logout()
            except Exception:  # already gone: just drop the socket
                _drop(self.client)

        await asyncio.to_thread(close)


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


def _drop(client: IMAPClient) -> None:
    try:
        client.shutdown()
    except OSError:  # the socket is closed already
        pass


def _open(
    host: str, port: int, security: str, username: str, secret: str, timeout: float
) -> IMAPClient:
    where = f"{host}:{port}"
    context = ssl.create_default_context()
    client: IMAPClient | None = None
    try:
        client = IMAPClient(
            host, port=port, ssl=security == "ssl", ssl_context=context, timeout=timeout
        )
        if security == "starttls":
            if not client.has_capability("STARTTLS"):
                raise ImapError(
                    f"{where} does not offer STARTTLS; not sending the password unencrypted"
                )
            client.starttls(context)
        client.login(username, secret)
        return client
    except (ImapError, OSError, IMAPClientError) as e:
        if client is not None:
            _drop(client)
        if isinstance(e, ImapError):
            raise
        if isinstance(e, LoginError):
            message = f"login to {where} as {username!r} failed: {e}"
        elif isinstance(e, ssl.SSLError):
            message = f"TLS with the IMAP server {where} failed: {e}"
        elif client is None:
            message = f"could not reach the IMAP server {where}: {e}"
        else:
            message = f"lost the connection to {where} while logging in: {e}"
        raise ImapError(message) from e


async def connect(account: Account, *, wait: float = 30) -> Session:
    """Log in to `account`'s IMAP server, fetching the password now."""
    if not account.imap_host:
        raise AccountError(f"account {account.name!r} has no IMAP server configured")
    username = account.imap_username or account.address
    secret = await password(account, username)
    if secret is None:
        raise AccountError(
            f"account {account.name!r} has no password source (a command or the keyring); "
            "the IMAP server needs one"
        )
    port = account.imap_port or (993 if account.imap_security == "ssl" else 143)
    client = await asyncio.to_thread(
        _open, account.imap_host, port, account.imap_security, username, secret, wait
    )
    return Session(client, f"{account.imap_host}:{port}")


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
    # Imported here: imap_writeback builds on this module's Session and errors.
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


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        pass


def _readable(client: IMAPClient, seconds: float) -> bool:
    """Whether the server has said something within `seconds` (the socket has data)."""
    sock = client.socket()
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    with selectors.DefaultSelector() as selector:
        selector.register(sock, selectors.EVENT_READ)
        return bool(selector.select(seconds))


async def _idle(session: Session, interval: float, stop: asyncio.Event) -> None:
    """Wait in IDLE until the selected folder changes, `interval` passes, or `stop` is set.

    Responses are read only after leaving IDLE, in blocking mode: imapclient's
    idle_check reads a non-blocking socket and fails on a line that arrives in pieces.
    """
    client = session.client
    await session.call("IDLE", client.idle)
    idling = True
    deadline = time.monotonic() + min(interval, IDLE_RENEW)
    try:
        while not stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            # Short waits, so `stop` is noticed soon.
            if not await session.call("IDLE", _readable, client, min(0.5, left)):
                continue
            _, responses = await session.call("IDLE", client.idle_done)
            idling = False
            kinds = {r[1] for r in responses if isinstance(r, tuple) and len(r) > 1}
            if kinds & {b"EXISTS", b"EXPUNGE", b"FETCH"}:
                return
            await session.call("IDLE", client.idle)  # only "still here": wait on
            idling = True
    finally:
        if idling and session.selected is not None:
            try:
                await session.call("IDLE DONE", client.idle_done)
            except ImapError:
                session.selected = None


async def watch(
    store: Store,
    user: str,
    account: Account,
    *,
    me: frozenset[str] = frozenset(),
    interval: float = 300,
    stop: asyncio.Event,
    idle: bool = True,
    on_report: Callable[[SyncReport], None] | None = None,
    on_error: Callable[[Exception], None] | None = None,
) -> None:
    """Sync now, then whenever the server says so (IDLE), at least every `interval` seconds.

    IDLE watches the account's first folder; every wake-up syncs all of them. Without
    IDLE on the server (or with `idle=False`) it polls every `interval` seconds. Errors
    of the first sync are raised (a wrong password shows at once); later ones go to
    `on_error` (or the log) and the sync is tried again an interval later. Returns when
    `stop` is set.
    """
    report = await sync_account(store, user, account, me=me)
    if on_report is not None:
        on_report(report)
    idler: Session | None = None
    try:
        while not stop.is_set():
            try:
                if idle and idler is None:
                    idler = await connect(account)
                    if not idler.has("IDLE"):
                        idle = False
                        await idler.close()
                        idler = None
                if idler is not None:
                    await idler.select(account.folders[0])
                    await _idle(idler, interval, stop)
                else:
                    await _sleep(stop, interval)
                if stop.is_set():
                    break
                report = await sync_account(store, user, account, me=me)
                if on_report is not None:
                    on_report(report)
            except (ImapError, AccountError) as e:
                if on_error is not None:
                    on_error(e)
                else:
                    log.warning("mail sync of %s failed, trying again later: %s", account.name, e)
                if idler is not None:
                    await idler.close()
                    idler = None
                await _sleep(stop, interval)
    finally:
        if idler is not None:
            await idler.close()
