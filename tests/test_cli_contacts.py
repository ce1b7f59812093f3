"""`os1 contacts` end to end, in a subprocess, as a person or a script would use it."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import shlex
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from contacts.radicale_server import radicale_server

DATA = Path(__file__).parent / "contacts" / "data"
# The contacts command and tools, whether or not os1's main() wires them in yet.
RUN = (
    "import os1.plugins as p, os1.contacts.tools as t; "
    "p.pm.has_plugin('os1.contacts.tools') or p.pm.register(t, 'os1.contacts.tools'); "
    "import os1.cli.contacts; from os1.cli import main; main()"
)


def os1(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OS1_HOME": str(home), "OS1_USER": "theo", "NO_COLOR": "1"}
    for key in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "OS1_MODEL"):
        env.pop(key, None)
    # No controlling terminal, as in CI: nobody can be asked y/N, so merges wait.
    return subprocess.run(
        [sys.executable, "-c", RUN, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        start_new_session=True,
    )


def db(home: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(home / "os1.db")
    conn.row_factory = sqlite3.Row
    return conn


def test_import_keeps_broken_cards_shows_memory_and_exports(home: Path, tmp_path: Path) -> None:
    imported = os1(home, "contacts", "import", str(DATA / "broken.vcf"))
    assert imported.returncode == 65, imported.stderr  # some cards could not be read
    assert "2 cards read: 2 added, 0 updated" in imported.stdout
    assert "2 parts could not be read" in imported.stderr
    assert "FN:Broken Bob" in imported.stderr and "never ends" in imported.stderr

    listed = os1(home, "contacts", "list")
    assert re.search(r"Amy Smith\s+amy@example.com\s+\(vCard file\)", listed.stdout)
    assert "Carla Diaz" in listed.stdout and "Bob" not in listed.stdout

    problems = os1(home, "contacts", "problems")
    ids = re.findall(r"^#(\d+)", problems.stdout, flags=re.MULTILINE)
    assert len(ids) == 2, problems.stdout
    raw = os1(home, "contacts", "problems", ids[0])
    assert "FN:Broken Bob" in raw.stdout and "TEL;TYPE=CELL:+1 555 0102" in raw.stdout

    conn = db(home)
    for fact in ("Amy is Theo's college friend.", "Amy lives upstairs."):
        conn.execute(
            "INSERT INTO memories (user_id, kind, content, recorded_at) "
            "VALUES ('theo', 'relationship', ?, '2026-01-01T00:00:00+00:00')",
            (fact,),
        )
    conn.commit()
    shown = os1(home, "contacts", "show", "amy smith")
    assert shown.returncode == 0, shown.stderr
    assert "Amy Smith — college friend, lives upstairs" in shown.stdout
    assert "email: amy@example.com" in shown.stdout and "uid: amy-1" in shown.stdout
    assert os1(home, "contacts", "show", "nobody").returncode == 1

    out = tmp_path / "out.vcf"
    exported = os1(home, "contacts", "export", str(out))
    assert exported.returncode == 0 and "Wrote 2 people" in exported.stderr
    assert out.read_text().count("BEGIN:VCARD") == 2
    again = os1(home, "contacts", "import", str(out))
    assert again.returncode == 0 and "0 added" in again.stdout  # the same two people
    assert len(re.findall(r"^#", os1(home, "contacts", "list").stdout, re.MULTILINE)) == 2

    junk = tmp_path / "photo.vcf"
    junk.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary")
    bad = os1(home, "contacts", "import", str(junk))
    assert bad.returncode == 65 and "not a vCard" in bad.stderr
    missing = os1(home, "contacts", "import", str(tmp_path / "nope.vcf"))
    assert missing.returncode == 65 and "cannot read" in missing.stderr


def _mail(conn: sqlite3.Connection, n: int, **row: object) -> None:
    row = {"user_id": "theo", "raw_hash": f"h{n}", "imported_at": "2026-01-01", **row}
    conn.execute(
        f"INSERT INTO mail_messages ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
        tuple(row.values()),
    )


def test_people_from_mail_and_merging_only_with_a_yes(home: Path, tmp_path: Path) -> None:
    book = tmp_path / "book.vcf"
    book.write_text(
        "BEGIN:VCARD\nVERSION:3.0\nFN:Amy Smith\nEMAIL:amy@example.com\nUID:a1\nEND:VCARD\n"
    )
    assert os1(home, "contacts", "import", str(book)).returncode == 0
    conn = db(home)
    _mail(conn, 1, from_addr="theo@example.com", from_me=1,
          to_addrs=json.dumps(["amy@example.com", "paul@example.com"]))  # fmt: skip
    _mail(conn, 2, from_name="Amy S.", from_addr="amy.s@example.com", to_addrs="[]")
    _mail(conn, 3, from_name="Amy Smith", from_addr="amy.s@example.com", to_addrs="[]")
    _mail(conn, 4, from_name="News", from_addr="news@shop.example",
          headers=json.dumps({"list-id": "<news.shop.example>"}))  # fmt: skip
    conn.commit()

    found = os1(home, "contacts", "from-mail")
    assert found.returncode == 0, found.stderr
    assert "From mail: 2 added, 1 updated" in found.stdout  # Paul and the other Amy; Amy
    assert "1 possible duplicate(s)" in found.stdout

    proposed = os1(home, "contacts", "merge")
    assert proposed.returncode == 0, proposed.stderr
    assert "Waiting for your approval" in proposed.stdout and "same name" in proposed.stdout
    action = re.search(r"os1 approve (\d+)", proposed.stdout)
    assert action is not None
    assert "Waiting for your answer: " + action.group(1) in os1(home, "contacts", "merge").stdout
    assert os1(home, "contacts", "list").stdout.count("Amy Smith") == 2  # nothing merged yet

    approved = os1(home, "approve", action.group(1))
    assert approved.returncode == 0 and "Merged" in approved.stdout, approved.stderr
    listed = os1(home, "contacts", "list").stdout
    assert listed.count("Amy Smith") == 1 and "(vCard file, mail)" in listed
    assert "amy.s@example.com" in os1(home, "contacts", "show", "Amy Smith").stdout

    undone = os1(home, "undo")
    assert undone.returncode == 0 and "two people again" in undone.stdout
    assert os1(home, "contacts", "list").stdout.count("Amy Smith") == 2

    # Two people the user names themselves are merged on their word (Paul is #3).
    named = os1(home, "contacts", "merge", "1", "3")
    assert named.returncode == 0 and "Merged paul@example.com (#3) into Amy Smith" in named.stdout
    assert not re.search(r"^#3 ", os1(home, "contacts", "list").stdout, flags=re.MULTILINE)
    assert "paul@example.com" in os1(home, "contacts", "show", "1").stdout
    wrong = os1(home, "contacts", "merge", "1", "99")
    assert wrong.returncode == 1 and "no person #99" in wrong.stdout


def test_sync_with_a_password_command(home: Path, tmp_path: Path) -> None:
    with radicale_server(tmp_path / "radicale") as server:
        book = server.make_addressbook("theo")
        with server.client("theo") as http:
            card = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:amy\r\nFN:Amy\r\nEND:VCARD\r\n"
            assert http.put("/theo/contacts/amy.vcf", content=card).status_code == 201
        secret = shlex.join([sys.executable, "-c", "print('s3cret')"])
        login = ["--username", "theo", "--password-command", secret]
        first = os1(home, "contacts", "sync", server.url, *login)
        assert first.returncode == 0, first.stderr
        assert f"{book}: 1 cards, 1 fetched: 1 added, 0 updated." in first.stdout
        second = os1(home, "contacts", "sync", *login)  # every book synced before
        assert f"{book}: 1 cards, 0 fetched: 0 added" in second.stdout
        wrong = shlex.join([sys.executable, "-c", "print('wrong')"])
        refused = os1(home, "contacts", "sync", "--username", "theo", "--password-command", wrong)
        assert refused.returncode == 69 and "refused the login" in refused.stderr
    assert "s3cret" not in (home / "os1.db").read_bytes().decode("utf-8", "replace")
    fresh = os1(tmp_path / "fresh", "contacts", "sync")
    assert fresh.returncode == 65 and "no address book yet" in fresh.stderr


def on_a_terminal(home: Path, answers: list[bytes], *args: str) -> str:
    """Run os1 with a terminal of its own, answering each y/N question in turn."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: its terminal is the pty
        os.environ.update({"OS1_HOME": str(home), "OS1_USER": "theo", "NO_COLOR": "1"})
        os.execv(sys.executable, [sys.executable, "-c", RUN, *args])
    out, pending, deadline = b"", b"", time.monotonic() + 60
    while time.monotonic() < deadline:
        if not select.select([fd], [], [], 0.5)[0]:
            continue
        try:
            data = os.read(fd, 4096)
        except OSError:  # the child has gone and closed the terminal
            break
        if not data:
            break
        out, pending = out + data, pending + data
        if b"\x1b[6n" in data:  # prompt_toolkit asks where the cursor is
            os.write(fd, b"\x1b[1;1R")
        if b"[y/N]" in pending and answers:
            os.write(fd, answers.pop(0))
            pending = b""
    os.waitpid(pid, 0)
    return out.decode("utf-8", "replace")


def test_merge_asks_on_the_terminal(home: Path, tmp_path: Path) -> None:
    book = tmp_path / "book.vcf"
    book.write_text(
        "BEGIN:VCARD\nVERSION:3.0\nFN:Amy Smith\nEMAIL:amy@example.com\nUID:a1\nEND:VCARD\n"
        "BEGIN:VCARD\nVERSION:3.0\nFN:Amy S.\nEMAIL:amy@example.com\nUID:a2\nEND:VCARD\n"
        "BEGIN:VCARD\nVERSION:3.0\nFN:Paul\nEMAIL:paul@example.com\nEND:VCARD\n"
        "BEGIN:VCARD\nVERSION:3.0\nFN:paul\nTEL:+1 555\nEND:VCARD\n"
    )
    assert os1(home, "contacts", "import", str(book)).returncode == 0
    said = on_a_terminal(home, [b"y\r", b"n\r"], "contacts", "merge")
    assert said.count("OS1 wants to: Merge person") == 2
    assert "both have amy@example.com" in said and "same name" in said
    assert "Merged Amy S." in said and "Declined" in said
    listed = os1(home, "contacts", "list").stdout
    assert listed.count("Amy") == 1
    assert len(re.findall(r"^#\d+\s+[Pp]aul\s", listed, flags=re.MULTILINE)) == 2  # said no
    assert "No new duplicates" in os1(home, "contacts", "merge").stdout  # no asks again
