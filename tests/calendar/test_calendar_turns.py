"""The calendar in conversation: answered from the agenda without the model, reminders set
at once, changes to events proposed — and asked before memory, which would otherwise say
it was never told."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from os1 import plugins
from os1.calendar import ical, reminders
from os1.calendar import store as calstore
from os1.companion import Companion
from os1.config import Config
from os1.testing import ScriptedModel

TZ = ZoneInfo("Europe/Berlin")


@pytest.fixture
async def cal(config: Config, model: ScriptedModel) -> AsyncIterator[Companion]:
    c = await Companion.open(
        config.with_(timezone="Europe/Berlin"), embedder=None, model=model, tools=plugins.tools()
    )
    yield c
    await c.close()


async def say(c: Companion, text: str) -> str:
    return "".join([piece async for piece in c.reply("theo", text)])


async def _event(c: Companion, summary: str, start: datetime) -> int:
    def write(conn):  # type: ignore[no-untyped-def]
        cid = calstore.calendar_id(conn, "theo")
        event = ical.new_event(summary, start)
        return calstore.put_resource(conn, "theo", cid, event, origin="test", tz=TZ).object_id

    return await c.store.write(write)


def _tomorrow_at(hour: int) -> datetime:
    day = datetime.now(TZ).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, tzinfo=TZ)


async def test_the_agenda_is_answered_without_the_model(
    cal: Companion, model: ScriptedModel
) -> None:
    await _event(cal, "Dentist", _tomorrow_at(10))
    said = await say(cal, "What's on tomorrow?")
    assert "10:00–11:00 Dentist" in said
    said = await say(cal, "what's my week like?")
    assert "Dentist" in said or "Nothing on your calendar" in said  # Sunday: the week is today
    assert "I don't remember" not in said
    assert model.prompts == []


async def test_a_reminder_by_talking_and_done_ones_leave_the_agenda(
    cal: Companion, model: ScriptedModel
) -> None:
    said = await say(cal, "remind me to call Anna tomorrow at 5pm")
    assert said.startswith("I'll remind you to call Anna tomorrow at 17:00.")
    assert "os1 undo" in said
    [row] = await cal.store.query("SELECT id, summary FROM cal_objects WHERE kind = 'todo'")
    assert row["summary"] == "Call Anna"
    assert "Call Anna" in await say(cal, "what are my reminders?")
    assert "Call Anna" in await say(cal, "what's on tomorrow?")
    await reminders.complete(cal.store, "theo", row["id"], TZ, now=datetime.now(TZ))
    assert "Call Anna" not in await say(cal, "what's on tomorrow?")
    assert model.prompts == []


async def test_moving_and_cancelling_are_proposed_not_done(cal: Companion) -> None:
    await _event(cal, "Dentist", _tomorrow_at(10))
    said = await say(cal, "move the dentist to 3pm")
    assert "Waiting for your approval: move “Dentist”" in said and "15:00" in said
    assert "Say yes with `os1 approve" in said
    said = await say(cal, "cancel the dentist")
    assert "delete “Dentist”" in said
    rows = await cal.store.query("SELECT starts_at FROM cal_objects WHERE deleted_at IS NULL")
    assert len(rows) == 1  # nothing changed before a yes
    said = await say(cal, "cancel the piano lesson")
    assert "couldn't find “Piano lesson” in your calendar" in said


async def test_an_event_without_a_time_is_asked_about(cal: Companion) -> None:
    said = await say(cal, "put lunch with Amy in my calendar")
    assert "When" in said and "Lunch with Amy" in said
    assert await cal.store.query("SELECT 1 FROM actions") == []
