"""`os1 letters` end to end: the real command in a subprocess, the bundled model, a real SMTP
server on loopback, and no terminal (so sending waits for `os1 approve`)."""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

from servers import SMTPServer

from os1.mail.accounts import Account, save_account
from os1.store import Store


def os1(home: Path, *args: str, stdin: bytes | str = b"") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OS1_HOME": str(home), "OS1_USER": "theo", "NO_COLOR": "1"}
    for key in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "OS1_MODEL", "EDITOR", "VISUAL"):
        env.pop(key, None)
    proc = subprocess.run(
        [sys.executable, "-m", "os1", *args],
        input=stdin.encode() if isinstance(stdin, str) else stdin,
        capture_output=True,
        env=env,
        timeout=120,
        start_new_session=True,  # no controlling terminal: nobody to ask y/N
    )
    return subprocess.CompletedProcess(
        proc.args, proc.returncode, proc.stdout.decode(errors="replace"),
        proc.stderr.decode(errors="replace"),
    )  # fmt: skip


def db(home: Path) -> sqlite3.Connection:
    return sqlite3.connect(home / "os1.db")


def pdf_pages(path: Path) -> int:
    data = path.read_bytes()
    assert data.startswith(b"%PDF-")
    found = re.search(rb"/Type/Pages/Count (\d+)", data)
    assert found
    return int(found.group(1))


def test_write_edit_keep_versions_and_make_a_book(home: Path, tmp_path: Path) -> None:
    first = os1(home, "letters", "new", "--to", "Catherine", "--title", "What I #remember",
                stdin="Dear Catherine,\n\nI remember us.\n\nTheo\n")  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert "Saved letter #1 to Catherine" in first.stdout
    letter = tmp_path / "paul.txt"
    letter.write_text("Dear Paul,\n\n*Thank you* for [everything] = $0.\n")
    assert os1(home, "letters", "new", "--to", "Paul", "--file", str(letter)).returncode == 0

    edited = os1(home, "letters", "edit", "1", stdin="Dear Catherine,\n\nI remember us still.\n")
    assert edited.returncode == 0, edited.stderr
    assert "1 earlier text(s) kept" in edited.stdout
    history = os1(home, "letters", "history", "catherine")
    assert "1 letter to Catherine" in history.stdout and "edited 1×" in history.stdout
    shown = os1(home, "letters", "show", "1", "--versions")
    assert "I remember us still." in shown.stdout and "I remember us.\n" in shown.stdout
    reverted = os1(home, "letters", "revert", "1")
    assert reverted.returncode == 0, reverted.stderr
    assert "I remember us.\n" in os1(home, "letters", "show", "1").stdout
    listed = os1(home, "letters", "list", "--to", "Paul")
    assert "#2" in listed.stdout and "Catherine" not in listed.stdout

    book = tmp_path / "book.pdf"
    made = os1(home, "letters", "book", "1", "2", "-o", str(book), "--title", "Letters")
    assert made.returncode == 0, made.stderr
    assert pdf_pages(book) == 4  # title, contents, one page per letter
    one = tmp_path / "one.pdf"
    assert os1(home, "letters", "pdf", "2", "-o", str(one)).returncode == 0
    assert pdf_pages(one) == 1


def test_drafting_on_the_bundled_model_gives_a_skeleton(home: Path) -> None:
    result = os1(home, "letters", "draft", "--to", "Roger", "--for", "Loretta",
                 "remember the lake", "thank you for fifty years")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Dear Roger,\n\nRemember the lake.\n\nThank you for fifty years." in result.stdout
    assert "skeleton" in result.stdout and "too small" in result.stdout
    row = db(home).execute("SELECT recipient, written_for FROM letters").fetchone()
    assert row == ("Roger", "Loretta")


def test_proofreading_asks_about_each_suggestion(home: Path) -> None:
    body = "Dear Catherine,\n\nI recieve your letter and and it made me smile.\n"
    assert os1(home, "letters", "new", "--to", "Catherine", stdin=body).returncode == 0
    result = os1(home, "letters", "proofread", "1", stdin="y\nn\n")
    assert result.returncode == 0, result.stderr
    assert "recieve → receive" in result.stdout and "and and → and" in result.stdout
    assert "Applied 1 of 2" in result.stdout
    text = db(home).execute("SELECT body FROM letters").fetchone()[0]
    assert "I receive your letter and and it" in text  # only the accepted one
    kept = db(home).execute("SELECT body FROM letter_versions").fetchone()[0]
    assert kept == body.strip()


def test_sending_waits_for_approval_and_flags_client_letters(
    home: Path, smtp_server: SMTPServer
) -> None:
    assert os1(home, "letters", "new", "--to", "Catherine", stdin="Dear Catherine,").returncode == 0
    assert os1(home, "letters", "new", "--to", "Roger", "--for", "Loretta",
               stdin="Dear Roger,").returncode == 0  # fmt: skip

    async def add_account() -> None:
        store = await Store.open(home / "os1.db")
        account = Account("studio", "theo@letters.example", smtp_host="127.0.0.1",
                          smtp_port=smtp_server.port, smtp_security="none")  # fmt: skip
        await save_account(store, "theo", account)
        await store.close()

    asyncio.run(add_account())

    flagged = os1(home, "letters", "send", "1", "2", "--to", "editor@publisher.example")
    assert flagged.returncode == 65
    assert (
        "written for a client (Loretta)" in flagged.stdout and "--clients-agreed" in flagged.stdout
    )
    assert db(home).execute("SELECT count(*) FROM actions").fetchone()[0] == 0

    asked = os1(home, "letters", "send", "1", "2", "--to", "editor@publisher.example",
                "--clients-agreed", "--title", "The studio")  # fmt: skip
    assert asked.returncode == 0, asked.stderr
    assert "Waiting for your approval" in asked.stdout and "the-studio.pdf" in asked.stdout
    assert "(Loretta)" in asked.stdout and smtp_server.received == []
    action = re.search(r"os1 approve (\d+)", asked.stdout)
    assert action
    approved = os1(home, "approve", action.group(1))
    assert approved.returncode == 0, approved.stderr
    [delivered] = smtp_server.received
    [attachment] = list(delivered.message.iter_attachments())
    assert attachment.get_filename() == "the-studio.pdf"
    assert attachment.get_content().startswith(b"%PDF-")


def test_bad_input_is_a_clear_error_and_saves_nothing(home: Path, tmp_path: Path) -> None:
    empty = os1(home, "letters", "new", "--to", "Catherine", stdin="  \n")
    assert empty.returncode == 65 and "empty" in empty.stderr
    binary = tmp_path / "latin1.txt"
    binary.write_bytes("Chère Catherine".encode("latin-1"))
    wrong = os1(home, "letters", "new", "--to", "Catherine", "--file", str(binary))
    assert wrong.returncode == 65 and "not UTF-8" in wrong.stderr
    huge = os1(home, "letters", "new", "--to", "Catherine", stdin="x" * 1_000_000)
    assert huge.returncode == 65 and "too long" in huge.stderr
    assert db(home).execute("SELECT count(*) FROM letters").fetchone()[0] == 0
    missing = os1(home, "letters", "pdf", "7", "-o", str(tmp_path / "x.pdf"))
    assert missing.returncode == 65 and "no letter #7" in missing.stderr
    assert not (tmp_path / "x.pdf").exists()
    nobody = os1(home, "letters", "send", "7", "--to", "a@b.example")
    assert nobody.returncode == 65 and "no letter #7" in nobody.stderr
