"""Recurrence expansion: checked against recurring-ical-events on the test calendars of two
iCalendar libraries, and on the cases that matter most (daylight saving, floating and
all-day times, deleted, moved and cancelled instances, bounds, broken rules)."""

from __future__ import annotations

import logging
import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
from dateutil import rrule as du

from os1.calendar import ical, recurrence

TZ = ZoneInfo("Europe/Berlin")
NY = ZoneInfo("America/New_York")
WINDOW = (datetime(1990, 1, 1, tzinfo=UTC), datetime(2040, 1, 1, tzinfo=UTC))
# Read from the installed packages, never copied here (recurring-ical-events is LGPL).
FOLDERS = (
    Path(recurring_ical_events.__file__).parent / "test" / "calendars",
    Path(icalendar.__file__).parent / "tests" / "calendars",
)
FILES = sorted((p for folder in FOLDERS for p in folder.glob("*.ics")), key=lambda p: p.name)

# Where we knowingly differ from recurring-ical-events: (file, UID) -> why.
KNOWN = {
    ("issue_75_range_parameter.ics", "210"):
        "UNTIL=20250920 (a date) on a timed series: we count the whole day (UNTIL is "
        "inclusive), the library stops at 00:00 UTC and drops that day's instance",
    ("issue_1050_all_components.ics", "todo-1"):
        "a to-do without DTSTART and DUE is on no day of the calendar; the library spans "
        "it over 1970-2038",
    ("issue_1050_calendar_with_events_and_todos.ics", "todo-1@example.com"): "as above",
    ("rfc_7986_image.ics", "uri-todo"): "as above",
    ("rfc_7986_image.ics", "data-todo"): "as above",
}  # fmt: skip
# Where the library raises and we show what is sound: (file, UID) -> what is left.
LIBRARY_RAISES = {
    ("bad_rrule_missing_until_event.ics", "blabla"):
        "UNTL=..., a misspelt rule part: the rule is skipped, the start stays",
    ("rfc_7529.ics", "4.3.1"):
        "RSCALE=CHINESE: a calendar we cannot count in; the rule is skipped",
    ("rfc_7529.ics", "4.3.2"): "RSCALE=ETHIOPIC: as above",
    ("rfc_7529.ics", "4.3.3"): "RSCALE=HEBREW: as above",
    ("rfc_7529.ics", "4.3.4"):
        "RSCALE=GREGORIAN;SKIP=FORWARD: expanded as Gregorian; SKIP is ignored, so only "
        "the dates that exist are shown",
}  # fmt: skip
# Files the parser refuses as a whole (not calendars): its concern, nothing to expand.
NOT_READ = {
    "fuzz_testcase_0_char_in_component_name.ics",
    "fuzz_testcase_invalid_month.ics",
    "fuzz_testcase_vtimezone_lone_cr.ics",
    "issue_178_component_with_invalid_name_represented.ics",
    "issue_178_custom_component_contains_other.ics",
    "issue_82_expected_output.ics",
}


def _utc(value: date, zone: ZoneInfo) -> datetime:
    return recurrence.as_aware(value, zone).astimezone(UTC)


def _library(resource: ical.Resource, zone: ZoneInfo) -> Counter[tuple[object, ...]]:
    cal = icalendar.Calendar()
    if resource.default_tz:
        cal.add("X-WR-TIMEZONE", resource.default_tz)
    cal.subcomponents = [*resource.timezones, *resource.components]
    name = {"event": "VEVENT", "todo": "VTODO"}[resource.kind]
    found: Counter[tuple[object, ...]] = Counter()
    query = recurring_ical_events.of(cal, components=[name])
    for c in query.between(WINDOW[0].astimezone(zone), WINDOW[1].astimezone(zone)):
        start = c["DTSTART"].dt
        end = c[{"VEVENT": "DTEND", "VTODO": "DUE"}[name]].dt
        found[
            _utc(start, zone), _utc(end, zone), ical.text_of(c.get("SUMMARY")),
            ical.text_of(c.get("STATUS")).upper(), not isinstance(start, datetime),
        ] += 1  # fmt: skip
    return found


def _ours(
    resource: ical.Resource, tz: ZoneInfo
) -> tuple[Counter[tuple[object, ...]], list[datetime]]:
    found: Counter[tuple[object, ...]] = Counter()
    starts = []
    for o in recurrence.occurrences(resource, WINDOW[0], WINDOW[1], tz):
        found[o.start.astimezone(UTC), o.end.astimezone(UTC), o.summary, o.status, o.all_day] += 1
        starts.append(o.start)
    return found, starts


@pytest.mark.parametrize("tz", [TZ, NY], ids=["Berlin", "New_York"])
@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_same_occurrences_as_recurring_ical_events(
    path: Path, tz: ZoneInfo, caplog: pytest.LogCaptureFixture
) -> None:
    """Every event and to-do of every test calendar, 1990-2040, in the user's zone (the
    calendar's X-WR-TIMEZONE where it has one): the same starts, ends, summaries and
    statuses as recurring-ical-events, or a difference listed above with its reason."""
    try:
        parsed = ical.parse(path.read_bytes(), path.name)
    except ical.CalendarError:
        assert path.name in NOT_READ
        return
    differing = {}
    for resource in parsed.resources:
        zone = ZoneInfo(resource.default_tz) if resource.default_tz else tz
        ours, starts = _ours(resource, tz)
        assert starts == sorted(starts)
        try:
            theirs = _library(resource, zone)
        except Exception as e:
            differing[path.name, resource.uid] = f"library raises {type(e).__name__}: {e}"
            continue
        if ours != theirs:
            differing[path.name, resource.uid] = (
                f"only ours: {sorted(ours - theirs)[:3]}, only theirs: {sorted(theirs - ours)[:3]}"
            )
    raised = {k for k, v in differing.items() if v.startswith("library raises")}
    assert raised <= set(LIBRARY_RAISES), differing
    unexplained = {k: v for k, v in differing.items() if k not in KNOWN | LIBRARY_RAISES}
    assert not unexplained
    listed = {k for k in KNOWN | LIBRARY_RAISES if k[0] == path.name}
    assert listed <= set(differing), "a listed difference is gone: update the list"
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], "expansion failed"


# --- focused cases ---------------------------------------------------------------------


def _resource(*lines: str, kind: str = "VEVENT", default_tz: str | None = None,
              extra: str = "") -> ical.Resource:  # fmt: skip
    """A resource made straight from iCalendar lines (not through the parser's checks, so
    that broken rules reach the expansion)."""
    body = "".join(f"{line}\r\n" for line in lines)
    text = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
        f"BEGIN:{kind}\r\nUID:x1\r\nDTSTAMP:20240101T000000Z\r\n{body}END:{kind}\r\n"
        f"{extra}END:VCALENDAR\r\n"
    )
    cal = icalendar.Calendar.from_ical(text)
    components = [c for c in cal.subcomponents if c.name in ("VEVENT", "VTODO")]
    return ical.Resource("x1", ical.KINDS[kind], components, default_tz=default_tz)


def _change(*lines: str, kind: str = "VEVENT") -> str:
    body = "".join(f"{line}\r\n" for line in lines)
    return f"BEGIN:{kind}\r\nUID:x1\r\nDTSTAMP:20240101T000000Z\r\n{body}END:{kind}\r\n"


def _between(
    resource: ical.Resource, start: datetime, end: datetime, tz: ZoneInfo = TZ
) -> list[recurrence.Occurrence]:
    return list(recurrence.occurrences(resource, start, end, tz))


def _day(y: int, m: int, d: int, tz: ZoneInfo = TZ) -> datetime:
    return datetime(y, m, d, tzinfo=tz)


def test_weekly_meeting_stays_at_nine_across_both_changes_in_berlin() -> None:
    r = _resource("DTSTART;TZID=Europe/Berlin:20240304T090000",
                  "DTEND;TZID=Europe/Berlin:20240304T100000",
                  "RRULE:FREQ=WEEKLY;BYDAY=MO")  # fmt: skip
    found = _between(r, _day(2024, 3, 1), _day(2024, 12, 1))
    assert len(found) == 39  # every Monday from 4 March to 25 November
    assert {(o.start.astimezone(TZ).hour, o.start.astimezone(TZ).minute) for o in found} == {(9, 0)}
    assert {o.end - o.start for o in found} == {timedelta(hours=1)}
    utc_hours = {o.start.date(): o.start.astimezone(UTC).hour for o in found}
    assert utc_hours[date(2024, 3, 25)] == 8 and utc_hours[date(2024, 4, 1)] == 7
    assert utc_hours[date(2024, 10, 21)] == 7 and utc_hours[date(2024, 10, 28)] == 8


def test_daily_in_new_york_across_both_changes() -> None:
    r = _resource("DTSTART;TZID=America/New_York:20240308T090000", "DURATION:PT30M",
                  "RRULE:FREQ=DAILY;COUNT=5")  # fmt: skip
    found = _between(r, _day(2024, 3, 1, NY), _day(2024, 4, 1, NY), NY)
    assert [o.start.astimezone(UTC).hour for o in found] == [14, 14, 13, 13, 13]
    r = _resource("DTSTART;TZID=America/New_York:20241101T090000",
                  "RRULE:FREQ=DAILY;UNTIL=20241105T140000Z")  # fmt: skip
    found = _between(r, _day(2024, 10, 1, NY), _day(2024, 12, 1, NY), NY)
    assert [(o.start.day, o.start.astimezone(UTC).hour) for o in found] == [
        (1, 13), (2, 13), (3, 14), (4, 14), (5, 14)]  # fmt: skip
    assert all(o.start.astimezone(NY).hour == 9 for o in found)


def test_times_that_do_not_exist_move_forward_and_doubled_ones_take_the_first() -> None:
    r = _resource("DTSTART;TZID=Europe/Berlin:20240329T023000",
                  "DTEND;TZID=Europe/Berlin:20240329T033000", "RRULE:FREQ=DAILY")  # fmt: skip
    found = {o.start.date(): o for o in _between(r, _day(2024, 3, 29), _day(2024, 4, 2))}
    skipped = found[date(2024, 3, 31)]  # 02:30 does not exist that night: 03:30 CEST
    assert (skipped.start.hour, skipped.start.minute) == (3, 30)
    assert skipped.start.astimezone(UTC) == datetime(2024, 3, 31, 1, 30, tzinfo=UTC)
    assert skipped.end - skipped.start == timedelta(hours=1)
    assert found[date(2024, 3, 30)].start.astimezone(UTC).hour == 1  # 02:30 CET
    assert found[date(2024, 4, 1)].start.astimezone(UTC).hour == 0  # 02:30 CEST
    autumn = _between(r, _day(2024, 10, 27), _day(2024, 10, 28))
    assert [o.start.astimezone(UTC) for o in autumn] == [datetime(2024, 10, 27, 0, 30, tzinfo=UTC)]


def test_floating_times_mean_the_calendars_zone_else_the_users() -> None:
    lines = ("DTSTART:20240105T090000", "DURATION:PT1H", "RRULE:FREQ=WEEKLY;COUNT=30")
    for default_tz, tz, zone in ((None, NY, NY), ("Europe/Berlin", NY, TZ)):
        r = _resource(*lines, default_tz=default_tz)
        found = _between(r, _day(2024, 1, 1, tz), _day(2025, 1, 1, tz), tz)
        assert len(found) == 30
        assert {o.start.astimezone(zone).hour for o in found} == {9}
        assert all(not o.all_day for o in found)


def test_google_utc_start_repeats_on_the_wall_clock_of_x_wr_timezone() -> None:
    lines = ("DTSTART:20240108T080000Z", "DTEND:20240108T090000Z", "RRULE:FREQ=WEEKLY")
    google = _resource(*lines, default_tz="Europe/Berlin")
    winter, summer = (_between(google, _day(2024, m, 8), _day(2024, m, 15))[0] for m in (1, 7))
    assert winter.start.astimezone(TZ).hour == summer.start.astimezone(TZ).hour == 9
    assert summer.start.astimezone(UTC).hour == 7
    plain = _resource(*lines)  # a UTC series without X-WR-TIMEZONE stays on UTC
    assert _between(plain, _day(2024, 7, 1), _day(2024, 7, 8))[0].start.astimezone(UTC).hour == 8


def test_all_day_events_run_from_local_midnight_to_local_midnight() -> None:
    r = _resource("DTSTART;VALUE=DATE:20240330", "DTEND;VALUE=DATE:20240331",
                  "RRULE:FREQ=DAILY;COUNT=3")  # fmt: skip
    found = _between(r, _day(2024, 3, 1), _day(2024, 5, 1))
    assert [(o.start.astimezone(TZ).date(), o.start.astimezone(TZ).hour) for o in found] == [
        (date(2024, 3, 30), 0), (date(2024, 3, 31), 0), (date(2024, 4, 1), 0)]  # fmt: skip
    assert all(o.all_day for o in found)
    assert found[1].end.astimezone(TZ) == _day(2024, 4, 1)  # 23 hours: the clocks go forward
    in_ny = list(recurrence.occurrences(r, _day(2024, 3, 1, NY), _day(2024, 5, 1, NY), NY))
    assert in_ny[0].start.astimezone(NY) == _day(2024, 3, 30, NY)
    single = _resource("DTSTART;VALUE=DATE:20240615")  # no DTEND: one day
    [o] = _between(single, _day(2024, 6, 1), _day(2024, 7, 1))
    assert (o.start, o.end, o.all_day) == (_day(2024, 6, 15), _day(2024, 6, 16), True)


def test_exdates_in_another_zone_and_as_dates() -> None:
    r = _resource("DTSTART;TZID=Europe/Berlin:20240304T090000", "DURATION:PT1H",
                  "RRULE:FREQ=WEEKLY;COUNT=5", "EXDATE:20240311T080000Z",
                  "EXDATE;TZID=America/New_York:20240401T030000",
                  "EXDATE;VALUE=DATE:20240318")  # fmt: skip
    found = _between(r, _day(2024, 3, 1), _day(2024, 5, 1))
    assert [o.start.day for o in found] == [4, 25]
    all_day = _resource("DTSTART;VALUE=DATE:20240301", "RRULE:FREQ=DAILY;COUNT=4",
                        "EXDATE;VALUE=DATE:20240302,20240304")  # fmt: skip
    assert [o.start.day for o in _between(all_day, _day(2024, 3, 1), _day(2024, 4, 1))] == [1, 3]


def test_a_moved_instance_shows_at_its_new_time_and_leaves_its_slot() -> None:
    series = ("DTSTART;TZID=Europe/Berlin:20240305T100000", "DURATION:PT1H",
              "RRULE:FREQ=WEEKLY;BYDAY=TU")  # fmt: skip
    moved = _change("RECURRENCE-ID;TZID=Europe/Berlin:20240312T100000", "SUMMARY:Moved",
                    "DTSTART;TZID=Europe/Berlin:20240314T150000", "DURATION:PT1H")  # fmt: skip
    into = _change("RECURRENCE-ID:20240402T080000Z", "SUMMARY:Brought forward",
                   "DTSTART;TZID=Europe/Berlin:20240320T080000", "DURATION:PT1H")  # fmt: skip
    r = _resource(*series, "SUMMARY:Standup", extra=moved + into)
    week = _between(r, _day(2024, 3, 11), _day(2024, 3, 18))
    assert [(o.start.day, o.start.hour, o.summary) for o in week] == [(14, 15, "Moved")]
    assert week[0].recurrence_id == datetime(2024, 3, 12, 10, tzinfo=TZ)
    assert _between(r, _day(2024, 3, 12), _day(2024, 3, 13)) == []  # the old slot is empty
    third = _between(r, _day(2024, 3, 18), _day(2024, 3, 25))
    assert [(o.start.day, o.summary) for o in third] == [(19, "Standup"), (20, "Brought forward")]
    assert [o.start.day for o in _between(r, _day(2024, 4, 1), _day(2024, 4, 8))] == []
    assert recurrence.bounds(r, TZ)[0] == datetime(2024, 3, 5, 9, tzinfo=UTC)


def test_a_cancelled_instance_comes_back_with_its_status() -> None:
    cancelled = _change("RECURRENCE-ID;TZID=Europe/Berlin:20240312T100000",
                        "DTSTART;TZID=Europe/Berlin:20240312T100000",
                        "STATUS:CANCELLED")  # fmt: skip
    r = _resource("DTSTART;TZID=Europe/Berlin:20240305T100000", "RRULE:FREQ=WEEKLY;COUNT=3",
                  extra=cancelled)  # fmt: skip
    found = _between(r, _day(2024, 3, 1), _day(2024, 4, 1))
    assert [(o.start.day, o.status) for o in found] == [(5, ""), (12, "CANCELLED"), (19, "")]
    assert [o.recurrence_id.day for o in found if o.recurrence_id] == [5, 12, 19]


def test_this_and_future_moves_the_later_instances() -> None:
    later = _change("RECURRENCE-ID;RANGE=THISANDFUTURE;TZID=Europe/Berlin:20240305T100000",
                    "DTSTART;TZID=Europe/Berlin:20240305T120000", "DURATION:PT2H",
                    "SUMMARY:Later")  # fmt: skip
    r = _resource("DTSTART;TZID=Europe/Berlin:20240303T100000", "DURATION:PT1H",
                  "RRULE:FREQ=DAILY;COUNT=5", "SUMMARY:Early", extra=later)  # fmt: skip
    found = _between(r, _day(2024, 3, 1), _day(2024, 4, 1))
    assert [(o.start.day, o.start.hour, o.end.hour, o.summary) for o in found] == [
        (3, 10, 11, "Early"), (4, 10, 11, "Early"), (5, 12, 14, "Later"),
        (6, 12, 14, "Later"), (7, 12, 14, "Later")]  # fmt: skip
    late_window = _between(r, _day(2024, 3, 7) + timedelta(hours=11), _day(2024, 3, 8))
    assert [o.start.day for o in late_window] == [7]


@pytest.mark.parametrize(
    ("lines", "tz", "last"),
    [
        (("DTSTART;TZID=Europe/Berlin:20240301T090000", "RRULE:FREQ=DAILY;UNTIL=20240305"),
         TZ, date(2024, 3, 5)),  # a date: the whole day counts
        (("DTSTART;TZID=Europe/Berlin:20240301T090000",
          "RRULE:FREQ=DAILY;UNTIL=20240305T080000Z"), TZ, date(2024, 3, 5)),
        (("DTSTART;TZID=Europe/Berlin:20240301T090000",
          "RRULE:FREQ=DAILY;UNTIL=20240305T075959Z"), TZ, date(2024, 3, 4)),
        (("DTSTART;TZID=Europe/Berlin:20240301T090000", "RRULE:FREQ=DAILY;UNTIL=20240305T090000"),
         TZ, date(2024, 3, 5)),  # floating: in the start's zone
        (("DTSTART:20240301T090000", "RRULE:FREQ=DAILY;UNTIL=20240305T080000Z"),
         TZ, date(2024, 3, 5)),  # floating start, UTC until
        (("DTSTART;VALUE=DATE:20240301", "RRULE:FREQ=DAILY;UNTIL=20240305"), TZ, date(2024, 3, 5)),
        (("DTSTART;VALUE=DATE:20080303", "RRULE:FREQ=DAILY;UNTIL=20080323T235959Z"),
         TZ, date(2008, 3, 23)),
        (("DTSTART;VALUE=DATE:20200903", "RRULE:FREQ=WEEKLY;UNTIL=20200916T230000Z;BYDAY=TH"),
         ZoneInfo("Europe/London"), date(2020, 9, 17)),  # Outlook: the last day's midnight
    ],
)  # fmt: skip
def test_until_in_any_form(lines: tuple[str, ...], tz: ZoneInfo, last: date) -> None:
    r = _resource(*lines)
    found = _between(r, _day(2000, 1, 1, tz), _day(2030, 1, 1, tz), tz)
    assert found[-1].start.astimezone(tz).date() == last
    assert recurrence.bounds(r, tz)[1] is not None


def test_rdates_as_dates_times_and_periods_and_several_rules() -> None:
    r = _resource("DTSTART;TZID=Europe/Berlin:20240301T090000",
                  "DTEND;TZID=Europe/Berlin:20240301T100000", "RRULE:FREQ=DAILY;COUNT=2",
                  "RDATE;TZID=Europe/Berlin:20240310T120000,20240302T090000",
                  "RDATE;VALUE=PERIOD:20240315T100000Z/PT3H,20240316T100000Z/20240316T103000Z",
                  "RDATE;VALUE=DATE:20240320")  # fmt: skip
    found = _between(r, _day(2024, 3, 1), _day(2024, 4, 1))
    assert [(o.start.astimezone(UTC).day, o.start.astimezone(UTC).hour, o.end - o.start)
            for o in found] == [
        (1, 8, timedelta(hours=1)), (2, 8, timedelta(hours=1)), (10, 11, timedelta(hours=1)),
        (15, 10, timedelta(hours=3)), (16, 10, timedelta(minutes=30)),
        (19, 23, timedelta(hours=1))]  # fmt: skip
    two = _resource("DTSTART;TZID=Europe/Berlin:20240304T090000", "RRULE:FREQ=WEEKLY;BYDAY=MO,WE",
                    "RRULE:FREQ=WEEKLY;BYDAY=WE,FR;COUNT=3")  # fmt: skip
    days = [o.start.day for o in _between(two, _day(2024, 3, 4), _day(2024, 3, 18))]
    assert days == [4, 6, 8, 11, 13]


def test_lengths_from_dtend_duration_or_nothing_and_to_dos() -> None:
    def one(*lines: str, kind: str = "VEVENT") -> recurrence.Occurrence:
        [o] = _between(_resource(*lines, kind=kind), _day(2024, 1, 1), _day(2025, 1, 1))
        return o

    assert one("DTSTART:20240301T090000Z", "DURATION:PT45M").end.minute == 45
    assert one("DTSTART:20240301T090000Z").end == datetime(2024, 3, 1, 9, tzinfo=UTC)
    todo = one("DTSTART:20240301T090000Z", "DUE:20240301T110000Z", kind="VTODO")
    assert (todo.kind, todo.end - todo.start) == ("todo", timedelta(hours=2))
    due_only = one("DUE;TZID=Europe/Berlin:20240301T170000", kind="VTODO")
    assert due_only.start == due_only.end == datetime(2024, 3, 1, 17, tzinfo=TZ)
    swapped = one("DTSTART:20240301T100000Z", "DTEND:20240301T090000Z")
    assert swapped.start.hour == 9 and swapped.end.hour == 10
    weekly_todo = _resource("DTSTART;TZID=Europe/Berlin:20240304T090000",
                            "DUE;TZID=Europe/Berlin:20240304T090000",
                            "RRULE:FREQ=WEEKLY;BYDAY=MO", kind="VTODO")  # fmt: skip
    assert len(_between(weekly_todo, _day(2024, 3, 1), _day(2024, 4, 1))) == 4


def test_window_edges() -> None:
    point = _resource("DTSTART:20240301T090000Z")
    at = datetime(2024, 3, 1, 9, tzinfo=UTC)
    assert len(_between(point, at, at + timedelta(hours=1))) == 1
    assert _between(point, at - timedelta(hours=1), at) == []
    meeting = _resource("DTSTART:20240301T090000Z", "DURATION:PT1H")
    assert _between(meeting, at + timedelta(hours=1), at + timedelta(hours=2)) == []
    assert len(_between(meeting, at + timedelta(minutes=59), at + timedelta(hours=2))) == 1


def test_bounds_are_quick_and_end_for_count_and_until_only() -> None:
    counted = _resource("DTSTART;TZID=Europe/Berlin:20240301T090000", "DURATION:PT1H",
                        "RRULE:FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;COUNT=3")  # fmt: skip
    assert recurrence.bounds(counted, TZ) == (
        datetime(2024, 3, 1, 8, tzinfo=UTC),
        datetime(2024, 5, 31, 8, tzinfo=UTC),
    )
    t = __import__("time").perf_counter()
    far = _resource("DTSTART;TZID=Europe/Berlin:20240301T090000", "DURATION:PT1H",
                    "RRULE:FREQ=HOURLY;UNTIL=22001231T120000Z")  # fmt: skip
    assert recurrence.bounds(far, TZ)[1] == datetime(2200, 12, 31, 13, tzinfo=UTC)
    sparse = _resource(
        "DTSTART;TZID=Europe/Berlin:20240301T090000",
        "RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;UNTIL=21000101T000000Z",
    )
    assert recurrence.bounds(sparse, TZ)[1] == datetime(2100, 1, 1, tzinfo=UTC)  # no later
    forever = _resource("DTSTART;TZID=Europe/Berlin:20240301T090000", "RRULE:FREQ=MINUTELY")
    assert recurrence.bounds(forever, TZ) == (datetime(2024, 3, 1, 8, tzinfo=UTC), None)
    huge = _resource("DTSTART:20240301T090000Z", "RRULE:FREQ=SECONDLY;COUNT=999999999")
    assert recurrence.bounds(huge, TZ)[1] is None  # too many to count: treated as forever
    assert __import__("time").perf_counter() - t < 2
    single = _resource("DTSTART;VALUE=DATE:20240615")
    assert recurrence.bounds(single, TZ) == (
        datetime(2024, 6, 14, 22, tzinfo=UTC),
        datetime(2024, 6, 15, 22, tzinfo=UTC),
    )
    gone = _resource("DTSTART;VALUE=DATE:20231002", "RRULE:FREQ=WEEKLY;UNTIL=20231001")
    assert recurrence.bounds(gone, TZ) == (None, None)
    assert _between(gone, _day(2023, 1, 1), _day(2024, 1, 1)) == []


@pytest.mark.parametrize(
    "rule",
    ["FREQ=FOO", "FREQ=WEEKLY;BYDAY=XX", "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
     "FREQ=MINUTELY;BYMONTH=4;BYMONTHDAY=31", "FREQ=MONTHLY;BYSETPOS=0;BYDAY=MO",
     "FREQ=DAILY;INTERVAL=0", "FREQ=WEEKLY;UNTIL=garbage", "FREQ=YEARLY;BYMONTH=13",
     "FREQ=HOURLY;INTERVAL=8;BYHOUR=8,16", "RSCALE=CHINESE;FREQ=YEARLY", "FREQ=DAILY;UNTL=2024",
     "FREQ=YEARLY;BYWEEKNO=54", "FREQ=MONTHLY;BYDAY=6MO"],
)  # fmt: skip
def test_a_rule_that_cannot_be_used_leaves_the_start(rule: str) -> None:
    r = _resource("DTSTART;TZID=Europe/Berlin:20240301T090000", "DURATION:PT1H",
                  f"RRULE:{rule}", "RRULE:FREQ=YEARLY;COUNT=2", "EXDATE:garbage")  # fmt: skip
    t = __import__("time").perf_counter()
    for year in (2024, 2025, 2030):
        found = _between(r, _day(year, 1, 1), _day(year + 1, 1, 1))
        assert [o.start for o in found] == ([datetime(year, 3, 1, 9, tzinfo=TZ)]
                                            if year < 2026 else [])  # fmt: skip
    assert recurrence.bounds(r, TZ) == (
        datetime(2024, 3, 1, 8, tzinfo=UTC),
        datetime(2025, 3, 1, 9, tzinfo=UTC),
    )
    assert __import__("time").perf_counter() - t < 1.5  # dateutil alone searches to 9999


def test_nothing_usable_gives_nothing_and_never_raises() -> None:
    for lines in [
        ("SUMMARY:no start",),
        ("DTSTART:garbage", "RRULE:FREQ=DAILY"),
        ("DTSTART:20240301T090000Z", "RDATE;VALUE=PERIOD:garbage", "DURATION:PX"),
    ]:
        r = _resource(*lines)
        found = _between(r, _day(2024, 1, 1), _day(2025, 1, 1))
        assert len(found) <= 1
        first, _ = recurrence.bounds(r, TZ)
        assert (first is None) == (found == [])


def test_instances_carry_their_slot_and_single_events_none() -> None:
    r = _resource("DTSTART;TZID=Europe/Berlin:20240301T090000", "RRULE:FREQ=DAILY;COUNT=2")
    assert [o.recurrence_id for o in _between(r, _day(2024, 3, 1), _day(2024, 4, 1))] == [
        datetime(2024, 3, 1, 9, tzinfo=TZ), datetime(2024, 3, 2, 9, tzinfo=TZ)]  # fmt: skip
    single = _resource("DTSTART;TZID=Europe/Berlin:20240301T090000")
    assert [o.recurrence_id for o in _between(single, _day(2024, 3, 1), _day(2024, 4, 1))] == [None]


def test_decoding_is_kept_until_the_resource_changes() -> None:
    r = _resource("DTSTART;TZID=Europe/Berlin:20240304T090000", "RRULE:FREQ=DAILY;COUNT=5")
    window = (_day(2024, 3, 1), _day(2024, 4, 1))
    assert len(_between(r, *window)) == 5
    assert _between(r, *window) == _between(r, *window)
    master = r.components[0]
    master.add("EXDATE", datetime(2024, 3, 5, 9, tzinfo=TZ))
    assert len(_between(r, *window)) == 4
    master.add("EXDATE", datetime(2024, 3, 6, 9, tzinfo=TZ))  # appended to a list in place
    assert len(_between(r, *window)) == 3
    master["RRULE"] = icalendar.vRecur({"FREQ": ["DAILY"], "COUNT": [10]})
    assert len(_between(r, *window)) == 8
    r.components.append(
        icalendar.Calendar.from_ical(
            "BEGIN:VCALENDAR\r\n" + _change("RECURRENCE-ID;TZID=Europe/Berlin:20240307T090000",
                                            "DTSTART;TZID=Europe/Berlin:20240320T090000")
            + "END:VCALENDAR\r\n").subcomponents[0])  # fmt: skip
    assert _between(r, *window)[-1].start.day == 20
    master["RRULE"]["COUNT"] = [5]  # a part of the rule replaced in place (as reminders do)
    assert [o.start.day for o in _between(r, *window)] == [4, 8, 20]
    master["RRULE"]["COUNT"][0] = 2  # deeper in place: only `forget` notices
    recurrence.forget(r)
    assert [o.start.day for o in _between(r, *window)] == [4, 20]


RULES = [
    "FREQ=DAILY", "FREQ=DAILY;INTERVAL=3", "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR",
    "FREQ=DAILY;INTERVAL=2;BYDAY=SA,SU;BYHOUR=8,20", "FREQ=DAILY;BYMONTH=1,7",
    "FREQ=DAILY;INTERVAL=3;BYSETPOS=1", "FREQ=WEEKLY;BYSETPOS=-1;BYDAY=WE,SA",
    "FREQ=WEEKLY", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH",
    "FREQ=WEEKLY;INTERVAL=3;WKST=SU;BYDAY=SU,SA", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,SU;BYMONTH=3,9",
    "FREQ=WEEKLY;INTERVAL=3;BYDAY=MO,FR;BYSETPOS=1", "FREQ=YEARLY;INTERVAL=3;BYDAY=1MO,-1MO",
    "FREQ=WEEKLY;BYDAY=FR;BYHOUR=9,17;BYMINUTE=0,30", "FREQ=MONTHLY", "FREQ=MONTHLY;BYMONTHDAY=-1",
    "FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=1,15,31", "FREQ=MONTHLY;BYDAY=-1FR",
    "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", "FREQ=MONTHLY;INTERVAL=5;BYDAY=2TU,4TH",
    "FREQ=YEARLY", "FREQ=YEARLY;INTERVAL=4;BYMONTH=2;BYMONTHDAY=29", "FREQ=YEARLY;BYWEEKNO=1,53",
    "FREQ=YEARLY;BYYEARDAY=1,100,-1", "FREQ=YEARLY;BYMONTH=3,10;BYDAY=-1SU",
    "FREQ=HOURLY;INTERVAL=7", "FREQ=HOURLY;BYHOUR=8,14,20", "FREQ=MINUTELY;INTERVAL=97;BYHOUR=9",
]  # fmt: skip


@pytest.mark.parametrize("rule", RULES)
def test_expansion_started_anywhere_matches_dateutil_from_the_start(rule: str) -> None:
    """Rules are restarted near the window (and simple ones counted without dateutil):
    the instances must be exactly those dateutil finds from the start."""
    rng = random.Random(rule)
    for _ in range(8):
        zone = rng.choice([TZ, NY, ZoneInfo("UTC"), ZoneInfo("Australia/Lord_Howe")])
        start = datetime(2001, 1, 1, tzinfo=zone) + timedelta(
            days=rng.randrange(9000), minutes=15 * rng.randrange(96)
        )
        until = start.astimezone(UTC) + timedelta(days=rng.randrange(4000))
        ending = rng.choice(["", f";COUNT={rng.randint(1, 300)}", f";UNTIL={until:%Y%m%dT%H%M%SZ}"])
        text = rule + ending
        reference = du.rrulestr(text, dtstart=start)
        r = _resource(f"DTSTART;TZID={zone.key}:{start:%Y%m%dT%H%M%S}", "DURATION:PT10M",
                      f"RRULE:{text}")  # fmt: skip
        for days in (-3, rng.randrange(-30, 8000), rng.randrange(8000)):
            a = start + timedelta(days=days, hours=rng.randrange(24))
            b = a + timedelta(days=rng.choice([1, 7, 45, 400]))
            expected = {start} if a - timedelta(minutes=10) < start < b else set()
            expected |= set(reference.between(a - timedelta(minutes=10), b, inc=True))
            expected = {x for x in expected if a < x + timedelta(minutes=10) and x < b}
            found = [o.start for o in recurrence.occurrences(r, a, b, TZ)]
            assert sorted(x.astimezone(UTC) for x in found) == sorted(
                x.astimezone(UTC) for x in expected), (text, start, a, b)  # fmt: skip


def test_the_copy_with_the_highest_sequence_wins() -> None:
    newer = _change("RECURRENCE-ID;TZID=Europe/Berlin:20240305T100000", "SEQUENCE:2",
                    "DTSTART;TZID=Europe/Berlin:20240305T150000", "SUMMARY:Newer")  # fmt: skip
    older = _change("RECURRENCE-ID;TZID=Europe/Berlin:20240305T100000", "SEQUENCE:1",
                    "DTSTART;TZID=Europe/Berlin:20240305T120000", "SUMMARY:Older")  # fmt: skip
    old_series = _change("DTSTART;TZID=Europe/Berlin:20240304T080000", "SEQUENCE:0",
                         "RRULE:FREQ=DAILY;COUNT=3", "SUMMARY:Old series")  # fmt: skip
    tie = _change("DTSTART;TZID=Europe/Berlin:20240304T090000", "SEQUENCE:1",
                  "RRULE:FREQ=DAILY;COUNT=3", "SUMMARY:Same sequence, later")  # fmt: skip
    r = _resource("DTSTART;TZID=Europe/Berlin:20240304T100000", "SEQUENCE:1",
                  "RRULE:FREQ=DAILY;COUNT=3", "SUMMARY:Series",
                  extra=newer + older + old_series + tie)  # fmt: skip
    found = _between(r, _day(2024, 3, 1), _day(2024, 4, 1))
    assert [(o.start.day, o.start.hour, o.summary) for o in found] == [
        (4, 10, "Series"), (5, 15, "Newer"), (6, 10, "Series")]  # fmt: skip
