"""People from mail: everyone the user writes to or hears from, not lists, robots or themselves."""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import replace
from email.utils import parseaddr

from .people import MAIL, Changes, Person, ensure_user, load, match_card, save, union
from .vcard import Card

_NOREPLY = re.compile(
    r"^(?:no-?reply|do-?not-?reply|mailer-daemon|postmaster|bounces?|notifications?|alerts?)"
    r"(?:[+._-]|$)"
)


def _addresses(value: str | None) -> list[tuple[str, str]]:
    """(name, address) from a JSON list of addresses, "Name <a@b>" strings or pairs."""
    try:
        items = json.loads(value or "[]")
    except ValueError:
        return []
    found = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, str):
            found.append(parseaddr(item))
        elif isinstance(item, list | tuple) and len(item) == 2:
            found.append((str(item[0] or ""), str(item[1] or "")))
        elif isinstance(item, dict):
            addr = item.get("addr") or item.get("address") or item.get("email") or ""
            found.append((str(item.get("name") or ""), str(addr)))
    return [(n.strip().strip('"'), a.strip().lower()) for n, a in found if "@" in a]


_BULK = """NOT (json_valid(headers) AND (
    json_extract(headers, '$."list-id"') IS NOT NULL
    OR json_extract(headers, '$."list-unsubscribe"') IS NOT NULL
    OR lower(coalesce(json_extract(headers, '$.precedence'), '')) IN ('bulk', 'list', 'junk')
    OR lower(coalesce(json_extract(headers, '$."auto-submitted"'), 'no')) != 'no'))"""


def _correspondents(c: sqlite3.Connection, user: str) -> dict[str, dict[str, int]]:
    """address -> {display name: times seen}, for everyone the user writes to or hears from."""
    me = {r[0] for r in c.execute(
        "SELECT lower(address) FROM mail_accounts WHERE user_id = ? UNION "
        "SELECT DISTINCT from_addr FROM mail_messages WHERE user_id = ? AND from_me = 1",
        (user, user),
    )}  # fmt: skip
    seen: dict[str, dict[str, int]] = {}

    def note(name: str, addr: str, n: int = 1) -> None:
        if addr in me or _NOREPLY.match(addr.split("@")[0]):
            return
        names = seen.setdefault(addr, {})
        if name and "@" not in name:
            names[name] = names.get(name, 0) + n

    for row in c.execute(
        "SELECT to_addrs, cc_addrs FROM mail_messages "
        "WHERE user_id = ? AND from_me = 1 AND status = 'ok'",
        (user,),
    ):
        for name, addr in _addresses(row[0]) + _addresses(row[1]):
            note(name, addr)
    for row in c.execute(
        "SELECT from_name, lower(from_addr), count(*) FROM mail_messages "
        "WHERE user_id = ? AND from_me = 0 AND status = 'ok' AND from_addr LIKE '%@%' "
        "AND (category IS NULL OR category IN ('personal', 'work')) AND " + _BULK + " "
        "GROUP BY from_name, lower(from_addr)",
        (user,),
    ):
        note(row[0].strip().strip('"'), row[1], row[2])
    return seen


def people_from_mail(c: sqlite3.Connection, user: str, changes: Changes) -> None:
    """Add the people the user writes to or hears from (not lists, robots or themselves)."""
    ensure_user(c, user)
    for addr, names in sorted(_correspondents(c, user).items()):
        name = max(names, key=lambda n: (names[n], n)) if names else addr
        pid = match_card(c, user, Card(addr, (addr,)))
        if pid is None:
            save(c, user, Person(0, name, (addr,), sources=(MAIL,)), new=True)
            changes.added.append(name)
            continue
        old = load(c, user, pid)
        assert old is not None
        better = name if names and (not old.name or "@" in old.name) else old.name
        new = replace(old, name=better, sources=union(old.sources, [MAIL]))
        if new == old:
            changes.unchanged += 1
        else:
            save(c, user, new)
            changes.updated.append(new.name)
