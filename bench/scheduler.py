"""Scheduler: firing accuracy with 100,000 pending reminders, and restart catch-up time.

Run: python bench/scheduler.py [--pending 100000] [--due 200] [--seconds 20]
                               [--overdue 10000] [--runs 3]

A fresh store holds `--pending` reminders of 5 users, made the way OS1 stores them
(VTODO + VALARM with a VTIMEZONE, from `ical.new_todo`, one `schedule` row each): 70%
one-off, 30% repeating daily, due times spread over the next four weeks. Rows are
written with executemany rather than one `put_resource` each, to keep set-up short;
what is written is the same.

Firing accuracy: `--due` more reminders fall due during a `--seconds` real-time run of
`Scheduler.run` on the system clock (three quarters spread over the run, the rest in
five bursts of simultaneous ones). The delay is `fired_at - due_at`: from the due time
to the notification's insertion into the inbox. The baseline is the same run on a
queue holding only those reminders.

Restart catch-up: the scheduler is stopped; the clock then stands where `--overdue`
reminders are past due (the computer was off for days: repeating ones have missed
several occurrences, each one late notification). A new `Scheduler` is started and
timed until its first tick has delivered every one of them. Baseline: 100 overdue,
in the same 100,000-reminder store. Median of `--runs` runs, each on a fresh copy. The
bench users have no quiet hours, so that no late delivery waits for the morning.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import describe, median, table

from os1.calendar import ical
from os1.scheduler import settings as schedsettings
from os1.scheduler.channels import TerminalChannel
from os1.scheduler.clock import FakeClock, SystemClock
from os1.scheduler.runner import Scheduler
from os1.scheduler.settings import SchedulerSettings
from os1.store import Store

PARIS = ZoneInfo("Europe/Paris")
USERS = [f"user{i}" for i in range(5)]
PLACEHOLDER = datetime(2000, 1, 1, 0, 0, tzinfo=PARIS)


def _templates() -> dict[bool, str]:
    """The iCalendar text of a one-off and a daily reminder, with places for uid, text, time."""
    out = {}
    for repeating in (False, True):
        todo = ical.new_todo(
            "SUMMARYX", PLACEHOLDER, rrule={"FREQ": "DAILY"} if repeating else None, uid="UIDX"
        )
        out[repeating] = todo.to_ical()
    return out


def populate(db: sqlite3.Connection, dues: list[tuple[datetime, bool]], start_id: int = 0) -> None:
    """Reminders due at `dues` (time, repeating), spread over the users, with queue rows."""
    templates = _templates()
    now = datetime.now(UTC).isoformat()
    calendars = {}
    for user in USERS:
        db.execute("INSERT OR IGNORE INTO users (id, created_at) VALUES (?, ?)", (user, now))
        # No quiet hours: late deliveries at night would wait for the morning, uncounted.
        schedsettings.save(db, user, SchedulerSettings(quiet_start="00:00", quiet_end="00:00"))
        db.execute(
            "INSERT OR IGNORE INTO calendars (user_id, name, created_at) VALUES (?, 'Personal', ?)",
            (user, now),
        )
        calendars[user] = db.execute(
            "SELECT id FROM calendars WHERE user_id = ? AND name = 'Personal'", (user,)
        ).fetchone()[0]
    objects, queue = [], []
    for i, (due, repeating) in enumerate(dues, start=start_id):
        user = USERS[i % len(USERS)]
        local = due.astimezone(PARIS).replace(microsecond=0)
        text = (
            templates[repeating]
            .replace("UIDX", f"bench-{i}@os1")
            .replace("SUMMARYX", f"Reminder {i}")
            .replace("20000101T000000", f"{local:%Y%m%dT%H%M%S}")
        )
        at = local.astimezone(UTC).isoformat()
        objects.append(
            (i + 1, user, calendars[user], f"bench-{i}@os1", text, f"Reminder {i}", "NEEDS-ACTION",
             at, None if repeating else at, int(repeating), now, now)
        )  # fmt: skip
        queue.append((user, i + 1, "0", at, at))
    db.executemany(
        "INSERT INTO cal_objects (id, user_id, calendar_id, uid, kind, ics, summary, status, "
        "starts_at, ends_at, recurring, has_alarms, origin, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, 'todo', ?, ?, ?, ?, ?, ?, 1, 'local', ?, ?)",
        objects,
    )
    db.executemany(
        "INSERT INTO schedule (user_id, object_id, alarm, due_at, occurrence) "
        "VALUES (?, ?, ?, ?, ?)",
        queue,
    )


def spread(n: int, start: datetime, rng: random.Random) -> list[tuple[datetime, bool]]:
    """`n` due times over four weeks from `start`, 30% of them repeating daily."""
    return [
        (start + timedelta(seconds=rng.uniform(60, 28 * 86400)), rng.random() < 0.3)
        for _ in range(n)
    ]


async def fresh_store(path: Path, dues: list[tuple[datetime, bool]]) -> None:
    store = await Store.open(path)
    await store.write(lambda c: populate(c, dues))
    await store.close()


def scheduler(store: Store, clock: SystemClock | FakeClock) -> Scheduler:
    return Scheduler(
        store,
        clock=clock,
        default_tz="Europe/Paris",
        channels={"terminal": TerminalChannel()},
        compose=None,
    )


async def accuracy(path: Path, pending: int, due: int, seconds: float) -> list[float]:
    """Delays (ms) of `due` reminders falling due during a real-time run, over `pending` others."""
    rng = random.Random(11)
    start = datetime.now(UTC)
    background = spread(pending, start + timedelta(minutes=10), rng)
    spread_n = due * 3 // 4
    window = seconds - 4
    soon = [
        (start + timedelta(seconds=3 + window * i / spread_n), i % 4 == 0) for i in range(spread_n)
    ]
    bursts = [start + timedelta(seconds=3 + window * (k + 0.5) / 5) for k in range(5)]
    soon += [(bursts[i % 5], False) for i in range(due - spread_n)]
    store = await Store.open(path)
    await store.write(lambda c: populate(c, background))
    # The reminders to watch are added just before the run, timed from now.
    offset = datetime.now(UTC) - start
    await store.write(lambda c: populate(c, [(t + offset, r) for t, r in soon], start_id=pending))
    stop = asyncio.Event()
    runner = asyncio.create_task(scheduler(store, SystemClock()).run(stop))
    await asyncio.sleep(seconds)
    stop.set()
    await runner
    rows = await store.query(
        "SELECT due_at, fired_at FROM notifications WHERE kind = 'reminder' AND object_id > ?",
        (pending,),
    )
    await store.close()
    if len(rows) != due:
        raise SystemExit(f"only {len(rows)} of {due} reminders fired during the run")
    return [
        (
            datetime.fromisoformat(r["fired_at"]) - datetime.fromisoformat(r["due_at"])
        ).total_seconds()
        * 1000
        for r in rows
    ]


async def catch_up(template: Path, copy: Path, overdue: int) -> float:
    """Seconds a new scheduler takes to deliver `overdue` missed reminders."""
    shutil.copy(template, copy)
    store = await Store.open(copy)
    rows = await store.query(
        "SELECT due_at FROM schedule ORDER BY due_at LIMIT 1 OFFSET ?", (overdue - 1,)
    )
    clock = FakeClock(datetime.fromisoformat(rows[0]["due_at"]))
    started = time.perf_counter()
    fired = await scheduler(store, clock).tick()
    took = time.perf_counter() - started
    await store.close()
    if len(fired) != overdue:
        raise SystemExit(f"catch-up delivered {len(fired)} of {overdue}")
    return took


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="os1-scheduler-bench-") as tmp:
        folder = Path(tmp)
        loaded = await accuracy(folder / "loaded.db", args.pending, args.due, args.seconds)
        empty = await accuracy(folder / "empty.db", 0, args.due, args.seconds)

        template = folder / "catchup.db"
        # The clock stands still at 2026-06-01 for the catch-up: due times from there on.
        await fresh_store(
            template, spread(args.pending, datetime(2026, 6, 1, tzinfo=UTC), random.Random(5))
        )
        big, small = [], []
        for r in range(args.runs):
            big.append(await catch_up(template, folder / f"big-{r}.db", args.overdue))
            small.append(await catch_up(template, folder / f"small-{r}.db", 100))

    rows = [
        [f"firing delay p50 (ms), {args.pending:,} pending", f"{pct(loaded, 50):.1f}",
         f"{pct(empty, 50):.1f}", f"{pct(loaded, 50) / max(pct(empty, 50), 1e-3):.2f}"],
        [f"firing delay p99 (ms), {args.pending:,} pending", f"{pct(loaded, 99):.1f}",
         f"{pct(empty, 99):.1f}", f"{pct(loaded, 99) / max(pct(empty, 99), 1e-3):.2f}"],
        ["firing delay max (ms)", f"{max(loaded):.1f}", f"{max(empty):.1f}", ""],
        [f"restart catch-up (s): {args.overdue:,} overdue vs 100", f"{median(big):.2f}",
         f"{median(small):.3f}", f"{median(big) / median(small):.1f}"],
        ["catch-up per overdue reminder (ms)", f"{median(big) / args.overdue * 1000:.2f}",
         f"{median(small) / 100 * 1000:.2f}",
         f"{(median(big) / args.overdue) / (median(small) / 100):.2f}"],
    ]  # fmt: skip
    print(
        f"Scheduler: {args.due} reminders due during a {args.seconds:.0f} s real-time run, "
        f"{args.pending:,} pending (baseline: an otherwise empty queue); restart catch-up in a "
        f"{args.pending:,}-reminder store, median of {args.runs} runs "
        f"(spread {statistics.pstdev(big):.2f} s)\n"
    )
    print(table(["measure", "OS1", "baseline", "ratio"], rows))
    print(f"\nMachine: {describe()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pending", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--overdue", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
