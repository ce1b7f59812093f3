"""Memory end to end through the `os1` command, on the bundled model, across several runs."""

from __future__ import annotations

import json
from pathlib import Path

from test_cli import INTERVIEW, db, os1


def facts(home: Path, *statuses: str) -> list[tuple[str, str]]:
    marks = ",".join("?" * len(statuses))
    rows = db(home).execute(
        f"SELECT content, status FROM memories WHERE status IN ({marks}) ORDER BY id", statuses
    )
    return [(r[0], r[1]) for r in rows]


def test_she_learns_shows_sources_corrects_and_forgets(home: Path) -> None:
    first = os1(
        home, stdin="\n".join([*INTERVIEW, "My sister is called Anna.", "I live in Boston."])
    )
    assert first.returncode == 0, first.stderr
    learned = " ".join(c for c, _ in facts(home, "active"))
    assert "Anna" in learned and "Boston" in learned

    # The next day: she knows, and says where she learned it.
    second = os1(home, stdin="What do you know about me?\nWhat's my sister's name?\n")
    assert second.returncode == 0, second.stderr
    assert "Anna" in second.stdout and "Boston" in second.stdout
    assert "you said on" in second.stdout and '"My sister is called Anna."' in second.stdout
    assert "You told me" in second.stdout

    # A correction replaces the fact; the old one is kept as superseded.
    third = os1(home, stdin="That's wrong, my sister is called Annie.\nWhat's my sister's name?\n")
    assert third.returncode == 0, third.stderr
    assert "corrected" in third.stdout.lower() and "Annie" in third.stdout
    assert any("Anna" in c for c, _ in facts(home, "superseded"))
    assert any("Annie" in c for c, _ in facts(home, "active"))
    listed = os1(home, "memory", "list", "--all")
    assert "superseded" in listed.stdout and "Annie" in listed.stdout

    # Forgetting is proposed; with no terminal to ask, it waits for `os1 approve`.
    fourth = os1(home, stdin="Forget that my sister is called Annie\n")
    assert "os1 approve" in fourth.stdout
    action = db(home).execute("SELECT id FROM actions WHERE tool = 'forget_memories'").fetchone()
    assert os1(home, "approve", str(action[0])).returncode == 0
    assert not any("Annie" in c for c, _ in facts(home, "active", "superseded", "pending"))
    # Deleted, not hidden: no message, fact or log entry still holds it.
    dump = "\n".join(
        str(tuple(row))
        for table in ("messages", "memories", "actions", "summaries")
        for row in db(home).execute(f"SELECT * FROM {table}")
    )
    assert "Annie" not in dump
    after = os1(home, stdin="What's my sister's name?\n")
    assert "don't remember" in after.stdout


def test_incognito_keeps_nothing(home: Path) -> None:
    assert os1(home, stdin="\n".join(INTERVIEW)).returncode == 0
    before = db(home).execute("SELECT count(*) FROM messages").fetchone()[0]
    result = os1(home, "--incognito", "chat", "-m", "My dog is called Rex.")
    assert result.returncode == 0, result.stderr
    assert db(home).execute("SELECT count(*) FROM messages").fetchone()[0] == before
    assert facts(home, "active", "superseded", "pending") == []


def test_rebuild_derives_the_same_facts_again(home: Path) -> None:
    lines = [*INTERVIEW, "My brother is called Paul.", "I work as a letter writer."]
    assert os1(home, stdin="\n".join(lines)).returncode == 0
    before = sorted(facts(home, "active"))
    assert before
    rebuilt = os1(home, "memory", "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert sorted(facts(home, "active")) == before
    exported = json.loads(os1(home, "memory", "export").stdout)
    assert exported["format"] == "os1-memory"
    assert all(f["sources"] for f in exported["facts"])  # every fact says where it came from


def test_pending_facts_wait_for_confirmation(home: Path) -> None:
    assert os1(home, stdin="\n".join([*INTERVIEW, "I live in Boston."])).returncode == 0
    conn = db(home)
    conn.execute(
        "INSERT INTO memories (user_id, kind, slot, content, origin, status, recorded_at) "
        "VALUES ('theo', 'state', 'home.city', 'Theo lives in Paris.', 'document', 'pending', "
        "'2026-01-01T00:00:00+00:00')"
    )
    conn.commit()
    pending = conn.execute("SELECT id FROM memories WHERE status = 'pending'").fetchone()[0]
    assert ("Theo lives in Boston.", "active") in facts(home, "active")
    listed = os1(home, "memory", "list")
    assert "Paris" not in listed.stdout  # not part of what she believes until confirmed
    confirmed = os1(home, "memory", "confirm", str(pending))
    assert confirmed.returncode == 0, confirmed.stderr
    assert ("Theo lives in Paris.", "active") in facts(home, "active")
    assert any("Boston" in c for c, _ in facts(home, "superseded"))
