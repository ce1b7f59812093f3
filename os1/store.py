"""Storage: one SQLite database in WAL mode, one writer thread, reads on worker threads.

As in datasette, every write goes through a queue to a single thread that owns
the only write connection, so the CLI, a web server, voice and the scheduler
can all write without "database is locked". Reads use per-thread connections;
WAL lets them run while a write is in progress. A write is one transaction:
kill -9 in the middle leaves the database as it was before it.
"""

from __future__ import annotations

import asyncio
import os
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from .migrations import apply_migrations

T = TypeVar("T")


class StoreError(Exception):
    """The database cannot be opened or used; the message says what to do."""


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False, timeout=30, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA busy_timeout = 30000")
    return conn


class Store:
    """The database of one OS1 home. Use `await Store.open(path)`; close with `await close()`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writes: queue.Queue[tuple[Callable[[sqlite3.Connection], Any], Future[Any]] | None]
        self._writes = queue.Queue()
        self._writer: threading.Thread | None = None
        self._local = threading.local()
        self._readers: list[tuple[sqlite3.Connection, threading.Lock]] = []
        self._readers_lock = threading.Lock()

    @classmethod
    async def open(cls, path: Path) -> Store:
        store = cls(path)
        await asyncio.to_thread(store._start)
        return store

    def _start(self) -> None:
        # Private by default: on a shared machine, other accounts can't read the conversation.
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        new = not self.path.exists()
        try:
            conn = _connect(self.path)
            if new:
                os.chmod(self.path, 0o600)  # SQLite gives the -wal and -shm files the same
            conn.execute("PRAGMA journal_mode = WAL")
            # NORMAL is durable in WAL mode except for the last transactions on power loss;
            # a process crash (kill -9) loses nothing that was committed.
            conn.execute("PRAGMA synchronous = NORMAL")
            # Forgetting must really delete: freed pages are overwritten, not left readable.
            conn.execute("PRAGMA secure_delete = ON")
            apply_migrations(conn)
        except sqlite3.DatabaseError as e:
            raise StoreError(
                f"Can't open the database {self.path}: {e}. If it is damaged, move it aside "
                "and restore from `os1 export` output with `os1 import`."
            ) from e
        self._writer = threading.Thread(
            target=self._write_loop, args=(conn,), name="os1-sqlite-writer", daemon=True
        )
        self._writer.start()

    def _write_loop(self, conn: sqlite3.Connection) -> None:
        while True:
            task = self._writes.get()
            if task is None:
                break
            fn, future = task
            if not future.set_running_or_notify_cancel():
                continue
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    result = fn(conn)
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            except BaseException as e:
                future.set_exception(e)
            else:
                future.set_result(result)
        conn.close()

    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn(conn)` in one transaction on the writer thread and return its result."""
        if self._writer is None:
            raise StoreError("the store is closed")
        future: Future[T] = Future()
        self._writes.put((fn, future))
        # Shielded: if the caller is cancelled (Ctrl-C), the transaction still completes
        # or rolls back whole on the writer thread; it is never left half-done.
        return await asyncio.shield(asyncio.wrap_future(future))

    async def execute_write(self, sql: str, params: Iterable[Any] = ()) -> int:
        """One statement; returns lastrowid."""
        return await self.write(lambda c: c.execute(sql, tuple(params)).lastrowid or 0)

    def _reader(self) -> tuple[sqlite3.Connection, threading.Lock]:
        reader = getattr(self._local, "reader", None)
        if reader is None:
            conn = _connect(self.path)
            conn.execute("PRAGMA query_only = ON")
            reader = self._local.reader = (conn, threading.Lock())
            with self._readers_lock:
                self._readers.append(reader)
        return reader

    def read_sync(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn, busy = self._reader()
        # Held while reading, so `close()` never closes a connection mid-query: a read
        # whose task was cancelled goes on in its thread until it finishes.
        with busy:
            if self._writer is None:
                raise StoreError("the store is closed")
            return fn(conn)

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn(conn)` on a read connection in a worker thread."""
        return await asyncio.to_thread(self.read_sync, fn)

    async def query(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        p = tuple(params)
        return await self.read(lambda c: c.execute(sql, p).fetchall())

    async def query_one(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        p = tuple(params)
        return await self.read(lambda c: c.execute(sql, p).fetchone())

    async def close(self) -> None:
        if self._writer is not None:
            self._writes.put(None)
            await asyncio.to_thread(self._writer.join)
            self._writer = None
        with self._readers_lock:
            for conn, busy in self._readers:
                with busy:
                    conn.close()
            self._readers.clear()

    async def integrity_check(self) -> str:
        row = await self.query_one("PRAGMA integrity_check")
        return str(row[0]) if row else "no answer"
