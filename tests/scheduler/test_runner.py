"""The scheduler's loop with a controllable clock: on time, never twice, after restarts and
crashes, within quiet hours; plus one test against the real clock."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import sqlite3
import sys
import textwrap
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from os1.calendar import ical
from os1.calendar import store as calstore
from os1.companion import Companion
from os1.config import Config
from os1.memory import facts as factstore
from os1.scheduler import channels as chans
from os1.scheduler import settings as schedsettings
from os1.scheduler.channels import ChannelError, Notification
from os1.scheduler.clock import FakeClock, SystemClock
from os1.scheduler.initiative import Initiative
from os1.scheduler.runner import Scheduler
from os1.scheduler.settings import SchedulerSettings
from os1.store import Store
from os1.testing import ScriptedModel

PARIS = ZoneInfo("Europe/Paris")
ROOT = Path(__file__).resolve().parents[2]


def paris(day: int, hour: int, minute: int = 0, second: int = 0, month: int = 6) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=PARIS)


class Recorder:
    """A channel that keeps what it was asked to send; can fail, transiently or for good."""

    def __init__(self, name: str = "push", fail: ChannelError | None = None, times: int = 0):
        self.name = name
        self.fail = fail
        self.times = times
        self.sent: list[tuple[str, str]] = []
        self.calls = 0

    async def send(self, user: str, note: Notification, settings: SchedulerSettings) -> None:
        self.calls += 1
        if self.fail is not None and (self.times == 0 or self.calls <= self.times):
            raise self.fail
        self.sent.append((user, note.title))


async def remind(
    store: Store,
    text: str,
    due: datetime,
    now: datetime,
    *,
    user: str = "theo",
    rrule: dict[str, Any] | None = None,
) -> int:
    todo = ical.new_todo(text, due, rrule=rrule)

    def write(c: sqlite3.Connection) -> int:
        cal = calstore.calendar_id(c, user)
        put = calstore.put_resource(c, user, cal, todo, origin="local", tz=PARIS, now=now)
        return put.object_id

    return await store.write(write)


async def event(
    store: Store, summary: str, start: datetime, now: datetime, alarm: bool = True, **kw: Any
) -> int:
    resource = ical.new_event(summary, start, **kw)
    if alarm:
        resource.main.add_component(ical.display_alarm(summary, timedelta(minutes=15)))

    def write(c: sqlite3.Connection) -> int:
        cal = calstore.calendar_id(c, "theo")
        return calstore.put_resource(
            c, "theo", cal, resource, origin="local", tz=PARIS, now=now
        ).object_id

    return await store.write(write)


async def configure(store: Store, user: str = "theo", **changes: Any) -> None:
    def write(c: sqlite3.Connection) -> None:
        c.execute("INSERT OR IGNORE INTO users (id, created_at) VALUES (?, ?)", (user, "2026"))
        schedsettings.change(c, user, **changes)

    await store.write(write)


def make(
    store: Store,
    clock: Any,
    *extra: Any,
    compose: Initiative | None = None,
) -> Scheduler:
    channels: dict[str, Any] = {"terminal": chans.TerminalChannel()}
    channels.update({c.name: c for c in extra})
    return Scheduler(
        store,
        clock=clock,
        default_tz="Europe/Paris",
        channels=channels,
        compose=compose,
        retry_delays=(0.0, 0.0),
    )


async def inbox(store: Store, user: str = "theo", kind: str | None = None) -> list[sqlite3.Row]:
    sql = "SELECT * FROM notifications WHERE user_id = ?"
    params: tuple[Any, ...] = (user,)
    if kind:
        sql += " AND kind = ?"
        params += (kind,)
    return await store.query(sql + " ORDER BY id", params)


async def sends(store: Store) -> dict[tuple[int, str], sqlite3.Row]:
    rows = await store.query("SELECT * FROM notification_sends")
    return {(r["notification_id"], r["channel"]): r for r in rows}


@pytest.fixture
async def tiny(config: Config) -> AsyncIterator[Companion]:
    """A companion on the tiny model: her initiative speaks from templates."""
    c = await Companion.open(config, embedder=None, model=ScriptedModel(small=True))
    yield c
    await c.close()


# --- on time, once ------------------------------------------------------------------------


async def test_a_reminder_fires_at_its_time_not_before(store: Store) -> None:
    clock = FakeClock(paris(1, 16, 0).astimezone(UTC))
    await remind(store, "Call my sister", paris(1, 17, 0), clock.now())
    scheduler = make(store, clock)
    clock.set(paris(1, 16, 59, 59))
    assert await scheduler.tick() == []
    assert await scheduler.next_wake() == paris(1, 17, 0)
    clock.set(paris(1, 17, 0))
    [note] = await scheduler.tick()
    assert (note.kind, note.title, note.late, note.body) == (
        "reminder",
        "Call my sister",
        False,
        "",
    )
    assert note.due_at == paris(1, 17, 0)
    assert [n.id for n in await chans.unseen(store, "theo")] == [note.id]
    assert await store.query("SELECT * FROM schedule") == []  # a one-off: done


async def test_two_ticks_do_not_deliver_twice(store: Store) -> None:
    clock = FakeClock(paris(1, 16, 0))
    await remind(store, "Call my sister", paris(1, 17, 0), clock.now())
    scheduler = make(store, clock)
    clock.set(paris(1, 17, 0, 30))
    assert len(await scheduler.tick()) == 1
    assert await scheduler.tick() == []
    clock.advance(days=1)
    assert await scheduler.tick() == []
    assert len(await inbox(store)) == 1


async def test_an_event_alarm_says_when_and_where(store: Store) -> None:
    clock = FakeClock(paris(1, 8, 0))
    await event(store, "Dentist", paris(1, 15, 0), clock.now(), location="Rue Cler")
    clock.set(paris(1, 14, 45))
    [note] = await make(store, clock).tick()
    assert note.kind == "alarm" and note.title == "Dentist"
    assert note.body == "Today at 15:00, Rue Cler"


async def test_restart_delivers_a_missed_reminder_once_marked_late(store: Store) -> None:
    clock = FakeClock(paris(1, 16, 0))
    await remind(store, "Call my sister", paris(1, 17, 0), clock.now())
    assert await make(store, clock).tick() == []
    clock.set(paris(1, 19, 30))  # the computer was off from 16:00 to 19:30
    [note] = await make(store, clock).tick()  # a new scheduler over the same store
    assert note.late and note.body == "(late: this was due at 17:00)"
    assert await make(store, clock).tick() == []
    assert len(await inbox(store)) == 1


async def test_a_daily_reminder_missed_for_three_days_arrives_once_saying_so(store: Store) -> None:
    clock = FakeClock(paris(1, 8, 0))
    await remind(store, "Pills", paris(1, 9, 0), clock.now(), rrule={"FREQ": "DAILY"})
    clock.set(paris(3, 10, 0))  # asleep through the 1st, 2nd and 3rd at 09:00
    [note] = await make(store, clock).tick()
    assert note.late and "missed 3 times" in note.body
    assert "the last was due at 09:00" in note.body
    assert note.due_at == paris(3, 9, 0)
    [row] = await store.query("SELECT due_at FROM schedule")
    assert datetime.fromisoformat(row["due_at"]) == paris(4, 9, 0)
    clock.set(paris(4, 9, 0))
    [next_day] = await make(store, clock).tick()
    assert not next_day.late and next_day.body == ""


async def test_every_user_gets_their_own_reminders_only(store: Store) -> None:
    clock = FakeClock(paris(1, 8, 0))
    await remind(store, "Theo's thing", paris(1, 9, 0), clock.now(), user="theo")
    await remind(store, "Amy's thing", paris(1, 9, 0), clock.now(), user="amy")
    await remind(store, "Amy later", paris(1, 11, 0), clock.now(), user="amy")
    clock.set(paris(1, 9, 0))
    fired = await make(store, clock).tick()
    assert sorted((n.user, n.title) for n in fired) == [
        ("amy", "Amy's thing"),
        ("theo", "Theo's thing"),
    ]
    assert [n.title for n in await chans.unseen(store, "theo")] == ["Theo's thing"]
    assert [n.title for n in await chans.unseen(store, "amy")] == ["Amy's thing"]
    await chans.mark_seen(store, "amy", [n.id for n in fired])  # not theo's: only amy's ids count
    assert [n.title for n in await chans.unseen(store, "theo")] == ["Theo's thing"]
    assert await chans.unseen(store, "amy") == []


async def test_more_than_one_batch_is_fired_in_one_tick(store: Store) -> None:
    clock = FakeClock(paris(1, 8, 0))
    due = paris(1, 9, 0).astimezone(UTC)  # UTC: no time zone to describe, a quicker setup

    def write(c: sqlite3.Connection) -> None:
        cal = calstore.calendar_id(c, "theo")
        for i in range(1100):
            todo = ical.new_todo(f"Task {i}", due + timedelta(seconds=i % 60))
            calstore.put_resource(c, "theo", cal, todo, origin="local", tz=PARIS, now=clock.now())

    await store.write(write)
    clock.set(paris(1, 9, 1))
    fired = await make(store, clock).tick()
    assert len(fired) == 1100 and len({n.title for n in fired}) == 1100
    assert await store.query("SELECT * FROM schedule") == []


async def test_wake_picks_up_a_new_reminder_at_once(store: Store) -> None:
    clock = FakeClock(paris(1, 8, 0))
    scheduler = make(store, clock)
    stop = asyncio.Event()
    runner = asyncio.create_task(scheduler.run(stop))
    await asyncio.sleep(0.2)  # it ticked and sleeps: nothing is queued
    await remind(store, "Now", clock.now(), clock.now() - timedelta(seconds=1))
    scheduler.wake()
    for _ in range(50):
        if await inbox(store):
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(runner, 5)
    assert [r["title"] for r in await inbox(store)] == ["Now"]


# --- quiet hours and her initiative ----------------------------------------------------


async def test_a_reminder_set_inside_quiet_hours_rings_then(store: Store) -> None:
    clock = FakeClock(paris(1, 22, 0))
    await remind(store, "Catch the train", paris(2, 6, 30), clock.now())
    clock.set(paris(2, 6, 30))
    [note] = await make(store, clock).tick()
    assert note.title == "Catch the train" and not note.late
    # A few minutes late (the laptop woke at 06:40): it was wanted then, so it still rings.
    await remind(store, "Stretch", paris(2, 6, 35), paris(2, 6, 0))
    clock.set(paris(2, 6, 40))
    [late] = await make(store, clock).tick()
    assert late.title == "Stretch" and late.late


async def test_a_late_delivery_waits_for_the_end_of_quiet_hours(store: Store) -> None:
    clock = FakeClock(paris(1, 20, 0))
    await remind(store, "Water the plants", paris(1, 21, 0), clock.now())
    clock.set(paris(1, 23, 30))  # asleep from 20:00: late, and it is night now
    scheduler = make(store, clock, Recorder())
    await configure(store, channels="terminal,push")
    assert await scheduler.tick() == []
    assert await chans.unseen(store, "theo") == []
    [held] = await inbox(store)
    assert held["held"] == 1 and held["late"] == 1
    assert await scheduler.next_wake() == paris(2, 8, 0)
    clock.set(paris(2, 7, 59))
    assert await scheduler.tick() == []
    clock.set(paris(2, 8, 0))
    [note] = await scheduler.tick()
    assert note.title == "Water the plants" and note.late
    await scheduler.drain()
    assert scheduler.channels["push"].sent == [("theo", "Water the plants")]  # type: ignore[attr-defined]
    # A restarted scheduler finds a held one too.
    await remind(store, "Bins", paris(2, 21, 0), paris(2, 20, 0))
    clock.set(paris(2, 23, 0))
    assert await make(store, clock).tick() == []
    clock.set(paris(3, 8, 0))
    assert [n.title for n in await make(store, clock).tick()] == ["Bins"]


async def test_briefing_waits_for_quiet_hours_to_end(store: Store, tiny: Companion) -> None:
    store = tiny.store
    clock = FakeClock(paris(1, 6, 0))
    await event(store, "Dentist", paris(1, 15, 0), clock.now(), location="Rue Cler")
    await configure(store, briefing_at="07:00")
    scheduler = make(store, clock, compose=Initiative(tiny))
    clock.set(paris(1, 7, 0))
    assert await scheduler.tick() == []
    assert await scheduler.next_wake() == paris(1, 8, 0)
    clock.set(paris(1, 8, 0))
    [briefing] = await scheduler.tick()
    assert briefing.kind == "briefing" and not briefing.late
    assert "15:00–16:00 Dentist (Rue Cler)" in briefing.body
    clock.set(paris(1, 9, 0))
    assert await scheduler.tick() == []  # once a day
    assert await make(store, clock, compose=Initiative(tiny)).tick() == []  # also after a restart


async def test_a_missed_briefing_comes_late_that_morning_never_after_noon(tiny: Companion) -> None:
    store = tiny.store
    clock = FakeClock(paris(1, 6, 0))
    await event(store, "Dentist", paris(1, 15, 0), clock.now(), alarm=False)
    await event(store, "Choir", paris(2, 19, 0), clock.now(), alarm=False)
    clock.set(paris(1, 10, 30))  # off at 08:00
    [briefing] = await make(store, clock, compose=Initiative(tiny)).tick()
    assert briefing.late and "Dentist" in briefing.body
    clock.set(paris(2, 12, 0))  # off all morning the next day: no briefing that day
    assert await make(store, clock, compose=Initiative(tiny)).tick() == []
    assert len(await inbox(store, kind="briefing")) == 1


async def test_no_briefing_when_initiative_is_off(tiny: Companion) -> None:
    store = tiny.store
    clock = FakeClock(paris(1, 6, 0))
    await event(store, "Dentist", paris(1, 15, 0), clock.now(), alarm=False)
    await configure(store, initiative="off")
    await add_followup(
        store, "Theo plans to see the dentist on 31 May 2026.", paris(31, 0, 0, month=5)
    )
    for hour in (8, 11, 15, 20):
        clock.set(paris(1, hour))
        assert await make(store, clock, compose=Initiative(tiny)).tick() == []
    assert await inbox(store) == []
    # Reminders the user set still arrive.
    await remind(store, "Call my sister", paris(1, 21, 0), clock.now())
    clock.set(paris(1, 21, 0))
    assert len(await make(store, clock, compose=Initiative(tiny)).tick()) == 1


PLAN_IDS = itertools.count(1)


async def add_followup(store: Store, plan: str, when: datetime, user: str = "theo") -> int:
    content = f"Follow up after {when.day} {when:%B %Y}: {plan}"

    def write(c: sqlite3.Connection) -> int:
        c.execute("INSERT OR IGNORE INTO users (id, created_at) VALUES (?, ?)", (user, "2026"))
        slot = f"followup:{next(PLAN_IDS)}"
        fact = factstore.Fact("insight", slot, content, valid_from=when.isoformat())
        return factstore.add_fact(
            c, user, fact, sources=[], recorded_at=when, origin="consolidation", extractor="test"
        ).id

    return await store.write(write)


async def test_a_checkin_comes_at_its_slot_once_and_never_in_quiet_hours(tiny: Companion) -> None:
    store = tiny.store
    fact = await add_followup(
        store, "Theo plans to go to the job interview on 1 June 2026.", paris(1, 0, 0)
    )
    await configure(store, briefing_at="off")
    clock = FakeClock(paris(1, 23, 0))
    scheduler = make(store, clock, compose=Initiative(tiny))
    assert await scheduler.tick() == []  # the interview is today: too early to ask
    clock.set(paris(2, 1, 0))
    assert await scheduler.tick() == []  # quiet hours
    clock.set(paris(2, 14, 59))
    assert await scheduler.tick() == []  # before the day's check-in slot (08:00–22:00: 15:00)
    assert await scheduler.next_wake() == paris(2, 15, 0)
    clock.set(paris(2, 15, 0))
    [checkin] = await scheduler.tick()
    assert checkin.kind == "checkin"
    assert (
        checkin.body
        == "How did it go? You were planning to go to the job interview on 1 June 2026."
    )
    clock.set(paris(3, 15, 0))
    assert await make(store, clock, compose=Initiative(tiny)).tick() == []  # asked once only
    [row] = await inbox(store, kind="checkin")
    assert row["key"] == str(fact)


async def test_checkins_keep_to_their_number_per_day(tiny: Companion) -> None:
    store = tiny.store
    for day in (1, 2, 3):
        await add_followup(
            store, f"Theo plans to do thing {day} on {day} June 2026.", paris(day, 0)
        )
    await configure(store, briefing_at="off", checkins_per_day=2)
    clock = FakeClock(paris(4, 21, 0))  # both slots (11:30, 18:30) passed while it was off
    scheduler = make(store, clock, compose=Initiative(tiny))
    assert len(await scheduler.tick()) == 1  # a missed slot is made up once, not all at once
    clock.set(paris(4, 21, 30))
    assert await scheduler.tick() == []
    clock.set(paris(5, 11, 30))
    assert len(await scheduler.tick()) == 1
    clock.set(paris(5, 18, 30))
    assert len(await scheduler.tick()) == 1
    clock.set(paris(5, 21, 0))
    assert await scheduler.tick() == []  # three asked, the day's two used
    assert len(await inbox(store, kind="checkin")) == 3


# --- channels and the outbox -----------------------------------------------------------


async def test_a_failing_channel_is_visible_and_the_others_still_deliver(store: Store) -> None:
    clock = FakeClock(paris(1, 16, 0))
    await remind(store, "Call my sister", paris(1, 17, 0), clock.now())
    await configure(store, channels="terminal,push,broken,nowhere")
    push = Recorder("push")
    broken = Recorder("broken", ChannelError("the pager is switched off"))
    scheduler = make(store, clock, push, broken)
    clock.set(paris(1, 17, 0))
    [note] = await scheduler.tick()
    await scheduler.drain()
    status = await sends(store)
    assert status[(note.id, "push")]["status"] == "sent"
    assert push.sent == [("theo", "Call my sister")]
    assert status[(note.id, "broken")]["status"] == "failed"
    assert status[(note.id, "broken")]["error"] == "the pager is switched off"
    assert broken.calls == 1  # not transient: not retried
    assert "no channel called 'nowhere'" in status[(note.id, "nowhere")]["error"]
    notes = [n for n in await chans.unseen(store, "theo") if n.kind == "note"]
    assert sorted(n.title for n in notes) == [
        "“Call my sister” could not be sent by broken",
        "“Call my sister” could not be sent by nowhere",
    ]


async def test_transient_errors_are_retried_then_left_failed(store: Store) -> None:
    clock = FakeClock(paris(1, 16, 0))
    await remind(store, "One", paris(1, 17, 0), clock.now())
    await remind(store, "Two", paris(1, 18, 0), clock.now())
    await configure(store, channels="terminal,push")
    flaky = Recorder("push", ChannelError("server busy", transient=True), times=2)
    scheduler = make(store, clock, flaky)
    clock.set(paris(1, 17, 0))
    [one] = await scheduler.tick()
    await scheduler.drain()
    assert (await sends(store))[(one.id, "push")]["status"] == "sent"
    assert flaky.calls == 3 and flaky.sent == [("theo", "One")]
    flaky.times, flaky.calls = 0, 0  # down for good now
    clock.set(paris(1, 18, 0))
    [two] = await scheduler.tick()
    await scheduler.drain()
    row = (await sends(store))[(two.id, "push")]
    assert row["status"] == "failed" and row["error"] == "server busy (tried 3 times)"
    assert flaky.calls == 3


async def test_a_send_cut_short_by_a_crash_is_reported_not_repeated(store: Store) -> None:
    clock = FakeClock(paris(1, 16, 0))
    await remind(store, "Call my sister", paris(1, 17, 0), clock.now())
    await configure(store, channels="terminal,push")
    clock.set(paris(1, 17, 0))
    [note] = await make(store, clock, Recorder("push", ChannelError("x"))).tick()
    # As a crash mid-send leaves it: marked 'sending', never finished.
    await store.execute_write(
        "UPDATE notification_sends SET status = 'sending', error = NULL WHERE notification_id = ?",
        (note.id,),
    )
    push = Recorder("push")
    restarted = make(store, clock, push)
    delivered = await restarted.tick()
    await restarted.drain()
    assert push.sent == []
    row = (await sends(store))[(note.id, "push")]
    assert (row["status"], row["error"]) == ("failed", "interrupted: may not have arrived")
    assert [n.title for n in delivered] == ["“Call my sister” may not have reached you by push"]
    assert len(await inbox(store, kind="reminder")) == 1
    assert len(await make(store, clock, push).tick()) == 0  # reported once


KILLED_CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from os1.store import Store
    from os1.scheduler.channels import TerminalChannel
    from os1.scheduler.clock import SystemClock
    from os1.scheduler.runner import Scheduler

    class Hang:
        name = "push"
        async def send(self, user, note, settings):
            print("sending", note.id, flush=True)
            await asyncio.sleep(3600)

    async def main():
        store = await Store.open(Path(sys.argv[1]))
        channels = {"terminal": TerminalChannel(), "push": Hang()}
        scheduler = Scheduler(store, clock=SystemClock(), default_tz="Europe/Paris",
                              channels=channels, compose=None)
        await scheduler.run(asyncio.Event())

    asyncio.run(main())
    """
)


async def test_kill_9_right_after_firing_never_delivers_twice(tmp_path: Path, store: Store) -> None:
    now = datetime.now(UTC)
    await remind(store, "Call my sister", now + timedelta(seconds=1), now)
    await configure(store, channels="terminal,push")
    script = tmp_path / "child.py"
    script.write_text(KILLED_CHILD)
    child = await asyncio.create_subprocess_exec(
        sys.executable, str(script), str(store.path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=ROOT,
    )  # fmt: skip
    assert child.stdout is not None and child.stderr is not None
    try:
        line = (await asyncio.wait_for(child.stdout.readline(), 30)).decode()
    finally:
        os.kill(child.pid, signal.SIGKILL)
        await child.wait()
    assert line.startswith("sending"), (await child.stderr.read()).decode()
    [fired] = await inbox(store)
    assert (await sends(store))[(fired["id"], "push")]["status"] == "sending"

    push = Recorder("push")
    restarted = make(store, SystemClock(), push)
    delivered = await restarted.tick()
    await restarted.drain()
    assert [n.kind for n in delivered] == ["note"]
    assert push.sent == []
    assert len(await inbox(store, kind="reminder")) == 1
    assert (await sends(store))[(fired["id"], "push")][
        "error"
    ] == "interrupted: may not have arrived"


# --- the real clock ----------------------------------------------------------------------


async def test_real_time_a_reminder_arrives_within_moments_of_its_time(store: Store) -> None:
    now = datetime.now(UTC)
    due = now + timedelta(seconds=2)
    await remind(store, "Stand up", due, now)
    stop = asyncio.Event()
    runner = asyncio.create_task(make(store, SystemClock()).run(stop))
    try:
        for _ in range(200):  # 10 s at most
            if await chans.unseen(store, "theo"):
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(runner, 10)
    [note] = await chans.unseen(store, "theo")
    delay = (note.fired_at - due).total_seconds()
    assert 0 <= delay < 1.0 and not note.late


async def test_a_slow_briefing_never_makes_a_reminder_late(config: Config) -> None:
    slow = ScriptedModel(["Good morning! " + "la " * 30], delay=0.1)  # about three seconds
    companion = await Companion.open(config, embedder=None, model=slow)
    store = companion.store
    try:
        clock = FakeClock(paris(1, 7, 0))
        await event(store, "Dentist", paris(1, 15, 0), clock.now(), alarm=False)
        await remind(store, "Pills", paris(1, 8, 0, 1), clock.now())
        clock.set(paris(1, 8, 0))
        stop = asyncio.Event()
        runner = asyncio.create_task(make(store, clock, compose=Initiative(companion)).run(stop))
        try:
            await asyncio.sleep(0.3)  # she is composing the briefing now
            clock.set(paris(1, 8, 0, 1))  # and the reminder falls due
            for _ in range(50):
                kinds = [r["kind"] for r in await inbox(store)]
                if kinds:
                    break
                await asyncio.sleep(0.01)
            assert kinds == ["reminder"]  # rang at once, while she was still composing
            for _ in range(100):
                kinds = [r["kind"] for r in await inbox(store)]
                if "briefing" in kinds:
                    break
                await asyncio.sleep(0.05)
            assert kinds == ["reminder", "briefing"]
        finally:
            stop.set()
            await asyncio.wait_for(runner, 10)
        [briefing] = await inbox(store, kind="briefing")
        assert briefing["body"].startswith("Good morning!")
        [reminder] = await inbox(store, kind="reminder")
        assert not reminder["late"]
    finally:
        await companion.close()


async def test_a_snoozed_reminder_rings_again_once_and_the_series_goes_on(store: Store) -> None:
    from os1.calendar import reminders

    clock = FakeClock(paris(1, 8, 0))
    object_id = await remind(store, "Stretch", paris(1, 9, 0), clock.now(), rrule={"FREQ": "DAILY"})
    scheduler = make(store, clock)
    clock.set(paris(1, 9, 0))
    [first] = await scheduler.tick()
    await reminders.snooze(store, "theo", object_id, 10, PARIS, now=clock.now())
    clock.set(paris(1, 9, 5))
    assert await scheduler.tick() == []
    clock.set(paris(1, 9, 10))
    [again] = await scheduler.tick()
    assert again.title == "Stretch" and again.id != first.id
    clock.set(paris(1, 9, 30))
    assert await scheduler.tick() == []  # the snooze rang once
    clock.set(paris(2, 9, 0))
    [tomorrow] = await scheduler.tick()  # and the daily series goes on
    assert tomorrow.due_at == paris(2, 9, 0)
