"""Exporting stored mail as mboxrd: what the importer reads back is what was stored."""

from __future__ import annotations

import email.policy
import os
import sqlite3
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from os1.mail.export import export_mbox
from os1.mail.importer import import_path
from os1.mail.store import add_message
from os1.store import Store

USER, OTHER = "theo", "anna"
TRICKY = (
    "Hello Theo,\n\nFrom here on we write every week.\nFrom the start I knew.\n"
    ">From a quoted mbox line\n>>From a deeper one\n\nFrom Amy, with love\n"
)
NOTES = "From the notes:\n>From the quoted notes\nend\n"
PICTURE = os.urandom(5000) + b"\nFrom \n>From \r\n"


def _mail(subject: str, body: str, n: int, sender: str = "amy@example.com") -> EmailMessage:
    m = EmailMessage()
    m["From"] = f"Amy Pond <{sender}>"
    m["To"] = "theo@example.com"
    m["Subject"] = subject
    m["Date"] = f"Tue, {n} Nov 2025 21:04:05 +0100"
    m["Message-ID"] = f"<m{n}@example.com>"
    m.set_content(body)
    return m


async def _add(store: Store, user: str, raw: bytes, folder: str = "INBOX") -> None:
    def write(c: sqlite3.Connection) -> None:
        c.execute("INSERT OR IGNORE INTO users (id, created_at) VALUES (?, 'now')", (user,))
        add_message(c, user, raw, folder=folder)

    await store.write(write)


@pytest.fixture
async def mailbox(store: Store) -> Store:
    await _add(store, USER, bytes(_mail("Plain", "Just a note.", 1)))
    await _add(store, USER, bytes(_mail("Tricky", TRICKY, 2)))
    with_files = _mail("Files", "Two files attached.", 3)
    with_files.add_attachment(NOTES, filename="notes.txt")
    with_files.add_attachment(PICTURE, maintype="image", subtype="png", filename="p.png")
    await _add(store, USER, bytes(with_files))
    crlf = _mail("Over IMAP", "CRLF line ends.\nFrom a line that needs quoting.", 4)
    await _add(store, USER, crlf.as_bytes(policy=email.policy.SMTP))
    await _add(store, USER, b"\x00\x01 junk, no headers\nFrom nowhere\n")  # kept unparsed
    await _add(
        store, USER, bytes(_mail("Sent one", "I wrote this.", 5, "theo@example.com")), "Sent"
    )
    await _add(store, OTHER, bytes(_mail("Anna's secret", "Only for Anna.", 6)))
    return store


async def _messages(store: Store, user: str) -> list[tuple[Any, ...]]:
    rows = await store.query(
        "SELECT subject, body, quoted, signature, status, message_id FROM mail_messages "
        "WHERE user_id = ? ORDER BY message_id, subject",
        (user,),
    )
    return [tuple(r) for r in rows]


async def _attachments(store: Store, user: str) -> dict[str, bytes]:
    rows = await store.query(
        "SELECT a.filename, b.data FROM mail_attachments a JOIN mail_blobs b "
        "ON b.user_id = a.user_id AND b.hash = a.hash WHERE a.user_id = ?",
        (user,),
    )
    return {r["filename"]: bytes(r["data"]) for r in rows}


async def test_export_then_import_gives_the_same_mail(mailbox: Store, tmp_path: Path) -> None:
    target = tmp_path / "theo.mbox"
    progress: list[tuple[int, int]] = []
    written = await export_mbox(
        mailbox, USER, target, on_progress=lambda *p: progress.append(p), batch=4
    )
    assert written == 6 and progress == [(4, 6), (6, 6)]
    text = target.read_bytes()
    assert text.startswith(b"From amy@example.com Sat Nov  1 20:04:05 2025\n")  # asctime, UTC
    # mboxrd: each ">*From " line gets one more ">", so none can split a message.
    for line in (b"\n>From here on", b"\n>>From a quoted mbox", b"\n>>>From a deeper one"):
        assert line in text
    assert b"\r\n" not in text and b"Anna" not in text  # LF mbox; never another user's mail
    assert text.count(b"\nFrom ") == 5

    fresh = await Store.open(tmp_path / "new.db")
    try:
        report = await import_path(fresh, USER, target, workers=1)
        assert (report.added, len(report.unparsed)) == (6, 1)
        assert await _messages(fresh, USER) == await _messages(mailbox, USER)
        files = await _attachments(fresh, USER)
        assert files == await _attachments(mailbox, USER)
        assert files["p.png"] == PICTURE and files["notes.txt"].decode() == NOTES
        raw = await fresh.query_one(
            "SELECT b.data FROM mail_messages m JOIN mail_blobs b ON b.user_id = m.user_id "
            "AND b.hash = m.raw_hash WHERE m.subject = 'Tricky'"
        )
        assert raw is not None and TRICKY.encode() in bytes(raw["data"])
        junk = await fresh.query_one("SELECT status FROM mail_messages WHERE subject = ''")
        assert junk is not None and junk["status"] == "unparsed"
        assert await fresh.query("SELECT * FROM mail_messages WHERE user_id = ?", (OTHER,)) == []
    finally:
        await fresh.close()
    # Every message is known by the same hash as before: importing it back adds nothing.
    again = await import_path(mailbox, USER, target, workers=1)
    assert (again.seen, again.added) == (6, 0)


async def test_one_folder(mailbox: Store, tmp_path: Path) -> None:
    target = tmp_path / "sent.mbox"
    assert await export_mbox(mailbox, USER, target, folder="Sent") == 1
    assert b"Subject: Sent one" in target.read_bytes()
    assert await export_mbox(mailbox, OTHER, tmp_path / "anna.mbox", folder="Sent") == 0
    assert (tmp_path / "anna.mbox").read_bytes() == b""


async def test_a_failed_export_leaves_no_half_file(mailbox: Store, tmp_path: Path) -> None:
    target = tmp_path / "theo.mbox"
    target.write_bytes(b"the previous export\n")

    def crash(done: int, total: int) -> None:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        await export_mbox(mailbox, USER, target, on_progress=crash, batch=2)
    assert target.read_bytes() == b"the previous export\n"
    assert sorted(os.listdir(tmp_path)) == ["home", "theo.mbox"]
