"""Reminders end to end on a real store: asked in words, stored as VTODOs, planned in the
scheduler's queue at the right UTC time, listed, completed (a repeating one: this time
only), snoozed, deleted and put back."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from os1.calendar import ical, reminders, spoken
from os1.calendar import store as calstore
from os1.calendar.reminder_request import ReminderError, ReminderRequest, parse_reminder
from os1.calendar.reminders import ReminderFailure
from os1.calendar.when import When, parse_when
from os1.scheduler import queue
from os1.store import Store

TZ = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 26, 14, 0, tzinfo=TZ)  # a Thursday
USER = "theo"


def at(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=TZ)


def utc(y: int, mo: int, d: int, h: int, mi: int = 0) -> str:
    return datetime(y, mo, d, h, mi, tzinfo=UTC).isoformat()


def when(text: str, now: datetime = NOW) -> When:
    found = parse_when(text, now)
    assert found is not None
    return found


async def rows(store: Store, object_id: int) -> list[tuple[str, str, str]]:
    found = await store.query(
        "SELECT alarm, due_at, occurrence FROM schedule WHERE user_id = ? AND object_id = ? "
        "ORDER BY alarm",
        (USER, object_id),
    )
    return [(r["alarm"], r["due_at"], r["occurrence"]) for r in found]


async def todo(store: Store, object_id: int) -> ical.Resource:
    row = await store.query_one("SELECT * FROM cal_objects WHERE id = ?", (object_id,))
    assert row is not None
    return calstore.load(row)


# ---------------------------------------------------------------------------------- words

ASKED = [
    ("remind me to call my sister at five tomorrow", "call my sister", "to", at(2026, 11, 27, 17),
     None),
    ("remind me every Monday at 9 to water the plants", "water the plants", "to",
     at(2026, 11, 30, 9), {"FREQ": "WEEKLY", "BYDAY": ["MO"]}),
    ("remind me in 10 minutes to check the oven", "check the oven", "to", at(2026, 11, 26, 14, 10),
     None),
    ("remind me about the dentist on Friday at 2", "the dentist", "about", at(2026, 11, 27, 14),
     None),
    ("Can you remind me to take my pills every day at 8am please?", "take my pills", "to",
     at(2026, 11, 27, 8), {"FREQ": "DAILY"}),
    ("Tomorrow at 5, remind me to call Amy", "call Amy", "to", at(2026, 11, 27, 17), None),
    ("remind me on Friday to buy milk", "buy milk", "to", at(2026, 11, 27, 9), None),
    ("set a reminder for tomorrow at 5 to call Amy", "call Amy", "to", at(2026, 11, 27, 17), None),
    ("reminder: dentist on Friday at 2", "dentist", "about", at(2026, 11, 27, 14), None),
    ("don't let me forget to bring the cake tomorrow morning", "bring the cake", "to",
     at(2026, 11, 27, 9), None),
    ("remind me that the bins go out tonight", "the bins go out", "that", at(2026, 11, 26, 20),
     None),
]  # fmt: skip


@pytest.mark.parametrize(("text", "what", "link", "start", "rrule"), ASKED)
def test_reminders_asked_in_words(
    text: str, what: str, link: str, start: datetime, rrule: dict[str, object] | None
) -> None:
    found = parse_reminder(text, NOW)
    assert isinstance(found, ReminderRequest)
    assert (found.what, found.link) == (what, link)
    assert found.when.start == start
    assert found.when.rrule == rrule


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("remind me to call Amy", "When should I remind you to call Amy?"),
        ("remind me to call my mum", "When should I remind you to call your mum?"),
        ("remind me", "What should I remind you of, and when?"),
        ("remind me at 5", "What should I remind you of today at 17:00?"),
        ("remind me today to buy milk", "At what time today?"),  # 09:00 has gone
        ("remind me today at 13:00 to eat", "Today at 13:00 has already passed. When, then?"),
        ("remind me on 12/3 to pay rent", "12/3 could be 12 March or 3 December"),
    ],
)
def test_what_she_asks_when_something_is_missing(text: str, message: str) -> None:
    found = parse_reminder(text, NOW)
    assert isinstance(found, ReminderError)
    assert found.message.startswith(message)


@pytest.mark.parametrize(
    "text",
    [
        "remind me what we talked about yesterday",
        "remind me who Paul is",
        "remind me about our trip to Rome",  # a question for her memory
        "remind me when I get home to call mum",  # not a time
        "I told her to remind me to call at 5",
        "she will remind me at 5",
        "don't remind me of that",
        "reminders are annoying",
        "remember that my sister's birthday is 5 May",
        "what's on Thursday?",
    ],
)
def test_not_reminder_requests(text: str) -> None:
    assert parse_reminder(text, NOW) is None


def test_what_she_says_back() -> None:
    asked = parse_reminder("remind me to call my sister at five tomorrow", NOW)
    assert isinstance(asked, ReminderRequest)
    said = reminders.describe_reminder(asked.what, asked.when, TZ, NOW, link=asked.link)
    assert said == "I'll remind you to call your sister tomorrow at 17:00."
    weekly = parse_reminder("remind me every Monday at 9 to water my plants", NOW)
    assert isinstance(weekly, ReminderRequest)
    said = reminders.describe_reminder(weekly.what, weekly.when, TZ, NOW)
    assert said == (
        "I'll remind you to water your plants every Monday at 09:00, starting Monday 30 November."
    )
    soon = reminders.describe_reminder("check the oven", when("in 10 minutes"), TZ, NOW)
    assert soon == "I'll remind you to check the oven in 10 minutes, at 14:10."
    later = reminders.describe_reminder("pay", When(at(2026, 12, 4, 10), None, "", ""), TZ, NOW)
    assert later == "I'll remind you to pay on Friday 4 December at 10:00."
    assert spoken.you_form("tell you I'm sorry about my mess") == (
        "tell me you're sorry about your mess"
    )


def test_an_error_can_also_be_raised() -> None:
    with pytest.raises(ReminderError, match="When should I"):
        found = parse_reminder("remind me to call Amy", NOW)
        assert isinstance(found, ReminderError)
        raise found


# ---------------------------------------------------------------------------------- storing


async def test_a_reminder_is_a_todo_planned_at_its_utc_time(store: Store) -> None:
    object_id = await reminders.add(
        store, USER, "call my sister", when("at five tomorrow"), TZ, origin="chat", now=NOW
    )
    assert await rows(store, object_id) == [("0", utc(2026, 11, 27, 16), utc(2026, 11, 27, 16))]
    row = await store.query_one("SELECT * FROM cal_objects WHERE id = ?", (object_id,))
    assert row is not None
    assert (row["kind"], row["summary"], row["origin"], row["dirty"]) == (
        "todo", "Call my sister", "chat", 0,
    )  # fmt: skip
    name = await store.query_one("SELECT name FROM calendars WHERE id = ?", (row["calendar_id"],))
    assert name is not None and name["name"] == "Personal"
    main = (await todo(store, object_id)).main
    assert main.name == "VTODO"
    assert main.decoded("DUE") == main.decoded("DTSTART") == at(2026, 11, 27, 17)
    alarm = main.walk("VALARM")[0]
    assert ical.text_of(alarm.get("ACTION")) == "DISPLAY"
    assert alarm.decoded("TRIGGER") == timedelta(0)


async def test_a_repeating_reminder_rings_again_after_the_first(store: Store) -> None:
    # Monday 23 March 2026; summer time starts on the 29th: 09:00 stays 09:00.
    monday = at(2026, 3, 23, 8)
    object_id = await reminders.add(
        store, USER, "water the plants", when("every Monday at 9", monday), TZ, origin="chat",
        now=monday,
    )  # fmt: skip
    assert await rows(store, object_id) == [("0", utc(2026, 3, 23, 8), utc(2026, 3, 23, 8))]
    resource = await todo(store, object_id)
    after = queue.next_firing(resource, "0", TZ, datetime(2026, 3, 23, 8, tzinfo=UTC))
    assert after is not None and after.at == datetime(2026, 3, 30, 7, tzinfo=UTC)
    assert ical.text_of(resource.main.get("RRULE").to_ical().decode()) == "FREQ=WEEKLY;BYDAY=MO"


async def test_synced_calendars_get_it_pushed(store: Store) -> None:
    def setup(c: sqlite3.Connection) -> None:
        calstore.calendar_id(c, USER)
        c.execute(
            "INSERT INTO calendars (user_id, name, url, read_only, created_at) "
            "VALUES (?, 'Work', 'http://127.0.0.1:1/cal/', 0, ?), "
            "(?, 'Holidays', 'http://127.0.0.1:1/h/', 1, ?)",
            (USER, NOW.isoformat(), USER, NOW.isoformat()),
        )

    await store.write(setup)
    object_id = await reminders.add(
        store, USER, "send the report", when("tomorrow at 9"), TZ, origin="chat",
        calendar="Work", now=NOW,
    )  # fmt: skip
    row = await store.query_one("SELECT dirty FROM cal_objects WHERE id = ?", (object_id,))
    assert row is not None and row["dirty"] == 1
    with pytest.raises(ReminderFailure, match="read-only"):
        await reminders.add(
            store, USER, "x", when("tomorrow at 9"), TZ, origin="chat", calendar="Holidays", now=NOW
        )
    with pytest.raises(ReminderFailure, match="no calendar called “Nope”"):
        await reminders.add(
            store, USER, "x", when("tomorrow at 9"), TZ, origin="chat", calendar="Nope", now=NOW
        )


async def test_a_moment_gone_or_nothing_to_remind_is_refused(store: Store) -> None:
    gone = When(at(2026, 11, 26, 9), None, "", "")
    with pytest.raises(ReminderFailure, match="already passed"):
        await reminders.add(store, USER, "x", gone, TZ, origin="chat", now=NOW)
    with pytest.raises(ReminderFailure, match="needs something"):
        await reminders.add(store, USER, "  ", when("tomorrow at 9"), TZ, origin="chat", now=NOW)
    assert await store.query("SELECT id FROM cal_objects") == []


async def test_upcoming_lists_what_is_pending_soonest_first(store: Store) -> None:
    weekly = await reminders.add(
        store, USER, "water the plants", when("every Monday at 9"), TZ, origin="chat", now=NOW
    )
    soon = await reminders.add(
        store, USER, "call my sister", when("at five tomorrow"), TZ, origin="chat", now=NOW
    )
    oven = await reminders.add(
        store, USER, "check the oven", when("in 10 minutes"), TZ, origin="chat", now=NOW
    )
    done = await reminders.add(store, USER, "x", when("tomorrow at 8"), TZ, origin="chat", now=NOW)
    await reminders.complete(store, USER, done, TZ, now=NOW)
    await reminders.add(store, "someone-else", "theirs", when("at 3pm"), TZ, origin="chat", now=NOW)
    found = await reminders.upcoming(store, USER, TZ, now=NOW)
    assert [r.object_id for r in found] == [oven, soon, weekly]
    assert found[2].repeat == "every Monday at 09:00"
    assert found[2].due == at(2026, 11, 30, 9) and found[2].calendar == "Personal"
    assert found[0].fires_at == at(2026, 11, 26, 14, 10)
    assert [r.object_id for r in await reminders.upcoming(store, USER, TZ, now=NOW, limit=1)] == [
        oven
    ]
    said = spoken.describe_upcoming(found, TZ, NOW)
    assert said.splitlines() == [
        "Your reminders:",
        f"- Check the oven — in 10 minutes, at 14:10 [#{oven}]",
        f"- Call my sister — tomorrow at 17:00 [#{soon}]",
        f"- Water the plants — on Monday 30 November at 09:00 (every Monday at 09:00) [#{weekly}]",
    ]
    # Once rung (the runner re-plans it: no row left), it waits, overdue, until done.
    await store.execute_write("DELETE FROM schedule WHERE object_id = ?", (oven,))
    later = at(2026, 11, 26, 15)
    overdue = (await reminders.upcoming(store, USER, TZ, now=later))[0]
    assert (overdue.object_id, overdue.due, overdue.fires_at) == (oven, at(2026, 11, 26, 14, 10),
                                                                   None)  # fmt: skip
    assert "since today at 14:10, not done yet" in spoken.describe_upcoming([overdue], TZ, later)
    assert spoken.describe_upcoming([], TZ, later) == "You have no reminders."
    assert spoken.format_line(found[1], NOW) == f"Call my sister — tomorrow at 17:00 [#{soon}]"


async def test_what_the_tools_pass_in(store: Store) -> None:
    # A day without a time rings that morning; a rule as icalendar reads RRULE text.
    rule = dict(ical.icalendar.vRecur.from_ical("FREQ=DAILY;COUNT=2"))
    daily = When(at(2026, 11, 27, 8).date(), rule, "", "")
    object_id = await reminders.add(store, USER, "stretch", daily, TZ, origin="chat", now=NOW)
    assert await rows(store, object_id) == [("0", utc(2026, 11, 27, 8), utc(2026, 11, 27, 8))]
    said = reminders.describe_reminder("stretch", daily, TZ, NOW)
    assert said == "I'll remind you to stretch every day at 09:00, 2 times, starting tomorrow."


async def test_completing_a_one_off(store: Store) -> None:
    object_id = await reminders.add(
        store, USER, "call my sister", when("at five tomorrow"), TZ, origin="chat", now=NOW
    )
    before = await store.query_one("SELECT ics FROM cal_objects WHERE id = ?", (object_id,))
    done = await reminders.complete(store, USER, object_id, TZ, now=NOW)
    assert done == "Done: call your sister."
    assert before is not None
    assert done.previous_ics == before["ics"] and done.object_id == object_id
    main = (await todo(store, object_id)).main
    assert ical.text_of(main.get("STATUS")) == "COMPLETED"
    assert main.decoded("COMPLETED") == NOW.astimezone(UTC)
    assert int(main.get("PERCENT-COMPLETE")) == 100
    assert await rows(store, object_id) == []
    with pytest.raises(ReminderFailure, match="already done"):
        await reminders.complete(store, USER, object_id, TZ, now=NOW)
    # Undo: back as it was, and ringing again.
    await reminders.restore(store, USER, done, TZ, now=NOW)
    assert await rows(store, object_id) == [("0", utc(2026, 11, 27, 16), utc(2026, 11, 27, 16))]


async def test_completing_a_repeating_one_completes_this_time_only(store: Store) -> None:
    object_id = await reminders.add(
        store, USER, "water the plants", when("every Monday at 9"), TZ, origin="chat", now=NOW
    )
    # It rang on Monday 30 November (the runner moved its row on); done at 09:05.
    monday = at(2026, 11, 30, 9, 5)
    done = await reminders.complete(store, USER, object_id, TZ, now=monday)
    assert done == "Done: water the plants. Next time: on Monday 7 December at 09:00."
    main = (await todo(store, object_id)).main
    assert ical.text_of(main.get("STATUS")) == "NEEDS-ACTION"
    assert main.decoded("DTSTART") == main.decoded("DUE") == at(2026, 12, 7, 9)
    assert int(main.get("SEQUENCE")) == 1
    assert await rows(store, object_id) == [("0", utc(2026, 12, 7, 8), utc(2026, 12, 7, 8))]
    # Done ahead of time (on Friday), the coming Monday is the one done.
    done = await reminders.complete(store, USER, object_id, TZ, now=at(2026, 12, 4, 12))
    assert (await todo(store, object_id)).main.decoded("DTSTART") == at(2026, 12, 14, 9)
    assert "Monday 14 December" in done


async def test_a_counted_series_shrinks_and_ends(store: Store) -> None:
    rule = {"FREQ": "DAILY", "COUNT": 3}
    object_id = await reminders.add(
        store, USER, "stretch", When(at(2026, 11, 27, 8), rule, "", ""), TZ, origin="chat", now=NOW
    )
    await reminders.complete(store, USER, object_id, TZ, now=at(2026, 11, 27, 8, 30))
    main = (await todo(store, object_id)).main
    assert main.decoded("DTSTART") == at(2026, 11, 28, 8)
    assert main["RRULE"]["COUNT"] == [2]
    await reminders.complete(store, USER, object_id, TZ, now=at(2026, 11, 28, 8, 30))
    assert (await todo(store, object_id)).main["RRULE"]["COUNT"] == [1]
    done = await reminders.complete(store, USER, object_id, TZ, now=at(2026, 11, 29, 8, 30))
    assert done == "Done: stretch."
    assert ical.text_of((await todo(store, object_id)).main.get("STATUS")) == "COMPLETED"
    assert await rows(store, object_id) == []


async def test_snoozing_rings_once_more_and_leaves_the_series(store: Store) -> None:
    weekly = await reminders.add(
        store, USER, "water the plants", when("every Monday at 9"), TZ, origin="chat", now=NOW
    )
    # It rang at 09:00 on Monday; the runner moved its row to the next Monday.
    monday = at(2026, 11, 30, 9, 1)
    resource = await todo(store, weekly)
    await store.write(lambda c: queue.plan(c, USER, weekly, resource, TZ, at(2026, 11, 30, 9)))
    said = await reminders.snooze(store, USER, weekly, 10, TZ, now=monday)
    assert said == "I'll remind you again in 10 minutes, at 09:11."
    assert await rows(store, weekly) == [
        ("0", utc(2026, 12, 7, 8), utc(2026, 12, 7, 8)),
        ("snooze", utc(2026, 11, 30, 8, 11), utc(2026, 11, 30, 8)),
    ]
    listed = await reminders.upcoming(store, USER, TZ, now=monday)
    assert listed[0].snoozed and listed[0].fires_at == at(2026, 11, 30, 9, 11)
    # Undo drops the snooze.
    await reminders.restore(store, USER, said, TZ, now=monday)
    assert await rows(store, weekly) == [("0", utc(2026, 12, 7, 8), utc(2026, 12, 7, 8))]


async def test_snoozing_before_it_rings_moves_that_ringing(store: Store) -> None:
    oven = await reminders.add(
        store, USER, "check the oven", when("in 10 minutes"), TZ, origin="chat", now=NOW
    )
    await reminders.snooze(store, USER, oven, 30, TZ, now=NOW)
    assert await rows(store, oven) == [
        ("snooze", utc(2026, 11, 26, 13, 30), utc(2026, 11, 26, 13, 10))
    ]
    with pytest.raises(ReminderFailure, match="a minute up to a week"):
        await reminders.snooze(store, USER, oven, 0, TZ, now=NOW)
    await reminders.complete(store, USER, oven, TZ, now=NOW)
    assert await rows(store, oven) == []  # done: the snooze goes too
    with pytest.raises(ReminderFailure, match="already done"):
        await reminders.snooze(store, USER, oven, 10, TZ, now=NOW)


async def test_deleting_local_and_synced_reminders(store: Store) -> None:
    local = await reminders.add(
        store, USER, "call my sister", when("at five tomorrow"), TZ, origin="chat", now=NOW
    )
    done = await reminders.delete(store, USER, local)
    assert done == "Deleted the reminder “Call my sister”."
    assert await store.query("SELECT id FROM cal_objects WHERE id = ?", (local,)) == []
    assert await rows(store, local) == []
    back = await reminders.restore(store, USER, done, TZ, now=NOW)
    assert await rows(store, back) == [("0", utc(2026, 11, 27, 16), utc(2026, 11, 27, 16))]

    def synced(c: sqlite3.Connection) -> None:
        c.execute(
            "INSERT INTO calendars (user_id, name, url, created_at) "
            "VALUES (?, 'Work', 'http://127.0.0.1:1/cal/', ?)",
            (USER, NOW.isoformat()),
        )

    await store.write(synced)
    remote = await reminders.add(
        store, USER, "report", when("tomorrow at 9"), TZ, origin="chat", calendar="Work", now=NOW
    )
    await store.execute_write(
        "UPDATE cal_objects SET href = '/cal/x.ics', dirty = 0 WHERE id = ?", (remote,)
    )
    await reminders.delete(store, USER, remote)
    row = await store.query_one("SELECT deleted_at, dirty FROM cal_objects WHERE id = ?", (remote,))
    assert row is not None and row["deleted_at"] is not None and row["dirty"] == 1
    assert await rows(store, remote) == []
    with pytest.raises(ReminderFailure, match=f"no reminder #{remote}"):
        await reminders.delete(store, USER, remote)


async def test_only_the_users_own_reminders(store: Store) -> None:
    mine = await reminders.add(
        store, USER, "call my sister", when("at five tomorrow"), TZ, origin="chat", now=NOW
    )
    for change in (
        reminders.complete(store, "someone-else", mine, TZ, now=NOW),
        reminders.snooze(store, "someone-else", mine, 5, TZ, now=NOW),
        reminders.delete(store, "someone-else", mine),
    ):
        with pytest.raises(ReminderFailure, match="no reminder"):
            await change
    assert len(await rows(store, mine)) == 1
