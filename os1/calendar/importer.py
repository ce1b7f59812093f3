"""Importing and exporting iCalendar files: one .ics file, or a folder of them.

A folder may be an exported calendar folder or a vdir/Radicale collection (one object
per file; the collection's name in `displayname` or `.Radicale.props`). Files are read
one at a time and written in batches, each its own transaction: a kill -9 mid-import
loses nothing already written, and running the import again completes it, since an
object that is already stored unchanged is left alone. A copy of an object (same UID)
replaces the stored one only if it is newer (a higher SEQUENCE, or the same SEQUENCE
and a later LAST-MODIFIED/DTSTAMP), so a local edit is never overwritten by an older
file. Whatever cannot be read is kept raw as a problem, once, until the user drops it.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import sqlite3
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from ..store import Store
from . import ical
from . import store as calstore

BATCH = 500
SUFFIXES = (".ics", ".ical", ".icalendar")
Progress = Callable[[int, int], None]
"""Called with (bytes done, bytes in all) after each batch."""


@dataclass
class ImportReport:
    """What an import did, file by file summed up."""

    source: str
    files: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    kept: int = 0
    """Objects whose stored version is newer than (or as new as) the file's copy."""
    problems: list[ical.Problem] = field(default_factory=list)
    calendars: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        files = f"{self.files} file" + ("" if self.files == 1 else "s")
        into = ", ".join(f"“{c}”" for c in self.calendars)
        text = f"Imported {files}" + (f" into {into}" if into else "") + ": "
        text += f"{self.added} added, {self.updated} updated, {self.unchanged} already there"
        if self.kept:
            text += f"; {self.kept} kept as they are here (the file's copy was not newer)"
        if self.problems:
            n = len(self.problems)
            text += f"; {n} could not be read and {'are' if n != 1 else 'is'} kept as problems"
        return text + "."


def version(resource: ical.Resource) -> tuple[int, datetime | None]:
    """(SEQUENCE, LAST-MODIFIED or else DTSTAMP in UTC) of its newest component: which of
    two copies of one object is newer (RFC 5546 2.1.5)."""
    sequence, stamp = 0, None
    for c in resource.components:
        try:
            sequence = max(sequence, int(c.get("SEQUENCE", 0)))
        except (TypeError, ValueError):
            pass
        for prop in ("LAST-MODIFIED", "DTSTAMP"):
            try:
                value = getattr(c.get(prop), "dt", None)
            except ValueError:  # a value that did not parse (icalendar's vBroken)
                continue
            if isinstance(value, datetime):
                value = value.replace(tzinfo=UTC) if value.tzinfo is None else value
                stamp = value if stamp is None else max(stamp, value.astimezone(UTC))
                break
    return sequence, stamp


def newer(a: ical.Resource, b: ical.Resource) -> bool:
    """Whether `a` is a later version of the object than `b`."""
    (seq_a, stamp_a), (seq_b, stamp_b) = version(a), version(b)
    if seq_a != seq_b:
        return seq_a > seq_b
    return stamp_a is not None and (stamp_b is None or stamp_a > stamp_b)


def _collection_name(folder: Path) -> str | None:
    """The name a vdir (`displayname` file) or Radicale collection gives itself."""
    try:
        if (folder / "displayname").is_file():
            return (folder / "displayname").read_text(encoding="utf-8").strip() or None
        if (folder / ".Radicale.props").is_file():
            props = json.loads((folder / ".Radicale.props").read_text(encoding="utf-8"))
            return str(props.get("D:displayname") or "").strip() or None
    except (OSError, ValueError, UnicodeDecodeError):
        pass
    return None


def files_of(path: Path) -> tuple[list[tuple[Path, str | None]], int]:
    """(file, its folder's calendar name) for every calendar file at `path`, and how many
    other files were passed over."""
    if path.is_file():
        return [(path, None)], 0
    if not path.is_dir():
        raise ical.CalendarError(f"{path} does not exist")
    found: list[tuple[Path, str | None]] = []
    others = 0
    for root, dirs, names in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))  # .Radicale.cache and such
        folder = Path(root)
        name = _collection_name(folder)
        for n in sorted(names):
            if n.lower().endswith(SUFFIXES):
                found.append((folder / n, name))
            elif not n.startswith(".") and n != "displayname" and n != "color":
                others += 1
    if not found:
        raise ical.CalendarError(f"{path} holds no calendar files (.ics)")
    return found, others


def keep_problems(c: sqlite3.Connection, user: str, problems: list[ical.Problem]) -> None:
    """Store problems, each as often as it occurs, less the copies already kept: importing
    the same file twice adds nothing, and 20 identical broken events stay 20."""
    c.execute(
        "INSERT OR IGNORE INTO users (id, created_at) VALUES (?, ?)",
        (user, datetime.now(UTC).isoformat()),
    )
    for problem, n in Counter(problems).items():
        (kept,) = c.execute(
            "SELECT count(*) FROM cal_problems WHERE user_id = ? AND source = ? AND error = ? "
            "AND raw = ?",
            (user, problem.source, problem.error, problem.raw),
        ).fetchone()
        for _ in range(n - kept):
            calstore.add_problem(c, user, problem)


def _put(
    c: sqlite3.Connection, user: str, calendar: int, r: ical.Resource, origin: str, tz: ZoneInfo
) -> str:
    row = c.execute(
        "SELECT o.id, o.uid, o.kind, o.ics, o.deleted_at, k.url FROM calendars k LEFT JOIN "
        "cal_objects o ON o.calendar_id = k.id AND o.uid = ? AND o.user_id = ? WHERE k.id = ?",
        (r.uid, user, calendar),
    ).fetchone()
    if row["id"] is not None:
        present = row["deleted_at"] is None  # else deleted here, not yet on the server
        if present and row["kind"] != r.kind:
            what = "an event" if row["kind"] == "event" else "a to-do"
            raise ical.CalendarError(f"UID {r.uid} already belongs to {what} here")
        if present and row["ics"] == r.to_ical():
            return "unchanged"
        try:
            stored: ical.Resource | None = calstore.load(row)
        except ical.CalendarError:
            stored = None  # what is stored no longer reads: the file's copy is better
        if stored is not None and not newer(r, stored):
            return "kept"
    # A calendar that syncs sends the change to its server at the next sync.
    synced = row["url"] is not None
    return calstore.put_resource(c, user, calendar, r, origin=origin, tz=tz, dirty=synced).change


def _writer(
    user: str,
    name: str,
    chunk: list[ical.Resource],
    problems: list[ical.Problem],
    source: str,
    tz: ZoneInfo,
) -> Callable[[sqlite3.Connection], tuple[Counter[str], list[ical.Problem]]]:
    def write(c: sqlite3.Connection) -> tuple[Counter[str], list[ical.Problem]]:
        counts: Counter[str] = Counter()
        failed: list[ical.Problem] = []
        calendar = calstore.calendar_id(c, user, name)
        for r in chunk:
            # One object that cannot be stored (its rule cannot be expanded, …) costs only
            # itself: its writes are undone and it is kept as a problem.
            c.execute("SAVEPOINT one")
            try:
                counts[_put(c, user, calendar, r, f"import:{source}", tz)] += 1
            except Exception as e:
                c.execute("ROLLBACK TO one")
                error = f"“{r.summary or r.uid}” cannot be stored: {type(e).__name__}: {e}"
                failed.append(ical.Problem(source, error, r.to_ical()))
            c.execute("RELEASE one")
        keep_problems(c, user, problems + failed)
        return counts, failed

    return write


async def _store_problems(store: Store, user: str, problems: list[ical.Problem]) -> None:
    await store.write(lambda c: keep_problems(c, user, problems))


async def _read(file: Path) -> ical.Parsed:
    size = await asyncio.to_thread(lambda: file.stat().st_size)
    if size > ical.MAX_TEXT:
        raise ical.CalendarError(
            f"{file.name} is larger than 50 MB ({size // 2**20} MB); split it first "
            "(it was not read and is unchanged)"
        )
    data = await asyncio.to_thread(file.read_bytes)
    try:
        return await asyncio.to_thread(ical.parse, data, str(file))
    except ical.CalendarError as e:
        raise _Unreadable(str(e), ical.decode_text(data)) from e


class _Unreadable(Exception):
    def __init__(self, error: str, raw: str) -> None:
        super().__init__(error)
        self.raw = raw


async def import_path(
    store: Store,
    user: str,
    path: Path | str,
    *,
    calendar: str | None = None,
    tz: ZoneInfo,
    on_progress: Progress | None = None,
    batch: int = BATCH,
) -> ImportReport:
    """Import a .ics file or a folder of them for `user`; see the module docstring."""
    path = await asyncio.to_thread(lambda: Path(path).expanduser().resolve())
    files, others = await asyncio.to_thread(files_of, path)
    report = ImportReport(str(path))
    if others:
        report.notes.append(f"{others} file{'s' if others != 1 else ''} that are not .ics left out")
    sizes = await asyncio.to_thread(lambda: [f.stat().st_size for f, _ in files])
    total, done = sum(sizes), 0
    for (file, folder_name), size in zip(files, sizes, strict=True):
        report.files += 1
        source = str(file)
        try:
            parsed = await _read(file)
        except (_Unreadable, ical.CalendarError, OSError) as e:
            raw = e.raw if isinstance(e, _Unreadable) else ""
            problem = ical.Problem(source, str(e), raw)
            await _store_problems(store, user, [problem])
            report.problems.append(problem)
            done += size
            continue
        if parsed.encoding != "utf-8":
            report.notes.append(f"{file.name} is not UTF-8; it was read as {parsed.encoding}")
        name = calendar or parsed.name or folder_name or calstore.DEFAULT_CALENDAR
        pending = parsed.problems + parsed.notes
        resources = parsed.resources
        if not resources and pending:
            await _store_problems(store, user, pending)
        for i in range(0, len(resources), batch):
            chunk = resources[i : i + batch]
            write = _writer(user, name, chunk, pending if i == 0 else [], source, tz)
            counts, failed = await store.write(write)
            pending += failed
            report.added += counts["added"]
            report.updated += counts["updated"]
            report.unchanged += counts["unchanged"]
            report.kept += counts["kept"]
            if on_progress is not None:
                on_progress(done + size * min(i + batch, len(resources)) // len(resources), total)
        report.problems += pending
        if resources and name not in report.calendars:
            report.calendars.append(name)
        done += size
        if on_progress is not None:
            on_progress(done, total)
    return report


async def export_ics(
    store: Store, user: str, path_or_stream: Path | str | IO[Any], *, calendar: str | None = None
) -> int:
    """Write every event and to-do of one calendar (or all) as one .ics; returns how many
    objects it holds. A file is written whole or not at all (a temporary file, then renamed)."""

    def read(c: sqlite3.Connection) -> tuple[list[ical.Resource], str | None]:
        names = {r["id"]: r["name"] for r in calstore.calendars(c, user)}
        wanted = [k for k, n in names.items() if calendar is None or n == calendar]
        if not wanted:
            raise ical.CalendarError(f"you have no calendar called {calendar!r}")
        marks = ", ".join("?" for _ in wanted)
        rows = c.execute(
            "SELECT * FROM cal_objects WHERE user_id = ? AND deleted_at IS NULL "
            f"AND calendar_id IN ({marks}) ORDER BY calendar_id, id",
            (user, *wanted),
        ).fetchall()
        resources = []
        for row in rows:
            try:
                resources.append(calstore.load(row))
            except ical.CalendarError:
                continue  # cannot happen for what put_resource wrote; never stops an export
        return resources, calendar or (names[wanted[0]] if len(wanted) == 1 else None)

    resources, name = await store.read(read)
    text = await asyncio.to_thread(ical.serialize, resources, name)
    await asyncio.to_thread(_write, path_or_stream, text)
    return len(resources)


def _write(target: Path | str | IO[Any], text: str) -> None:
    if not isinstance(target, (str, Path)):
        target.write(text if isinstance(target, io.TextIOBase) else text.encode("utf-8"))
        return
    path = Path(target).expanduser()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


async def problems(store: Store, user: str) -> list[sqlite3.Row]:
    """What could not be read, oldest first (id, source, error, raw, created_at)."""
    return await store.query(
        "SELECT id, source, error, raw, created_at FROM cal_problems WHERE user_id = ? ORDER BY id",
        (user,),
    )


async def drop_problem(store: Store, user: str, problem_id: int) -> bool:
    """Forget a problem the user has seen; False if there was none with that id."""

    def drop(c: sqlite3.Connection) -> bool:
        cur = c.execute("DELETE FROM cal_problems WHERE user_id = ? AND id = ?", (user, problem_id))
        return cur.rowcount > 0

    return await store.write(drop)
