import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from os1.migrations import MIGRATIONS, apply_migrations
from os1.store import Store, StoreError


async def test_wal_and_migrations_recorded(store: Store) -> None:
    mode = await store.query_one("PRAGMA journal_mode")
    assert mode is not None and mode[0] == "wal"
    names = [r[0] for r in await store.query("SELECT name FROM _os1_migrations ORDER BY name")]
    assert names == sorted(m.__name__ for m in MIGRATIONS)


def test_migrations_apply_once(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "db", isolation_level=None)
    assert len(apply_migrations(conn)) == len(MIGRATIONS)
    assert apply_migrations(conn) == []


async def test_every_data_table_carries_its_user(store: Store) -> None:
    tables = [
        r[0]
        for r in await store.query(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' "
            "ESCAPE '\\' AND name NOT LIKE 'sqlite%'"
        )
    ]
    assert tables
    # Full-text indexes are keyed by the rowid of a table that carries the user.
    tables = [t for t in tables if "_fts" not in t]
    for table in tables:
        columns = {r[1] for r in await store.query(f"PRAGMA table_info({table})")}
        assert ("user_id" in columns) or table == "users", table


async def test_failed_write_rolls_back_whole(store: Store) -> None:
    def write(c: sqlite3.Connection) -> None:
        c.execute("INSERT INTO users VALUES ('a', 'now')")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await store.write(write)
    assert await store.query("SELECT * FROM users") == []


async def test_concurrent_writers_never_see_locked(store: Store) -> None:
    async def add(i: int) -> int:
        return await store.execute_write("INSERT INTO users VALUES (?, 'now')", (f"u{i}",))

    await asyncio.gather(*(add(i) for i in range(200)))
    row = await store.query_one("SELECT count(*) FROM users")
    assert row is not None and row[0] == 200


async def test_corrupt_database_gives_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "os1.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="os1 import"):
        await Store.open(path)


WRITER = """
import asyncio, sys
from pathlib import Path
from os1.store import Store

async def main():
    store = await Store.open(Path(sys.argv[1]))
    await store.execute_write("INSERT INTO users VALUES ('theo', 'now')")
    await store.execute_write(
        "INSERT INTO conversations (user_id, started_at) VALUES ('theo', 'now')")
    i = 0
    while True:
        i += 1
        def write(c, i=i):
            # Several statements in one transaction, to be killed between them.
            for _ in range(20):
                c.execute("INSERT INTO messages (user_id, conversation_id, role, content, "
                          "created_at) VALUES ('theo', 1, 'user', ?, 'now')", ("x" * 500,))
        await store.write(write)
        print(i, flush=True)

asyncio.run(main())
"""


def test_kill_9_during_writes_loses_nothing_committed(tmp_path: Path) -> None:
    db = tmp_path / "os1.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    committed = 0
    deadline = time.monotonic() + 60
    while committed < 50 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        committed = int(line)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert committed >= 50
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    count = conn.execute("SELECT count(*) FROM messages").fetchone()[0]
    # Every transaction reported committed is there, and none is there by halves.
    assert count >= committed * 20
    assert count % 20 == 0


async def test_a_new_database_is_private(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "home" / "os1.db")
    try:
        await store.execute_write("INSERT INTO users VALUES ('a', 'now')")
        assert (tmp_path / "home").stat().st_mode & 0o777 == 0o700
        for name in ("os1.db", "os1.db-wal"):
            assert (tmp_path / "home" / name).stat().st_mode & 0o077 == 0, name
    finally:
        await store.close()
