"""Two-way CalDAV sync against a real radicale server on loopback.

"The phone" is a second client of the same account (plain HTTP PUT/GET/DELETE), so
every change OS1 sends is checked where another device would see it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from caldav_server import Phone, Radicale, make_calendar, radicale_server, shared_server

from os1 import dav
from os1.calendar import accounts, caldav, ical, recurrence
from os1.calendar import store as calstore
from os1.store import Store

TZ = ZoneInfo("Europe/Berlin")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Radicale]:
    """radicale with users theo (s3cret) and ana (other), each seeing only their own."""
    with radicale_server(tmp_path / "radicale", {"theo": "s3cret", "ana": "other"}) as s:
        yield s


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every request OS1 sends, as 'METHOD /path'."""
    seen: list[str] = []
    real = accounts.client

    def client(username: str | None, password: str | None) -> httpx.AsyncClient:
        http = real(username, password)

        async def hook(request: httpx.Request) -> None:
            seen.append(f"{request.method} {request.url.path}")

        http.event_hooks["request"].append(hook)
        return http

    monkeypatch.setattr(accounts, "client", client)
    return seen


def vcal(*components: str) -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Phone//EN\r\n"
        + "".join(components)
        + ("END:VCALENDAR\r\n")
    )


def vevent(uid: str, summary: str, start: str, *lines: str, kind: str = "VEVENT") -> str:
    body = "".join(f"{line}\r\n" for line in lines)
    return (
        f"BEGIN:{kind}\r\nUID:{uid}\r\nDTSTAMP:20240101T000000Z\r\nSUMMARY:{summary}\r\n"
        f"DTSTART:{start}\r\n{body}END:{kind}\r\n"
    )


def stamp(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


STANDUP = vcal(
    vevent("standup", "Standup", "20240108T090000Z", "DTEND:20240108T093000Z",
           "RRULE:FREQ=WEEKLY;COUNT=10"),
    vevent("standup", "Standup (late)", "20240115T100000Z", "DTEND:20240115T103000Z",
           "RECURRENCE-ID:20240115T090000Z"),
)  # fmt: skip


Rewrite = Callable[[httpx.Request, list[tuple[str, str]], bytes], bytes]


class Rewriting(httpx.AsyncBaseTransport):
    """The real server's answers, changed on their way in by `change` (which may also edit
    the headers in place): a server that behaves otherwise than radicale."""

    def __init__(self, change: Rewrite) -> None:
        self.real, self.change = httpx.AsyncHTTPTransport(), change

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        reply = await self.real.handle_async_request(request)
        body = await reply.aread()
        await reply.aclose()
        headers = [(k, v) for k, v in reply.headers.items()
                   if k.lower() not in ("content-length", "content-encoding")]  # fmt: skip
        body = self.change(request, headers, body)
        return httpx.Response(reply.status_code, headers=headers, content=body)

    async def aclose(self) -> None:
        await self.real.aclose()


def rewrite(monkeypatch: pytest.MonkeyPatch, change: Rewrite) -> list[str]:
    """Make OS1's client talk through `Rewriting`; the requests it sends are listed."""
    seen: list[str] = []

    def client(username: str | None, password: str | None) -> httpx.AsyncClient:
        async def hook(request: httpx.Request) -> None:
            seen.append(f"{request.method} {request.url.path}")

        return httpx.AsyncClient(
            auth=httpx.BasicAuth(username or "", password or ""),
            transport=Rewriting(change),
            event_hooks={"request": [hook]},
        )

    monkeypatch.setattr(accounts, "client", client)
    return seen


async def account(store: Store, server: Radicale, user: str = "theo", url: str = "") -> int:
    [row] = await accounts.add_account(
        store, user, url or server.url, username=user,
        password_command=f"printf {server.users[user]}",
    )  # fmt: skip
    return int(row["id"])


async def sync(store: Store, calendar: int, user: str = "theo") -> caldav.SyncReport:
    return await caldav.sync(store, user, calendar, tz=TZ)


async def rows(store: Store, user: str = "theo") -> dict[str, sqlite3.Row]:
    found = await store.query("SELECT * FROM cal_objects WHERE user_id = ? ORDER BY id", (user,))
    return {r["uid"]: r for r in found}


async def edit(store: Store, calendar: int, uid: str, summary: str) -> None:
    """Change an object here, as the user would: a new summary, marked for sending."""

    def write(c: sqlite3.Connection) -> None:
        row = c.execute(
            "SELECT * FROM cal_objects WHERE user_id = 'theo' AND uid = ?", (uid,)
        ).fetchone()
        resource = calstore.load(row)
        resource.main.pop("SUMMARY")
        resource.main.add("SUMMARY", summary)
        calstore.put_resource(c, "theo", calendar, resource, origin="os1", tz=TZ, dirty=True)

    await store.write(write)


async def put_local(store: Store, calendar: int, resource: ical.Resource) -> None:
    await store.write(
        lambda c: calstore.put_resource(
            c, "theo", calendar, resource, origin="os1", tz=TZ, dirty=True
        )
    )


async def test_discovery_from_the_root_and_from_a_calendar(server: Radicale) -> None:
    personal = make_calendar(server, "theo", name="Personal", color="#3366ffff")
    tasks = make_calendar(server, "theo", "tasks", name="Tasks", components=("VTODO",))
    make_calendar(server, "theo", "journal", components=("VJOURNAL",))
    server.make_addressbook("theo")

    found = await accounts.discover(server.url, "theo", "s3cret")
    assert sorted((c.url, c.name, c.color, c.components, c.read_only) for c in found) == [
        (personal, "Personal", "#3366ffff", {"VEVENT", "VTODO"}, False),
        (tasks, "Tasks", None, {"VTODO"}, False),
    ]  # the journal and the address book are not calendars OS1 syncs
    [one] = await accounts.discover(tasks, "theo", "s3cret")
    assert (one.url, one.name) == (tasks, "Tasks")
    # Credentials in the URL work as well (and are split off).
    [again] = await accounts.discover(tasks.replace("http://", "http://theo:s3cret@"))
    assert again.url == tasks


async def test_clear_errors_for_what_cannot_be_synced(store: Store, server: Radicale) -> None:
    personal = make_calendar(server, "theo")
    book = server.make_addressbook("theo")
    with pytest.raises(caldav.CalDAVError, match="refused the login") as wrong:
        await accounts.discover(server.url, "theo", "wrong")
    assert wrong.value.status == 401
    # An address book is no calendar, but it leads to the account's calendars.
    assert [c.url for c in await accounts.discover(book, "theo", "s3cret")] == [personal]
    with pytest.raises(caldav.CalDAVError, match="no calendar found"):
        await accounts.discover(server.url, "ana", "other")  # Ana has none
    with pytest.raises(caldav.CalDAVError, match="does not exist") as missing:
        await accounts.discover(f"{server.url}theo/nothing/", "theo", "s3cret")
    assert missing.value.status == 404
    with pytest.raises(caldav.CalDAVError, match="cannot reach"):
        await accounts.discover("http://127.0.0.1:9/", "theo", "x")
    with pytest.raises(caldav.CalDAVError, match="not an http"):
        await accounts.discover("ftp://example.com/")
    with pytest.raises(caldav.CalDAVError, match="never stored"):
        await accounts.add_account(store, "theo", personal.replace("//", "//theo:s3cret@"))
    with pytest.raises(caldav.CalDAVError, match="exited 1"):
        await accounts.add_account(store, "theo", personal, username="theo",
                                 password_command="false")  # fmt: skip
    assert await store.query("SELECT * FROM calendars") == []

    calendar = await account(store, server)
    with pytest.raises(caldav.CalDAVError, match="refused the login") as refused:
        await caldav.sync(store, "theo", calendar, tz=TZ, password="wrong")
    assert refused.value.status == 401
    local = await store.write(lambda c: calstore.calendar_id(c, "theo", "Notes"))
    with pytest.raises(caldav.CalDAVError, match="is local"):
        await caldav.sync(store, "theo", local, tz=TZ)
    with pytest.raises(caldav.CalDAVError, match="no calendar"):
        await caldav.sync(store, "ana", calendar, tz=TZ)  # Theo's calendar is not Ana's


async def test_first_sync_pulls_events_and_reminders_then_nothing_moves(
    store: Store, server: Radicale, sent: list[str]
) -> None:
    url = make_calendar(server, "theo", name="Personal")
    phone = Phone(server, "theo")
    due = (datetime.now(UTC) + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    phone.put(
        "/theo/personal/dentist.ics",
        vcal(
            vevent(
                "dentist",
                "Dentist",
                "20240301T090000Z",
                "DTEND:20240301T100000Z",
                "LOCATION:Main St",
            )
        ),
    )
    phone.put("/theo/personal/standup.ics", STANDUP)
    phone.put("/theo/personal/call.ics", vcal(vevent(
        "call", "Call my sister", stamp(due), f"DUE:{stamp(due)}", "RRULE:FREQ=WEEKLY",
        "STATUS:NEEDS-ACTION", "BEGIN:VALARM", "ACTION:DISPLAY", "DESCRIPTION:Call",
        "TRIGGER:-PT10M", "END:VALARM", kind="VTODO")))  # fmt: skip
    journal = "BEGIN:VJOURNAL\r\nUID:diary\r\nDTSTART:20240101T100000Z\r\nSUMMARY:Diary\r\n"
    phone.put("/theo/personal/diary.ics", vcal(journal + "END:VJOURNAL\r\n"))

    calendar = await account(store, server)
    [row] = await store.query("SELECT * FROM calendars WHERE id = ?", (calendar,))
    assert (row["name"], row["url"], row["username"], row["password_command"]) == (
        "Personal", url, "theo", "printf s3cret",
    )  # fmt: skip
    sent.clear()
    first = await sync(store, calendar)
    assert sorted(first.pulled_added) == ["Call my sister", "Dentist", "Standup"]
    assert (first.fetched, first.pushed, first.conflicts) == (4, [], [])
    [note] = first.problems  # a journal entry: kept as it was, the sync goes on
    assert note.source == f"{url}diary.ics" and "VJOURNAL" in note.error
    assert "Diary" in note.raw
    assert sent == ["REPORT /theo/personal/", "REPORT /theo/personal/"]  # changes, multiget

    objects = await rows(store)
    assert sorted(objects) == ["call", "dentist", "standup"]
    assert all(r["dirty"] == 0 and r["origin"] == "caldav" and r["etag"] for r in objects.values())
    assert objects["dentist"]["href"] == f"{url}dentist.ics"
    assert (objects["dentist"]["location"], objects["call"]["kind"]) == ("Main St", "todo")
    standup = calstore.load(objects["standup"])
    weeks = list(recurrence.occurrences(standup, datetime(2024, 1, 1, tzinfo=UTC),
                                        datetime(2024, 1, 20, tzinfo=UTC), TZ))  # fmt: skip
    assert [(o.start.astimezone(UTC).hour, o.summary) for o in weeks] == [
        (9, "Standup"), (10, "Standup (late)"),
    ]  # fmt: skip
    # The pulled reminder is in the scheduler's queue: 10 minutes before it is due.
    [queued] = await store.query(
        "SELECT * FROM schedule WHERE user_id = 'theo' AND object_id = ?", (objects["call"]["id"],)
    )
    assert datetime.fromisoformat(queued["due_at"]) == due - timedelta(minutes=10)

    sent.clear()
    second = await sync(store, calendar)
    assert sent == ["REPORT /theo/personal/"]  # only "what changed since the token?"
    assert (second.fetched, second.pulled_added, second.pulled_updated) == (0, [], [])
    assert (second.pulled_removed, second.pushed, second.problems) == ([], [], [])
    assert second.summary() == "Personal: up to date"
    assert len(await store.query("SELECT * FROM cal_problems")) == 1  # kept, not doubled


async def test_changes_here_reach_the_phone(
    store: Store, server: Radicale, sent: list[str]
) -> None:
    url = make_calendar(server, "theo")
    phone = Phone(server, "theo")
    phone.put("/theo/personal/standup.ics", STANDUP)
    calendar = await account(store, server)
    await sync(store, calendar)

    lunch = ical.new_event("Lunch with Ana", datetime(2024, 3, 5, 12, 30, tzinfo=TZ),
                           location="Café", uid="lunch 1/2@os1")  # fmt: skip
    await put_local(store, calendar, lunch)
    # Put without saying it changed (as an import might): never on the server, so sent too.
    tea = ical.new_event("Tea", datetime(2024, 3, 6, 16, tzinfo=TZ), uid="tea")
    await store.write(
        lambda c: calstore.put_resource(c, "theo", calendar, tea, origin="import", tz=TZ)
    )
    sent.clear()
    report = await sync(store, calendar)
    assert (report.pushed, report.pulled_added, report.fetched) == (
        ["Lunch with Ana", "Tea"],
        [],
        0,
    )
    assert "SUMMARY:Tea" in (phone.get("/theo/personal/tea.ics") or "")
    href = (await rows(store))["lunch 1/2@os1"]["href"]
    assert href.startswith(url) and href.endswith(".ics") and "/" not in href[len(url) :]
    assert [s for s in sent if s.startswith("PUT")] == [
        f"PUT {urlsplit(href).path}",
        "PUT /theo/personal/tea.ics",
    ]
    on_phone = phone.get(href.removeprefix(server.url.rstrip("/")))
    assert on_phone is not None and "SUMMARY:Lunch with Ana" in on_phone
    assert "TZID=Europe/Berlin" in on_phone and "LOCATION:Café" in on_phone
    row = (await rows(store))["lunch 1/2@os1"]
    assert row["dirty"] == 0 and row["etag"]

    # An edit of a recurring event keeps its changed instance.
    await edit(store, calendar, "standup", "Team standup")
    report = await sync(store, calendar)
    assert report.pushed == ["Team standup"] and report.conflicts == []
    text = phone.get("/theo/personal/standup.ics") or ""
    assert "SUMMARY:Team standup" in text and "SUMMARY:Standup (late)" in text
    assert "RECURRENCE-ID:20240115T090000Z" in text
    assert (await rows(store))["standup"]["dirty"] == 0

    # A deletion here deletes it there.
    await store.write(lambda c: calstore.delete(c, "theo", row["id"], keep_tombstone=True))
    report = await sync(store, calendar)
    assert report.deleted_remote == ["Lunch with Ana"] and report.pulled_removed == []
    assert phone.get(href.removeprefix(server.url.rstrip("/"))) is None
    assert sorted(await rows(store)) == ["standup", "tea"]

    sent.clear()
    quiet = await sync(store, calendar)
    assert sent == ["REPORT /theo/personal/"] and quiet.summary().endswith("up to date")


async def test_changes_on_the_phone_arrive(store: Store, server: Radicale) -> None:
    make_calendar(server, "theo")
    phone = Phone(server, "theo")
    due = stamp(datetime.now(UTC) + timedelta(days=2))
    alarm = ("BEGIN:VALARM", "ACTION:DISPLAY", "DESCRIPTION:x", "TRIGGER:PT0S", "END:VALARM")
    phone.put("/theo/personal/pay.ics", vcal(vevent("pay", "Pay rent", due, f"DUE:{due}",
                                                    *alarm, kind="VTODO")))  # fmt: skip
    phone.put("/theo/personal/gym.ics", vcal(vevent("gym", "Gym", "20240305T180000Z")))
    calendar = await account(store, server)
    await sync(store, calendar)
    pay = (await rows(store))["pay"]
    assert await store.query("SELECT * FROM schedule WHERE object_id = ?", (pay["id"],))

    phone.put("/theo/personal/gym.ics", vcal(vevent("gym", "Gym (legs)", "20240305T190000Z")))
    phone.delete("/theo/personal/pay.ics")
    report = await sync(store, calendar)
    assert (report.pulled_updated, report.pulled_removed, report.fetched) == (
        ["Gym (legs)"], ["Pay rent"], 1,
    )  # fmt: skip
    objects = await rows(store)
    assert sorted(objects) == ["gym"] and objects["gym"]["summary"] == "Gym (legs)"
    assert objects["gym"]["starts_at"] == "2024-03-05T19:00:00+00:00"
    assert await store.query("SELECT * FROM schedule WHERE object_id = ?", (pay["id"],)) == []
    assert "1 changed, 1 removed from the server" in report.summary()


async def test_both_changed_the_server_wins_and_nothing_is_lost(
    store: Store, server: Radicale
) -> None:
    make_calendar(server, "theo", name="Personal")
    phone = Phone(server, "theo")
    for uid in ("dentist", "gym", "party"):
        phone.put(f"/theo/personal/{uid}.ics", vcal(vevent(uid, uid.title(), "20240301T090000Z")))
    calendar = await account(store, server)
    await sync(store, calendar)

    # Changed on both sides: the phone's version wins here, ours is kept as a problem.
    phone.put("/theo/personal/dentist.ics", vcal(vevent("dentist", "Dentist at 11",
                                                        "20240301T110000Z")))  # fmt: skip
    await edit(store, calendar, "dentist", "Dentist with Ana")
    # Deleted on the phone, changed here: ours goes back to the server.
    phone.delete("/theo/personal/gym.ics")
    await edit(store, calendar, "gym", "Gym with Bob")
    # Deleted here, changed on the phone: the phone's version stays.
    phone.put("/theo/personal/party.ics", vcal(vevent("party", "Party!", "20240301T200000Z")))
    party = (await rows(store))["party"]
    await store.write(lambda c: calstore.delete(c, "theo", party["id"], keep_tombstone=True))
    # Made on both sides with one UID (an invitation accepted twice): the phone's stays.
    phone.put("/theo/personal/call.ics", vcal(vevent("call", "Call (phone)", "20240301")))
    call = ical.new_event("Call (here)", datetime(2024, 3, 1, 9, tzinfo=TZ), uid="call")
    await put_local(store, calendar, call)

    report = await sync(store, calendar)
    assert len(report.conflicts) == 4, report.conflicts
    assert "Call (phone)" in (phone.get("/theo/personal/call.ics") or "")
    objects = await rows(store)
    assert objects["dentist"]["summary"] == "Dentist at 11" and objects["dentist"]["dirty"] == 0
    assert (objects["call"]["summary"], objects["call"]["dirty"]) == ("Call (phone)", 0)
    assert "Dentist at 11" in (phone.get("/theo/personal/dentist.ics") or "")
    assert "SUMMARY:Gym with Bob" in (phone.get("/theo/personal/gym.ics") or "")
    assert objects["gym"]["dirty"] == 0 and objects["gym"]["etag"]
    assert objects["party"]["summary"] == "Party!" and objects["party"]["deleted_at"] is None

    kept = {r["error"]: r for r in await store.query("SELECT * FROM cal_problems")}
    dentist = (
        "conflict: your change to 'Dentist with Ana' was not sent because it changed on the "
        "server; your version is kept here"
    )
    assert sorted(kept) == sorted([
        dentist,
        "conflict: your change to 'Call (here)' was not sent because it changed on the server; "
        "your version is kept here",
        "conflict: your deletion of 'Party' was not sent because it changed on the server; "
        "your version is kept here",
    ])  # fmt: skip
    assert "SUMMARY:Dentist with Ana" in kept[dentist]["raw"]
    assert kept[dentist]["source"] == "Personal (CalDAV)"

    again = await sync(store, calendar)
    assert (again.conflicts, again.pushed, again.fetched) == ([], [], 0)


async def test_reminders_go_to_the_phone_with_their_alarm_and_rule(
    store: Store, server: Radicale
) -> None:
    make_calendar(server, "theo")
    calendar = await account(store, server)
    due = datetime.now(TZ).replace(microsecond=0) + timedelta(hours=3)
    todo = ical.new_todo("Water the plants", due, rrule={"FREQ": "WEEKLY", "BYDAY": "MO"})
    await put_local(store, calendar, todo)
    report = await sync(store, calendar)
    assert report.pushed == ["Water the plants"]
    href = (await rows(store))[todo.uid]["href"]
    text = Phone(server, "theo").get(href.removeprefix(server.url.rstrip("/"))) or ""
    [back] = ical.parse(text).resources
    assert back.kind == "todo" and back.uid == todo.uid
    assert "RRULE:FREQ=WEEKLY;BYDAY=MO" in text and "BEGIN:VALARM" in text
    assert back.main.decoded("DUE") == due


async def test_read_only_calendars_keep_local_changes_as_problems(
    store: Store, tmp_path: Path, sent: list[str]
) -> None:
    with shared_server(tmp_path / "shared", {"theo": "s3cret", "ana": "other"}) as server:
        url = make_calendar(server, "theo", "family", name="Family")
        Phone(server, "theo").put("/theo/family/trip.ics", vcal(vevent("trip", "Trip",
                                                                      "20240601")))  # fmt: skip
        calendar = await account(store, server, "ana", url)  # Theo's calendar, shared
        [row] = await store.query("SELECT read_only FROM calendars WHERE id = ?", (calendar,))
        assert row["read_only"] == 1  # the server says Ana may read, not write
        assert (await sync(store, calendar, "ana")).pulled_added == ["Trip"]

        async def change(summary: str) -> None:
            def write(c: sqlite3.Connection) -> None:
                row = c.execute("SELECT * FROM cal_objects WHERE user_id = 'ana'").fetchone()
                resource = calstore.load(row)
                resource.main.pop("SUMMARY")
                resource.main.add("SUMMARY", summary)
                calstore.put_resource(c, "ana", calendar, resource, origin="os1", tz=TZ,
                                      dirty=True)  # fmt: skip

            await store.write(write)

        await change("Trip to Rome")
        sent.clear()
        report = await sync(store, calendar, "ana")
        assert not [s for s in sent if s.startswith("PUT")]  # known read-only: not even tried
        [problem] = report.problems
        assert "read-only" in problem.error and "Trip to Rome" in problem.raw
        [row] = await store.query("SELECT * FROM cal_objects WHERE user_id = 'ana'")
        assert (row["summary"], row["dirty"]) == ("Trip", 0)  # what the server has

        # A server that does not say so refuses the PUT (403): the same outcome, and noted.
        await store.execute_write("UPDATE calendars SET read_only = 0")
        await change("Trip to Paris")
        report = await sync(store, calendar, "ana")
        assert report.read_only and "read-only on the server" in report.summary()
        assert [s.split()[0] for s in sent if s.startswith("PUT")] == ["PUT"]
        [row] = await store.query("SELECT * FROM calendars WHERE id = ?", (calendar,))
        assert row["read_only"] == 1
        [obj] = await store.query("SELECT * FROM cal_objects WHERE user_id = 'ana'")
        assert (obj["summary"], obj["dirty"]) == ("Trip", 0)
        assert "Trip" in (Phone(server, "theo").get("/theo/family/trip.ics") or "")
        problems = await store.query("SELECT raw FROM cal_problems WHERE user_id = 'ana'")
        assert sum("Trip to Paris" in p["raw"] for p in problems) == 1


async def test_each_user_sees_only_their_own_calendars(store: Store, server: Radicale) -> None:
    make_calendar(server, "theo", name="Personal")
    make_calendar(server, "ana", name="Personal")
    Phone(server, "theo").put("/theo/personal/a.ics", vcal(vevent("a", "Theo's", "20240301")))
    Phone(server, "ana").put("/ana/personal/b.ics", vcal(vevent("b", "Ana's", "20240301")))
    theo = await account(store, server, "theo")
    ana = await account(store, server, "ana")
    await sync(store, theo, "theo")
    await sync(store, ana, "ana")
    assert [r["summary"] for r in (await rows(store, "theo")).values()] == ["Theo's"]
    assert [r["summary"] for r in (await rows(store, "ana")).values()] == ["Ana's"]
    [mine] = await store.query("SELECT url FROM calendars WHERE user_id = 'ana'")
    assert mine["url"] == f"{server.url}ana/personal/"
    # Ana's login cannot read Theo's calendar, even with its URL.
    with pytest.raises(caldav.CalDAVError, match="403"):
        await accounts.discover(f"{server.url}theo/personal/", "ana", "other")

    def dump(c: sqlite3.Connection) -> str:
        tables = [r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return "\n".join(str(tuple(row)) for t in tables for row in c.execute(f"SELECT * FROM {t}"))

    text = await store.read(dump)
    assert text.count("s3cret") == text.count("printf s3cret") > 0  # the command, never it


async def test_without_sync_collection_or_multiget_etags_and_get_do(
    store: Store, server: Radicale, sent: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    make_calendar(server, "theo")
    phone = Phone(server, "theo")
    for i in range(3):
        phone.put(f"/theo/personal/e{i}.ics", vcal(vevent(f"e{i}", f"Event {i}", "20240301")))
    journal = "BEGIN:VJOURNAL\r\nUID:diary\r\nDTSTART:20240101T100000Z\r\nEND:VJOURNAL\r\n"
    phone.put("/theo/personal/diary.ics", vcal(journal))
    real = dav.request

    async def no_reports(http: httpx.AsyncClient, method: str, *args: Any) -> str:
        if method == "REPORT":
            raise dav.DAVError("REPORT answered 501 Not Implemented", 501)
        return await real(http, method, *args)

    monkeypatch.setattr(dav, "request", no_reports)
    calendar = await account(store, server)
    sent.clear()
    first = await sync(store, calendar)
    assert len(first.pulled_added) == 3 and first.fetched == 4 and len(first.problems) == 1
    assert sorted(s for s in sent if s.startswith("GET")) == [
        "GET /theo/personal/diary.ics",
        *[f"GET /theo/personal/e{i}.ics" for i in range(3)],
    ]
    phone.delete("/theo/personal/e1.ics")
    phone.put("/theo/personal/e2.ics", vcal(vevent("e2", "Event two", "20240302")))
    sent.clear()
    second = await sync(store, calendar)
    assert (second.pulled_removed, second.pulled_updated, second.fetched) == (
        ["Event 1"], ["Event two"], 2,
    )  # fmt: skip
    # The journal has no row to remember its ETag by: fetched again, reported once.
    assert sorted(s for s in sent if s.startswith("GET")) == [
        "GET /theo/personal/diary.ics",
        "GET /theo/personal/e2.ics",
    ]
    assert second.problems == [] and len(await store.query("SELECT * FROM cal_problems")) == 1
    [row] = await store.query("SELECT sync_token FROM calendars")
    assert row["sync_token"] is None


async def test_an_expired_sync_token_starts_over(store: Store, server: Radicale) -> None:
    make_calendar(server, "theo")
    phone = Phone(server, "theo")
    phone.put("/theo/personal/a.ics", vcal(vevent("a", "A", "20240301")))
    phone.put("/theo/personal/b.ics", vcal(vevent("b", "B", "20240301")))
    calendar = await account(store, server)
    await sync(store, calendar)
    [row] = await store.query("SELECT sync_token FROM calendars")
    assert row["sync_token"] and row["sync_token"].startswith("http")
    await store.execute_write("UPDATE calendars SET sync_token = 'http://radicale.org/ns/sync/0'")
    phone.delete("/theo/personal/b.ics")
    report = await sync(store, calendar)  # radicale refuses the token (403): a full listing
    assert (report.pulled_removed, report.fetched) == (["B"], 0)
    assert sorted(await rows(store)) == ["a"]


async def test_broken_objects_are_kept_and_the_sync_goes_on(
    store: Store, server: Radicale, monkeypatch: pytest.MonkeyPatch
) -> None:
    """radicale refuses broken files, but servers that are less strict exist: the answer is
    changed on its way, as if the server had stored a broken start time."""
    url = make_calendar(server, "theo")
    phone = Phone(server, "theo")
    phone.put("/theo/personal/good.ics", vcal(vevent("good", "Good", "20240301T090000Z")))
    phone.put("/theo/personal/bad.ics", vcal(vevent("bad", "Bad", "20240302T090000Z")))

    def breaking(request: httpx.Request, headers: list[tuple[str, str]], body: bytes) -> bytes:
        return body.replace(b"DTSTART:20240302T090000Z", b"DTSTART:soon")

    rewrite(monkeypatch, breaking)
    calendar = await account(store, server)
    report = await sync(store, calendar)
    assert report.pulled_added == ["Good"]
    [problem] = report.problems
    assert problem.source == f"{url}bad.ics" and "DTSTART" in problem.error
    assert "DTSTART:soon" in problem.raw
    [kept] = await store.query("SELECT * FROM cal_problems")
    assert kept["source"] == f"{url}bad.ics"

    # Fixed on the server: it arrives, and the problem is gone.
    phone.put("/theo/personal/bad.ics", vcal(vevent("bad", "Fixed", "20240303T090000Z")))
    fixed = await sync(store, calendar)
    assert (fixed.pulled_added, fixed.problems) == (["Fixed"], [])
    assert await store.query("SELECT * FROM cal_problems") == []


async def test_sync_all_goes_on_after_a_failing_calendar(store: Store, server: Radicale) -> None:
    make_calendar(server, "theo", "home", name="Home")
    make_calendar(server, "theo", "work", name="Work")
    Phone(server, "theo").put("/theo/work/w.ics", vcal(vevent("w", "Meeting", "20240301")))
    ids = {r["name"]: r["id"] for r in await accounts.add_account(
        store, "theo", server.url, username="theo", password_command="printf s3cret")}  # fmt: skip
    home, work = ids["Home"], ids["Work"]
    await store.execute_write(
        "UPDATE calendars SET password_command = 'printf wrong' WHERE id = ?", (home,)
    )
    seen: list[str] = []

    async def on_report(report: caldav.SyncReport) -> None:
        seen.append(report.summary())

    reports = await caldav.sync_all(store, "theo", tz=TZ, on_report=on_report)
    assert sorted(r.calendar for r in reports) == ["Home", "Work"]
    reports.sort(key=lambda r: r.calendar)
    seen.sort()
    assert reports[0].error is not None and "refused the login" in reports[0].error
    assert reports[1].pulled_added == ["Meeting"]
    assert seen == [r.summary() for r in reports]
    assert seen[0].startswith("Home: not synced:") and seen[1] == "Work: 1 new from the server"
    # Adding the account again refreshes the rows instead of doubling them.
    again = await accounts.add_account(store, "theo", server.url, username="theo",
                                     password_command="printf s3cret")  # fmt: skip
    assert sorted(r["id"] for r in again) == sorted([home, work])


async def test_an_edit_made_during_a_sync_is_not_overwritten(
    store: Store, server: Radicale, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_calendar(server, "theo")
    phone = Phone(server, "theo")
    phone.put("/theo/personal/a.ics", vcal(vevent("a", "A", "20240301")))
    phone.put("/theo/personal/b.ics", vcal(vevent("b", "B", "20240301")))
    calendar = await account(store, server)
    await sync(store, calendar)
    phone.put("/theo/personal/a.ics", vcal(vevent("a", "A (phone)", "20240301")))
    phone.delete("/theo/personal/b.ics")
    await edit(store, calendar, "a", "A (here)")
    await edit(store, calendar, "b", "B (here)")

    async def too_late(self: Any) -> None:  # the edits arrive after the push went by
        return None

    with monkeypatch.context() as m:
        m.setattr(caldav._Sync, "push", too_late)
        pulled = await sync(store, calendar)
    assert pulled.pulled_updated == [] and pulled.pulled_removed == []
    assert (
        len(pulled.conflicts) == 1 and "'B (here)' was deleted on the server" in pulled.conflicts[0]
    )
    objects = await rows(store)
    assert (objects["a"]["summary"], objects["a"]["dirty"]) == ("A (here)", 1)
    assert (objects["b"]["summary"], objects["b"]["href"], objects["b"]["dirty"]) == (
        "B (here)", None, 1,
    )  # fmt: skip

    after = await sync(store, calendar)  # the next sync decides, with If-Match
    assert after.pushed == ["B (here)"] and len(after.conflicts) == 1
    objects = await rows(store)
    assert objects["a"]["summary"] == "A (phone)" and objects["b"]["dirty"] == 0
    assert "B (here)" in (phone.get(urlsplit(objects["b"]["href"]).path) or "")


async def test_a_server_that_sends_no_etag_after_a_put_is_asked(
    store: Store, server: Radicale, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RFC 4791 5.3.4: no ETag means the server stored something else than was sent."""
    make_calendar(server, "theo")

    def no_etag(request: httpx.Request, headers: list[tuple[str, str]], body: bytes) -> bytes:
        if request.method == "PUT":
            headers[:] = [(k, v) for k, v in headers if k.lower() != "etag"]
        return body

    sent = rewrite(monkeypatch, no_etag)
    calendar = await account(store, server)
    await put_local(store, calendar, ical.new_event("Tea", datetime(2024, 3, 1, 16, tzinfo=TZ)))
    sent.clear()
    report = await sync(store, calendar)
    assert report.pushed == ["Tea"] and [s.split()[0] for s in sent] == ["PUT", "GET", "REPORT"]
    [row] = (await rows(store)).values()
    text = Phone(server, "theo").get(urlsplit(row["href"]).path) or ""
    assert row["dirty"] == 0 and row["etag"] and "SUMMARY:Tea" in text
    assert row["ics"] == ical.parse(text).resources[0].to_ical()  # the server's version
    sent.clear()
    again = await sync(store, calendar)
    assert (sent, again.fetched, again.pushed) == (["REPORT /theo/personal/"], 0, [])
