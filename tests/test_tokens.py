"""Access tokens: shown once, kept only as a hash, each user's own, revocable."""

from __future__ import annotations

import functools
import hashlib
import re

import pytest

from os1 import tokens
from os1.store import Store


async def test_a_token_signs_in_as_its_user_and_only_its_hash_is_kept(store: Store) -> None:
    token, text = await store.write(lambda c: tokens.create(c, "theo", "kitchen  tablet"))
    assert re.fullmatch(r"os1_[A-Za-z0-9_-]{43}", text), text
    assert token.user == "theo" and token.name == "kitchen tablet" and token.active
    assert token.last_used_at is None

    # The database holds the SHA-256 of the token, never the token.
    rows = await store.query("SELECT * FROM access_tokens")
    assert len(rows) == 1
    assert rows[0]["token_hash"] == hashlib.sha256(text.encode()).hexdigest()
    assert all(text not in str(v) for v in tuple(rows[0]))

    assert await store.write(lambda c: tokens.verify(c, text)) == "theo"
    (listed,) = await store.read(lambda c: tokens.tokens_of(c, "theo"))
    assert listed.id == token.id and listed.last_used_at is not None


async def test_wrong_malformed_and_other_tokens_sign_in_as_nobody(store: Store) -> None:
    _, text = await store.write(lambda c: tokens.create(c, "theo"))
    flipped = text[:-1] + ("A" if text[-1] != "A" else "B")
    for guess in (flipped, "", "os1_", text[4:], "x" * len(text), text + "x", text.upper()):
        assert await store.write(functools.partial(tokens.verify, text=guess)) is None, guess
    assert await store.write(lambda c: tokens.verify(c, None)) is None  # type: ignore[arg-type]
    # Verifying on a read connection works too (it just cannot note the use).
    assert await store.read(lambda c: tokens.verify(c, text)) == "theo"


async def test_tokens_are_each_users_own(store: Store) -> None:
    _, theo_text = await store.write(lambda c: tokens.create(c, "theo", "phone"))
    amy, amy_text = await store.write(lambda c: tokens.create(c, "amy", "laptop"))
    assert theo_text != amy_text
    assert await store.write(lambda c: tokens.verify(c, amy_text)) == "amy"
    assert [t.name for t in await store.read(lambda c: tokens.tokens_of(c, "theo"))] == ["phone"]
    assert [t.name for t in await store.read(lambda c: tokens.tokens_of(c, "amy"))] == ["laptop"]

    # Theo cannot revoke Amy's token: to him it does not exist.
    with pytest.raises(tokens.TokenError, match=f"no token #{amy.id}"):
        await store.write(lambda c: tokens.revoke(c, "theo", amy.id))
    assert await store.write(lambda c: tokens.verify(c, amy_text)) == "amy"


async def test_a_revoked_token_never_signs_in_again_but_stays_listed(store: Store) -> None:
    token, text = await store.write(lambda c: tokens.create(c, "theo", "old phone"))
    _, other = await store.write(lambda c: tokens.create(c, "theo", "new phone"))
    revoked = await store.write(lambda c: tokens.revoke(c, "theo", token.id))
    assert revoked.revoked_at is not None and not revoked.active
    assert await store.write(lambda c: tokens.verify(c, text)) is None
    assert await store.write(lambda c: tokens.verify(c, other)) == "theo"
    again = await store.write(lambda c: tokens.revoke(c, "theo", token.id))
    assert again.revoked_at == revoked.revoked_at  # revoking twice changes nothing
    listed = await store.read(lambda c: tokens.tokens_of(c, "theo"))
    assert [(t.name, t.active) for t in listed] == [("old phone", False), ("new phone", True)]


async def test_a_name_too_long_is_refused_and_nothing_is_made(store: Store) -> None:
    with pytest.raises(tokens.TokenError, match="at most 100"):
        await store.write(lambda c: tokens.create(c, "theo", "x" * 101))
    assert await store.query("SELECT * FROM access_tokens") == []
