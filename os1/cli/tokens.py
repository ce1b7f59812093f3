"""`os1 tokens`: the access tokens that sign you in to this home's servers (voice --serve).

`create` prints a new token once (only its hash is kept: copy it now); `list` shows your
tokens by number and name, with when each was last used; `revoke` stops one for good.
Each command acts on the configured user's tokens only (`--user` to choose).
"""

from __future__ import annotations

import click

from .. import tokens
from ..companion import Companion
from . import EX_DATAERR, Settings, cli, fail, run, with_companion


def _line(token: tokens.Token) -> str:
    used = f"last used {token.last_used_at[:16]}" if token.last_used_at else "never used"
    state = f"revoked {token.revoked_at[:16]}" if token.revoked_at else used
    return f"#{token.id:<4} {token.name or '(no name)':<24} made {token.created_at[:10]}  {state}"


@cli.group("tokens")
def tokens_() -> None:
    """Access tokens: sign in to `os1 voice --serve` from another device or program."""


@tokens_.command()
@click.option("--name", default="", help="What it is for, e.g. the device: 'kitchen tablet'.")
@click.pass_obj
def create(settings: Settings, name: str) -> None:
    """Make a token for you; it is shown only this once."""

    async def go(c: Companion, user: str) -> tuple[tokens.Token, str]:
        return await c.store.write(lambda conn: tokens.create(conn, user, name))

    try:
        made = run(with_companion)(settings, go)
    except tokens.TokenError as e:
        fail(str(e), EX_DATAERR)
        return
    assert made is not None
    token, text = made
    click.echo(text)
    click.secho(
        f"(token #{token.id} for {token.user}: copy it now, it is not shown again; "
        f"`os1 tokens revoke {token.id}` stops it)",
        fg="bright_black",
        err=True,
    )


@tokens_.command("list")
@click.pass_obj
def list_(settings: Settings) -> None:
    """Your tokens (never the tokens themselves: only their number and name)."""

    async def go(c: Companion, user: str) -> list[tokens.Token]:
        return await c.store.read(lambda conn: tokens.tokens_of(conn, user))

    found = run(with_companion)(settings, go) or []
    click.echo("\n".join(_line(t) for t in found) or "No tokens yet: `os1 tokens create`.")


@tokens_.command()
@click.argument("token_id", type=int)
@click.pass_obj
def revoke(settings: Settings, token_id: int) -> None:
    """Stop token TOKEN_ID from signing in (connections already open go on until closed)."""

    async def go(c: Companion, user: str) -> tokens.Token:
        return await c.store.write(lambda conn: tokens.revoke(conn, user, token_id))

    try:
        token = run(with_companion)(settings, go)
    except tokens.TokenError as e:
        fail(str(e), EX_DATAERR)
        return
    assert token is not None
    click.echo(f"Revoked token #{token.id} {token.name or ''}".rstrip() + ".")
