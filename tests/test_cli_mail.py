"""Issue 4's "done when", end to end through the real `os1` command: a real IMAP server
(pymap) and a real SMTP server (aiosmtpd) on loopback, the bundled model, no terminal (so
every send and archive waits for `os1 approve ID`), and no Python traceback anywhere."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from servers import SMTPServer, free_port
from test_cli import db
from test_cli import os1 as _os1

sys.path.insert(0, str(Path(__file__).with_name("mail")))  # the IMAP server's helper lives there
from imap_server import ImapServer, Mailbox, imap_server


def os1(home: Path, *args: str, stdin: bytes | str = b"") -> subprocess.CompletedProcess[str]:
    result = _os1(home, *args, stdin=stdin)
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    return result


def ok(home: Path, *args: str, stdin: bytes | str = b"") -> str:
    result = os1(home, *args, stdin=stdin)
    assert result.returncode == 0, f"os1 {' '.join(args)}: {result.stderr}"
    return result.stdout


def action_id(output: str) -> str:
    found = re.search(r"Say yes with `os1 approve (\d+)`", output)
    assert found, output
    return found.group(1)


def mail(
    sender: str, subject: str, body: str, *, days_ago: float = 0, **headers: str
) -> EmailMessage:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = "Theo <theo@example.com>"
    m["Subject"] = subject
    m["Date"] = format_datetime(datetime.now(UTC) - timedelta(days=days_ago))
    m["Message-ID"] = f"<{re.sub(r'[^a-z0-9]+', '.', subject.lower())}@test.example>"
    for name, value in headers.items():
        m[name.replace("_", "-")] = value
    m.set_content(body)
    return m


@pytest.fixture(scope="module")
def imap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ImapServer]:
    with imap_server(tmp_path_factory.mktemp("pymap")) as server:
        yield server


def on_server(mailbox: Mailbox, folder: str) -> dict[str, set[str]]:
    """Subject -> flags of what `folder` holds on the server now, seen by a client of our own."""
    client = mailbox.client()
    try:
        if not client.folder_exists(folder):
            return {}
        client.select_folder(folder, readonly=True)
        fetched = client.fetch(client.search(), ["ENVELOPE", "FLAGS"])
        return {
            data[b"ENVELOPE"].subject.decode(): {f.decode() for f in data[b"FLAGS"]}
            for data in fetched.values()
        }
    finally:
        client.logout()


NEWSLETTERS = {f"Weekly News #{n}" for n in (1, 2, 3)}
RECEIPTS = {"Your receipt 1001", "Your receipt 1002"}


def test_imap_important_cleanup_undo_and_a_reply_delivered(
    home: Path, imap: ImapServer, smtp_server: SMTPServer
) -> None:
    box = imap.add_user()
    amy = mail("Amy Pond <amy@pond.example>", "Dinner on Friday",
               "Hi Theo,\n\nAre you coming to dinner on Friday?\n\nAmy\n")  # fmt: skip
    found = [amy, mail("Paul <paul@friends.example>", "Our walk", "Lovely walk. Again soon?\n",
                       days_ago=70)]  # fmt: skip
    for n, subject in enumerate(sorted(NEWSLETTERS)):
        found.append(mail("Weekly News <news@weekly.example>", subject, "This week's news.\n",
                          days_ago=40 + 7 * n, List_Id="<weekly.example>",
                          List_Unsubscribe="<mailto:leave@weekly.example>"))  # fmt: skip
    for n, subject in enumerate(sorted(RECEIPTS)):
        found.append(mail("Shop <noreply@shop.example>", subject, "Thank you for your order.\n",
                          days_ago=50 + n))  # fmt: skip
    client = box.client()
    for m in found:
        client.append("INBOX", bytes(m))
    client.logout()

    account = ["home", "--address", "theo@example.com", "--display-name", "Theo",
               "--imap-host", box.host, "--imap-port", str(box.port), "--imap-security", "none",
               "--imap-user", box.user, "--smtp-host", "127.0.0.1",
               "--smtp-port", str(smtp_server.port), "--smtp-security", "none",
               "--no-smtp-login"]  # fmt: skip
    # A mistyped password: a clear error, nothing stored.
    ok(home, "mail", "account", "add", *account, "--password-command", "echo wrong")
    wrong = os1(home, "mail", "sync")
    assert wrong.returncode == 69 and "login to" in wrong.stderr and "failed" in wrong.stderr
    assert db(home).execute("SELECT count(*) FROM mail_messages").fetchone()[0] == 0
    ok(home, "mail", "account", "add", *account, "--password-command", f"echo {box.password}")
    assert '"secret": "command"' in ok(home, "mail", "account", "list")
    assert box.password not in ok(home, "mail", "account", "list")
    assert ok(home, "mail", "sync") == "home: 7 new, 0 flag changes.\n"
    assert len(on_server(box, "INBOX")) == 7  # a sync copies; it moves nothing

    # What's important today: Amy's question, and nothing else.
    important = ok(home, "chat", "-m", "Anything important today?")
    assert "What matters today:" in important and "Amy Pond: Dinner on Friday" in important
    assert "Weekly News" not in important and "receipt" not in important

    # A clean-up is proposed; nothing moves before the yes.
    proposed = ok(home, "mail", "cleanup", "--older-than", "30")
    assert "Keep 2, archive 5 (3 newsletters from 1 sender, 2 receipts and notices" in proposed
    assert "moving them from INBOX to Archive" in proposed
    archive = action_id(proposed)
    assert len(on_server(box, "INBOX")) == 7
    assert "Archived 5 messages to Archive." in ok(home, "approve", archive)
    assert "5 of your changes written back" in ok(home, "mail", "sync")
    assert set(on_server(box, "INBOX")) == {"Dinner on Friday", "Our walk"}
    assert set(on_server(box, "Archive")) == NEWSLETTERS | RECEIPTS
    assert "Weekly News" in ok(home, "mail", "list", "--folder", "Archive")

    # Undo puts them back, here and on the server.
    assert "Moved 5 messages back to INBOX." in ok(home, "undo", archive)
    assert "5 of your changes written back" in ok(home, "mail", "sync")
    # pymap lists a message moved back into its old folder under its old UID as well as
    # the new one, so the server's INBOX is compared as a set; nothing doubles here.
    assert set(on_server(box, "INBOX")) == {"Dinner on Friday", "Our walk"} | NEWSLETTERS | RECEIPTS
    assert on_server(box, "Archive") == {}
    assert len(ok(home, "mail", "list").splitlines()) == 7

    # A reply, drafted from the user's words, shown whole, sent only on the yes.
    asked = ok(home, "chat", "-m", "reply to Amy that I'll come")
    assert "Waiting for your approval" in asked and "To: Amy Pond <amy@pond.example>" in asked
    assert "Subject: Re: Dinner on Friday" in asked and "I'll come" in asked
    assert smtp_server.received == []
    assert "Sent “Re: Dinner on Friday”" in ok(home, "approve", action_id(asked))
    [sent] = smtp_server.received
    assert sent.rcpt_tos == ["amy@pond.example"]
    assert sent.message["From"] == "Theo <theo@example.com>"
    assert sent.message["Subject"] == "Re: Dinner on Friday"
    assert sent.message["In-Reply-To"] == amy["Message-ID"]
    assert "I'll come" in sent.message.get_content()
    assert re.search(
        r"#1 +sent +Amy Pond .*Re: Dinner on Friday", ok(home, "mail", "drafts", "--all")
    )
    # The answered mark reaches the server at the next sync.
    assert "\\Answered" not in on_server(box, "INBOX")["Dinner on Friday"]
    synced = ok(home, "mail", "sync")
    assert "1 of your changes written back" in synced
    assert "1 sent message(s) copied to the server's Sent folder" in synced
    assert "\\Answered" in on_server(box, "INBOX")["Dinner on Friday"]


def maildir(path: Path) -> dict[str, bytes]:
    """A Maildir with a three-message thread (one of them Theo's) and two broken files."""
    ask = mail(
        "Paul Smith <paul@work.example>",
        "Quarterly report",
        "Hi Theo,\n\nWhen will the quarterly report be ready?\n\nPaul\n",
        days_ago=3,
    )
    mine = mail(
        "Theo <theo@example.com>",
        "Re: Quarterly report",
        "Hi Paul,\n\nBy Friday, I hope.\n\nTheo\n",
        days_ago=2,
        In_Reply_To=ask["Message-ID"],
        References=ask["Message-ID"],
    )
    again = mail("Paul Smith <paul@work.example>", "Re: Re: Quarterly report",
                 "Great, the board meets on Monday. Is it on track?\n\nPaul\n", days_ago=1,
                 In_Reply_To=mine["Message-ID"],
                 References=f"{ask['Message-ID']} {mine['Message-ID']}")  # fmt: skip
    files = {
        "cur/1.ask:2,S": bytes(ask),
        "cur/2.mine:2,S": bytes(mine),
        "new/3.again": bytes(again),
        "new/4.broken": b"\x00\x01 not a mail at all\n",
        "new/5.empty": b"",
    }
    for sub in ("cur", "new", "tmp"):
        (path / sub).mkdir(parents=True)
    for name, data in files.items():
        (path / name).write_bytes(data)
    return files


def test_maildir_draft_proofread_send_and_a_book_of_letters(
    home: Path, tmp_path: Path, smtp_server: SMTPServer
) -> None:
    files = maildir(tmp_path / "Maildir")
    ok(home, "mail", "account", "add", "home", "--address", "theo@example.com",
       "--display-name", "Theo", "--smtp-host", "127.0.0.1", "--smtp-port", str(smtp_server.port),
       "--smtp-security", "none")  # fmt: skip

    imported = ok(home, "mail", "import", str(tmp_path / "Maildir"))
    assert "5 new, 0 already here" in imported and "see them with `os1 mail problems`" in imported
    assert "0 new, 5 already here" in ok(home, "mail", "import", str(tmp_path / "Maildir"))
    problems = ok(home, "mail", "problems")
    assert "no mail headers found" in problems and "empty message" in problems
    broken = re.search(r"#(\d+) .*no mail headers found", problems)
    assert broken
    # Kept exactly as it came.
    raw = os1(home, "mail", "show", broken.group(1), "--raw")
    assert raw.returncode == 0 and raw.stdout == files["new/4.broken"].decode()
    assert "could not be parsed" in ok(home, "mail", "show", broken.group(1))

    listed = ok(home, "mail", "list").splitlines()
    assert len(listed) == 3 and "Re: Re: Quarterly report" in listed[0]
    latest = re.search(r"#(\d+)", listed[0])
    assert latest
    thread = ok(home, "mail", "show", latest.group(1), "--thread")
    assert (thread.index("When will the quarterly report") < thread.index("By Friday, I hope")
            < thread.index("the board meets on Monday"))  # fmt: skip
    found = ok(home, "mail", "search", "board", "--words")
    assert f"#{latest.group(1)} " in found and len(found.splitlines()) == 1

    drafted = ok(home, "mail", "draft", latest.group(1), "tell him the report is late becuase "
                 "of the audit")  # fmt: skip
    assert "To: Paul Smith <paul@work.example>" in drafted
    assert "Subject: Re: Quarterly report" in drafted and "Draft #1." in drafted
    proofread = ok(home, "mail", "proofread", "1", "--all")
    assert "'becuase' → 'because'" in proofread and "1 suggestion(s) accepted" in proofread
    asked = ok(home, "mail", "send", "1")
    assert "Waiting for your approval" in asked and "late because of the audit" in asked
    assert smtp_server.received == []
    assert "Sent “Re: Quarterly report”" in ok(home, "approve", action_id(asked))
    [sent] = smtp_server.received
    assert sent.rcpt_tos == ["paul@work.example"]
    assert "The report is late because of the audit." in sent.message.get_content()
    assert sent.message["In-Reply-To"] == "<re.re.quarterly.report@test.example>"
    assert sent.message["References"].split()[0] == "<quarterly.report@test.example>"
    assert re.search(r"Theo +Re: Quarterly report", ok(home, "mail", "list", "--folder", "Sent"))
    again = os1(home, "mail", "send", "1")
    assert again.returncode == 65 and "draft 1 is sent" in again.stderr

    # Letters: two written, one of them for a client; a book; sent only with her consent.
    ok(home, "letters", "new", "--to", "Catherine", "--title", "Spring",
       stdin="Dear Catherine,\n\nThe garden is in bloom.\n\nTheo\n")  # fmt: skip
    ok(home, "letters", "new", "--to", "Roger", "--for", "Loretta",
       stdin="Dear Roger,\n\nThank you for fifty years.\n\nLoretta\n")  # fmt: skip
    book = tmp_path / "book.pdf"
    ok(home, "letters", "book", "1", "2", "-o", str(book), "--title", "A year of letters")
    assert book.read_bytes().startswith(b"%PDF")
    send = ["letters", "send", "1", "2", "--to", "publisher@example.com", "--book",
            "--title", "A year of letters"]  # fmt: skip
    refused = os1(home, *send)
    assert refused.returncode == 65 and "written for a client (Loretta)" in refused.stdout
    assert len(smtp_server.received) == 1
    asked = ok(home, *send, "--clients-agreed")
    assert "Waiting for your approval" in asked and "a-year-of-letters.pdf" in asked
    approved = re.search(r"os1 approve (\d+)", asked)
    assert approved
    ok(home, "approve", approved.group(1))
    delivered = smtp_server.received[1]
    assert delivered.rcpt_tos == ["publisher@example.com"]
    [pdf] = list(delivered.message.iter_attachments())
    assert pdf.get_filename() == "a-year-of-letters.pdf"
    assert pdf.get_content().startswith(b"%PDF")


def test_every_mail_command_has_help() -> None:
    from os1.cli import cli, mail, mail_in, mail_out  # noqa: F401  (registers the commands)

    group = cli.commands["mail"]
    seen = []

    def walk(command: object, path: list[str]) -> None:
        result = CliRunner().invoke(cli, [*path, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output, (path, result.output)
        seen.append(" ".join(path))
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])

    walk(group, ["mail"])
    assert {"mail sync", "mail cleanup", "mail draft", "mail send", "mail account add"} <= set(seen)


def test_bad_input_is_a_clear_error_and_keeps_nothing(home: Path, imap: ImapServer) -> None:
    missing = os1(home, "mail", "show", "999")
    assert missing.returncode == 65 and "no message #999" in missing.stderr
    nowhere = os1(home, "mail", "import", "/nonexistent/Maildir")
    assert nowhere.returncode == 65 and "does not exist" in nowhere.stderr
    nothing = os1(home, "mail", "draft", "999", "say hi")
    assert nothing.returncode == 65 and "no message 999" in nothing.stderr
    no_draft = os1(home, "mail", "send", "999")
    assert no_draft.returncode == 65 and "no draft 999" in no_draft.stderr
    no_imap = os1(home, "mail", "sync")
    assert no_imap.returncode == 78 and "no account with an IMAP server" in no_imap.stderr
    both = os1(home, "mail", "account", "add", "x", "--address", "theo@example.com",
               "--smtp-user", "theo", "--no-smtp-login")  # fmt: skip
    assert both.returncode == 78 and "not both" in both.stderr

    # A server nobody listens on, and a password command that fails.
    ok(home, "mail", "account", "add", "home", "--address", "theo@example.com",
       "--imap-host", "127.0.0.1", "--imap-port", str(free_port()), "--imap-security", "none",
       "--password-command", "echo secret")  # fmt: skip
    unreachable = os1(home, "mail", "sync")
    assert unreachable.returncode == 69 and "could not reach the IMAP server" in unreachable.stderr
    box = imap.add_user()
    ok(home, "mail", "account", "add", "home", "--address", "theo@example.com",
       "--imap-host", box.host, "--imap-port", str(box.port), "--imap-security", "none",
       "--imap-user", box.user, "--password-command", "false")  # fmt: skip
    no_password = os1(home, "mail", "sync")
    assert no_password.returncode == 78 and "password command exited 1" in no_password.stderr

    # Text that is not UTF-8 is refused whole; nothing half-saved.
    bad = os1(home, "mail", "draft", "--to", "bob@example.com", stdin=b"Hello \xff Bob\n")
    assert bad.returncode == 65 and "not UTF-8" in bad.stderr
    assert db(home).execute("SELECT count(*) FROM mail_drafts").fetchone()[0] == 0

    # Proofreading stops at the end of input and keeps what was accepted before it.
    ok(home, "mail", "draft", "--to", "bob@example.com", "--subject", "Hi",
       stdin="Hello Bob, I recieved it and and read it.\n")  # fmt: skip
    checked = ok(home, "mail", "proofread", "1", stdin="y\n")
    assert "1 suggestion(s) accepted" in checked and "stopping" in checked
    body = db(home).execute("SELECT body FROM mail_drafts WHERE id = 1").fetchone()[0]
    assert "I received it and and read it." in body

    # No SMTP server on the account: refused before asking, so no yes is wasted on it.
    unsendable = os1(home, "mail", "send", "1")
    assert unsendable.returncode == 78 and "no SMTP server" in unsendable.stderr
    assert db(home).execute("SELECT count(*) FROM actions").fetchone()[0] == 0
    too_old = os1(home, "mail", "cleanup", "--older-than", "-1")
    assert too_old.returncode == 2 and "-1 is not in the range" in too_old.stderr


def test_mail_moves_to_a_new_home_as_an_mbox(home: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.mbox"
    with source.open("wb") as f:
        for i in range(3):
            raw = bytes(mail("Amy <amy@example.com>", f"Note {i}", f"From here on, note {i}."))
            escaped = raw.replace(b"\r\n", b"\n").replace(b"\nFrom ", b"\n>From ")
            f.write(b"From amy@example.com Mon Mar  3 10:00:00 2025\n" + escaped + b"\n")
    ok(home, "mail", "import", str(source))
    out = tmp_path / "out.mbox"
    assert "3 message(s)" in ok(home, "mail", "export", str(out))
    other = tmp_path / "other-home"
    other.mkdir()
    assert "3 new" in ok(other, "mail", "import", str(out))
    assert "0 new, 3 already here" in ok(home, "mail", "import", str(out))
    bodies = [r[0] for r in db(other).execute("SELECT body FROM mail_messages ORDER BY id")]
    assert bodies == [f"From here on, note {i}." for i in range(3)]
