"""The calendar tools through the action log: adding asks first, moving and deleting ask and
undo, an invitation from mail stays a proposal until the user's yes."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from os1.actions import Proposal
from os1.calendar import agenda, ical
from os1.calendar import store as calstore
from os1.companion import Companion
from os1.config import Config
from os1.testing import ScriptedModel

TZ = ZoneInfo("Europe/Berlin")


@pytest.fixture
async def cal(config: Config, model: ScriptedModel) -> Companion:
    from os1 import plugins

    c = await Companion.open(
        config.with_(timezone="Europe/Berlin"), embedder=None, model=model, tools=plugins.tools()
    )
    yield c  # type: ignore[misc]
    await c.close()


async def _yes(proposal: Proposal) -> bool:
    return True


async def _no(proposal: Proposal) -> bool:
    return False


async def _objects(c: Companion) -> list[dict[str, object]]:
    return [
        dict(r) for r in await c.store.query("SELECT * FROM cal_objects WHERE user_id = 'theo'")
    ]


async def test_adding_an_event_asks_and_a_no_adds_nothing(cal: Companion) -> None:
    args = {"summary": "Dentist", "start": "2026-12-03T10:30", "timezone": "Europe/Berlin"}
    outcome = await cal.actions.request("theo", "add_event", args, requested_by="user", approve=_no)
    assert outcome.status == "declined"
    assert await _objects(cal) == []
    waiting = await cal.actions.request(
        "theo", "add_event", args, requested_by="user", approve=None
    )
    assert waiting.status == "proposed"
    assert "Dentist" in waiting.output and "10:30" in waiting.output
    assert await _objects(cal) == []
    done = await cal.actions.approve("theo", waiting.action_id)
    assert done.status == "done", done.output
    rows = await _objects(cal)
    assert [r["summary"] for r in rows] == ["Dentist"]
    # 10:30 in Berlin in December is 09:30 UTC.
    assert rows[0]["starts_at"] == "2026-12-03T09:30:00+00:00"
    await cal.actions.undo("theo", done.action_id)
    assert await _objects(cal) == []


async def test_move_and_delete_ask_and_undo_restores(cal: Companion) -> None:
    def write(c):  # type: ignore[no-untyped-def]
        cid = calstore.calendar_id(c, "theo")
        event = ical.new_event("Lunch with Amy", datetime(2026, 12, 4, 13, 0, tzinfo=TZ))
        return calstore.put_resource(c, "theo", cid, event, origin="test", tz=TZ).object_id

    object_id = await cal.store.write(write)
    moved = await cal.actions.request(
        "theo", "move_event", {"object_id": object_id, "start": "2026-12-05T12:00"},
        requested_by="user", approve=_yes,
    )  # fmt: skip
    assert moved.status == "done", moved.output
    lo = datetime(2026, 12, 1, tzinfo=TZ)
    items = await agenda.items(cal.store, "theo", lo, lo + timedelta(days=10), TZ)
    assert [(i.start.day, i.start.hour, i.occurrence.end.hour) for i in items] == [(5, 12, 13)]
    await cal.actions.undo("theo", moved.action_id)
    items = await agenda.items(cal.store, "theo", lo, lo + timedelta(days=10), TZ)
    assert [(i.start.day, i.start.hour) for i in items] == [(4, 13)]

    gone = await cal.actions.request(
        "theo", "delete_event", {"object_id": object_id}, requested_by="user", approve=_yes
    )
    assert gone.status == "done"
    assert await agenda.items(cal.store, "theo", lo, lo + timedelta(days=10), TZ) == []
    await cal.actions.undo("theo", gone.action_id)
    assert len(await agenda.items(cal.store, "theo", lo, lo + timedelta(days=10), TZ)) == 1


async def test_an_invitation_is_shown_whole_and_added_only_on_yes(cal: Companion) -> None:
    invite = ical.new_event(
        "Project sync", datetime(2026, 12, 3, 15, 0, tzinfo=TZ), location="Room 4"
    )
    invite.main.add("ORGANIZER", "mailto:paul@example.com")
    args = {"ics": invite.to_ical(), "mail_id": 12, "timezone": "Europe/Berlin"}
    outcome = await cal.actions.request(
        "theo", "add_event", args, requested_by="mail", approve=None
    )
    assert outcome.status == "proposed"
    assert "Project sync" in outcome.output and "paul@example.com" in outcome.output
    assert "mail #12" in outcome.output and "15:00" in outcome.output
    assert await _objects(cal) == []
    await cal.actions.approve("theo", outcome.action_id)
    rows = await _objects(cal)
    assert rows[0]["summary"] == "Project sync" and rows[0]["origin"] == "mail:12"


async def test_another_users_event_cannot_be_moved(cal: Companion) -> None:
    def write(c):  # type: ignore[no-untyped-def]
        cid = calstore.calendar_id(c, "amy")
        event = ical.new_event("Amy's party", datetime(2026, 12, 4, 20, 0, tzinfo=TZ))
        return calstore.put_resource(c, "amy", cid, event, origin="test", tz=TZ).object_id

    object_id = await cal.store.write(write)
    outcome = await cal.actions.request(
        "theo", "delete_event", {"object_id": object_id}, requested_by="user", approve=_yes
    )
    assert outcome.status == "failed" and "no event" in outcome.output
    assert len(await cal.store.query("SELECT 1 FROM cal_objects WHERE user_id = 'amy'")) == 1


async def test_bad_times_are_refused_clearly(cal: Companion) -> None:
    outcome = await cal.actions.request(
        "theo", "add_event", {"summary": "X", "start": "next blursday"},
        requested_by="user", approve=_yes,
    )  # fmt: skip
    assert outcome.status == "failed" and "is not a date" in outcome.output
