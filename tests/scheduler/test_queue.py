"""The scheduler's queue: when each alarm fires next, and which firings were missed."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar

from os1.calendar import ical
from os1.calendar import store as calstore
from os1.scheduler import queue
from os1.store import Store

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


def weekly_event_with_alarm(trigger: str) -> ical.Resource:
    text = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:test\r\nBEGIN:VEVENT\r\nUID:w1\r\n"
        "DTSTAMP:20260101T000000Z\r\nSUMMARY:Choir\r\n"
        "DTSTART;TZID=Europe/Paris:20260302T190000\r\nDTEND;TZID=Europe/Paris:20260302T210000\r\n"
        "RRULE:FREQ=WEEKLY;BYDAY=MO\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:Choir\r\n"
        f"{trigger}\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    return ical.parse(text).resources[0]


def test_a_one_off_reminder_weeks_ahead_is_planned() -> None:
    # Regression: only the first two days were looked at for a one-off reminder.
    due = datetime(2026, 4, 30, 17, 0, tzinfo=PARIS)
    todo = ical.new_todo("Renew passport", due)
    firing = queue.next_firing(todo, "0", PARIS, NOW)
    assert firing is not None and firing.at == due
    assert queue.next_firing(todo, "0", PARIS, due) is None  # once only


def test_daily_reminder_keeps_its_wall_clock_time_across_daylight_saving() -> None:
    todo = ical.new_todo(
        "Pills", datetime(2026, 3, 27, 9, 0, tzinfo=PARIS), rrule={"FREQ": "DAILY"}
    )
    first = queue.next_firing(todo, "0", PARIS, NOW)
    assert first is not None and first.at.astimezone(PARIS).hour == 9
    after_change = queue.next_firing(todo, "0", PARIS, datetime(2026, 3, 29, 12, tzinfo=UTC))
    assert after_change is not None
    assert after_change.at.astimezone(PARIS) == datetime(2026, 3, 30, 9, 0, tzinfo=PARIS)
    assert after_change.at.utcoffset() == timedelta(hours=2)  # summer time now


def test_firings_lists_what_was_missed() -> None:
    todo = ical.new_todo("Pills", datetime(2026, 3, 1, 9, 0, tzinfo=PARIS), rrule={"FREQ": "DAILY"})
    start = datetime(2026, 3, 10, 8, 0, tzinfo=PARIS)
    missed = queue.firings(todo, "0", PARIS, start, datetime(2026, 3, 12, 10, 0, tzinfo=PARIS))
    assert [f.at.astimezone(PARIS).day for f in missed] == [10, 11, 12]
    assert missed[-1].occurrence.start == datetime(2026, 3, 12, 9, 0, tzinfo=PARIS)
    # `until` is included, `after` is not.
    exact = queue.firings(todo, "0", PARIS, missed[0].at, missed[1].at)
    assert [f.at for f in exact] == [missed[1].at]


def test_an_alarm_before_its_event() -> None:
    event = weekly_event_with_alarm("TRIGGER:-PT15M")
    firing = queue.next_firing(event, "0", PARIS, NOW)
    assert firing is not None
    assert firing.at.astimezone(PARIS) == datetime(2026, 3, 23, 18, 45, tzinfo=PARIS)
    assert firing.occurrence.start.astimezone(PARIS).hour == 19


def test_a_long_lead_alarm_beyond_the_first_horizon_is_still_the_first() -> None:
    # Monday's choir with an alarm three days before: from Friday noon, the next alarm is
    # the Friday after (for the Monday after next), found although that Monday lies beyond
    # the first two-day horizon.
    event = weekly_event_with_alarm("TRIGGER:-P3D")
    friday = datetime(2026, 3, 20, 19, 30, tzinfo=PARIS)  # just after Friday's alarm
    firing = queue.next_firing(event, "0", PARIS, friday)
    assert firing is not None
    assert firing.at.astimezone(PARIS) == datetime(2026, 3, 27, 19, 0, tzinfo=PARIS)


def test_alarm_related_to_the_end_of_the_event() -> None:
    event = weekly_event_with_alarm("TRIGGER;RELATED=END:PT0S")
    firing = queue.next_firing(event, "0", PARIS, NOW)
    assert firing is not None
    assert firing.at.astimezone(PARIS) == datetime(2026, 3, 23, 21, 0, tzinfo=PARIS)


def test_an_absolute_trigger_on_a_repeating_event_rings_once() -> None:
    event = weekly_event_with_alarm("TRIGGER;VALUE=DATE-TIME:20260322T080000Z")
    firing = queue.next_firing(event, "0", PARIS, NOW)
    assert firing is not None and firing.at == datetime(2026, 3, 22, 8, 0, tzinfo=UTC)
    assert queue.next_firing(event, "0", PARIS, firing.at) is None
    missed = queue.firings(event, "0", PARIS, NOW, NOW + timedelta(days=30))
    assert len(missed) == 1


def test_completed_and_cancelled_have_no_firings() -> None:
    todo = ical.new_todo("Done", datetime(2026, 3, 21, 9, 0, tzinfo=PARIS))
    todo.main["STATUS"] = icalendar.vText("COMPLETED")
    assert queue.next_firing(todo, "0", PARIS, NOW) is None
    assert queue.firings(todo, "0", PARIS, NOW, NOW + timedelta(days=3)) == []


def test_a_cancelled_instance_is_skipped() -> None:
    event = weekly_event_with_alarm("TRIGGER:-PT15M")
    cancelled = icalendar.Event()
    cancelled.add("UID", "w1")
    cancelled.add("SUMMARY", "Choir")
    cancelled.add("RECURRENCE-ID", datetime(2026, 3, 23, 19, 0, tzinfo=PARIS))
    cancelled.add("DTSTART", datetime(2026, 3, 23, 19, 0, tzinfo=PARIS))
    cancelled.add("STATUS", "CANCELLED")
    event.components.append(cancelled)
    firing = queue.next_firing(event, "0", PARIS, NOW)
    assert firing is not None and firing.at.astimezone(PARIS).day == 30


def test_an_unreadable_trigger_rings_never_and_breaks_nothing() -> None:
    # The parser keeps such an event as a problem; one built (or changed) in code may have it.
    event = weekly_event_with_alarm("TRIGGER:-PT15M")
    event.main.walk("VALARM")[0]["TRIGGER"] = icalendar.vText("soon-ish")
    assert queue.next_firing(event, "0", PARIS, NOW) is None
    assert queue.firings(event, "0", PARIS, NOW, NOW + timedelta(days=30)) == []


async def test_plan_writes_one_row_per_alarm(store: Store) -> None:
    event = weekly_event_with_alarm("TRIGGER:-PT15M")
    alarm = ical.display_alarm("Choir tomorrow", timedelta(days=1))
    event.main.add_component(alarm)

    def write(c: sqlite3.Connection) -> list[sqlite3.Row]:
        cal = calstore.calendar_id(c, "theo")
        put = calstore.put_resource(c, "theo", cal, event, origin="local", tz=PARIS, now=NOW)
        return c.execute(
            "SELECT alarm, due_at, occurrence FROM schedule WHERE object_id = ? ORDER BY alarm",
            (put.object_id,),
        ).fetchall()

    rows = await store.write(write)
    assert [r["alarm"] for r in rows] == ["0", "1"]
    due = {r["alarm"]: datetime.fromisoformat(r["due_at"]).astimezone(PARIS) for r in rows}
    assert due["0"] == datetime(2026, 3, 23, 18, 45, tzinfo=PARIS)
    assert due["1"] == datetime(2026, 3, 22, 19, 0, tzinfo=PARIS)
    assert rows[0]["occurrence"] == datetime(2026, 3, 23, 18, 0, tzinfo=UTC).isoformat()
