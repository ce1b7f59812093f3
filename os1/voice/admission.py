"""Who a voice connection speaks for, and whether there is room for it.

A connection signs in with one of a user's access tokens (`os1 tokens create`; see
`os1.tokens`): whoever holds a valid token is its user (the "actor", as in datasette), and
gets only that user's conversation, history and voice. A refused sign-in says only that
the token is not valid: never whether a user exists, nor whether the token was revoked.

Without a token, a server for local use serves the home's configured user, as before
sign-in existed. `anonymous` says when:

- "loopback" (the default): only while the server listens on a loopback address; on any
  other address every connection must sign in.
- "never": every connection must sign in, even on loopback.
- "anywhere": also on other addresses (anyone who reaches the port talks as that user).
  Explicit, for a trusted network or a proxy that does its own sign-in.

A browser lets any web page open a WebSocket to this machine's loopback, so a connection
without a token that comes from a web page (its `Origin` header) is served only when that
page is itself on loopback; a page from elsewhere must sign in.

A server holds at most `max_connections` connections at once (signed in or not yet), and
at most `max_per_user` conversations per user; past either, the newcomer is refused with
a message that says so, and the ones already talking go on.
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections import Counter
from collections.abc import Iterator
from typing import Literal, get_args
from urllib.parse import urlsplit

from .. import tokens
from ..store import Store

Anonymous = Literal["loopback", "never", "anywhere"]

# Close codes (RFC 6455): a policy refusal, and "try again later" for a full server.
POLICY, TRY_AGAIN = 1008, 1013

NOT_VALID = "sign-in failed: that access token is not valid"
HOW = (
    'send your access token in the hello ({"token": "os1_..."}) or as an '
    "`Authorization: Bearer os1_...` header (make one with `os1 tokens create`)"
)


class Refused(Exception):
    """The connection may not go on: say why, then close with `code`."""

    def __init__(self, message: str, code: int = POLICY) -> None:
        super().__init__(message)
        self.code = code


def is_loopback(host: str | None) -> bool:
    """Whether listening on `host` reaches only this machine (no host: every address)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve anywhere


def local_origin(origin: str | None) -> bool:
    """Whether a connection's `Origin` is no web page at all, or a page on this machine."""
    if origin is None:
        return True  # not a browser: a program on a machine that can reach the port
    try:
        host = urlsplit(origin).hostname
    except ValueError:
        return False
    return is_loopback(host)


def bearer(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer TOKEN` header, None when there is no header."""
    if authorization is None:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Refused("the Authorization header must be `Bearer os1_...`")
    return token.strip()


class Admission:
    """Sign-in and room for the connections of one server over `store`'s home.

    `user` is the configured user, served without a token where `anonymous` allows it
    (None: nobody is). Raises `ValueError` for limits below one or an unknown `anonymous`.
    """

    def __init__(
        self,
        store: Store,
        user: str | None,
        host: str | None,
        *,
        anonymous: Anonymous = "loopback",
        max_per_user: int = 4,
        max_connections: int = 16,
    ) -> None:
        if anonymous not in get_args(Anonymous):
            raise ValueError(f"anonymous must be one of {get_args(Anonymous)}: {anonymous!r}")
        if max_per_user < 1 or max_connections < 1:
            raise ValueError("connection limits must be at least 1")
        self.store = store
        self.max_per_user, self.max_connections = max_per_user, max_connections
        allowed = anonymous == "anywhere" or (anonymous == "loopback" and is_loopback(host))
        #: Who a connection without a token speaks for, or None when a token is required.
        self.anonymous_user = user if allowed else None
        self.open = 0
        self.by_user: Counter[str] = Counter()

    async def sign_in(
        self, token: object, header: str | None, claimed: object, origin: str | None = None
    ) -> str:
        """The user a connection speaks for, from the hello's `token` and `user`, and the
        upgrade request's Authorization and Origin headers; raises `Refused`."""
        if token is not None and not isinstance(token, str):
            raise Refused("the token must be text: os1_...")
        if claimed is not None and not isinstance(claimed, str):
            raise Refused("user must be text")
        if token and header and token != header:
            raise Refused("the hello and the Authorization header carry different tokens")
        token = token or header
        if token:
            text = str(token)
            user = await self.store.write(lambda c: tokens.verify(c, text))
            if user is None:
                raise Refused(NOT_VALID)
            if claimed is not None and claimed != user:
                raise Refused(f"this token does not sign in as {claimed!r}")
            return user
        if self.anonymous_user is None:
            raise Refused(f"sign in: {HOW}")
        if not local_origin(origin):
            raise Refused(f"a web page from {origin} must sign in: {HOW}")
        if claimed is not None and claimed != self.anonymous_user:
            raise Refused(
                f"without a token this server speaks only with {self.anonymous_user!r}; "
                "other users sign in with their access token"
            )
        return self.anonymous_user

    @contextlib.contextmanager
    def connection(self) -> Iterator[None]:
        """Room for one more connection, from its first byte (signed in or not)."""
        if self.open >= self.max_connections:
            raise Refused(
                f"the voice server is full ({self.max_connections} connections at once); "
                "try again later",
                TRY_AGAIN,
            )
        self.open += 1
        try:
            yield
        finally:
            self.open -= 1

    @contextlib.contextmanager
    def conversation(self, user: str) -> Iterator[None]:
        """Room for one more of `user`'s conversations."""
        if self.by_user[user] >= self.max_per_user:
            raise Refused(
                f"you already have {self.max_per_user} voice conversations open, the most "
                "at once; end one first",
                TRY_AGAIN,
            )
        self.by_user[user] += 1
        try:
            yield
        finally:
            self.by_user[user] -= 1
            if not self.by_user[user]:
                del self.by_user[user]
