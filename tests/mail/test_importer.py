"""Importing Maildir, mbox and .eml: idempotent, resumable, nothing lost on bad input."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from email.message import EmailMessage
from pathlib import Path

import pytest

from os1.mail.importer import ImportError_, import_path, mbox_messages
from os1.store import Store

USER = "theo"


def _mail(i: int, body: str = "", **extra: str) -> bytes:
    m = EmailMessage()
    m["From"] = f"Person {i} <p{i}@example.com>"
    m["To"] = "theo@example.com"
    m["Subject"] = f"Message {i}"
    m["Message-ID"] = f"<m{i}@example.com>"
    for k, v in extra.items():
        m[k] = v
    m.set_content(body or f"Body of message {i}.")
    return bytes(m)


def _mbox(path: Path, raws: list[bytes]) -> Path:
    with path.open("wb") as f:
        for raw in raws:
            f.write(b"From someone@example.com Mon Mar  3 10:00:00 2025\n")
            f.write(raw.replace(b"\r\n", b"\n").replace(b"\nFrom ", b"\n>From ") + b"\n")
    return path


async def _count(store: Store, where: str = "1") -> int:
    row = await store.query_one(f"SELECT count(*) FROM mail_messages WHERE {where}")
    assert row is not None
    return int(row[0])


async def test_mbox_import_is_idempotent(store: Store, tmp_path: Path) -> None:
    path = _mbox(tmp_path / "a.mbox", [_mail(i) for i in range(30)])
    first = await import_path(store, USER, path, workers=1)
    assert (first.seen, first.added, first.unparsed) == (30, 30, [])
    again = await import_path(store, USER, path, workers=1)
    assert (again.seen, again.added, again.duplicates) == (30, 0, 30)
    assert await _count(store) == 30


async def test_parsing_in_worker_processes(store: Store, tmp_path: Path) -> None:
    path = _mbox(tmp_path / "a.mbox", [_mail(i) for i in range(60)])
    report = await import_path(store, USER, path, workers=2, batch=16)
    assert report.added == 60
    row = await store.query_one("SELECT subject, body FROM mail_messages WHERE id = 1")
    assert row is not None and row["subject"] == "Message 0"


async def test_unescaped_from_lines_stay_in_the_body(store: Store, tmp_path: Path) -> None:
    body = "First line.\n\nFrom here on, things change.\n\nFrom: not a header either"
    path = _mbox(tmp_path / "a.mbox", [_mail(1, body), _mail(2)])
    # The writer escaped "\nFrom " lines; undo that to make a careless mboxo file.
    path.write_bytes(path.read_bytes().replace(b">From here", b"From here"))
    report = await import_path(store, USER, path, workers=1)
    assert report.added == 2
    row = await store.query_one("SELECT body FROM mail_messages WHERE subject = 'Message 1'")
    assert row is not None and "From here on, things change." in row["body"]


async def test_mboxrd_escaping_is_undone(tmp_path: Path) -> None:
    path = _mbox(tmp_path / "a.mbox", [_mail(1, "Hi\n\nFrom the desk of Theo")])
    [(_, _, raw)] = list(mbox_messages(path))
    assert b"\nFrom the desk of Theo" in raw and b">From" not in raw


async def test_dateless_separator_followed_by_headers(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "a.mbox"
    path.write_bytes(
        b"From a@example.com Mon Mar  3 10:00:00 2025\n"
        + _mail(1).replace(b"\r\n", b"\n")
        + b"\nFrom b@example.com\n"
        + _mail(2).replace(b"\r\n", b"\n")
    )
    report = await import_path(store, USER, path, workers=1)
    assert report.added == 2


async def test_truncated_mbox_keeps_what_is_there(store: Store, tmp_path: Path) -> None:
    path = _mbox(tmp_path / "a.mbox", [_mail(1), _mail(2, "A long body " * 50)])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 300])
    report = await import_path(store, USER, path, workers=1)
    assert report.added == 2
    row = await store.query_one("SELECT body FROM mail_messages WHERE subject = 'Message 2'")
    assert row is not None and row["body"].startswith("A long body")


async def test_garbage_is_kept_raw_and_reported(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "a.mbox"
    junk = b"\x00\x01\x02\xff binary junk \x00"
    path.write_bytes(
        b"From a@example.com Mon Mar  3 10:00:00 2025\n"
        + _mail(1).replace(b"\r\n", b"\n")
        + b"\nFrom b@example.com Mon Mar  3 10:00:00 2025\n"
        + junk
        + b"\n"
        + b"\nFrom c@example.com Mon Mar  3 10:00:00 2025\n"
        + _mail(3).replace(b"\r\n", b"\n")
    )
    report = await import_path(store, USER, path, workers=1)
    assert report.added == 3
    [(where, error)] = report.unparsed
    assert "byte" in where and "no mail headers" in error
    row = await store.query_one(
        "SELECT b.data FROM mail_messages m JOIN mail_blobs b ON b.hash = m.raw_hash "
        "AND b.user_id = m.user_id WHERE m.status = 'unparsed'"
    )
    assert row is not None and junk in bytes(row["data"])


async def test_big_attachment_stored_once(store: Store, tmp_path: Path) -> None:
    big = os.urandom(25 * 1024 * 1024)
    raws = []
    for i in range(2):  # the same 25 MB file attached to two messages
        m = EmailMessage()
        m["From"], m["Subject"] = "a@example.com", f"scan {i}"
        m.set_content("Attached.")
        m.add_attachment(big, maintype="application", subtype="pdf", filename="scan.pdf")
        raws.append(bytes(m))
    for i, raw in enumerate(raws):
        (tmp_path / f"{i}.eml").write_bytes(raw)
        await import_path(store, USER, tmp_path / f"{i}.eml", workers=1)
    rows = await store.query("SELECT hash, size FROM mail_attachments ORDER BY id")
    assert [r["size"] for r in rows] == [len(big)] * 2 and rows[0]["hash"] == rows[1]["hash"]
    assert await _count(store) == 2
    blobs = await store.query_one("SELECT count(*) FROM mail_blobs WHERE size = ?", (len(big),))
    assert blobs is not None and blobs[0] == 1


async def test_maildir_with_flags_and_subfolders(store: Store, tmp_path: Path) -> None:
    root = tmp_path / "Mail"
    for sub in ("cur", "new", "tmp", ".Sent/cur", ".Sent/new", ".Sent/tmp"):
        (root / sub).mkdir(parents=True)
    (root / "cur" / "1.host:2,RS").write_bytes(_mail(1))
    (root / "new" / "2.host").write_bytes(_mail(2))
    (root / ".Sent" / "cur" / "3.host:2,S").write_bytes(_mail(3))
    seen: list[tuple[int, int]] = []
    report = await import_path(
        store, USER, root, workers=1, on_progress=lambda d, t: seen.append((d, t))
    )
    assert report.added == 3 and seen[-1] == (3, 3)
    rows = {
        r["subject"]: (r["folder"], r["flags"])
        for r in await store.query("SELECT subject, folder, flags FROM mail_messages")
    }
    assert rows["Message 1"] == ("INBOX", "\\Answered \\Seen")
    assert rows["Message 2"] == ("INBOX", "")
    assert rows["Message 3"] == ("Sent", "\\Seen")


async def test_threads_form_whatever_the_order(store: Store, tmp_path: Path) -> None:
    root = _mail(1)
    reply = _mail(2, **{"In-Reply-To": "<m1@example.com>", "References": "<m1@example.com>"})
    reply2 = _mail(
        3, **{"In-Reply-To": "<m2@example.com>", "References": "<m1@example.com> <m2@example.com>"}
    )
    other = _mail(4)
    # Replies first, the message they answer last.
    await import_path(store, USER, _mbox(tmp_path / "a.mbox", [reply2, reply, other, root]))
    rows = await store.query("SELECT subject, thread_id FROM mail_messages ORDER BY subject")
    threads = {r["subject"]: r["thread_id"] for r in rows}
    assert threads["Message 1"] == threads["Message 2"] == threads["Message 3"]
    assert threads["Message 4"] != threads["Message 1"]


async def test_users_are_separate(store: Store, tmp_path: Path) -> None:
    path = _mbox(tmp_path / "a.mbox", [_mail(1)])
    await import_path(store, "theo", path, workers=1)
    report = await import_path(store, "amy", path, workers=1)
    assert report.added == 1  # the same message is Amy's own copy, not a duplicate of Theo's
    assert await _count(store, "user_id = 'amy'") == 1


async def test_not_importable(store: Store, tmp_path: Path) -> None:
    with pytest.raises(ImportError_, match="does not exist"):
        await import_path(store, USER, tmp_path / "nope.mbox")
    (tmp_path / "folder").mkdir()
    with pytest.raises(ImportError_, match="not a Maildir"):
        await import_path(store, USER, tmp_path / "folder")
    (tmp_path / "notes.txt").write_text("Just some notes.\nNot mail.")
    with pytest.raises(ImportError_, match="is not mail"):
        await import_path(store, USER, tmp_path / "notes.txt")
    assert await _count(store) == 0


RUNNER = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from os1.store import Store
    from os1.mail.importer import import_path

    async def main():
        store = await Store.open(Path(sys.argv[1]))
        def progress(done, total):
            print(done, flush=True)
        await import_path(store, "theo", Path(sys.argv[2]), workers=1, batch=50,
                          on_progress=progress)
        await store.close()

    asyncio.run(main())
    """
)


def test_kill_9_mid_import_then_resume(tmp_path: Path) -> None:
    path = _mbox(tmp_path / "big.mbox", [_mail(i, "text " * 200) for i in range(2000)])
    db = tmp_path / "os1.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(db), str(path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    for _ in range(3):  # three batches committed, then kill -9 in the middle of the rest
        proc.stdout.readline()
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    async def resume() -> None:
        store = await Store.open(db)
        try:
            partial = await _count(store)
            assert 150 <= partial < 2000
            row = await store.query_one("SELECT position, done FROM mail_imports")
            assert row is not None and row["done"] == 0 and row["position"] > 0
            report = await import_path(store, USER, path, workers=1)
            assert report.resumed_at == row["position"]
            assert report.seen < 2000  # it did not start over
            assert await _count(store) == 2000
            distinct = await store.query_one("SELECT count(DISTINCT subject) FROM mail_messages")
            assert distinct is not None and distinct[0] == 2000
        finally:
            await store.close()

    asyncio.run(resume())


async def test_cancelled_import_loses_nothing_committed(store: Store, tmp_path: Path) -> None:
    path = _mbox(tmp_path / "a.mbox", [_mail(i) for i in range(400)])
    task = asyncio.ensure_future(import_path(store, USER, path, workers=1, batch=20))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await import_path(store, USER, path, workers=1)
    assert await _count(store) == 400
