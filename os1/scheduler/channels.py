"""The ways what she says reaches the user: the terminal inbox, desktop, email, ntfy, plug-ins.

The `notifications` table is the terminal's inbox and the record of everything that
fired; other channels are deliveries of a notification, tracked in `notification_sends`
by the runner. A channel raises `ChannelError` with a message the user can act on;
`transient=True` means nothing was delivered and trying again may work.
"""

from __future__ import annotations

import asyncio
import email.header
import email.utils
import shutil
import socket
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Protocol
from zoneinfo import ZoneInfo

import httpx

from ..store import Store
from .settings import SchedulerSettings

SEND_TIMEOUT = 30.0
RETRY_DELAYS = (2.0, 15.0)
"""Pauses (seconds) before trying a send again after an error that delivered nothing."""
INTERRUPTED = "interrupted: may not have arrived"


class ChannelError(Exception):
    """A channel could not deliver; the message says why and what to do."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class Notification:
    """One thing she says on her own: a reminder ringing, an alarm, a briefing, a check-in."""

    id: int
    user: str
    kind: str
    """"reminder" (a to-do), "alarm" (an event), "briefing", "checkin" or "note"."""
    title: str
    body: str
    due_at: datetime | None
    fired_at: datetime
    late: bool

    @property
    def text(self) -> str:
        return f"{self.title}\n{self.body}" if self.body else self.title


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def from_row(r: sqlite3.Row) -> Notification:
    """A `notifications` row as a Notification."""
    return Notification(
        id=int(r["id"]),
        user=str(r["user_id"]),
        kind=str(r["kind"]),
        title=str(r["title"]),
        body=str(r["body"]),
        due_at=_when(r["due_at"]),
        fired_at=_when(r["fired_at"]) or datetime.now(UTC),
        late=bool(r["late"]),
    )


class Channel(Protocol):
    name: str

    async def send(self, user: str, note: Notification, settings: SchedulerSettings) -> None: ...


# --- the terminal: the inbox itself ------------------------------------------------------


class TerminalChannel:
    """The inbox: every notification is already in it; a running `os1` shows unseen ones."""

    name = "terminal"

    async def send(self, user: str, note: Notification, settings: SchedulerSettings) -> None:
        return None


async def unseen(store: Store, user: str, limit: int = 100) -> list[Notification]:
    """The user's notifications not yet shown, oldest first (held ones wait for quiet hours
    to end)."""
    rows = await store.query(
        "SELECT * FROM notifications WHERE user_id = ? AND seen_at IS NULL AND held = 0 "
        "ORDER BY fired_at, id LIMIT ?",
        (user, limit),
    )
    return [from_row(r) for r in rows]


async def mark_seen(store: Store, user: str, ids: Iterable[int]) -> None:
    wanted = [int(i) for i in ids]
    if not wanted:
        return
    now = datetime.now(UTC).isoformat()
    marks = ", ".join("?" for _ in wanted)
    await store.execute_write(
        f"UPDATE notifications SET seen_at = ? WHERE user_id = ? AND seen_at IS NULL "
        f"AND id IN ({marks})",
        (now, user, *wanted),
    )


def render(note: Notification, tz: ZoneInfo) -> str:
    """One line for a list of notifications: '17:00 Call my sister — (late: …)'."""
    at = note.fired_at.astimezone(tz)
    text = f"{at:%a %d %b %H:%M} {note.title}"
    return f"{text} — {note.body}" if note.body else text


# --- desktop ------------------------------------------------------------------------------


class DesktopChannel:
    """A desktop notification through `notify-send` (libnotify), where the desktop has it."""

    name = "desktop"

    def __init__(self, search_path: str | None = None) -> None:
        self.search_path = search_path
        """Where to look for notify-send (PATH syntax); None: this process's PATH."""

    async def send(self, user: str, note: Notification, settings: SchedulerSettings) -> None:
        program = shutil.which("notify-send", path=self.search_path)
        if program is None:
            raise ChannelError(
                "desktop notifications need `notify-send` (package libnotify-bin), "
                "which is not installed here"
            )
        urgency = "normal" if note.kind in ("reminder", "alarm") else "low"
        # No shell: the title and body are arguments, whatever they contain; "--" ends the
        # options, so a title starting with "-" is not read as one.
        args = [program, "--app-name=OS1", f"--urgency={urgency}", "--", note.title]
        if note.body:
            args.append(note.body)
        proc = await asyncio.create_subprocess_exec(
            *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
        try:
            _, err = await asyncio.wait_for(proc.communicate(), timeout=10)
        except TimeoutError:
            proc.kill()
            raise ChannelError("notify-send did not finish in 10 seconds") from None
        if proc.returncode != 0:
            detail = err.decode("utf-8", "replace").strip()
            raise ChannelError(f"notify-send failed ({proc.returncode}): {detail or 'no message'}")


# --- email --------------------------------------------------------------------------------

FOOTER = (
    "\n\n-- \nSent by OS1, your companion, from {host}. This is a notification, not a "
    "conversation: replies to it are not read. Talk to me in `os1` instead; turn mail "
    "notifications off with `os1 notifications settings channels terminal`."
)


class EmailChannel:
    """Mail to the user (`email_to`, else their own mail account's address), sent through the
    account they configured. Turning the channel on is their consent to it."""

    name = "email"

    def __init__(self, store: Store | None = None) -> None:
        self.store = store
        """The database holding the mail accounts; the runner fills it in when left out."""

    def message(self, sender: str, to: str, note: Notification) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = email.utils.formataddr(("OS1", sender))
        msg["To"] = to
        msg["Subject"] = f"[OS1] {note.title}"
        msg["Date"] = email.utils.format_datetime(datetime.now(UTC))
        msg["Message-ID"] = email.utils.make_msgid(domain="os1.local")
        msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
        msg["X-OS1-Notification"] = f"{note.kind} {note.id}"
        body = note.text + FOOTER.format(host=socket.gethostname())
        msg.set_content(body)
        return msg

    async def send(self, user: str, note: Notification, settings: SchedulerSettings) -> None:
        from ..mail import accounts, smtp

        if self.store is None:
            raise ChannelError("the email channel was set up without the database")
        try:
            account = await accounts.get_account(self.store, user)
        except accounts.AccountError as e:
            raise ChannelError(f"email notifications need a mail account: {e}") from None
        to = settings.email_to or account.address
        try:
            await smtp.deliver(account, self.message(account.address, to, note), wait=SEND_TIMEOUT)
        except accounts.AccountError as e:
            raise ChannelError(f"email: {e}") from None
        except smtp.SendError as e:
            # Refused or unreachable: nothing was delivered, so another try is safe.
            raise ChannelError(f"email: {e}", transient=True) from None


# --- ntfy ---------------------------------------------------------------------------------


def _header_text(text: str) -> str:
    """HTTP headers are Latin-1: other text goes as an RFC 2047 encoded word (ntfy reads it)."""
    flat = " ".join(text.split())
    try:
        flat.encode("ascii")
        return flat
    except UnicodeEncodeError:
        return email.header.Header(flat, "utf-8").encode()


class NtfyChannel:
    """A push message through an ntfy server: POST the body to the topic URL, with a title."""

    name = "ntfy"

    def __init__(self, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.transport = transport

    async def send(self, user: str, note: Notification, settings: SchedulerSettings) -> None:
        url = settings.ntfy_url
        if not url:
            raise ChannelError(
                "ntfy needs a topic URL: "
                "`os1 notifications settings ntfy_url https://ntfy.sh/TOPIC`"
            )
        headers = {"Title": _header_text(note.title), "Tags": "os1"}
        if note.kind in ("reminder", "alarm"):
            headers["Priority"] = "high"
        try:
            async with httpx.AsyncClient(timeout=SEND_TIMEOUT, transport=self.transport) as http:
                response = await http.post(url, content=note.body.encode(), headers=headers)
        except httpx.ConnectError as e:
            raise ChannelError(f"ntfy: cannot reach {url}: {e}", transient=True) from None
        except httpx.TimeoutException:
            raise ChannelError(f"ntfy: {url} did not answer; it may not have arrived") from None
        except httpx.HTTPError as e:
            raise ChannelError(f"ntfy: {e}") from None
        if response.status_code >= 400:
            transient = response.status_code >= 500 or response.status_code == 429
            raise ChannelError(
                f"ntfy: {url} answered {response.status_code} {response.text[:200]}",
                transient=transient,
            )


# --- all of them --------------------------------------------------------------------------


def builtin_channels(store: Store | None = None) -> dict[str, Channel]:
    found: list[Channel] = [TerminalChannel(), DesktopChannel(), EmailChannel(store), NtfyChannel()]
    return {c.name: c for c in found}


def available_channels(store: Store | None = None) -> dict[str, Channel]:
    """The built-in channels and those plug-ins add (`register_channels`); a plug-in's
    channel may not take a built-in's name."""
    from .. import plugins

    found = builtin_channels(store)
    added: list[Channel] = []
    plugins.pm.hook.register_channels(register=added.append)
    for channel in added:
        name = getattr(channel, "name", None)
        if isinstance(name, str) and name and name not in found:
            found[name] = channel
    return found


# --- the outbox ---------------------------------------------------------------------------


def queue_sends(
    c: sqlite3.Connection, nid: int, user: str, channels: Iterable[str], now: datetime
) -> None:
    """Put a notification in the outbox of each channel but the terminal (it is the inbox)."""
    for name in channels:
        if name != "terminal":
            c.execute(
                "INSERT OR IGNORE INTO notification_sends (notification_id, user_id, channel, "
                "status, updated_at) VALUES (?, ?, ?, 'pending', ?)",
                (nid, user, name, now.astimezone(UTC).isoformat()),
            )


def add_note(
    c: sqlite3.Connection, user: str, key: str, title: str, body: str, now: datetime
) -> Notification | None:
    """A note about delivery itself, in the terminal inbox only, once per key."""
    cur = c.execute(
        "INSERT OR IGNORE INTO notifications (user_id, kind, key, title, body, fired_at) "
        "VALUES (?, 'note', ?, ?, ?, ?)",
        (user, key, title, body, now.astimezone(UTC).isoformat()),
    )
    if cur.rowcount != 1:
        return None
    return Notification(int(cur.lastrowid or 0), user, "note", title, body, None, now, False)


class Outbox:
    """Sends what waits in `notification_sends`, each send at most once.

    'sending' is committed before an attempt; a send found 'sending' at start-up was cut
    short by a crash and may have arrived, so it is reported, never repeated. Errors that
    delivered nothing (`ChannelError.transient`) are retried after `retry_delays`; a
    send that finally fails stays 'failed' with its error, and a note says so.
    """

    def __init__(
        self,
        store: Store,
        channels: Mapping[str, Channel],
        now: Callable[[], datetime],
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
    ) -> None:
        self.store = store
        self.channels = channels
        self.now = now
        self.retry_delays = retry_delays
        self._sending: dict[tuple[int, str], asyncio.Task[None]] = {}
        self._slots = asyncio.Semaphore(8)

    def _stamp(self) -> str:
        return self.now().astimezone(UTC).isoformat()

    def recover(self, c: sqlite3.Connection) -> list[Notification]:
        """At start-up, inside a write: sends left 'sending' become failed, with a note."""
        rows = c.execute(
            "SELECT s.notification_id, s.channel, s.user_id, n.title FROM notification_sends s "
            "JOIN notifications n ON n.id = s.notification_id WHERE s.status = 'sending'"
        ).fetchall()
        notes = []
        for r in rows:
            c.execute(
                "UPDATE notification_sends SET status = 'failed', error = ?, updated_at = ? "
                "WHERE notification_id = ? AND channel = ?",
                (INTERRUPTED, self._stamp(), r["notification_id"], r["channel"]),
            )
            note = add_note(
                c, r["user_id"], f"interrupted:{r['notification_id']}:{r['channel']}",
                f"“{r['title']}” may not have reached you by {r['channel']}",
                "OS1 stopped while sending it. It was not sent again, so that you never get it "
                "twice; it is here instead.", self.now(),
            )  # fmt: skip
            if note is not None:
                notes.append(note)
        return notes

    async def launch(self) -> None:
        """Start sending whatever is pending (in the background)."""
        rows = await self.store.query(
            "SELECT s.channel, n.* FROM notification_sends s JOIN notifications n "
            "ON n.id = s.notification_id WHERE s.status = 'pending' ORDER BY n.id LIMIT 1000"
        )
        for r in rows:
            key = (int(r["id"]), str(r["channel"]))
            if key not in self._sending:
                task = asyncio.ensure_future(self._send(from_row(r), key[1]))
                self._sending[key] = task
                task.add_done_callback(lambda _, k=key: self._sending.pop(k, None))  # type: ignore[misc]

    async def drain(self, within: float | None = None) -> None:
        """Wait for sends in flight; after `within` seconds they are cut short (and reported
        at the next start)."""
        tasks = list(self._sending.values())
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=within)
            for task in pending:
                task.cancel()

    async def _send(self, note: Notification, channel: str) -> None:
        from . import settings as schedsettings

        async with self._slots:

            def claim(c: sqlite3.Connection) -> int:
                return c.execute(
                    "UPDATE notification_sends SET status = 'sending', updated_at = ? "
                    "WHERE notification_id = ? AND channel = ? AND status = 'pending'",
                    (self._stamp(), note.id, channel),
                ).rowcount

            if not await self.store.write(claim):
                return
            s = await self.store.read(lambda c: schedsettings.load(c, note.user))
            error = await self._attempts(channel, note, s)

            def done(c: sqlite3.Connection) -> None:
                c.execute(
                    "UPDATE notification_sends SET status = ?, error = ?, updated_at = ? "
                    "WHERE notification_id = ? AND channel = ?",
                    ("sent" if error is None else "failed", error, self._stamp(), note.id, channel),
                )
                if error is not None:
                    add_note(
                        c, note.user, f"failed:{note.id}:{channel}",
                        f"“{note.title}” could not be sent by {channel}", error, self.now(),
                    )  # fmt: skip

            await self.store.write(done)

    async def _attempts(self, name: str, note: Notification, s: SchedulerSettings) -> str | None:
        """None when delivered, else why not. Only errors that delivered nothing are retried."""
        channel = self.channels.get(name)
        if channel is None:
            return f"no channel called {name!r} here (known: {', '.join(sorted(self.channels))})"
        error = ""
        delays = (0.0, *self.retry_delays)
        for delay in delays:
            if delay:
                await asyncio.sleep(delay)
            try:
                await asyncio.wait_for(channel.send(note.user, note, s), timeout=SEND_TIMEOUT + 5)
                return None
            except ChannelError as e:
                error = str(e)
                if not e.transient:
                    return error
            except TimeoutError:
                return f"{name} did not finish in time; it may not have arrived"
            except Exception as e:  # a plug-in's own failure: it may have half-sent, no retry
                return f"{name} failed: {type(e).__name__}: {e}"
        return f"{error} (tried {len(delays)} times)"
