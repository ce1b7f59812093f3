"""Exporting a user's stored mail as one mboxrd file, from the raw messages as they came.

The companion's JSON export leaves mail out (it can be gigabytes); this file carries
it, readable by any mail program and by `os1.mail.importer`. Each message is written
from its raw bytes (unparsed ones too: they are kept raw for exactly this), after a
"From sender asctime-date" line, with line ends made LF as mbox wants (the store
knows a message by its LF form, so importing the file again adds nothing twice).
mboxrd quoting: every line that starts with ">*From " gets one more ">", so "From
here on" in a body can't split a message and ">From" comes back as it was. Folders,
flags and triage results are not in the raw messages and so not in the file.

The file is written under a temporary name next to the target, synced, then renamed:
a crash or an error never leaves half a file under the final name.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sqlite3
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import IO

from ..store import Store

Progress = Callable[[int, int], None]
"""Called with (messages written, messages in all) after each batch."""

BATCH = 200
_QUOTE = re.compile(rb"^(>*From )", re.MULTILINE)
_UNKNOWN_SENDER = "MAILER-DAEMON"  # what mbox writers put when there is no envelope sender


def separator(sender: str, when: str | None) -> bytes:
    """The "From " line that starts a message: an address without spaces, and an asctime."""
    address = re.sub(r"\s+", "", sender) or _UNKNOWN_SENDER
    moment = datetime.now(UTC)
    if when:
        try:
            moment = datetime.fromisoformat(when)
        except ValueError:
            pass
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return f"From {address} {time.asctime(moment.timetuple())}\n".encode("ascii", "replace")


def mboxrd(raw: bytes) -> bytes:
    """One message as it goes in the file (without its "From " line), ending in a blank line."""
    text = _QUOTE.sub(rb">\1", raw.replace(b"\r\n", b"\n"))
    return text + (b"\n" if text.endswith(b"\n") else b"\n\n")


def _batch(
    c: sqlite3.Connection, user: str, after: int, folder: str | None, size: int
) -> list[sqlite3.Row]:
    sql = (
        "SELECT m.id, m.from_addr, coalesce(m.date, m.imported_at) AS date, b.data "
        "FROM mail_messages m JOIN mail_blobs b ON b.user_id = m.user_id AND b.hash = m.raw_hash "
        "WHERE m.user_id = ? AND m.id > ?"
    )
    params: list[object] = [user, after]
    if folder is not None:
        sql, params = sql + " AND m.folder = ?", [*params, folder]
    return c.execute(sql + " ORDER BY m.id LIMIT ?", [*params, size]).fetchall()


def _write(f: IO[bytes], rows: list[sqlite3.Row]) -> None:
    for row in rows:
        f.write(separator(row["from_addr"] or "", row["date"]))
        f.write(mboxrd(bytes(row["data"])))


async def export_mbox(
    store: Store,
    user: str,
    path: Path,
    *,
    folder: str | None = None,
    on_progress: Progress | None = None,
    batch: int = BATCH,
) -> int:
    """Write `user`'s stored mail (or one `folder` of it) to `path` as mboxrd; returns how
    many messages were written. Another user's mail is never read."""
    path = await asyncio.to_thread(Path(path).expanduser)
    where, params = "user_id = ?", [user]
    if folder is not None:
        where, params = where + " AND folder = ?", [user, folder]
    total = (await store.query(f"SELECT count(*) FROM mail_messages WHERE {where}", params))[0][0]
    # mkstemp: private (0600) like the mail in it, and in the target's folder so that the
    # rename is atomic.
    fd, tmp = await asyncio.to_thread(
        tempfile.mkstemp, dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    written, last = 0, 0
    try:
        with os.fdopen(fd, "wb") as f:
            while True:
                read = partial(_batch, user=user, after=last, folder=folder, size=batch)
                rows = await store.read(read)
                if not rows:
                    break
                await asyncio.to_thread(_write, f, rows)
                written, last = written + len(rows), rows[-1]["id"]
                if on_progress is not None:
                    on_progress(written, total)
            await asyncio.to_thread(f.flush)
            await asyncio.to_thread(os.fsync, f.fileno())
        await asyncio.to_thread(os.replace, tmp, path)
    except BaseException:  # Ctrl-C included: no half file, under any name
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return written
