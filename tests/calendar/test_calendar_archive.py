"""Calendars travel in the OS1 export: objects whole, sync state, settings, what rang."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from os1 import archive
from os1.archive_records import ArchiveError
from os1.calendar import agenda, ical
from os1.calendar import store as calstore
from os1.scheduler import settings as schedsettings
from os1.store import Store

TZ = ZoneInfo("Europe/Berlin")


async def test_calendars_round_trip_through_the_export(store: Store, tmp_path: Path) -> None:
    soon = datetime.now(TZ).replace(microsecond=0) + timedelta(days=2)

    def write(c):  # type: ignore[no-untyped-def]
        local = calstore.calendar_id(c, "theo")
        work = calstore.calendar_id(c, "theo", "Work")
        c.execute(
            "UPDATE calendars SET url = 'https://dav.example/theo/work/', username = 'theo', "
            "password_command = 'pass show dav' WHERE id = ?",
            (work,),
        )
        weekly = ical.new_event("Standup", soon, rrule={"FREQ": "WEEKLY", "COUNT": 3})
        calstore.put_resource(
            c, "theo", work, weekly, origin="caldav", tz=TZ, href="/theo/work/a.ics", etag='"1"'
        )
        reminder = ical.new_todo("Call Anna", soon + timedelta(hours=3))
        calstore.put_resource(c, "theo", local, reminder, origin="chat", tz=TZ)
        calstore.add_problem(c, "theo", ical.Problem("old.ics", "no start", "BEGIN:VEVENT…"))
        schedsettings.change(c, "theo", quiet_start="23:00", timezone="Europe/Berlin")

    await store.write(write)
    data = await archive.export_user(store, "theo")
    assert {r["name"] for r in data["calendars"]} == {"Personal", "Work"}
    assert not any("password" == k for r in data["calendars"] for k in r)

    fresh = await Store.open(tmp_path / "fresh.db")
    try:
        counts = await archive.import_user(fresh, data, "theo")
        assert counts["calendars"] == 2 and counts["calendar entries"] == 2
        lo = soon - timedelta(days=1)
        items = await agenda.items(fresh, "theo", lo, lo + timedelta(days=30), TZ)
        assert [i.occurrence.summary for i in items].count("Standup") == 3
        row = await fresh.query_one("SELECT href, etag FROM cal_objects WHERE uid = ?",
                                    (data["calendar_objects"][0]["uid"],))  # fmt: skip
        assert row is not None and (row["href"], row["etag"]) == ("/theo/work/a.ics", '"1"')
        due = await fresh.query("SELECT due_at FROM schedule WHERE user_id = 'theo'")
        assert [r["due_at"] for r in due] == [
            (soon + timedelta(hours=3)).astimezone(UTC).isoformat()
        ]
        settings = await fresh.read(lambda c: schedsettings.load(c, "theo"))
        assert settings.quiet_start == "23:00"
        assert len(await fresh.query("SELECT 1 FROM cal_problems")) == 1
    finally:
        await fresh.close()


def test_a_calendar_object_in_an_unknown_calendar_is_refused() -> None:
    data = {
        "format": "os1-export", "version": 3, "user": "theo", "conversations": [],
        "summaries": [], "actions": [], "calendars": [], "people": [], "letters": [],
        "mail_accounts": [], "mail_drafts": [], "contact_problems": [], "contact_sources": [],
        "calendar_objects": [{"calendar": "Nope", "uid": "x", "kind": "event", "ics": "",
                              "origin": "t", "href": None, "etag": None}],
    }  # fmt: skip
    with pytest.raises(ArchiveError, match="unknown calendar 'Nope'"):
        archive.check_archive(data)
