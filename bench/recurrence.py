"""Recurrence expansion: occurrences per second over one year for 10,000 recurring events.

Run: python bench/recurrence.py [--events 10000] [--runs 3] [--library-runs 1]

A deterministic generator writes one calendar of repeating events shaped like real ones:
daily (some on weekdays only, some every other day), weekly on one to three days
(some every other week), monthly on a day of the month or on "the last weekday" /
"the second Tuesday" (BYSETPOS, BYDAY with an ordinal), yearly all-day birthdays,
hourly medication reminders; with EXDATEs, moved and cancelled instances, COUNT and
UNTIL; in six zones and floating time. Each event starts between 2020 and 2025.

Every event is expanded over 2025 in Europe/Berlin:
- OS1 cold: `recurrence.occurrences` on parsed resources with nothing decoded yet
  (`recurrence.forget` before each run), decoding the rules included;
- OS1 warm: the same resources again (decoded rules kept on the resource, as the agenda
  and the scheduler see them);
- baseline: `recurring_ical_events.of(calendar).between(start, end)` on the same calendar
  (building its series included), in the same run.
Both must find the same number of occurrences (cancelled instances included); the
count is printed. Parsing the text is not timed for either.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import icalendar
import recurring_ical_events
from dateutil import rrule as du
from machine import describe, median, table

from os1.calendar import ical, recurrence

ZONES = ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Sydney", "UTC",
         "Europe/London", None]  # fmt: skip
DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
WINDOW = (datetime(2025, 1, 1, tzinfo=ZoneInfo("Europe/Berlin")),
          datetime(2026, 1, 1, tzinfo=ZoneInfo("Europe/Berlin")))  # fmt: skip


def _stamp(value: datetime | date, zone: str | None) -> str:
    if not isinstance(value, datetime):
        return f";VALUE=DATE:{value:%Y%m%d}"
    if zone == "UTC":
        return f":{value:%Y%m%dT%H%M%S}Z"
    return (f";TZID={zone}" if zone else "") + f":{value:%Y%m%dT%H%M%S}"


def _rule(rng: random.Random, i: int) -> tuple[str, bool]:
    """An RRULE (without COUNT/UNTIL) and whether the event is all-day."""
    kind = rng.random()
    if kind < 0.18:
        return rng.choice(["FREQ=DAILY", "FREQ=DAILY;INTERVAL=2",
                           "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR"]), False  # fmt: skip
    if kind < 0.55:
        days = ",".join(sorted(rng.sample(DAYS[:5], rng.randint(1, 3)), key=DAYS.index))
        return f"FREQ=WEEKLY;BYDAY={days}" + (";INTERVAL=2" if i % 4 == 0 else ""), False
    if kind < 0.70:
        return f"FREQ=MONTHLY;BYMONTHDAY={rng.choice([1, 5, 15, 28, -1])}", False
    if kind < 0.80:
        return rng.choice(["FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
                           "FREQ=MONTHLY;BYDAY=2TU", "FREQ=MONTHLY;BYDAY=-1FR",
                           "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=1"]), False  # fmt: skip
    if kind < 0.92:
        return "FREQ=YEARLY", True
    if kind < 0.96:
        return "FREQ=WEEKLY;BYDAY=SA", True
    return "FREQ=HOURLY;BYHOUR=8,14,20", False


def generate(n: int, seed: int = 5) -> str:
    rng = random.Random(seed)
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//OS1//bench//EN"]
    for i in range(n):
        rule, all_day = _rule(rng, i)
        zone = rng.choice(ZONES)
        day = date(2020, 1, 1) + timedelta(days=rng.randrange(5 * 365))
        start: datetime | date = (
            day if all_day else datetime.combine(day, datetime.min.time()).replace(
                hour=rng.choice([7, 8, 9, 10, 13, 14, 17, 19]), minute=rng.choice([0, 15, 30]))
        )  # fmt: skip
        length = timedelta(days=1) if all_day else timedelta(minutes=rng.choice([15, 30, 60, 90]))
        ends = rng.random()
        if ends < 0.2:
            rule += f";COUNT={rng.randint(5, 400)}"
        elif ends < 0.4:
            until = day + timedelta(days=rng.randint(200, 2500))
            rule += f";UNTIL={until:%Y%m%d}" if all_day else f";UNTIL={until:%Y%m%d}T235959Z"
        uid = f"bench-{i}@os1"
        lines += ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20250101T000000Z",
                  f"SUMMARY:Event {i}", f"DTSTART{_stamp(start, zone)}",
                  f"DTEND{_stamp(start + length, zone)}", f"RRULE:{rule}"]  # fmt: skip
        # Instances to delete and move: picked from the rule so that they exist.
        deleted, moving = rng.random() < 0.2, rng.random() < 0.1
        instances = recurring_slots(start, rule) if deleted or moving else []
        if instances and deleted:
            for slot in rng.sample(instances, min(len(instances), rng.randint(1, 3))):
                lines.append(f"EXDATE{_stamp(slot, zone)}")
        lines.append("END:VEVENT")
        if instances and moving:
            slot = rng.choice(instances)
            to = slot + timedelta(days=rng.choice([-2, 1, 3]), hours=0 if all_day else 2)
            lines += ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20250101T000000Z",
                      f"RECURRENCE-ID{_stamp(slot, zone)}", f"SUMMARY:Event {i} (moved)",
                      f"DTSTART{_stamp(to, zone)}",
                      f"DTEND{_stamp(to + length, zone)}"]  # fmt: skip
            if rng.random() < 0.3:
                lines.append("STATUS:CANCELLED")
            lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


def recurring_slots(start: datetime | date, rule: str) -> list[datetime | date]:
    """Up to 40 instances of the rule in 2025 (for EXDATEs and moved instances)."""
    first = start if isinstance(start, datetime) else datetime(start.year, start.month, start.day)
    found = du.rrulestr(rule.replace("Z", ""), dtstart=first).xafter(datetime(2025, 1, 1), 40)
    return [x if isinstance(start, datetime) else x.date() for x in found if x.year == 2025]


def _ours(resources: list[ical.Resource], tz: ZoneInfo) -> tuple[float, int]:
    t = time.perf_counter()
    n = 0
    for r in resources:
        for _ in recurrence.occurrences(r, WINDOW[0], WINDOW[1], tz):
            n += 1
    return time.perf_counter() - t, n


def _library(calendar: icalendar.Calendar) -> tuple[float, int]:
    t = time.perf_counter()
    n = len(recurring_ical_events.of(calendar).between(WINDOW[0], WINDOW[1]))
    return time.perf_counter() - t, n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3, help="runs of OS1 (cold and warm)")
    parser.add_argument("--library-runs", type=int, default=1, help="runs of the baseline")
    args = parser.parse_args()
    if args.runs < 1 or args.library_runs < 1:
        parser.error("--runs and --library-runs must be at least 1")
    text = generate(args.events)
    tz = ZoneInfo("Europe/Berlin")
    cold, warm, base = [], [], []
    counts: set[tuple[str, int]] = set()
    resources = ical.parse(text).resources
    for _ in range(args.runs):
        for r in resources:  # cold: nothing decoded yet, as right after parsing
            recurrence.forget(r)
        seconds, n = _ours(resources, tz)
        cold.append(seconds)
        counts.add(("OS1", n))
        seconds, n = _ours(resources, tz)
        warm.append(seconds)
        counts.add(("OS1", n))
    calendar = icalendar.Calendar.from_ical(text)
    for _ in range(args.library_runs):
        seconds, n = _library(calendar)
        base.append(seconds)
        counts.add(("recurring-ical-events", n))
    found = dict(counts)
    if len(counts) != 2 or found["OS1"] != found["recurring-ical-events"]:
        print(f"MISMATCH in occurrence counts: {sorted(counts)}")
    n = found["OS1"]
    base_s = median(base)
    measured = [("OS1 cold (decode + expand)", cold), ("OS1 warm (decoded)", warm),
                ("recurring-ical-events of().between()", base)]  # fmt: skip
    rows = [
        [name, f"{median(s):.3f}", f"{n / median(s):,.0f}", f"{base_s / median(s):.1f}x"]
        for name, s in measured
    ]
    print(
        f"Recurrence expansion: {args.events:,} recurring events over 2025 "
        f"(Europe/Berlin); medians of {args.runs} OS1 runs and {args.library_runs} "
        f"baseline run(s) (the baseline takes about a minute a run on 2 cores: once by default, "
        f"to keep the whole under two minutes)\n"
        f"Occurrences found: OS1 {found['OS1']:,}, "
        f"recurring-ical-events {found['recurring-ical-events']:,}\n"
    )
    print(table(["what", "seconds", "occurrences/s", "speed-up vs baseline"], rows))
    print(f"\nMachine: {describe()}")


if __name__ == "__main__":
    main()
