"""Two-way IMAP sync against a real IMAP server (pymap) on loopback."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import shlex
import sys
from collections.abc import Awaitable, Callable, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from imap_server import ImapServer, Mailbox, imap_server, self_signed
from servers import SMTPServer, free_port

from os1.companion import Companion
from os1.config import Config
from os1.mail import send
from os1.mail.accounts import Account, AccountError, save_account
from os1.mail.compose import new_draft
from os1.mail.imap import REMOVED, SyncReport, sync_account
from os1.mail.imap_session import ImapError, Session
from os1.mail.imap_watch import watch
from os1.mail.imap_writeback import queue_append, queue_flags, queue_move
from os1.mail.store import add_message
from os1.store import Store
from os1.testing import ScriptedApprover, ScriptedModel

USER = "theo"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ImapServer]:
    with imap_server(tmp_path_factory.mktemp("pymap")) as s:
        yield s


@pytest.fixture
def mailbox(server: ImapServer) -> Mailbox:
    """A user of its own on the shared server: every test starts with an empty mailbox."""
    return server.add_user()


def _account(mb: Mailbox, **kw: object) -> Account:
    values: dict[str, object] = {
        "imap_host": mb.host,
        "imap_port": mb.port,
        "imap_security": "none",
        "imap_username": mb.user,
        "secret": {"command": f"printf %s {shlex.quote(mb.password)}"},
        **kw,
    }
    return Account("home", "theo@example.com", **values)  # type: ignore[arg-type]


def _mail(subject: str, sender: str = "amy@example.com") -> bytes:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = "theo@example.com"
    m["Subject"] = subject
    m["Message-ID"] = f"<{subject.replace(' ', '.')}@example.com>"
    m["Date"] = "Mon, 03 Mar 2025 10:00:00 +0000"
    m.set_content(f"About {subject}.")
    return bytes(m)


def _put(mb: Mailbox, *subjects: str, folder: str = "INBOX", flags: tuple[str, ...] = ()) -> None:
    client = mb.client()
    try:
        if not client.folder_exists(folder):
            client.create_folder(folder)
        for subject in subjects:
            client.append(folder, _mail(subject), flags=flags)
    finally:
        client.logout()


def _server_flags(mb: Mailbox, folder: str = "INBOX") -> dict[str, set[str]]:
    """Subject -> flags of every message in `folder`, as another mail program sees them."""
    client = mb.client()
    try:
        exists = client.select_folder(folder, readonly=True)[b"EXISTS"]
        client.use_uid = False  # all messages by number: no SEARCH round trip
        fetched = client.fetch(
            range(1, exists + 1), ["FLAGS", "BODY.PEEK[HEADER.FIELDS (SUBJECT)]"]
        )
    finally:
        client.logout()
    out = {}
    for data in fetched.values():
        header = data[b"BODY[HEADER.FIELDS (SUBJECT)]"].decode().strip()
        out[header.removeprefix("Subject: ")] = {f.decode() for f in data[b"FLAGS"]} - {"\\Recent"}
    return out


async def _rows(store: Store, user: str = USER) -> dict[str, dict[str, Any]]:
    rows = await store.query(
        "SELECT id, subject, folder, account, flags FROM mail_messages WHERE user_id = ?", (user,)
    )
    return {r["subject"]: dict(r) for r in rows}


async def test_first_sync_imports_the_inbox_and_the_next_fetches_nothing(
    store: Store, mailbox: Mailbox
) -> None:
    _put(mailbox, "Lunch", "Invoice")
    _put(mailbox, "Old news", flags=("\\Seen",))
    account = _account(mailbox)
    progress: list[tuple[str, int, int]] = []

    report = await sync_account(store, USER, account, on_progress=lambda *p: progress.append(p))

    assert (report.new, report.flag_updates, report.removed) == (3, 0, 0)
    assert progress[-1] == ("INBOX", 3, 3)
    rows = await _rows(store)
    assert set(rows) == {"Lunch", "Invoice", "Old news"}
    assert {r["folder"] for r in rows.values()} == {"INBOX"}
    assert {r["account"] for r in rows.values()} == {"home"}
    assert rows["Old news"]["flags"] == "\\Seen" and rows["Lunch"]["flags"] == ""
    # Fetched with BODY.PEEK[]: syncing did not mark anything read on the server.
    assert _server_flags(mailbox)["Lunch"] == set()
    state = await store.query_one("SELECT last_uid FROM mail_imap_state WHERE user_id = ?", (USER,))
    assert state is not None and state["last_uid"] == 3

    again = await sync_account(store, USER, account)
    assert (again.new, again.flag_updates, again.removed, again.written_back) == (0, 0, 0, 0)
    assert len(await _rows(store)) == 3


async def test_new_mail_flag_changes_and_removals_on_the_server_are_taken(
    store: Store, mailbox: Mailbox
) -> None:
    _put(mailbox, "Lunch", "Invoice", "Spam offer")
    account = _account(mailbox)
    await sync_account(store, USER, account)

    _put(mailbox, "Tickets")
    client = mailbox.client()
    client.select_folder("INBOX")
    client.add_flags([1], ["\\Flagged", "\\Seen"])  # read and flagged on the phone
    client.add_flags([3], ["\\Deleted"])
    client.expunge()
    client.logout()

    report = await sync_account(store, USER, account)
    assert (report.new, report.flag_updates, report.removed) == (1, 1, 1)
    rows = await _rows(store)
    assert rows["Tickets"]["folder"] == "INBOX"
    assert rows["Lunch"]["flags"] == "\\Flagged \\Seen"
    # Gone from the server, but the user's copy is kept, marked as no longer there.
    assert rows["Spam offer"]["folder"] == REMOVED
    assert len(rows) == 4


async def test_local_flag_changes_are_written_back(store: Store, mailbox: Mailbox) -> None:
    _put(mailbox, "Lunch", "Invoice")
    _put(mailbox, "Flagged one", flags=("\\Flagged",))
    account = _account(mailbox)
    await sync_account(store, USER, account)
    rows = await _rows(store)

    changed = await queue_flags(store, USER, [rows["Lunch"]["id"]], add=["\\Seen"])
    await queue_flags(store, USER, [rows["Flagged one"]["id"]], remove=["\\Flagged"])
    assert changed == [rows["Lunch"]["id"]]
    assert (await _rows(store))["Lunch"]["flags"] == "\\Seen"  # at once, locally
    assert _server_flags(mailbox)["Lunch"] == set()  # not yet on the server

    report = await sync_account(store, USER, account)
    assert report.written_back == 2 and report.errors == []
    assert report.flag_updates == 0  # its own writes are not taken for changes on the server
    on_server = _server_flags(mailbox)
    assert on_server["Lunch"] == {"\\Seen"}
    assert on_server["Flagged one"] == set()
    assert on_server["Invoice"] == set()
    assert await store.query("SELECT * FROM mail_pending") == []
    assert (await _rows(store))["Flagged one"]["flags"] == ""


async def test_local_move_to_archive_moves_it_on_the_server(store: Store, mailbox: Mailbox) -> None:
    _put(mailbox, "Lunch", "Invoice")
    account = _account(mailbox)
    await sync_account(store, USER, account)
    invoice = (await _rows(store))["Invoice"]["id"]

    moved = await queue_move(store, USER, [invoice], "Archive")
    assert moved == [invoice]
    assert (await _rows(store))["Invoice"]["folder"] == "Archive"

    report = await sync_account(store, USER, account)
    assert report.written_back == 1 and report.removed == 0
    assert set(_server_flags(mailbox, "INBOX")) == {"Lunch"}
    assert set(_server_flags(mailbox, "Archive")) == {"Invoice"}  # created for it

    # Its new UID was learned from the MOVE: later changes reach it in the archive,
    # though the archive is not one of the folders synced.
    await queue_flags(store, USER, [invoice], add=["\\Flagged"])
    report = await sync_account(store, USER, account)
    assert report.written_back == 1
    assert _server_flags(mailbox, "Archive")["Invoice"] == {"\\Flagged"}

    # Syncing the archive too: the moved message is known there, not imported again.
    with_archive = dataclasses.replace(account, folders=("INBOX", "Archive"))
    report = await sync_account(store, USER, with_archive)
    assert (report.new, report.flag_updates) == (0, 0)
    rows = await _rows(store)
    assert len(rows) == 2 and rows["Invoice"]["folder"] == "Archive"
    assert rows["Invoice"]["flags"] == "\\Flagged"


async def test_move_without_the_move_capability(
    store: Store, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pymap offers MOVE; hiding it makes the sync use COPY + \\Deleted + UID EXPUNGE.
    # (pymap's maildir COPY loses the body of the copy, so only places are checked.)
    real_has = Session.has
    monkeypatch.setattr(Session, "has", lambda self, cap: cap != "MOVE" and real_has(self, cap))
    _put(mailbox, "Lunch", "Invoice")
    account = _account(mailbox)
    await sync_account(store, USER, account)
    invoice = (await _rows(store))["Invoice"]["id"]
    await queue_move(store, USER, [invoice], "Archive")
    assert (await sync_account(store, USER, account)).written_back == 1
    assert set(_server_flags(mailbox, "INBOX")) == {"Lunch"}
    assert len(_server_flags(mailbox, "Archive")) == 1
    await queue_flags(store, USER, [invoice], add=["\\Flagged"])  # its UID there is known
    assert (await sync_account(store, USER, account)).written_back == 1
    assert list(_server_flags(mailbox, "Archive").values()) == [{"\\Flagged"}]


async def test_a_change_the_server_refuses_is_reported_and_dropped(
    store: Store, mailbox: Mailbox
) -> None:
    _put(mailbox, "Digest", folder="Lists")
    await sync_account(store, USER, _account(mailbox, folders=("INBOX", "Lists")))
    digest = (await _rows(store))["Digest"]["id"]
    await queue_flags(store, USER, [digest], add=["\\Seen"])
    client = mailbox.client()
    client.delete_folder("Lists")
    client.logout()

    report = await sync_account(store, USER, _account(mailbox))
    [error] = report.errors
    assert f"message {digest}" in error and "no folder 'Lists'" in error
    assert report.written_back == 0
    assert await store.query("SELECT * FROM mail_pending") == []
    assert (await sync_account(store, USER, _account(mailbox))).errors == []


async def test_a_message_moved_by_another_client_follows(store: Store, mailbox: Mailbox) -> None:
    _put(mailbox, "Lunch", "Invoice")
    account = _account(mailbox, folders=("INBOX", "Receipts"))
    _put(mailbox, folder="Receipts")
    await sync_account(store, USER, account)
    client = mailbox.client()
    client.select_folder("INBOX")
    client.move([2], "Receipts")
    client.logout()

    report = await sync_account(store, USER, account)
    rows = await _rows(store)
    assert len(rows) == 2 and rows["Invoice"]["folder"] == "Receipts"
    assert report.folders["INBOX"].removed == 1 and report.folders["Receipts"].new == 0


async def test_uidvalidity_change_resyncs_without_duplicates(
    store: Store, mailbox: Mailbox
) -> None:
    account = _account(mailbox, folders=("INBOX", "Lists"))
    _put(mailbox, "Digest 1", "Digest 2", folder="Lists")
    first = await sync_account(store, USER, account)
    assert first.folders["Lists"].new == 2

    state = await store.query_one("SELECT uidvalidity FROM mail_imap_state WHERE folder = 'Lists'")
    assert state is not None
    _recreate(mailbox, "Lists", "Digest 2", "Digest 3")

    report = await sync_account(store, USER, account)
    lists = report.folders["Lists"]
    assert lists.reset and lists.new == 1 and lists.removed == 1
    rows = await _rows(store)
    assert len(rows) == 3  # Digest 2 matched again by its bytes, not doubled
    assert rows["Digest 2"]["folder"] == "Lists" and rows["Digest 3"]["folder"] == "Lists"
    assert rows["Digest 1"]["folder"] == REMOVED
    uids = await store.query(
        "SELECT uid, uidvalidity FROM mail_imap_uids WHERE folder = 'Lists' ORDER BY uid"
    )
    assert [u["uid"] for u in uids] == [1, 2] and {u["uidvalidity"] for u in uids} != {
        state["uidvalidity"]
    }
    assert (await sync_account(store, USER, account)).new == 0


def _recreate(mb: Mailbox, folder: str, *subjects: str) -> None:
    """Delete `folder` on the server and make it again: new UIDVALIDITY, UIDs start over."""
    client = mb.client()
    before = client.folder_status(folder, ["UIDVALIDITY"])[b"UIDVALIDITY"]
    while True:
        client.delete_folder(folder)
        client.create_folder(folder)
        # pymap's UIDVALIDITY is the time and a random part: in one second they may match.
        if client.folder_status(folder, ["UIDVALIDITY"])[b"UIDVALIDITY"] != before:
            break
    for subject in subjects:
        client.append(folder, _mail(subject))
    client.logout()


async def test_a_local_change_waits_out_a_uidvalidity_change(
    store: Store, mailbox: Mailbox
) -> None:
    account = _account(mailbox, folders=("INBOX", "Lists"))
    _put(mailbox, "Digest 1", folder="Lists")
    await sync_account(store, USER, account)
    digest = (await _rows(store))["Digest 1"]["id"]
    await queue_flags(store, USER, [digest], add=["\\Seen"])
    _recreate(mailbox, "Lists", "Digest 1")

    # Its old UID names nothing now: the change is kept, not sent to a wrong message.
    report = await sync_account(store, USER, account)
    assert report.written_back == 0 and report.folders["Lists"].reset
    assert (await _rows(store))["Digest 1"]["flags"] == "\\Seen"  # the local change stands
    assert _server_flags(mailbox, "Lists")["Digest 1"] == set()

    report = await sync_account(store, USER, account)  # matched again: now written back
    assert report.written_back == 1
    assert _server_flags(mailbox, "Lists")["Digest 1"] == {"\\Seen"}
    assert (await _rows(store))["Digest 1"]["flags"] == "\\Seen"
    assert await store.query("SELECT * FROM mail_pending") == []


async def test_wrong_password_is_a_clear_error(store: Store, mailbox: Mailbox) -> None:
    account = _account(mailbox, secret={"command": "printf wrong"})
    with pytest.raises(ImapError, match=f"login to 127.0.0.1:{mailbox.port} as '{mailbox.user}'"):
        await sync_account(store, USER, account)
    assert await _rows(store) == {}


async def test_unreachable_server_is_a_clear_error(store: Store, mailbox: Mailbox) -> None:
    account = _account(mailbox, imap_port=free_port())
    with pytest.raises(ImapError, match=r"could not reach the IMAP server 127\.0\.0\.1"):
        await sync_account(store, USER, account)
    with pytest.raises(AccountError, match="no IMAP server configured"):
        await sync_account(store, USER, Account("home", "theo@example.com"))


async def test_missing_folder_is_a_clear_error(store: Store, mailbox: Mailbox) -> None:
    _put(mailbox, "Lunch")
    account = _account(mailbox, folders=("INBOX", "Nope"))
    with pytest.raises(ImapError, match=r"no folder 'Nope' .*\(it has: INBOX\)"):
        await sync_account(store, USER, account)
    assert set(await _rows(store)) == {"Lunch"}  # what was synced before it stays


async def test_password_comes_from_the_command(
    store: Store, mailbox: Mailbox, tmp_path: Path
) -> None:
    ran = tmp_path / "ran"
    script = f"import pathlib; pathlib.Path({str(ran)!r}).touch(); print({mailbox.password!r})"
    account = _account(mailbox, secret={"command": shlex.join([sys.executable, "-c", script])})
    _put(mailbox, "Lunch")
    assert (await sync_account(store, USER, account)).new == 1
    assert ran.exists()
    failing = _account(mailbox, secret={"command": "false"})
    with pytest.raises(AccountError, match="password command exited 1"):
        await sync_account(store, USER, failing)
    with pytest.raises(AccountError, match="no password source"):
        await sync_account(store, USER, _account(mailbox, secret={}))


async def test_starttls_with_a_trusted_certificate(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mailbox: Mailbox
) -> None:
    cert, key = self_signed(tmp_path)
    with imap_server(tmp_path / "tls", tls=(cert, key)) as tls_server:
        mb = tls_server.add_user()
        _put(mb, "Private")
        account = _account(mb, imap_security="starttls")
        with pytest.raises(ImapError, match=r"TLS with the IMAP server .* failed"):
            await sync_account(store, USER, account)  # a certificate nobody vouches for
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # read by OpenSSL, as a local CA
        assert (await sync_account(store, USER, account)).new == 1
    # The shared server offers no STARTTLS: the password is not sent in the clear.
    with pytest.raises(ImapError, match="does not offer STARTTLS"):
        await sync_account(store, USER, _account(mailbox, imap_security="starttls"))
    with pytest.raises(ImapError, match="TLS with the IMAP server"):
        await sync_account(store, USER, _account(mailbox, imap_security="ssl"))


async def test_interrupted_sync_keeps_what_it_stored_and_continues(
    store: Store, tmp_path: Path
) -> None:
    base = tmp_path / "pymap"
    with imap_server(base) as own:
        mb = own.add_user()
        _put(mb, *(f"Note {i}" for i in range(12)))
        account = _account(mb)
        with pytest.raises(ImapError, match="lost the connection"):
            # The server dies after the first batch is stored.
            await sync_account(store, USER, account, batch=5, on_progress=lambda *_: own.stop())
    assert len(await _rows(store)) == 5
    state = await store.query_one("SELECT last_uid FROM mail_imap_state")
    assert state is not None and state["last_uid"] == 5

    with imap_server(base) as again:  # the same maildirs, on a new port
        account = dataclasses.replace(account, imap_port=again.port)
        report = await sync_account(store, USER, account, batch=5)
    assert report.new == 7
    rows = await _rows(store)
    assert sorted(rows) == sorted(f"Note {i}" for i in range(12))
    count = await store.query_one("SELECT count(*) AS n FROM mail_imap_uids")
    assert count is not None and count["n"] == 12


async def _until(condition: Callable[[], Awaitable[bool]], seconds: float = 5) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def _count(store: Store, n: int) -> bool:
    return len(await _rows(store)) == n


async def _true(value: bool) -> bool:
    return value


@pytest.mark.parametrize("idle", [True, False])
async def test_watch_picks_up_new_mail_and_stops(
    store: Store, mailbox: Mailbox, idle: bool
) -> None:
    _put(mailbox, "Lunch")
    account = _account(mailbox)
    stop = asyncio.Event()
    reports: list[SyncReport] = []
    # With IDLE the interval is long: only the server's word can wake it in time.
    interval = 60 if idle else 0.2
    task = asyncio.create_task(
        watch(
            store, USER, account, interval=interval, stop=stop, idle=idle, on_report=reports.append
        )
    )

    await _until(lambda: _count(store, 1))
    await asyncio.sleep(0.3)  # in IDLE by now
    await asyncio.to_thread(_put, mailbox, "Tickets")
    await _until(lambda: _count(store, 2))
    stop.set()
    await asyncio.wait_for(task, 3)
    assert reports[0].new == 1 and sum(r.new for r in reports) == 2


async def test_watch_carries_on_when_the_server_comes_back(store: Store, tmp_path: Path) -> None:
    base = tmp_path / "pymap"
    with imap_server(base) as first:
        mb = first.add_user()
        _put(mb, "Lunch")
        account = _account(mb)
        stop = asyncio.Event()
        errors: list[Exception] = []
        task = asyncio.create_task(
            watch(store, USER, account, interval=0.3, stop=stop, on_error=errors.append)
        )
        await _until(lambda: _count(store, 1))
    await _until(lambda: _true(bool(errors)))  # the server went away during IDLE
    assert isinstance(errors[0], ImapError) and not task.done()
    with imap_server(base, port=mb.port):
        await asyncio.to_thread(_put, mb, "Tickets")
        await _until(lambda: _count(store, 2))
        stop.set()
        await asyncio.wait_for(task, 3)


async def test_watch_raises_at_once_on_a_wrong_password(store: Store, mailbox: Mailbox) -> None:
    account = _account(mailbox, secret={"command": "printf wrong"})
    with pytest.raises(ImapError, match="failed"):
        await asyncio.wait_for(watch(store, USER, account, stop=asyncio.Event()), 10)


async def test_changes_to_local_mail_are_not_queued(store: Store) -> None:
    await store.execute_write("INSERT INTO users (id, created_at) VALUES (?, '')", (USER,))
    added = await store.write(lambda c: add_message(c, USER, _mail("From an mbox")))
    assert await queue_flags(store, USER, [added.id], add=["\\Seen", "$Later"]) == [added.id]
    assert await queue_move(store, USER, [added.id], "Archive") == [added.id]
    row = (await _rows(store))["From an mbox"]
    assert row["flags"] == "$Later \\Seen" and row["folder"] == "Archive"
    assert await store.query("SELECT * FROM mail_pending") == []


async def test_bad_input_changes_nothing(store: Store, mailbox: Mailbox) -> None:
    _put(mailbox, "Lunch")
    await sync_account(store, USER, _account(mailbox))
    lunch = (await _rows(store))["Lunch"]["id"]
    with pytest.raises(ValueError, match="no message 999"):
        await queue_flags(store, USER, [lunch, 999], add=["\\Seen"])
    with pytest.raises(ValueError, match="not an IMAP flag"):
        await queue_flags(store, USER, [lunch], add=["\\Read"])
    with pytest.raises(ValueError, match="no message 999"):
        await queue_move(store, USER, [lunch, 999], "Archive")
    # Another user's message is not there for this one.
    with pytest.raises(ValueError, match="no message"):
        await queue_flags(store, "amy", [lunch], add=["\\Seen"])
    row = (await _rows(store))["Lunch"]
    assert row["flags"] == "" and row["folder"] == "INBOX"
    assert await store.query("SELECT * FROM mail_pending") == []


async def test_each_user_syncs_only_their_own_mailbox(store: Store, server: ImapServer) -> None:
    theo, amy = server.add_user(), server.add_user()
    _put(theo, "For Theo")
    _put(amy, "For Amy")
    await sync_account(store, "theo", _account(theo))
    await sync_account(store, "amy", _account(amy))
    assert set(await _rows(store, "theo")) == {"For Theo"}
    assert set(await _rows(store, "amy")) == {"For Amy"}


async def _store_sent(store: Store, subject: str, account: str | None = "home") -> int:
    """A mail sent from here, stored as send.py stores it: in Sent, read, with LF line ends."""
    await store.execute_write(
        "INSERT OR IGNORE INTO users (id, created_at) VALUES (?, '')", (USER,)
    )
    raw = _mail(subject, sender="theo@example.com")
    assert b"\r\n" not in raw  # the server keeps CRLF: the dedupe must see one message
    added = await store.write(
        lambda c: add_message(c, USER, raw, folder="Sent", account=account, flags=("\\Seen",))
    )
    return added.id


async def _appends(store: Store) -> int:
    row = await store.query_one("SELECT count(*) AS n FROM mail_appends")
    assert row is not None
    return int(row["n"])


async def test_sent_mail_is_uploaded_to_the_servers_sent_folder(
    store: Store, mailbox: Mailbox
) -> None:
    account = _account(mailbox, folders=("INBOX", "Sent"))
    _put(mailbox, folder="Sent")  # an empty Sent folder, as most servers have
    sent = await _store_sent(store, "Friday dinner")
    assert await queue_append(store, USER, sent) is not None
    assert _server_flags(mailbox, "Sent") == {}  # not before the sync

    report = await sync_account(store, USER, account)
    assert report.errors == [] and report.written_back == 0  # it counts flags and moves
    assert report.folders["Sent"].new == 0  # its UID came with the APPEND: not fetched back
    assert report.uploaded == 1
    assert _server_flags(mailbox, "Sent") == {"Friday dinner": {"\\Seen"}}
    client = mailbox.client()
    try:
        client.select_folder("Sent", readonly=True)
        [data] = client.fetch(client.search(), ["INTERNALDATE"]).values()
    finally:
        client.logout()
    # The internal date is the mail's Date, not the time of the sync.
    when = data[b"INTERNALDATE"]
    assert when.astimezone(datetime.UTC) == datetime.datetime(
        2025, 3, 3, 10, 0, tzinfo=datetime.UTC
    )
    assert await _appends(store) == 0
    uid = await store.query_one("SELECT folder, message_id FROM mail_imap_uids")
    assert uid is not None and (uid["folder"], uid["message_id"]) == ("Sent", sent)

    again = await sync_account(store, USER, account)
    assert (again.new, again.written_back, again.errors) == (0, 0, [])
    rows = await _rows(store)
    assert list(rows) == ["Friday dinner"] and rows["Friday dinner"]["folder"] == "Sent"
    assert len(_server_flags(mailbox, "Sent")) == 1


async def test_without_appenduid_the_servers_copy_is_matched_by_its_bytes(
    store: Store, mailbox: Mailbox
) -> None:
    # Another program keeps sent mail in "Sent Items": that is where it goes.
    _put(mailbox, folder="Sent Items")
    sent = await _store_sent(store, "Friday dinner")
    await queue_append(store, USER, sent)
    report = await sync_account(store, USER, _account(mailbox))
    assert report.errors == [] and await _appends(store) == 0
    assert set(_server_flags(mailbox, "Sent Items")) == {"Friday dinner"}
    client = mailbox.client()
    assert not client.folder_exists("Sent")
    client.logout()
    assert (await _rows(store))["Friday dinner"]["folder"] == "Sent Items"

    # As if the server had not answered APPENDUID: the sync fetches the copy and finds it
    # is the stored mail (the server has CRLF line ends, the stored bytes LF).
    await store.execute_write("DELETE FROM mail_imap_uids")
    with_sent = _account(mailbox, folders=("INBOX", "Sent Items"))
    report = await sync_account(store, USER, with_sent)
    assert report.folders["Sent Items"].new == 0
    rows = await _rows(store)
    assert len(rows) == 1 and rows["Friday dinner"]["folder"] == "Sent Items"
    assert rows["Friday dinner"]["flags"] == "\\Seen"


async def test_without_a_sent_folder_one_is_made(store: Store, mailbox: Mailbox) -> None:
    sent = await _store_sent(store, "Friday dinner")
    await queue_append(store, USER, sent)
    assert (await sync_account(store, USER, _account(mailbox))).errors == []
    assert set(_server_flags(mailbox, "Sent")) == {"Friday dinner"}


async def test_an_upload_waits_while_the_server_is_down(store: Store, mailbox: Mailbox) -> None:
    sent = await _store_sent(store, "Friday dinner")
    await queue_append(store, USER, sent)
    with pytest.raises(ImapError, match="could not reach"):
        await sync_account(store, USER, _account(mailbox, imap_port=free_port()))
    assert await _appends(store) == 1

    report = await sync_account(store, USER, _account(mailbox))
    assert report.errors == [] and await _appends(store) == 0
    assert set(_server_flags(mailbox, "Sent")) == {"Friday dinner"}


async def test_a_refused_upload_is_reported_and_dropped(store: Store, mailbox: Mailbox) -> None:
    client = mailbox.client()
    client.create_folder("Archive/2024")  # "Archive" is only a parent now: it holds no mail
    client.logout()
    sent = await _store_sent(store, "Friday dinner")
    await queue_append(store, USER, sent, folder="Archive")

    report = await sync_account(store, USER, _account(mailbox))
    [error] = report.errors
    assert f"message {sent}: not uploaded" in error and "APPEND to Archive" in error
    assert await _appends(store) == 0
    assert (await _rows(store))["Friday dinner"]["folder"] == "Sent"  # kept here
    assert (await sync_account(store, USER, _account(mailbox))).errors == []


async def test_only_mail_of_an_account_is_queued_for_upload(store: Store) -> None:
    local = await _store_sent(store, "From an mbox", account=None)
    assert await queue_append(store, USER, local) is None
    with pytest.raises(ValueError, match="no message 999"):
        await queue_append(store, USER, 999)
    with pytest.raises(ValueError, match="no message"):  # another user's mail
        await queue_append(store, "amy", local)
    assert await _appends(store) == 0


async def test_mail_sent_over_smtp_reaches_the_servers_sent_folder(
    config: Config, mailbox: Mailbox, smtp_server: SMTPServer
) -> None:
    c = await Companion.open(
        config, embedder=None, model=ScriptedModel(small=True), tools=[send.SEND_MAIL]
    )
    try:
        smtp = {"smtp_host": "127.0.0.1", "smtp_port": smtp_server.port, "smtp_security": "none"}
        account = _account(mailbox, folders=("INBOX", "Sent"), **smtp)
        await save_account(c.store, USER, account)
        draft = await new_draft(
            c.store, USER, to=["amy@example.com"], subject="Friday dinner", body="I'll come."
        )
        outcome = await send.request_send(c, USER, draft, approve=ScriptedApprover(True))
        assert outcome.status == "done", outcome.output
        assert len(smtp_server.received) == 1
        assert await _appends(c.store) == 1

        report = await sync_account(c.store, USER, account)
        assert report.errors == [] and report.folders["Sent"].new == 0
        assert set(_server_flags(mailbox, "Sent")) == {"Friday dinner"}
        assert (await sync_account(c.store, USER, account)).new == 0
        rows = await _rows(c.store)
        assert list(rows) == ["Friday dinner"] and rows["Friday dinner"]["folder"] == "Sent"
    finally:
        await c.close()
