"""Per-user settings kept as one JSON document a user: read, checked, changed, saved.

A noun's settings (the scheduler's, her voice's) are a frozen dataclass with defaults and a
table `(user_id PRIMARY KEY, settings TEXT, updated_at TEXT)`. `SettingsDocument` does the
rest the same way for each: unknown keys and bad values are refused with a message naming
them (a typo never silently turns a setting off), and a damaged row reads as the defaults,
so it can never stop what depends on it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import asdict, fields, replace
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

S = TypeVar("S")

ON = ("on", "yes", "true", "1")
OFF = ("off", "no", "false", "0")


def switch(name: str, value: Any, error: type[ValueError] = ValueError) -> bool:
    """An on/off setting from a bool or its words ("on", "off", "yes", "no", "1", "0")."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ON:
        return True
    if text in OFF:
        return False
    raise error(f"{name} must be on or off, not {value!r}")


class SettingsDocument(Generic[S]):
    """How the settings dataclass `kind` is stored in `table`, one row a user.

    `typed(name, value)` checks one value and returns it in its stored form (raising
    `error`); `what` names the settings in messages ("voice setting").
    """

    def __init__(
        self,
        kind: type[S],
        table: str,
        typed: Callable[[str, Any], Any],
        error: type[ValueError],
        what: str = "setting",
    ) -> None:
        self.kind, self.table, self.typed = kind, table, typed
        self.error, self.what = error, what

    def to_dict(self, settings: S) -> dict[str, Any]:
        data = asdict(settings)  # type: ignore[call-overload]
        return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}

    def from_dict(self, data: dict[str, Any]) -> S:
        known = {f.name for f in fields(self.kind)}  # type: ignore[arg-type]
        unknown = sorted(set(data) - known)
        if unknown:
            raise self.error(
                f"unknown {self.what}(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        return self.kind(**{k: self.typed(k, v) for k, v in data.items()})

    def load(self, c: sqlite3.Connection, user: str) -> S:
        row = c.execute(f"SELECT settings FROM {self.table} WHERE user_id = ?", (user,)).fetchone()
        if row is None:
            return self.kind()
        try:
            return self.from_dict(json.loads(row[0]))
        except (ValueError, TypeError):  # (the setting errors are ValueErrors too)
            return self.kind()  # a damaged row must not stop what depends on it

    def save(self, c: sqlite3.Connection, user: str, settings: S) -> None:
        now = datetime.now(UTC).isoformat()
        c.execute("INSERT OR IGNORE INTO users (id, created_at) VALUES (?, ?)", (user, now))
        c.execute(
            f"INSERT INTO {self.table} (user_id, settings, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT(user_id) DO UPDATE SET settings = excluded.settings, "
            "updated_at = excluded.updated_at",
            (user, json.dumps(self.to_dict(settings)), now),
        )

    def change(self, c: sqlite3.Connection, user: str, **changes: Any) -> S:
        """Set some settings (validated), keep the others; returns the new settings."""
        current = self.load(c, user)
        checked = self.from_dict({**self.to_dict(current), **changes})
        updated = replace(current, **{k: getattr(checked, k) for k in changes})  # type: ignore[type-var]
        self.save(c, user, updated)
        return updated
