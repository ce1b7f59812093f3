"""Delivery channels against real things: an SMTP server, an HTTP server, a notify-send
program on PATH; and plug-in channels."""

from __future__ import annotations

import http.server
import sqlite3
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from servers import SMTPServer

from os1 import plugins
from os1.calendar import ical
from os1.calendar import store as calstore
from os1.hookspecs import hookimpl
from os1.mail.accounts import Account, save_account
from os1.scheduler import channels as chans
from os1.scheduler import settings as schedsettings
from os1.scheduler.channels import ChannelError, Notification
from os1.scheduler.clock import FakeClock
from os1.scheduler.runner import Scheduler
from os1.scheduler.settings import SchedulerSettings
from os1.store import Store

PARIS = ZoneInfo("Europe/Paris")
NOTE = Notification(
    7,
    "theo",
    "reminder",
    "Call my sister",
    "(late: this was due at 17:00)",
    datetime(2026, 6, 1, 15, tzinfo=UTC),
    datetime(2026, 6, 1, 15, 5, tzinfo=UTC),
    True,
)


# --- email ------------------------------------------------------------------------------


async def test_email_goes_to_the_user_through_their_account(
    store: Store, smtp_server: SMTPServer
) -> None:
    account = Account(
        name="home",
        address="theo@example.com",
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        smtp_security="none",
    )
    await save_account(store, "theo", account)
    channel = chans.EmailChannel(store)
    await channel.send("theo", NOTE, SchedulerSettings(channels=("terminal", "email")))
    [mail] = smtp_server.received
    assert mail.rcpt_tos == ["theo@example.com"]
    msg = mail.message
    assert msg["Subject"] == "[OS1] Call my sister"
    assert msg["Auto-Submitted"] == "auto-generated"
    body = msg.get_body().get_content().replace("\r\n", "\n")  # type: ignore[union-attr]
    assert body.startswith("Call my sister\n(late: this was due at 17:00)")
    assert "Sent by OS1" in body and "replies to it are not read" in body
    # Another address, when the user gave one.
    await channel.send("theo", NOTE, SchedulerSettings(email_to="phone@example.org"))
    assert smtp_server.received[1].rcpt_tos == ["phone@example.org"]


async def test_email_without_an_account_says_what_to_do(store: Store) -> None:
    with pytest.raises(ChannelError, match="need a mail account: no mail account yet"):
        await chans.EmailChannel(store).send("theo", NOTE, SchedulerSettings())


async def test_email_to_an_unreachable_server_is_transient(store: Store) -> None:
    from servers import free_port

    account = Account(
        name="home",
        address="theo@example.com",
        smtp_host="127.0.0.1",
        smtp_port=free_port(),
        smtp_security="none",
    )
    await save_account(store, "theo", account)
    with pytest.raises(ChannelError) as err:
        await chans.EmailChannel(store).send("theo", NOTE, SchedulerSettings())
    assert err.value.transient and "could not reach 127.0.0.1" in str(err.value)


async def test_a_reminder_reaches_the_mail_server_through_the_scheduler(
    store: Store, smtp_server: SMTPServer
) -> None:
    await save_account(
        store,
        "theo",
        Account(
            name="home",
            address="theo@example.com",
            smtp_host=smtp_server.host,
            smtp_port=smtp_server.port,
            smtp_security="none",
        ),
    )
    clock = FakeClock(datetime(2026, 6, 1, 16, tzinfo=PARIS))
    todo = ical.new_todo("Call my sister", datetime(2026, 6, 1, 17, tzinfo=PARIS))

    def write(c: sqlite3.Connection) -> None:
        cal = calstore.calendar_id(c, "theo")
        calstore.put_resource(c, "theo", cal, todo, origin="local", tz=PARIS, now=clock.now())
        schedsettings.change(c, "theo", channels="terminal,email")

    await store.write(write)
    # The daemon builds its channels without the store: the scheduler hands it to email.
    scheduler = Scheduler(
        store,
        clock=clock,
        default_tz="Europe/Paris",
        channels=chans.available_channels(),
        compose=None,
    )
    clock.advance(hours=1)
    [note] = await scheduler.tick()
    await scheduler.drain()
    [mail] = smtp_server.received
    assert mail.message["Subject"] == "[OS1] Call my sister"
    [row] = await store.query(
        "SELECT status FROM notification_sends WHERE notification_id = ?", (note.id,)
    )
    assert row["status"] == "sent"


# --- ntfy -------------------------------------------------------------------------------


@dataclass
class Posted:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class HTTPServer:
    url: str
    posted: list[Posted] = field(default_factory=list)
    answer: int = 200


@pytest.fixture
def ntfy() -> Iterator[HTTPServer]:
    """A real HTTP server on loopback that keeps every POST, answering `answer`."""
    server_state = HTTPServer("")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            server_state.posted.append(
                Posted(self.path, dict(self.headers.items()), self.rfile.read(length))
            )
            self.send_response(server_state.answer)
            self.end_headers()
            self.wfile.write(b'{"id":"x"}' if server_state.answer < 400 else b"busy")

        def log_message(self, *args: Any) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server_state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server_state
    finally:
        httpd.shutdown()
        httpd.server_close()


async def test_ntfy_posts_the_body_with_a_title(ntfy: HTTPServer) -> None:
    settings = SchedulerSettings(ntfy_url=f"{ntfy.url}/theo-os1")
    await chans.NtfyChannel().send("theo", NOTE, settings)
    [post] = ntfy.posted
    assert post.path == "/theo-os1"
    assert post.headers["Title"] == "Call my sister"
    assert post.headers["Priority"] == "high"
    assert post.body == b"(late: this was due at 17:00)"
    # A title beyond ASCII travels as an RFC 2047 encoded word, which ntfy decodes.
    other = Notification(8, "theo", "checkin", "Ça va ? 👋", "", None, NOTE.fired_at, False)
    await chans.NtfyChannel().send("theo", other, settings)
    assert str(make_header(decode_header(ntfy.posted[1].headers["Title"]))) == "Ça va ? 👋"
    assert "Priority" not in ntfy.posted[1].headers


async def test_ntfy_errors_are_clear(ntfy: HTTPServer) -> None:
    with pytest.raises(ChannelError, match="ntfy needs a topic URL"):
        await chans.NtfyChannel().send("theo", NOTE, SchedulerSettings())
    ntfy.answer = 503
    with pytest.raises(ChannelError, match="answered 503") as err:
        await chans.NtfyChannel().send("theo", NOTE, SchedulerSettings(ntfy_url=ntfy.url))
    assert err.value.transient
    ntfy.answer = 403
    with pytest.raises(ChannelError, match="answered 403") as err:
        await chans.NtfyChannel().send("theo", NOTE, SchedulerSettings(ntfy_url=ntfy.url))
    assert not err.value.transient
    from servers import free_port

    closed = f"http://127.0.0.1:{free_port()}/t"
    with pytest.raises(ChannelError, match="cannot reach") as err:
        await chans.NtfyChannel().send("theo", NOTE, SchedulerSettings(ntfy_url=closed))
    assert err.value.transient


# --- desktop ----------------------------------------------------------------------------


def fake_notify_send(folder: Path, exit_code: int = 0) -> Path:
    """A `notify-send` that writes its arguments, one per line, next to itself."""
    folder.mkdir(exist_ok=True)
    program = folder / "notify-send"
    program.write_text(
        "#!/bin/sh\n"
        f'for a in "$@"; do printf "%s\\n" "$a" >> "{folder}/args"; done\n'
        'echo "no notification daemon" >&2\n'
        f"exit {exit_code}\n"
    )
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    return folder / "args"


async def test_desktop_runs_notify_send_with_title_and_body_as_arguments(tmp_path: Path) -> None:
    args = fake_notify_send(tmp_path / "bin")
    tricky = Notification(9, "theo", "reminder", "-u critical; rm -rf ~", "$(whoami) `id`", None,
                          NOTE.fired_at, False)  # fmt: skip
    await chans.DesktopChannel(str(tmp_path / "bin")).send("theo", tricky, SchedulerSettings())
    assert args.read_text().splitlines() == [
        "--app-name=OS1",
        "--urgency=normal",
        "--",
        "-u critical; rm -rf ~",
        "$(whoami) `id`",
    ]


async def test_desktop_without_notify_send_or_with_a_failing_one(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ChannelError, match="need `notify-send`"):
        await chans.DesktopChannel(str(tmp_path / "empty")).send("theo", NOTE, SchedulerSettings())
    fake_notify_send(tmp_path / "bin", exit_code=1)
    with pytest.raises(ChannelError, match=r"notify-send failed \(1\): no notification daemon"):
        await chans.DesktopChannel(str(tmp_path / "bin")).send("theo", NOTE, SchedulerSettings())


# --- the inbox, the channel list --------------------------------------------------------


async def test_unseen_and_mark_seen(store: Store) -> None:
    now = datetime(2026, 6, 1, 15, tzinfo=UTC)

    def write(c: sqlite3.Connection) -> None:
        for user in ("theo", "amy"):
            c.execute("INSERT INTO users (id, created_at) VALUES (?, ?)", (user, now.isoformat()))
        for i, (user, held) in enumerate((("theo", 0), ("theo", 1), ("amy", 0), ("theo", 0))):
            c.execute(
                "INSERT INTO notifications (user_id, kind, key, title, fired_at, held) "
                "VALUES (?, 'reminder', ?, ?, ?, ?)",
                (user, str(i), f"n{i}", (now + timedelta(minutes=i)).isoformat(), held),
            )

    await store.write(write)
    found = await chans.unseen(store, "theo")
    assert [n.title for n in found] == ["n0", "n3"]  # held ones wait; amy's are hers
    await chans.mark_seen(store, "theo", [found[0].id, 3])  # 3 is amy's: left alone
    assert [n.title for n in await chans.unseen(store, "theo")] == ["n3"]
    assert [n.title for n in await chans.unseen(store, "amy")] == ["n2"]
    assert chans.render(found[0], PARIS) == "Mon 01 Jun 17:00 n0"


class Pager:
    name = "pager"

    async def send(self, user: str, note: Notification, settings: SchedulerSettings) -> None:
        return None


class Impostor(Pager):
    name = "email"


class PagerPlugin:
    @hookimpl
    def register_channels(self, register: Any) -> None:
        register(Pager())
        register(Impostor())  # a plug-in may not take a built-in's name


def test_available_channels_are_the_built_ins_and_plugins() -> None:
    found = chans.available_channels()
    assert set(found) == {"terminal", "desktop", "email", "ntfy"}
    plugin = PagerPlugin()
    plugins.pm.register(plugin, "test-pager")
    try:
        found = chans.available_channels()
    finally:
        plugins.pm.unregister(plugin)
    assert isinstance(found["pager"], Pager)
    assert isinstance(found["email"], chans.EmailChannel)
