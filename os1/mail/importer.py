"""Importing mail archives: Maildir folders, mbox files and single .eml messages.

Imports are idempotent (a message already stored, by its raw bytes' hash, is
skipped) and resumable: after each batch is committed, how far the import got is
recorded, so an import stopped by Ctrl-C or kill -9 picks up where it was. Parsing
runs in worker processes, batches are written in one transaction each on the
store's writer thread, and the two overlap.

mbox files are split at "From " lines that look like separators (a sender and a
date, after a blank line), not at every line that starts with "From ": archives
written by careless tools often leave "From here on…" unescaped in bodies. A
truncated last message is kept as far as it goes.
"""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..store import Store
from . import store as mailstore
from .parse import MailParseError, ParsedMail, now_iso, parse

BATCH = 500
SEPARATOR = re.compile(
    rb"^From \S+ +(?:[A-Z][a-z]{2},? +)?(?:[A-Z][a-z]{2} +\d{1,2}|\d{1,2} +[A-Z][a-z]{2})"
    rb" +(?:\d{4} +)?\d{1,2}:\d{2}"
)
_HEADER = re.compile(rb"^[A-Za-z][A-Za-z0-9-]*: ")
Progress = Callable[[int, int], None]
"""Called with (done, total): bytes for an mbox, files for a Maildir."""


class ImportError_(Exception):
    """The path is not something OS1 can import mail from."""


@dataclass
class ImportReport:
    source: str
    kind: str
    seen: int = 0
    added: int = 0
    unparsed: list[tuple[str, str]] = field(default_factory=list)
    resumed_at: int = 0

    @property
    def duplicates(self) -> int:
        return self.seen - self.added


@dataclass(frozen=True)
class _Item:
    where: str  # file name or byte offset, for reports
    raw: bytes
    folder: str
    flags: tuple[str, ...]
    end: int  # the position after this item, recorded once it is committed


def kind_of(path: Path) -> str:
    if path.is_dir():
        if (path / "cur").is_dir() or (path / "new").is_dir():
            return "maildir"
        raise ImportError_(f"{path} is a folder but not a Maildir (no cur/ or new/ inside)")
    if not path.exists():
        raise ImportError_(f"{path} does not exist")
    with path.open("rb") as f:
        head = f.read(1024)
    if head.startswith(b"From "):
        return "mbox"
    if _HEADER.match(head) and b"\x00" not in head:
        return "eml"
    raise ImportError_(
        f"{path} is not mail: OS1 imports Maildir folders, mbox files and .eml messages"
    )


def _unescape(line: bytes) -> bytes:
    # mboxrd: ">From " in a body was written as ">>From "; take one ">" off.
    return line[1:] if line.startswith(b">") and line.lstrip(b">").startswith(b"From ") else line


def mbox_messages(path: Path, start: int = 0) -> Iterator[tuple[int, int, bytes]]:
    """(offset, end, raw) for each message in an mbox, from byte `start` on.

    A "From " line after a blank line separates messages if it carries a date, or if
    the line after it is a header; otherwise it is body text that was not escaped.
    """
    with path.open("rb") as f:
        f.seek(start)
        offset, position = start, start
        lines: list[bytes] = []
        blank_before = True
        maybe: tuple[int, bytes] | None = None  # a dateless "From " line: decided next line
        for line in f:
            if maybe is not None:
                if _HEADER.match(line):
                    if lines:
                        yield offset, maybe[0], b"".join(lines)
                    offset, lines = maybe[0], []
                else:
                    lines.append(_unescape(maybe[1]))
                maybe = None
            if line.startswith(b"From ") and blank_before:
                if SEPARATOR.match(line) or not lines:
                    if lines:
                        yield offset, position, b"".join(lines)
                    offset, lines = position, []
                else:
                    maybe = (position, line)
            else:
                lines.append(_unescape(line))
            position += len(line)
            blank_before = not line.strip()
        if maybe is not None:
            lines.append(maybe[1])
        if lines:
            yield offset, position, b"".join(lines)


def maildir_files(path: Path) -> list[tuple[str, Path]]:
    """(folder, file) for every message in a Maildir and its Maildir++ subfolders, sorted."""
    found: list[tuple[str, Path]] = []
    subfolders = sorted(
        (d.name.lstrip(".").replace(".", "/") or "INBOX", d)
        for d in path.iterdir()
        if d.is_dir() and d.name.startswith(".") and (d / "cur").is_dir()
    )
    folders = [("INBOX", path), *subfolders]
    for folder, root in folders:
        for sub in ("cur", "new"):
            directory = root / sub
            if directory.is_dir():
                found += [(folder, f) for f in sorted(directory.iterdir()) if f.is_file()]
    return found


def _items(path: Path, kind: str, start: int) -> Iterator[_Item]:
    if kind == "mbox":
        for offset, end, raw in mbox_messages(path, start):
            yield _Item(f"byte {offset}", raw, "INBOX", (), end)
    elif kind == "maildir":
        for n, (folder, file) in enumerate(maildir_files(path)[start:], start + 1):
            try:
                raw = file.read_bytes()
            except OSError as e:
                raise ImportError_(f"cannot read {file}: {e}") from e
            yield _Item(file.name, raw, folder, tuple(mailstore.maildir_flags(file.name)), n)
    else:
        yield _Item(path.name, path.read_bytes(), "INBOX", (), 1)


def _total(path: Path, kind: str) -> int:
    if kind == "mbox":
        return path.stat().st_size
    return len(maildir_files(path)) if kind == "maildir" else 1


def parse_many(raws: list[bytes]) -> list[ParsedMail | MailParseError]:
    out: list[ParsedMail | MailParseError] = []
    for raw in raws:
        try:
            out.append(parse(raw))
        except MailParseError as e:
            out.append(e)
        except Exception as e:  # the parser failing on odd input must not stop an import
            out.append(MailParseError(f"{type(e).__name__}: {e}"))
    return out


def _resume_point(path: Path, kind: str, row: sqlite3.Row | None) -> int:
    if row is None or row["done"]:
        return 0
    position = int(row["position"])
    if kind == "mbox":
        # The file may have been rewritten since: resume only at a message boundary.
        with path.open("rb") as f:
            f.seek(position)
            if f.read(5) != b"From ":
                return 0
    return position


async def import_path(
    store: Store,
    user: str,
    path: Path,
    *,
    me: frozenset[str] = frozenset(),
    on_progress: Progress | None = None,
    batch: int = BATCH,
    workers: int | None = None,
) -> ImportReport:
    """Import every message at `path` for `user`; see the module docstring."""
    path = await asyncio.to_thread(lambda: path.expanduser().resolve())
    kind = await asyncio.to_thread(kind_of, path)
    source = str(path)
    row = await store.query_one(
        "SELECT * FROM mail_imports WHERE user_id = ? AND source = ?", (user, source)
    )
    start = _resume_point(path, kind, row)
    report = ImportReport(source, kind, resumed_at=start)
    total = await asyncio.to_thread(_total, path, kind)

    def begin(c: sqlite3.Connection) -> None:
        c.execute("INSERT OR IGNORE INTO users (id, created_at) VALUES (?, ?)", (user, now_iso()))
        c.execute(
            "INSERT INTO mail_imports (user_id, source, kind, position, started_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(user_id, source) DO UPDATE SET "
            "position = excluded.position, done = 0, updated_at = excluded.updated_at",
            (user, source, kind, start, now_iso(), now_iso()),
        )

    await store.write(begin)
    n_workers = workers if workers is not None else min(2, os.cpu_count() or 1)
    pool: Executor | None = (
        ProcessPoolExecutor(n_workers, mp_context=_context()) if n_workers > 1 else None
    )
    loop = asyncio.get_running_loop()
    items = _items(path, kind, start)
    pending: asyncio.Future[Any] | None = None
    try:
        chunk = await asyncio.to_thread(_take, items, batch)
        while chunk:
            raws = [i.raw for i in chunk]
            parsing = (
                loop.run_in_executor(pool, parse_many, raws)
                if pool is not None
                else asyncio.to_thread(parse_many, raws)
            )
            following = asyncio.ensure_future(asyncio.to_thread(_take, items, batch))
            try:
                parsed = await parsing
            except BrokenProcessPool:
                # A worker died (out of memory, a killed process): parse here instead.
                pool = None
                parsed = await asyncio.to_thread(parse_many, raws)
            if pending is not None:
                await pending
            pending = asyncio.ensure_future(
                store.write(_writer(user, source, chunk, parsed, me, report))
            )
            await pending
            if on_progress is not None:
                on_progress(chunk[-1].end, total)
            chunk = await following
    finally:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    await store.execute_write(
        "UPDATE mail_imports SET done = 1, position = ?, updated_at = ? "
        "WHERE user_id = ? AND source = ?",
        (total, now_iso(), user, source),
    )
    return report


def _take(items: Iterator[_Item], n: int) -> list[_Item]:
    out = []
    for item in items:
        out.append(item)
        if len(out) >= n:
            break
    return out


def _context() -> Any:
    import multiprocessing

    # forkserver: forking this process would copy the SQLite writer thread's locks.
    return multiprocessing.get_context("forkserver")


def _writer(
    user: str,
    source: str,
    chunk: list[_Item],
    parsed: list[ParsedMail | MailParseError],
    me: frozenset[str],
    report: ImportReport,
) -> Callable[[sqlite3.Connection], None]:
    def write(c: sqlite3.Connection) -> None:
        added, problems = 0, []
        for item, p in zip(chunk, parsed, strict=True):
            result = mailstore.add_message(
                c, user, item.raw, folder=item.folder, flags=item.flags, me=me, parsed=p
            )
            added += result.new
            if result.new and result.error:
                problems.append((item.where, result.error))
        c.execute(
            "UPDATE mail_imports SET position = ?, added = added + ?, updated_at = ? "
            "WHERE user_id = ? AND source = ?",
            (chunk[-1].end, added, now_iso(), user, source),
        )
        # Counted last: a batch whose write fails is not reported as imported.
        report.seen += len(chunk)
        report.added += added
        report.unparsed.extend(problems)

    return write
