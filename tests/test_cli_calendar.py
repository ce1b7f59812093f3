"""Issue 5's "done when", end to end through the real `os1` command: import a calendar, ask
about the week, set a reminder by talking, and have it arrive on time — in the terminal
inbox and by mail through a real SMTP server — after a restart (kill -9), with quiet hours
holding her own initiative; and calendars and reminders syncing with a real CalDAV server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from servers import SMTPServer
from test_cli import db
from test_cli import os1 as _os1

sys.path.insert(0, str(Path(__file__).parent / "calendar"))
sys.path.insert(0, str(Path(__file__).parent / "contacts"))
from caldav_server import Phone, make_calendar
from radicale_server import radicale_server

TZ = ZoneInfo("Europe/Berlin")
ENV = {"OS1_TIMEZONE": "Europe/Berlin"}


def os1(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = _os1(home, *args, env=ENV)
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    return result


def ok(home: Path, *args: str) -> str:
    result = os1(home, *args)
    assert result.returncode == 0, f"os1 {' '.join(args)}: {result.stderr}"
    return result.stdout


def _week_ics(tomorrow: datetime) -> str:
    day = tomorrow.strftime("%Y%m%d")
    weekday = tomorrow.strftime("%a")[:2].upper()
    return f"""BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
X-WR-CALNAME:Home
BEGIN:VEVENT
UID:dentist-1
DTSTAMP:20261101T000000Z
DTSTART;TZID=Europe/Berlin:{day}T103000
DTEND;TZID=Europe/Berlin:{day}T113000
SUMMARY:Dentist
LOCATION:Rue Cler
END:VEVENT
BEGIN:VEVENT
UID:yoga-1
DTSTAMP:20261101T000000Z
DTSTART;TZID=Europe/Berlin:20260105T180000
DURATION:PT1H
RRULE:FREQ=WEEKLY;BYDAY={weekday}
SUMMARY:Yoga
END:VEVENT
BEGIN:VEVENT
UID:broken-1
SUMMARY:A broken one without a start
END:VEVENT
END:VCALENDAR
"""


def _daemon(home: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "OS1_HOME": str(home), "OS1_USER": "theo", **ENV}
    env.pop("OS1_MODEL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "os1", "daemon"], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip


def _wait_for(check, seconds: float, proc: subprocess.Popen[str]):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found:
            return found
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.5)


def test_import_ask_remind_and_it_arrives_after_a_restart(
    tmp_path: Path, smtp_server: SMTPServer
) -> None:
    home = tmp_path / "home"
    now = datetime.now(TZ)
    tomorrow = now + timedelta(days=1)
    (tmp_path / "week.ics").write_text(_week_ics(tomorrow), encoding="utf-8")

    # Import: what can be read is in, the broken event is kept and the exit code says so.
    imported = os1(home, "calendar", "import", str(tmp_path / "week.ics"))
    assert imported.returncode == 65, imported.stderr
    assert "os1 calendar problems" in imported.stderr
    assert "without a start" in ok(home, "calendar", "problems").replace("DTSTART", "a start")
    assert "Home: 2 entries" in ok(home, "calendar", "list")

    # Asking about the week, in words and from the command line.
    said = ok(home, "chat", "-m", "What's on tomorrow?")
    assert "10:30–11:30 Dentist (Rue Cler)" in said and "18:00–19:00 Yoga" in said
    assert "Dentist" in ok(home, "chat", "-m", "what do I have in the next 3 days?")
    assert "Tomorrow:" in ok(home, "agenda", "--days", "7")

    # Mail as a channel, and quiet hours around now: her own briefing must wait.
    ok(home, "mail", "account", "add", "home", "--address", "theo@example.com",
       "--smtp-host", "127.0.0.1", "--smtp-port", str(smtp_server.port),
       "--smtp-security", "none")  # fmt: skip
    hm = lambda d: d.strftime("%H:%M")  # noqa: E731
    ok(home, "notifications", "settings", "channels", "terminal,email",
       "email_to", "theo@example.com", "quiet_start", hm(now - timedelta(hours=1)),
       "quiet_end", hm(now + timedelta(hours=2)),
       "briefing_at", hm(now - timedelta(minutes=5)))  # fmt: skip

    # A reminder set by talking.
    said = ok(home, "chat", "-m", "Remind me to call my sister in 1 minute")
    assert "I'll remind you to call your sister" in said
    due = db(home).execute("SELECT due_at FROM schedule").fetchone()[0]
    due_at = datetime.fromisoformat(due)
    assert timedelta(seconds=50) < due_at - datetime.now(UTC) < timedelta(seconds=70)

    # A daemon starts and is killed (the laptop is shut); another one starts later.
    first = _daemon(home)
    try:
        time.sleep(3)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
    second = _daemon(home)
    try:
        query = "SELECT title, fired_at, due_at, late FROM notifications WHERE kind = 'reminder'"
        row = _wait_for(lambda: db(home).execute(query).fetchone(), 120, second)
        fired = datetime.fromisoformat(row[1])
        assert timedelta(0) <= fired - due_at < timedelta(seconds=20)  # on time…
        assert row[3] == 0  # …so not marked late
        assert "call my sister" in row[0].lower()
        mails = _wait_for(lambda: list(smtp_server.received), 30, second)
        assert mails[0].rcpt_tos == ["theo@example.com"]
        assert "call my sister" in str(mails[0].message["Subject"]).lower()
        time.sleep(3)
        assert len(db(home).execute(query).fetchall()) == 1 and len(smtp_server.received) == 1
        # Quiet hours: no briefing was composed, though its time has passed.
        briefings = "SELECT count(*) FROM notifications WHERE kind = 'briefing' AND held = 0"
        assert db(home).execute(briefings).fetchone()[0] == 0
    finally:
        second.send_signal(signal.SIGTERM)
        _, err = second.communicate(timeout=60)
    assert "Traceback" not in err
    listed = ok(home, "notifications")
    assert "call my sister" in listed.lower()
    assert ok(home, "notifications") == "Nothing new.\n"  # seen once, not shown twice


def test_calendars_and_reminders_sync_with_a_caldav_server(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with radicale_server(tmp_path / "dav") as server:
        url = make_calendar(server, "theo", "personal", name="Family")
        phone = Phone(server, "theo")
        start = (datetime.now(TZ) + timedelta(days=2)).replace(hour=19, minute=0, second=0)
        phone.put(
            "/theo/personal/dinner.ics",
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//phone//EN\r\nBEGIN:VEVENT\r\n"
            f"UID:dinner-1\r\nDTSTAMP:20261101T000000Z\r\n"
            f"DTSTART:{start.astimezone(UTC):%Y%m%dT%H%M%SZ}\r\nDURATION:PT2H\r\n"
            "SUMMARY:Dinner with Amy\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        )
        added = ok(home, "calendar", "account", "add", url, "--username", "theo",
                   "--password-command", "printf s3cret")  # fmt: skip
        assert "1 calendar(s) will sync" in added
        assert "19:00–21:00 Dinner with Amy" in ok(home, "agenda", "--days", "4")

        said = ok(home, "chat", "-m", "remind me to water the plants every Monday at 9")
        assert "every Monday at 09:00" in said
        ok(home, "calendar", "sync")
        on_server = [phone.get(f"/theo/personal/{n}") or "" for n in phone.names("personal")]
        todo = next(t for t in on_server if "BEGIN:VTODO" in t)
        assert "SUMMARY:Water the plants" in todo and "RRULE:FREQ=WEEKLY;BYDAY=MO" in todo
        assert "BEGIN:VALARM" in todo

        # Moving an event asks first; approved, the move reaches the server.
        moved = ok(home, "chat", "-m", "move dinner with Amy to 8pm")
        assert "Say yes with `os1 approve" in moved and "Dinner with Amy" in moved
        action = moved.rsplit("os1 approve ", 1)[1].split("`")[0]
        ok(home, "approve", action)
        ok(home, "calendar", "sync")
        assert f"DTSTART;TZID=Europe/Berlin:{start:%Y%m%d}T200000" in (
            phone.get("/theo/personal/dinner.ics") or ""
        )
        assert "20:00–22:00 Dinner with Amy" in ok(home, "agenda", "--days", "4")
