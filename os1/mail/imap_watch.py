"""Keeping an IMAP account in sync: again whenever the server says so (IDLE), or every interval."""

from __future__ import annotations

import asyncio
import logging
import selectors
import ssl
import time
from collections.abc import Callable

from imapclient import IMAPClient

from ..store import Store
from .accounts import Account, AccountError
from .imap import SyncReport, sync_account
from .imap_session import ImapError, Session, connect

log = logging.getLogger(__name__)

IDLE_RENEW = 25 * 60  # RFC 2177: re-issue IDLE before servers drop it at 30 minutes


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
