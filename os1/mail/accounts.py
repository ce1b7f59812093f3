"""Mail accounts: where a user's mail comes from and goes out, and how to get the password.

A password is never written to the config file or the database. The account row
says how to get it when it is needed: a command to run (`pass show mail/work`,
`secret-tool lookup …`, as mbsync and aerc do), or the system keyring. A server
on loopback without authentication needs neither.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from .. import passwords
from ..store import Store

SECURITY = ("ssl", "starttls", "none")


class AccountError(Exception):
    """An account is missing, misconfigured, or its password cannot be found."""


@dataclass(frozen=True)
class Account:
    name: str
    address: str
    display_name: str = ""
    imap_host: str | None = None
    imap_port: int | None = None
    imap_security: str = "ssl"
    imap_username: str | None = None
    smtp_host: str | None = None
    smtp_port: int | None = None
    smtp_security: str = "starttls"
    smtp_username: str | None = None
    secret: dict[str, str] = field(default_factory=dict)
    """{"command": "pass show mail"} or {"keyring": "service"}; {} when no login is needed."""
    folders: tuple[str, ...] = ("INBOX",)
    archive_folder: str = "Archive"

    def __post_init__(self) -> None:
        for security in (self.imap_security, self.smtp_security):
            if security not in SECURITY:
                raise AccountError(f"security must be one of {', '.join(SECURITY)}")
        if "@" not in self.address:
            raise AccountError(f"{self.address!r} is not an email address")
        unknown = set(self.secret) - {"command", "keyring"}
        if unknown:
            raise AccountError(f"unknown password source {sorted(unknown)}")


def _row_to_account(row: sqlite3.Row) -> Account:
    data = dict(row)
    return Account(
        name=data["name"],
        address=data["address"],
        display_name=data["display_name"],
        imap_host=data["imap_host"],
        imap_port=data["imap_port"],
        imap_security=data["imap_security"],
        imap_username=data["imap_username"],
        smtp_host=data["smtp_host"],
        smtp_port=data["smtp_port"],
        smtp_security=data["smtp_security"],
        smtp_username=data["smtp_username"],
        secret=json.loads(data["secret"]),
        folders=tuple(json.loads(data["folders"])),
        archive_folder=data["archive_folder"],
    )


async def save_account(store: Store, user: str, account: Account) -> None:
    """Add the account, or replace the one with the same name."""
    values = asdict(account)
    values["secret"] = json.dumps(account.secret)
    values["folders"] = json.dumps(list(account.folders))
    columns = list(values)

    def write(c: sqlite3.Connection) -> None:
        c.execute(
            "INSERT OR IGNORE INTO users (id, created_at) VALUES (?, ?)",
            (user, datetime.now(UTC).isoformat()),
        )
        c.execute(
            f"INSERT INTO mail_accounts (user_id, {', '.join(columns)}, created_at) "
            f"VALUES (?, {', '.join('?' * len(columns))}, ?) "
            f"ON CONFLICT(user_id, name) DO UPDATE SET "
            + ", ".join(f"{k} = excluded.{k}" for k in columns),
            (user, *values.values(), datetime.now(UTC).isoformat()),
        )

    await store.write(write)


async def accounts(store: Store, user: str) -> list[Account]:
    rows = await store.query("SELECT * FROM mail_accounts WHERE user_id = ? ORDER BY id", (user,))
    return [_row_to_account(r) for r in rows]


async def get_account(store: Store, user: str, name: str | None = None) -> Account:
    """The named account, or the user's first one."""
    found = await accounts(store, user)
    if not found:
        raise AccountError(
            "no mail account yet: add one with `os1 mail account add NAME --address ADDRESS …`"
        )
    if name is None:
        return found[0]
    for account in found:
        if account.name == name:
            return account
    raise AccountError(f"no mail account called {name!r} (have: {[a.name for a in found]})")


async def my_addresses(store: Store, user: str, extra: tuple[str, ...] = ()) -> set[str]:
    """The user's own addresses: every account's, plus any the caller knows of."""
    rows = await store.query("SELECT address FROM mail_accounts WHERE user_id = ?", (user,))
    return {r["address"].lower() for r in rows} | {a.lower() for a in extra}


async def password(account: Account, username: str | None) -> str | None:
    """The account's password, fetched now from where the account says it lives."""
    if "command" in account.secret:
        try:
            return await passwords.from_command(account.secret["command"])
        except passwords.PasswordError as e:
            raise AccountError(str(e)) from e
    if "keyring" in account.secret:
        import keyring
        import keyring.errors

        try:
            found = keyring.get_password(account.secret["keyring"], username or account.address)
        except keyring.errors.KeyringError as e:
            raise AccountError(f"the system keyring is not available: {e}") from e
        if found is None:
            raise AccountError(
                f"no password in the keyring for service {account.secret['keyring']!r}, "
                f"user {username or account.address!r}"
            )
        return str(found)
    return None


def describe(account: Account) -> dict[str, Any]:
    """The account as shown to the user: everything but how the password is fetched."""
    data = asdict(account)
    data["secret"] = (
        "command"
        if "command" in account.secret
        else ("keyring" if "keyring" in account.secret else "none")
    )
    return data
