"""`os1 tokens create/list/revoke`, run as the command line runs them, against a real home."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from click.testing import CliRunner, Result

import os1.cli.tokens  # noqa: F401  (registers the `tokens` group on the `os1` command)
from os1 import tokens
from os1.cli import cli
from os1.store import Store


def command(home: Path, *args: str, user: str = "theo") -> Result:
    env = {"OS1_HOME": str(home), "OS1_USER": user, "NO_COLOR": "1", "OS1_MODEL": None}
    return CliRunner().invoke(cli, list(args), env=env)


def verify(home: Path, text: str) -> str | None:
    async def go() -> str | None:
        store = await Store.open(home / "os1.db")
        try:
            return await store.write(lambda c: tokens.verify(c, text))
        finally:
            await store.close()

    return asyncio.run(go())


def test_create_prints_the_token_once_and_list_never_shows_it(home: Path) -> None:
    made = command(home, "tokens", "create", "--name", "kitchen tablet")
    assert made.exit_code == 0, made.output
    text = made.stdout.strip()
    assert re.fullmatch(r"os1_[A-Za-z0-9_-]{43}", text), made.stdout
    assert "copy it now" in made.stderr and "#1" in made.stderr
    assert verify(home, text) == "theo"

    listed = command(home, "tokens", "list")
    assert listed.exit_code == 0
    assert "#1" in listed.stdout and "kitchen tablet" in listed.stdout
    assert "last used" in listed.stdout  # verify() above used it
    assert text not in listed.stdout and text[4:20] not in listed.stdout


def test_revoke_stops_the_token_and_only_the_owner_can(home: Path) -> None:
    assert "No tokens yet" in command(home, "tokens", "list").stdout
    theo = command(home, "tokens", "create").stdout.strip()
    amy = command(home, "tokens", "create", "--name", "amy's phone", user="amy").stdout.strip()

    # Amy sees only her own token, and cannot revoke Theo's (#1).
    assert "amy's phone" in command(home, "tokens", "list", user="amy").stdout
    assert "#1" not in command(home, "tokens", "list", user="amy").stdout
    theirs = command(home, "tokens", "revoke", "1", user="amy")
    assert theirs.exit_code == 65 and "no token #1" in theirs.stderr
    assert verify(home, theo) == "theo"

    done = command(home, "tokens", "revoke", "1")
    assert done.exit_code == 0 and "Revoked token #1" in done.stdout
    assert verify(home, theo) is None and verify(home, amy) == "amy"
    assert "revoked" in command(home, "tokens", "list").stdout

    missing = command(home, "tokens", "revoke", "99")
    assert missing.exit_code == 65 and "no token #99" in missing.stderr


def test_a_bad_name_is_a_clear_error(home: Path) -> None:
    result = command(home, "tokens", "create", "--name", "x" * 101)
    assert result.exit_code == 65 and "at most 100" in result.stderr
    assert "No tokens yet" in command(home, "tokens", "list").stdout
