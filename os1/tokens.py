"""Access tokens: how a person signs in to a server of this home (the voice WebSocket).

One user can hold several tokens, one per device or program, each with a name. A token is
shown once, when it is made, and stored only as its SHA-256 hash: the database (or a backup
of it) cannot give it away. Token text starts with `os1_`, so a leaked one is easy to find
with grep or a secret scanner. A revoked token stays listed (with when it was revoked) but
never signs in again. As in datasette, whoever presents a valid token is its user (the
"actor"); every function here takes or returns that user, and one user cannot see, use or
revoke another's tokens.

These are sqlite3 connection functions: call them through the store, e.g.
`await store.write(lambda c: verify(c, text))` (verifying notes when the token was used).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime

PREFIX = "os1_"
MAX_NAME = 100
# token_urlsafe(32): 32 random bytes, 43 characters of URL-safe base64.
_LENGTH = len(PREFIX) + 43


class TokenError(ValueError):
    """A token cannot be made or changed as asked; the message says why."""


@dataclass(frozen=True)
class Token:
    """What is known of a token after it was made: never the token itself."""

    id: int
    user: str
    name: str
    created_at: str
    last_used_at: str | None
    revoked_at: str | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _hash(text: str) -> str:
    # A fast hash is enough: the token is 256 random bits, nothing to brute-force.
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _token(row: sqlite3.Row) -> Token:
    return Token(int(row[0]), str(row[1]), str(row[2]), str(row[3]), row[4], row[5])


_COLUMNS = "id, user_id, name, created_at, last_used_at, revoked_at"


def create(c: sqlite3.Connection, user: str, name: str = "") -> tuple[Token, str]:
    """Make a token for `user`; returns it and its text, which is shown once and never kept."""
    name = " ".join(name.split())
    if len(name) > MAX_NAME:
        raise TokenError(f"a token's name is at most {MAX_NAME} characters")
    text = PREFIX + secrets.token_urlsafe(32)
    now = _now()
    c.execute("INSERT OR IGNORE INTO users (id, created_at) VALUES (?, ?)", (user, now))
    cur = c.execute(
        "INSERT INTO access_tokens (user_id, name, token_hash, created_at) VALUES (?, ?, ?, ?)",
        (user, name, _hash(text), now),
    )
    return Token(int(cur.lastrowid or 0), user, name, now, None, None), text


def verify(c: sqlite3.Connection, text: str) -> str | None:
    """The user `text` signs in as, or None (unknown, revoked or malformed: never says which).

    The lookup is by hash, so the time it takes says nothing about how close a guess was;
    the final comparison is constant-time as well. Notes when the token was last used.
    """
    if not isinstance(text, str) or len(text) != _LENGTH or not text.startswith(PREFIX):
        return None
    digest = _hash(text)
    row = c.execute(
        "SELECT id, user_id, token_hash FROM access_tokens "
        "WHERE token_hash = ? AND revoked_at IS NULL",
        (digest,),
    ).fetchone()
    if row is None or not hmac.compare_digest(str(row[2]), digest):
        return None
    if not c.execute("PRAGMA query_only").fetchone()[0]:  # a read connection just checks
        c.execute("UPDATE access_tokens SET last_used_at = ? WHERE id = ?", (_now(), row[0]))
    return str(row[1])


def tokens_of(c: sqlite3.Connection, user: str) -> list[Token]:
    """`user`'s tokens, oldest first, revoked ones included."""
    rows = c.execute(
        f"SELECT {_COLUMNS} FROM access_tokens WHERE user_id = ? ORDER BY id", (user,)
    ).fetchall()
    return [_token(r) for r in rows]


def revoke(c: sqlite3.Connection, user: str, token_id: int) -> Token:
    """Stop `user`'s token `token_id` from signing in, from now on; returns it.

    Raises `TokenError` if `user` has no such token (another user's counts as none).
    Revoking a revoked token changes nothing.
    """
    c.execute(
        "UPDATE access_tokens SET revoked_at = ? "
        "WHERE id = ? AND user_id = ? AND revoked_at IS NULL",
        (_now(), token_id, user),
    )
    row = c.execute(
        f"SELECT {_COLUMNS} FROM access_tokens WHERE id = ? AND user_id = ?", (token_id, user)
    ).fetchone()
    if row is None:
        raise TokenError(f"you have no token #{token_id} (see `os1 tokens list`)")
    return _token(row)
