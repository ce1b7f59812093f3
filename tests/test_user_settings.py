"""One JSON settings document a user: checked on the way in, defaults when damaged."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

import pytest

from os1.user_settings import SettingsDocument, switch


class Bad(ValueError):
    pass


@dataclass(frozen=True)
class Knobs:
    loud: bool = False
    tags: tuple[str, ...] = ("a",)


def typed(name: str, value: Any) -> Any:
    if name == "loud":
        return switch(name, value, Bad)
    return tuple(value)


DOC = SettingsDocument(Knobs, "knobs", typed, Bad, "knob")


@pytest.fixture
def db() -> sqlite3.Connection:
    c = sqlite3.connect(":memory:")
    c.execute("CREATE TABLE users (id TEXT PRIMARY KEY, created_at TEXT)")
    c.execute("CREATE TABLE knobs (user_id TEXT PRIMARY KEY, settings TEXT, updated_at TEXT)")
    return c


def test_a_change_keeps_the_rest_and_each_user_has_their_own(db: sqlite3.Connection) -> None:
    assert DOC.load(db, "theo") == Knobs()
    assert DOC.change(db, "theo", loud="on") == Knobs(loud=True)
    assert DOC.change(db, "theo", tags=["x", "y"]) == Knobs(loud=True, tags=("x", "y"))
    assert DOC.load(db, "theo") == Knobs(loud=True, tags=("x", "y"))
    assert DOC.load(db, "amy") == Knobs()
    assert db.execute("SELECT id FROM users").fetchall() == [("theo",)]


def test_unknown_names_and_bad_values_are_refused_and_nothing_is_saved(
    db: sqlite3.Connection,
) -> None:
    with pytest.raises(Bad, match=r"unknown knob\(s\) lodu; known: loud, tags"):
        DOC.change(db, "theo", lodu=True)
    with pytest.raises(Bad, match="loud must be on or off, not 'maybe'"):
        DOC.change(db, "theo", loud="maybe")
    assert db.execute("SELECT * FROM knobs").fetchall() == []


def test_a_damaged_row_reads_as_the_defaults(db: sqlite3.Connection) -> None:
    for damaged in ("{not json", '{"loud": "maybe"}', '{"nope": 1}', "[1, 2]"):
        db.execute("INSERT OR REPLACE INTO knobs VALUES ('theo', ?, 'now')", (damaged,))
        assert DOC.load(db, "theo") == Knobs(), damaged


@pytest.mark.parametrize(
    "value, expected", [(True, True), ("ON", True), (" yes ", True), ("0", False), ("off", False)]
)
def test_switches(value: Any, expected: bool) -> None:
    assert switch("loud", value) is expected
