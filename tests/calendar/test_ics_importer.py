"""Importing and exporting .ics: real-world files, broken ones, re-imports, a kill -9."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events

from os1.calendar import agenda, ical, importer
from os1.calendar import store as calstore
from os1.store import Store

USER = "theo"
TZ = ZoneInfo("Europe/Berlin")
SUITES = [
    Path(icalendar.__file__).parent / "tests" / "calendars",
    Path(recurring_ical_events.__file__).parent / "test" / "calendars",
]
_COMPONENT = re.compile(r"^BEGIN:(VEVENT|VTODO)[ \t]*\r?$", re.MULTILINE | re.IGNORECASE)
YEAR = (datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))


def components(text: str) -> int:
    return len(_COMPONENT.findall(text))


def cal(*body: str, head: str = "") -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:test\r\n"
        + head
        + "".join(body)
        + ("END:VCALENDAR\r\n")
    )


def event(uid: str, start: str = "20250301T090000Z", *extra: str, summary: str = "") -> str:
    lines = [f"UID:{uid}", "DTSTAMP:20250101T000000Z", f"DTSTART:{start}"]
    lines += [f"SUMMARY:{summary or 'Event ' + uid}", *extra]
    return "BEGIN:VEVENT\r\n" + "".join(f"{x}\r\n" for x in lines) + "END:VEVENT\r\n"


async def stored(store: Store, calendar: str | None = None) -> list[str]:
    """The iCalendar text of every object (of one calendar), in order."""
    rows = await store.query(
        "SELECT o.ics FROM cal_objects o JOIN calendars k ON k.id = o.calendar_id "
        "WHERE o.user_id = ? AND (? IS NULL OR k.name = ?) ORDER BY o.id",
        (USER, calendar, calendar),
    )
    return [r["ics"] for r in rows]


async def count(store: Store, table: str) -> int:
    row = await store.query_one(f"SELECT count(*) FROM {table} WHERE user_id = ?", (USER,))
    assert row is not None
    return int(row[0])


async def occurrences(store: Store, tz: ZoneInfo = TZ) -> list[tuple[str, datetime, datetime]]:
    items = await agenda.items(store, USER, *YEAR, tz)
    return [(i.occurrence.summary, i.start, i.occurrence.end) for i in items]


async def test_every_library_calendar_is_stored_or_kept_as_a_problem(store: Store) -> None:
    files = sorted(f for d in SUITES for f in d.glob("*.ics"))
    assert len(files) > 150
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # icalendar warns about vendor TZIDs it guesses
        for f in files:
            name = f"{f.parent.parent.name}/{f.name}"
            report = await importer.import_path(store, USER, f, calendar=name, tz=TZ)
            assert report.files == 1
            want = components(ical.decode_text(f.read_bytes()))
            have = sum(components(t) for t in await stored(store, name))
            rows = await store.query(
                "SELECT error, raw FROM cal_problems WHERE user_id = ? AND source = ?",
                (USER, str(f)),
            )
            kept = sum(components(r["raw"]) for r in rows)
            # Nothing lost, nothing made up: every component is stored or kept raw.
            assert have <= want <= have + kept, name
            assert len(rows) == len(report.problems), name
            if "BEGIN:VCALENDAR" not in ical.decode_text(f.read_bytes()).upper():
                assert [r["error"] for r in rows] == [
                    f"{f} is not an iCalendar file (no BEGIN:VCALENDAR)"
                ]
                assert rows[0]["raw"] == ical.decode_text(f.read_bytes())
    # Importing it all again adds nothing: no object, no problem twice.
    objects, problems = await count(store, "cal_objects"), await count(store, "cal_problems")
    assert objects > 300
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = importer.ImportReport("")
        for f in files:
            name = f"{f.parent.parent.name}/{f.name}"
            r = await importer.import_path(store, USER, f, calendar=name, tz=TZ)
            again.added += r.added
            again.updated += r.updated
    assert (again.added, again.updated) == (0, 0)
    assert (await count(store, "cal_objects"), await count(store, "cal_problems")) == (
        objects,
        problems,
    )


async def test_a_folder_of_library_calendars(store: Store) -> None:
    folder = SUITES[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = await importer.import_path(store, USER, folder, tz=TZ)
    assert report.files == len(list(folder.glob("*.ics")))
    assert any("not .ics left out" in n for n in report.notes)  # date_exclude.txt
    assert "Germany Holidays" in report.calendars  # its X-WR-CALNAME
    assert await count(store, "cal_objects") > 100
    assert report.summary().startswith(f"Imported {report.files} files into ")


async def test_daylight_saving_floating_and_all_day(store: Store, tmp_path: Path) -> None:
    f = tmp_path / "odd.ics"
    f.write_text(
        cal(
            # Weekly at 09:00 Berlin time across the spring change (30 March 2025).
            event("dst", "20250324T090000", "RRULE:FREQ=WEEKLY;COUNT=2", summary="Standup")
            .replace("DTSTART:", "DTSTART;TZID=Europe/Berlin:"),
            # No zone at all: it means the user's zone.
            event("floating", "20250401T183000", summary="Dinner"),
            # A day, not a time.
            event("allday", "20250405", "DTEND;VALUE=DATE:20250407", summary="Trip")
            .replace("DTSTART:", "DTSTART;VALUE=DATE:"),
        )
    )  # fmt: skip
    report = await importer.import_path(store, USER, f, tz=TZ)
    assert (report.added, report.calendars) == (3, ["Personal"])
    got = await occurrences(store)
    standups = [s for what, s, _ in got if what == "Standup"]
    assert [s.astimezone(TZ).hour for s in standups] == [9, 9]
    assert [s.astimezone(UTC).hour for s in standups] == [8, 7]
    [dinner] = [s for what, s, _ in got if what == "Dinner"]
    assert dinner == datetime(2025, 4, 1, 18, 30, tzinfo=TZ)
    [(_, trip_start, trip_end)] = [x for x in got if x[0] == "Trip"]
    assert trip_start == datetime(2025, 4, 5, tzinfo=TZ) and (trip_end - trip_start).days == 2
    row = await store.query_one("SELECT all_day, starts_at FROM cal_objects WHERE uid = 'allday'")
    assert row is not None and row["all_day"] == 1


async def test_google_calendar_floating_times_mean_its_zone(store: Store, tmp_path: Path) -> None:
    f = tmp_path / "google.ics"
    f.write_text(cal(event("g", "20250601T090000"), head="X-WR-TIMEZONE:America/New_York\r\n"))
    await importer.import_path(store, USER, f, tz=TZ)
    [(_, start, _)] = await occurrences(store)
    assert start == datetime(2025, 6, 1, 9, tzinfo=ZoneInfo("America/New_York"))


async def test_broken_files_are_problems_and_the_import_goes_on(
    store: Store, tmp_path: Path
) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    good = cal(event("good-1"), event("good-2"))
    (folder / "01-good.ics").write_text(good)
    (folder / "02-truncated.ics").write_text(good[: good.index("SUMMARY:Event good-2")])
    (folder / "03-junk.ics").write_bytes(os.urandom(2000).replace(b"BEGIN", b"xxxxx"))
    (folder / "04-missing-end.ics").write_text(good.replace("END:VEVENT\r\nBEGIN", "BEGIN"))
    (folder / "05-bad-date.ics").write_text(cal(event("bad-date", "20251345T250000Z")))
    (folder / "06-bad-rule.ics").write_text(cal(event("bad-rule", "20250301", "RRULE:FREQ=OFTEN")))
    (folder / "07-no-uid.ics").write_text(cal(event("x").replace("UID:x\r\n", "")))
    (folder / "08-no-calendar.ics").write_text(event("bare"))
    (folder / "09-cp1252.ics").write_bytes(cal(event("cafe", summary="Café")).encode("cp1252"))
    (folder / "10-empty.ics").write_text("")
    report = await importer.import_path(store, USER, folder, tz=TZ)
    assert report.files == 10
    errors = {Path(p.source).name: p.error for p in report.problems}
    assert errors == {
        "02-truncated.ics": "the event is cut off: END:VEVENT is missing",
        "03-junk.ics": f"{folder / '03-junk.ics'} is not an iCalendar file (no BEGIN:VCALENDAR)",
        "04-missing-end.ics": "the event is cut off: END:VEVENT is missing",
        "05-bad-date.ics": errors["05-bad-date.ics"],
        "06-bad-rule.ics": errors["06-bad-rule.ics"],
        "08-no-calendar.ics": f"{folder / '08-no-calendar.ics'} is not an iCalendar file "
        "(no BEGIN:VCALENDAR)",
    }
    assert errors["05-bad-date.ics"].startswith("DTSTART cannot be read")
    assert errors["06-bad-rule.ics"].startswith("RRULE cannot be read")
    assert report.notes == ["09-cp1252.ics is not UTF-8; it was read as windows-1252"]
    # good-1 and good-2 (files 1, 2 and 4 share them), the UID-less one, the café.
    texts = await stored(store)
    assert len(texts) == 4 and any("SUMMARY:Café" in t for t in texts)
    rows = {Path(r["source"]).name: r["raw"] for r in await importer.problems(store, USER)}
    assert "SUMMARY:Event good-1" in rows["04-missing-end.ics"]
    assert "DTSTART:20251345T250000Z" in rows["05-bad-date.ics"]
    assert rows["08-no-calendar.ics"] == event("bare")
    assert len(rows["03-junk.ics"]) >= 1000  # the junk itself, decoded, not a summary of it


async def test_huge_files_are_refused_unread(store: Store, tmp_path: Path) -> None:
    huge = tmp_path / "huge.ics"
    with huge.open("wb") as f:
        f.truncate(ical.MAX_TEXT + 1)  # sparse: no 50 MB written or read
    (tmp_path / "small.ics").write_text(cal(event("small")))
    report = await importer.import_path(store, USER, tmp_path, tz=TZ)
    [problem] = report.problems
    assert "larger than 50 MB" in problem.error and "unchanged" in problem.error
    assert problem.raw == ""
    assert report.added == 1


async def test_reimport_adds_nothing_and_older_copies_never_win(
    store: Store, tmp_path: Path
) -> None:
    f = tmp_path / "cal.ics"
    f.write_text(cal(event("a", "20250301T090000Z", "SEQUENCE:1"), event("b")))
    first = await importer.import_path(store, USER, f, tz=TZ)
    again = await importer.import_path(store, USER, f, tz=TZ)
    assert (first.added, again.added, again.unchanged, again.updated) == (2, 0, 2, 0)
    assert "0 added, 0 updated, 2 already there" in again.summary()
    # A later version (higher SEQUENCE) replaces the stored one…
    f.write_text(cal(event("a", "20250302T090000Z", "SEQUENCE:2"), event("b")))
    newer = await importer.import_path(store, USER, f, tz=TZ)
    assert (newer.updated, newer.unchanged) == (1, 1)
    # …an older one (lower SEQUENCE) does not, even though it differs.
    f.write_text(cal(event("a", "20250303T090000Z", "SEQUENCE:1"), event("b")))
    older = await importer.import_path(store, USER, f, tz=TZ)
    assert (older.updated, older.kept) == (0, 1)
    assert "1 kept as they are here" in older.summary()
    assert any("DTSTART:20250302T090000Z" in t for t in await stored(store))
    # Same SEQUENCE: the later LAST-MODIFIED wins, an earlier one does not.
    later = event("b", "20250310T090000Z", "LAST-MODIFIED:20250201T000000Z")
    f.write_text(cal(later))
    assert (await importer.import_path(store, USER, f, tz=TZ)).updated == 1
    f.write_text(cal(event("b", "20250311T090000Z", "LAST-MODIFIED:20250115T000000Z")))
    assert (await importer.import_path(store, USER, f, tz=TZ)).kept == 1
    assert any("DTSTART:20250310T090000Z" in t for t in await stored(store))


async def test_a_local_edit_survives_reimporting_the_old_file(store: Store, tmp_path: Path) -> None:
    f = tmp_path / "cal.ics"
    f.write_text(cal(event("a", summary="Dentist")))
    await importer.import_path(store, USER, f, tz=TZ)

    def edit(c):  # type: ignore[no-untyped-def]
        row = c.execute("SELECT * FROM cal_objects WHERE uid = 'a'").fetchone()
        r = calstore.load(row)
        r.main["SUMMARY"] = "Dentist (moved)"
        r.main["SEQUENCE"] = 1
        calstore.put_resource(c, USER, row["calendar_id"], r, origin="chat", tz=TZ)

    await store.write(edit)
    report = await importer.import_path(store, USER, f, tz=TZ)
    assert (report.kept, report.updated) == (1, 0)
    [(summary, _, _)] = await occurrences(store)
    assert summary == "Dentist (moved)"


async def test_calendar_names_and_collections(store: Store, tmp_path: Path) -> None:
    named = tmp_path / "named.ics"
    named.write_text(cal(event("w"), head="X-WR-CALNAME:Work\r\n"))
    assert (await importer.import_path(store, USER, named, tz=TZ)).calendars == ["Work"]
    chosen = await importer.import_path(store, USER, named, calendar="Office", tz=TZ)
    assert chosen.calendars == ["Office"] and chosen.added == 1
    # A Radicale collection and a vdir: one object per file, the name beside them.
    root = tmp_path / "collections"
    (root / "radicale").mkdir(parents=True)
    (root / "radicale" / ".Radicale.props").write_text(
        json.dumps({"tag": "VCALENDAR", "D:displayname": "Family"})
    )
    (root / "radicale" / ".Radicale.cache").mkdir()
    (root / "radicale" / ".Radicale.cache" / "junk.ics").write_text("not looked at")
    (root / "vdir").mkdir()
    (root / "vdir" / "displayname").write_text("Sports\n")
    for i in range(3):
        (root / "radicale" / f"e{i}.ics").write_text(cal(event(f"fam-{i}")))
        (root / "vdir" / f"s{i}.ics").write_text(cal(event(f"sport-{i}")))
    seen: list[tuple[int, int]] = []
    report = await importer.import_path(
        store, USER, root, tz=TZ, on_progress=lambda d, t: seen.append((d, t))
    )
    assert (report.files, report.added, report.problems) == (6, 6, [])
    assert report.calendars == ["Family", "Sports"]
    assert seen[-1][0] == seen[-1][1] > 0 and seen == sorted(seen)
    names = {
        r["name"]: r["objects"] for r in await store.read(lambda c: calstore.calendars(c, USER))
    }
    assert (names["Family"], names["Sports"]) == (3, 3)


async def test_not_importable(store: Store, tmp_path: Path) -> None:
    with pytest.raises(ical.CalendarError, match="does not exist"):
        await importer.import_path(store, USER, tmp_path / "nope.ics", tz=TZ)
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ical.CalendarError, match="holds no calendar files"):
        await importer.import_path(store, USER, tmp_path, tz=TZ)


async def test_problems_are_listed_and_dropped(store: Store, tmp_path: Path) -> None:
    f = tmp_path / "bad.ics"
    f.write_text(cal(event("ok"), "BEGIN:VEVENT\r\nUID:x\r\nEND:VEVENT\r\n"))
    await importer.import_path(store, USER, f, tz=TZ)
    [row] = await importer.problems(store, USER)
    assert row["error"] == "an event without a start (DTSTART)" and "UID:x" in row["raw"]
    assert await importer.drop_problem(store, USER, row["id"])
    assert not await importer.drop_problem(store, USER, row["id"])
    assert await importer.problems(store, USER) == []
    # Twenty identical broken events are twenty problems, and re-importing adds none.
    f.write_text(cal(*["BEGIN:VEVENT\r\nEND:VEVENT\r\n"] * 20))
    await importer.import_path(store, USER, f, tz=TZ)
    await importer.import_path(store, USER, f, tz=TZ)
    assert len(await importer.problems(store, USER)) == 20


ROUND_TRIP = cal(
    event("weekly", "20250106T100000", "RRULE:FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20250331T235959Z",
          "EXDATE;TZID=Europe/Berlin:20250108T100000", summary="Course")
    .replace("DTSTART:", "DTSTART;TZID=Europe/Berlin:"),
    event("weekly", "20250115T120000", "RECURRENCE-ID;TZID=Europe/Berlin:20250115T100000",
          summary="Course (moved)").replace("DTSTART:", "DTSTART;TZID=Europe/Berlin:"),
    event("birthday", "20250412", "RRULE:FREQ=YEARLY", summary="Amy's birthday")
    .replace("DTSTART:", "DTSTART;VALUE=DATE:"),
    event("call", "20250330T013000Z", "DURATION:PT45M", summary="Call Tokyo"),
    "BEGIN:VTODO\r\nUID:todo\r\nDTSTAMP:20250101T000000Z\r\nSUMMARY:Taxes\r\n"
    "DTSTART:20250415T090000Z\r\nDUE:20250415T090000Z\r\nEND:VTODO\r\n",
)  # fmt: skip


async def test_export_then_import_gives_the_same_occurrences(store: Store, tmp_path: Path) -> None:
    (tmp_path / "in.ics").write_text(ROUND_TRIP)
    (tmp_path / "google.ics").write_text(
        cal(event("g", "20250601T090000"), head="X-WR-TIMEZONE:America/New_York\r\n")
    )
    await importer.import_path(store, USER, tmp_path / "in.ics", tz=TZ)
    await importer.import_path(store, USER, tmp_path / "google.ics", calendar="Work", tz=TZ)
    before = await occurrences(store)
    assert len([x for x in before if x[0] == "Course"]) == 23
    out = tmp_path / "out.ics"
    out.write_text("an older export")
    assert await importer.export_ics(store, USER, out) == 5
    assert [n for n in os.listdir(tmp_path) if n.startswith(".")] == []  # no temp file left
    fresh = await Store.open(tmp_path / "fresh.db")
    try:
        report = await importer.import_path(fresh, USER, out, tz=TZ)
        assert (report.added, report.problems) == (5, [])
        assert await occurrences(fresh) == before
    finally:
        await fresh.close()
    # One calendar, to a stream: its name travels with it.
    stream = io.StringIO()
    assert await importer.export_ics(store, USER, stream, calendar="Work") == 1
    assert "X-WR-CALNAME:Work" in stream.getvalue()
    with pytest.raises(ical.CalendarError, match="no calendar called 'Nope'"):
        await importer.export_ics(store, USER, tmp_path / "x.ics", calendar="Nope")


async def test_deleted_objects_stay_deleted(store: Store, tmp_path: Path) -> None:
    (tmp_path / "in.ics").write_text(cal(event("keep"), event("drop")))
    await importer.import_path(store, USER, tmp_path / "in.ics", tz=TZ)

    def drop(c):  # type: ignore[no-untyped-def]
        row = c.execute("SELECT id FROM cal_objects WHERE uid = 'drop'").fetchone()
        calstore.delete(c, USER, row["id"], keep_tombstone=True)

    await store.write(drop)
    buffer = io.BytesIO()
    assert await importer.export_ics(store, USER, buffer) == 1
    assert b"UID:keep" in buffer.getvalue() and b"UID:drop" not in buffer.getvalue()
    # Deleted here (waiting to be deleted on the server too): the old file does not revive it.
    again = await importer.import_path(store, USER, tmp_path / "in.ics", tz=TZ)
    assert (again.unchanged, again.kept, again.updated) == (1, 1, 0)
    assert await importer.export_ics(store, USER, io.BytesIO()) == 1


SCRIPT = textwrap.dedent(
    """
    import asyncio, sys, time
    from pathlib import Path
    from zoneinfo import ZoneInfo
    from os1.store import Store
    from os1.calendar import importer

    def progress(done, total):
        print(done, total, flush=True)
        time.sleep(0.3)  # room for the test to kill it between two batches

    async def main():
        store = await Store.open(Path(sys.argv[1]))
        await importer.import_path(store, "theo", Path(sys.argv[2]), tz=ZoneInfo("UTC"),
                                   batch=250, on_progress=progress)
        await store.close()

    asyncio.run(main())
    """
)


def _import_and_kill(script: Path, db: Path, big: Path) -> int:
    """Run the import in another process and kill -9 it once a first batch is committed."""
    proc = subprocess.Popen(
        [sys.executable, str(script), str(db), str(big)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.readline()  # printed after the first batch is committed
        assert first.strip(), proc.stderr.read()
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
    return proc.returncode


async def test_kill_mid_import_then_rerun_completes(store: Store, tmp_path: Path) -> None:
    n = 3000
    big = tmp_path / "big.ics"
    big.write_text(
        cal(*[event(f"e{i}", f"2025{1 + i % 12:02d}{1 + i % 28:02d}T{8 + i % 10:02d}0000Z",
                    "DURATION:PT1H", *(["RRULE:FREQ=WEEKLY;COUNT=4"] if i % 3 == 0 else []))
              for i in range(n)])
    )  # fmt: skip
    script = tmp_path / "run_import.py"
    script.write_text(SCRIPT)
    returncode = await asyncio.to_thread(
        _import_and_kill, script, tmp_path / "home" / "os1.db", big
    )
    assert returncode == -signal.SIGKILL
    assert await store.integrity_check() == "ok"
    written = await count(store, "cal_objects")
    assert 250 <= written < n  # killed part way, whole batches only
    assert written % 250 == 0
    start = time.monotonic()
    report = await importer.import_path(store, USER, big, tz=ZoneInfo("UTC"))
    assert (report.added, report.unchanged, report.problems) == (n - written, written, [])
    assert await count(store, "cal_objects") == n
    uids = {r["uid"] for r in await store.query("SELECT uid FROM cal_objects")}
    assert uids == {f"e{i}" for i in range(n)}
    assert time.monotonic() - start < 120
