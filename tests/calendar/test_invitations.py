"""Invitations in mail become proposals, never events by themselves."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from os1.actions import ActionError, Effect, Tool, ToolContext, ToolResult
from os1.calendar import ical, importer, invitations
from os1.calendar import store as calstore
from os1.calendar.invitations import describe_invitation, scan
from os1.companion import Companion
from os1.config import Config
from os1.hookspecs import hookimpl
from os1.mail.importer import import_path as import_mail
from os1.testing import ScriptedModel, registered_tools

USER = "theo"
TZ = ZoneInfo("Europe/Berlin")
NOW = datetime.now(UTC)
SOON = (NOW + timedelta(days=9)).astimezone(TZ).replace(hour=15, minute=0, second=0, microsecond=0)


async def _add_event(ctx: ToolContext, args: dict[str, Any]) -> ToolResult:
    [event] = ical.parse(args["ics"]).resources
    store = ctx.companion.store

    def write(c):  # type: ignore[no-untyped-def]
        calendar = calstore.calendar_id(c, ctx.user, args.get("calendar") or "Personal")
        return calstore.put_resource(c, ctx.user, calendar, event, origin="mail", tz=TZ)

    put = await store.write(write)
    return ToolResult(f"added #{put.object_id}")


async def _delete_event(ctx: ToolContext, args: dict[str, Any]) -> ToolResult:
    await ctx.companion.store.write(
        lambda c: calstore.delete(c, ctx.user, int(args["object_id"]), keep_tombstone=False)
    )
    return ToolResult("deleted")


class CalendarTools:
    """Stand-ins for the calendar's add_event and delete_event: same names and effects."""

    effect = Effect.OUTWARD

    @hookimpl
    def register_tools(self, register: Any) -> None:
        ics = {"type": "object", "properties": {"ics": {"type": "string"},
               "mail_id": {"type": "integer"}, "calendar": {"type": "string"}},
               "required": ["ics"]}  # fmt: skip
        obj = {"type": "object", "properties": {"object_id": {"type": "integer"}}}
        register(Tool("add_event", "Add an event.", self.effect, _add_event, ics))
        register(Tool("delete_event", "Delete an event.", Effect.DESTRUCTIVE, _delete_event, obj))


async def _open(config: Config, tools: CalendarTools) -> Companion:
    return await Companion.open(
        config, model=ScriptedModel(), embedder=None, tools=registered_tools(tools)
    )


@pytest.fixture
async def companion(config: Config) -> AsyncIterator[Companion]:
    c = await _open(config, CalendarTools())
    yield c
    await c.close()


def vevent(
    uid: str = "sync-1@example.com",
    start: datetime = SOON,
    *extra: str,
    sequence: int = 0,
    summary: str = "Project sync",
    stamp: str = "20260101T000000Z",
) -> str:
    lines = [
        f"UID:{uid}",
        f"DTSTAMP:{stamp}",
        f"SEQUENCE:{sequence}",
        f"DTSTART;TZID=Europe/Berlin:{start:%Y%m%dT%H%M%S}",
        f"DTEND;TZID=Europe/Berlin:{start + timedelta(hours=1):%Y%m%dT%H%M%S}",
        f"SUMMARY:{summary}",
        "ORGANIZER;CN=Paul:mailto:paul@example.com",
        "ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:theo@example.com",
        *extra,
    ]
    return "BEGIN:VEVENT\r\n" + "".join(f"{x}\r\n" for x in lines) + "END:VEVENT\r\n"


def calendar(*events: str, method: str = "REQUEST") -> str:
    head = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Example//EN\r\n"
    head += f"METHOD:{method}\r\n" if method else ""
    return head + "".join(events) + "END:VCALENDAR\r\n"


def mail(
    i: int,
    ics: str | None = None,
    *,
    attach: str | None = None,
    method: str = "REQUEST",
    sender: str = "Paul <paul@example.com>",
) -> bytes:
    """A mail as Thunderbird/Outlook send one: text, HTML and an inline text/calendar
    part (`ics`), and/or an attached .ics file (`attach`)."""
    m = EmailMessage()
    m["From"], m["To"] = sender, "theo@example.com"
    m["Subject"], m["Message-ID"] = f"Invitation {i}", f"<inv{i}@example.com>"
    m.set_content("You are invited. Please come.")
    m.add_alternative("<p>You are invited. Please come.</p>", subtype="html")
    if ics is not None:
        m.add_alternative(ics, subtype="calendar", params={"method": method})
    if attach is not None:
        m.add_attachment(attach.encode(), maintype="application", subtype="ics",
                         filename="invite.ics")  # fmt: skip
    return bytes(m)


async def deliver(companion: Companion, tmp_path: Path, raw: bytes, **kw: Any) -> int:
    """Import one .eml the way a user's mail arrives; returns its mail id."""
    path = tmp_path / f"{hashlib.sha256(raw).hexdigest()[:16]}.eml"
    path.write_bytes(raw)
    report = await import_mail(companion.store, USER, path, workers=1, **kw)
    assert report.added == 1
    row = await companion.store.query_one("SELECT max(id) FROM mail_messages")
    assert row is not None
    return int(row[0])


async def objects(companion: Companion) -> list[Any]:
    return await companion.store.query(
        "SELECT * FROM cal_objects WHERE user_id = ? AND deleted_at IS NULL", (USER,)
    )


async def action(companion: Companion, action_id: int) -> Any:
    row = await companion.store.query_one("SELECT * FROM actions WHERE id = ?", (action_id,))
    assert row is not None
    return row


async def test_an_inline_invitation_is_only_proposed(companion: Companion, tmp_path: Path) -> None:
    mail_id = await deliver(companion, tmp_path, mail(1, calendar(vevent())))
    # The inline calendar is data: kept as an attachment, never in the body a model reads.
    body = await companion.store.query_one(
        "SELECT body FROM mail_messages WHERE id = ?", (mail_id,)
    )
    assert body is not None and "BEGIN:VCALENDAR" not in body["body"]
    kept = await companion.store.query("SELECT content_type FROM mail_attachments")
    assert [a["content_type"] for a in kept] == ["text/calendar"]
    [inv] = await scan(companion, USER)
    assert (inv.mail_id, inv.uid, inv.method, inv.summary) == (
        mail_id, "sync-1@example.com", "REQUEST", "Project sync"
    )  # fmt: skip
    assert inv.start == SOON
    row = await action(companion, inv.action_id)  # type: ignore[arg-type]
    assert (row["tool"], row["status"], row["requested_by"]) == ("add_event", "proposed", "mail")
    args = json.loads(row["arguments"])
    assert set(args) == {"ics", "mail_id"} and args["mail_id"] == mail_id
    [proposed] = ical.parse(args["ics"]).resources
    assert proposed.uid == "sync-1@example.com" and "METHOD" not in args["ics"]
    assert ical.text_of(proposed.main.get("ORGANIZER")) == "mailto:paul@example.com"
    assert await objects(companion) == []  # nothing added before the user says yes
    # Scanning again proposes nothing new.
    assert await scan(companion, USER) == []
    recorded = await companion.store.query("SELECT * FROM cal_invitations")
    assert [(r["mail_id"], r["uid"], r["action_id"]) for r in recorded] == [
        (mail_id, "sync-1@example.com", inv.action_id)
    ]
    # Only the user's yes adds it.
    outcome = await companion.actions.approve(USER, inv.action_id)  # type: ignore[arg-type]
    assert outcome.status == "done"
    [stored] = await objects(companion)
    assert stored["uid"] == "sync-1@example.com" and stored["summary"] == "Project sync"


async def test_inline_and_attached_copies_are_one_proposal(
    companion: Companion, tmp_path: Path
) -> None:
    ics = calendar(vevent())
    await deliver(companion, tmp_path, mail(1, ics, attach=ics))  # as Google sends them
    attachments = await companion.store.query("SELECT content_type, filename FROM mail_attachments")
    assert [(a["content_type"], a["filename"]) for a in attachments] == [
        ("text/calendar", ""),
        ("application/ics", "invite.ics"),
    ]
    assert len(await scan(companion, USER)) == 1


async def test_an_attached_ics_without_method_is_proposed(
    companion: Companion, tmp_path: Path
) -> None:
    await deliver(companion, tmp_path, mail(1, attach=calendar(vevent(), method="")))
    [inv] = await scan(companion, USER)
    assert inv.method == "PUBLISH"
    # A whole calendar attached is no invitation: kept as a problem to import by hand.
    many = calendar(*[vevent(f"h{i}", SOON + timedelta(days=i)) for i in range(12)], method="")
    mail_id = await deliver(companion, tmp_path, mail(2, attach=many))
    assert await scan(companion, USER) == []
    [problem] = await importer.problems(companion.store, USER)
    assert problem["source"] == f"mail {mail_id} (Invitation 2)"
    assert "a calendar of 12 events" in problem["error"] and problem["raw"] == many


async def test_updates_propose_again_only_when_newer(companion: Companion, tmp_path: Path) -> None:
    await deliver(companion, tmp_path, mail(1, calendar(vevent())))
    [first] = await scan(companion, USER)
    await companion.actions.approve(USER, first.action_id)  # type: ignore[arg-type]
    # The same invitation sent again (a new DTSTAMP, same SEQUENCE): in the calendar already.
    await deliver(companion, tmp_path, mail(2, calendar(vevent(stamp="20260102T000000Z"))))
    assert await scan(companion, USER) == []
    # Moved by the organizer (SEQUENCE 1): a new proposal, for the calendar it is in.
    later = SOON + timedelta(days=1)
    moved = await deliver(companion, tmp_path, mail(3, calendar(vevent(start=later, sequence=1))))
    [update] = await scan(companion, USER)
    assert (update.mail_id, update.start) == (moved, later)
    args = json.loads((await action(companion, update.action_id))["arguments"])  # type: ignore[arg-type]
    assert args["calendar"] == "Personal"
    # An older copy arriving late proposes nothing.
    await deliver(companion, tmp_path, mail(4, calendar(vevent(summary="Old copy"))))
    assert await scan(companion, USER) == []
    await companion.actions.approve(USER, update.action_id)  # type: ignore[arg-type]
    [stored] = await objects(companion)
    assert datetime.fromisoformat(stored["starts_at"]) == later
    rows = await companion.store.query("SELECT mail_id, sequence, action_id FROM cal_invitations")
    assert [(r["sequence"], r["action_id"] is not None) for r in rows] == [
        (0, True), (0, False), (1, True), (0, False)
    ]  # fmt: skip


async def test_cancellations(companion: Companion, tmp_path: Path) -> None:
    weekly = vevent("weekly@example.com", SOON, "RRULE:FREQ=WEEKLY;COUNT=4", summary="Course")
    await deliver(companion, tmp_path, mail(1, calendar(vevent(), weekly)))
    for inv in await scan(companion, USER):
        await companion.actions.approve(USER, inv.action_id)  # type: ignore[arg-type]
    stored = {r["uid"]: r["id"] for r in await objects(companion)}
    assert set(stored) == {"sync-1@example.com", "weekly@example.com"}
    # A whole event called off: its deletion is proposed.
    cancel = calendar(vevent(sequence=1, summary="Cancelled: Project sync"), method="CANCEL")
    await deliver(companion, tmp_path, mail(2, cancel, method="CANCEL"))
    [off] = await scan(companion, USER)
    row = await action(companion, off.action_id)  # type: ignore[arg-type]
    assert (row["tool"], json.loads(row["arguments"])) == (
        "delete_event", {"object_id": stored["sync-1@example.com"]}
    )  # fmt: skip
    assert len(await objects(companion)) == 2  # still there until the user says yes
    # One occurrence called off: the series stays, without it.
    second = SOON + timedelta(days=7)
    rid = f"RECURRENCE-ID;TZID=Europe/Berlin:{second:%Y%m%dT%H%M%S}"
    instance = vevent("weekly@example.com", second, rid, sequence=1, summary="Course")
    await deliver(companion, tmp_path, mail(3, calendar(instance, method="CANCEL")))
    [one] = await scan(companion, USER)
    args = json.loads((await action(companion, one.action_id))["arguments"])  # type: ignore[arg-type]
    assert (one.method, set(args)) == ("CANCEL", {"ics", "mail_id", "calendar"})
    [series] = ical.parse(args["ics"]).resources
    assert [d.dt for d in series.main["EXDATE"].dts] == [second]
    # A cancellation for something not in the calendar proposes nothing.
    unknown = calendar(vevent("never-seen@example.com"), method="CANCEL")
    await deliver(companion, tmp_path, mail(4, unknown, method="CANCEL"))
    assert await scan(companion, USER) == []
    await companion.actions.approve(USER, off.action_id)  # type: ignore[arg-type]
    assert [r["uid"] for r in await objects(companion)] == ["weekly@example.com"]


async def test_broken_calendar_data_is_a_problem(companion: Companion, tmp_path: Path) -> None:
    cut = calendar(vevent()).split("SUMMARY")[0]
    first = await deliver(companion, tmp_path, mail(1, attach=cut))
    junk = await deliver(companion, tmp_path, mail(2, attach="this is not a calendar at all"))
    fine = await deliver(companion, tmp_path, mail(3, calendar(vevent("fine@example.com"))))
    [inv] = await scan(companion, USER)
    assert inv.mail_id == fine
    problems = {p["source"]: p for p in await importer.problems(companion.store, USER)}
    assert problems[f"mail {first} (Invitation 1)"]["error"] == (
        "the event is cut off: END:VEVENT is missing"
    )
    assert "DTSTART;TZID=Europe/Berlin" in problems[f"mail {first} (Invitation 1)"]["raw"]
    assert "not an iCalendar file" in problems[f"mail {junk} (Invitation 2)"]["error"]
    assert problems[f"mail {junk} (Invitation 2)"]["raw"] == "this is not a calendar at all"
    assert await scan(companion, USER) == []
    assert len(await importer.problems(companion.store, USER)) == 2  # not read twice


async def test_own_and_past_invitations_propose_nothing(
    companion: Companion, tmp_path: Path
) -> None:
    own = mail(1, calendar(vevent("mine@example.com")), sender="Theo <theo@example.com>")
    await deliver(companion, tmp_path, own, me=frozenset({"theo@example.com"}))
    past = vevent("past@example.com", SOON - timedelta(days=400))
    await deliver(companion, tmp_path, mail(2, calendar(past)))
    assert await scan(companion, USER) == []
    rows = await companion.store.query("SELECT uid, action_id FROM cal_invitations ORDER BY id")
    assert [(r["uid"], r["action_id"]) for r in rows] == [
        ("mine@example.com", None), ("past@example.com", None)
    ]  # fmt: skip


async def test_a_tool_that_would_act_at_once_is_never_used(config: Config, tmp_path: Path) -> None:
    eager = CalendarTools()
    eager.effect = Effect.LOCAL_WRITE  # would run without asking
    companion = await _open(config, eager)
    try:
        await deliver(companion, tmp_path, mail(1, calendar(vevent())))
        with pytest.raises(ActionError, match="add_event tool is missing or does not ask"):
            await scan(companion, USER)
        assert await objects(companion) == []
        assert await companion.store.query("SELECT * FROM actions") == []
    finally:
        await companion.close()


def test_describe_invitation() -> None:
    this_year = datetime.now(TZ).year
    when = datetime(this_year, 12, 3, 15, tzinfo=TZ)
    [r] = ical.parse(calendar(vevent(start=when))).resources
    assert describe_invitation(r, TZ) == (
        f"Project sync — {when:%a} 3 Dec 15:00–16:00, from paul@example.com"
    )
    # In another zone the times are the reader's.
    assert "09:00–10:00" in describe_invitation(r, ZoneInfo("America/New_York"))
    day = date(this_year + 1, 7, 14)
    end = day + timedelta(days=3)
    allday = (
        f"BEGIN:VEVENT\r\nUID:trip\r\nDTSTART;VALUE=DATE:{day:%Y%m%d}\r\n"
        f"DTEND;VALUE=DATE:{end:%Y%m%d}\r\nSUMMARY:Trip\r\nLOCATION:Lisbon\r\n"
        "RRULE:FREQ=YEARLY;INTERVAL=2\r\nEND:VEVENT\r\n"
    )
    [trip] = ical.parse(calendar(allday)).resources
    assert describe_invitation(trip, TZ) == (
        f"Trip — {day:%a} 14 Jul {day.year} – {day + timedelta(days=2):%a} 16 Jul {day.year} "
        "(all day) (Lisbon), every 2 years"
    )


def test_calendar_parts_of_a_raw_message() -> None:
    ics = calendar(vevent())
    parts = invitations.calendar_parts(mail(1, ics, attach=ics))
    assert [m for m, _ in parts] == ["REQUEST", ""]
    assert all(b"UID:sync-1@example.com" in data for _, data in parts)
