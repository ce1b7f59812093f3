"""One logged-in IMAP connection: TLS, login, and each blocking command in a worker thread.

imapclient is blocking: every call runs in a worker thread, one at a time per
connection. The password is fetched when connecting (a command or the keyring)
and never stored.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from typing import Any, TypeVar

from imapclient import IMAPClient
from imapclient.exceptions import (
    IMAPClientAbortError,
    IMAPClientError,
    LoginError,
)

from .accounts import Account, AccountError, password

T = TypeVar("T")


class ImapError(Exception):
    """The IMAP server could not be reached, refused the login, or lacks a folder."""


class ImapRefused(ImapError):
    """The server answered NO or BAD to one command; the connection is still usable."""


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
