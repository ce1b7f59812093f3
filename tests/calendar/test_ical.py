"""Reading iCalendar text: real-world oddities, broken files, encodings; nothing is lost."""

from __future__ import annotations

import re
import warnings
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events

from os1.calendar import ical, recurrence, repair

# The calendars the two libraries test themselves with: read in place, never copied.
SUITES = [
    Path(icalendar.__file__).parent / "tests" / "calendars",
    Path(recurring_ical_events.__file__).parent / "test" / "calendars",
]
_COMPONENT = re.compile(r"^BEGIN:(VEVENT|VTODO)[ \t]*\r?$", re.MULTILINE | re.IGNORECASE)


def components(text: str) -> int:
    """Events and to-dos in calendar text, counted by their BEGIN lines."""
    return len(_COMPONENT.findall(text))


def suite_files() -> list[Path]:
    files = sorted(f for d in SUITES for f in d.glob("*.ics"))
    assert len(files) > 150, "the libraries' test calendars are not where they were"
    return files


def cal(*body: str, head: str = "") -> str:
    return "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:test\n" + head + "".join(body) + "END:VCALENDAR\n"


def event(uid: str, start: str = "20250301T090000Z", *extra: str) -> str:
    lines = [f"UID:{uid}", f"DTSTART:{start}", f"SUMMARY:Event {uid}", *extra]
    return "BEGIN:VEVENT\n" + "".join(f"{x}\n" for x in lines) + "END:VEVENT\n"


def test_every_library_calendar_reads_and_loses_nothing() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # icalendar warns about vendor TZIDs it guesses
        for f in suite_files():
            data = f.read_bytes()
            want = components(ical.decode_text(data))
            try:
                parsed = ical.parse(data, f.name)
            except ical.CalendarError as e:
                # Only text that is no calendar at all is refused whole, with a reason.
                assert "BEGIN:VCALENDAR" not in ical.decode_text(data).upper(), f.name
                assert "not an iCalendar file" in str(e)
                continue
            read = sum(len(r.components) for r in parsed.resources)
            kept = sum(components(p.raw) for p in parsed.problems + parsed.notes)
            assert read <= want <= read + kept, f.name
            for p in parsed.problems + parsed.notes:
                assert p.error and p.raw.strip() and p.source == f.name


def test_known_oddities_of_the_suites() -> None:
    by_name = {f.name: f for f in suite_files()}

    def parse(name: str) -> ical.Parsed:
        return ical.parse(by_name[name].read_bytes(), name)

    # No END:VCALENDAR, 20 empty events: icalendar alone returns nothing at all.
    assert icalendar.Calendar.from_ical(by_name["big_bad_calendar.ics"].read_text(), True) == []
    bad = parse("big_bad_calendar.ics")
    assert len(bad.problems) == 20 and not bad.resources
    assert {p.error for p in bad.problems} == {"an event without a start (DTSTART)"}
    # "RRULE:" with nothing after it (calendarlabs.com): the holidays are read.
    holidays = parse("Germany_Holidays.ics")
    assert len(holidays.resources) == 34 and not holidays.problems
    assert all("RRULE" not in r.main for r in holidays.resources)
    # A line that is no property: the event is read, the original kept beside it.
    radius = parse("issue_168_input.ics")
    assert len(radius.resources) == 1
    [note] = radius.notes
    assert "X-APPLE-RADIUS=49.91307046514149" in note.raw
    # Two DTSTARTs in one event.
    [fiji] = parse("pacific_fiji.ics").problems
    assert fiji.error == "DTSTART appears more than once"
    # A journal entry is not an event: kept as a note, the events beside it are read.
    mixed = parse("issue_1050_calendar_with_events_and_todos.ics")
    assert {r.kind for r in mixed.resources} == {"event", "todo"}
    assert [n.error.split(":")[0] for n in mixed.notes] == ["a journal entry (VJOURNAL)"]


def test_cut_off_events_are_problems_with_their_text() -> None:
    whole = cal(event("a"), event("b"), head="X-WR-CALNAME:Work\nMETHOD:PUBLISH\n")
    truncated = ical.parse(whole[: whole.index("END:VEVENT", whole.index("UID:b"))], "t")
    assert [r.uid for r in truncated.resources] == ["a"]
    [cut] = truncated.problems
    assert cut.error == "the event is cut off: END:VEVENT is missing" and "UID:b" in cut.raw
    assert (truncated.name, truncated.method) == ("Work", "PUBLISH")

    missing_end = ical.parse(
        whole.replace("END:VEVENT\nBEGIN:VEVENT\nUID:b", "BEGIN:VEVENT\nUID:b")
    )
    assert [r.uid for r in missing_end.resources] == ["b"]
    assert "UID:a" in missing_end.problems[0].raw and "UID:b" not in missing_end.problems[0].raw

    # The second of two calendars in one file lost its END line: icalendar drops it.
    two = whole + cal(event("c")).removesuffix("END:VCALENDAR\n")
    assert sorted(r.uid for r in ical.parse(two).resources) == ["a", "b", "c"]

    alarm = ical.parse(cal(event("a", "20250301T090000Z", "BEGIN:VALARM", "ACTION:DISPLAY")))
    [broken] = alarm.problems
    assert broken.error == "the event cannot be read: BEGIN:VALARM has no END:VALARM"


def test_unusable_values_are_problems_the_rest_is_read() -> None:
    text = cal(
        event("good"),
        event("bad-date", "2025-13-45"),
        event("bad-rule", "20250301T090000Z", "RRULE:FREQ=SOMETIMES"),
        event("bad-exdate", "20250301T090000Z", "RRULE:FREQ=DAILY", "EXDATE:tomorrow"),
        event("time-only", "20250301T090000Z", "RDATE;VALUE=TIME:083000"),
        "BEGIN:VEVENT\nUID:no-start\nSUMMARY:When?\nEND:VEVENT\n",
    )
    parsed = ical.parse(text, "f.ics")
    assert [r.uid for r in parsed.resources] == ["good"]
    errors = {re.search(r"UID:(\S+)", p.raw).group(1): p.error for p in parsed.problems}  # type: ignore[union-attr]
    assert errors["bad-date"].startswith("DTSTART cannot be read")
    assert errors["bad-rule"].startswith("RRULE cannot be read")
    assert errors["bad-exdate"].startswith("EXDATE cannot be read")
    assert errors["time-only"] == "RDATE holds a time of day without a date"
    assert errors["no-start"] == "an event without a start (DTSTART)"
    # The text kept is the original, byte for byte.
    assert "BEGIN:VEVENT\nUID:bad-date\nDTSTART:2025-13-45\n" in text
    assert parsed.problems[0].raw.startswith("BEGIN:VEVENT\nUID:bad-date\nDTSTART:2025-13-45\n")


def test_a_component_without_uid_gets_a_stable_one() -> None:
    text = cal("BEGIN:VEVENT\nDTSTART:20250301\nSUMMARY:Spring\nEND:VEVENT\n")
    first, again = ical.parse(text).resources, ical.parse(text).resources
    assert first[0].uid == again[0].uid and first[0].uid.startswith("os1-")
    assert f"UID:{first[0].uid}" in first[0].to_ical()


def test_the_same_component_twice_is_kept_once_with_a_note() -> None:
    parsed = ical.parse(cal(event("a"), event("a")))
    assert len(parsed.resources[0].components) == 1
    [note] = parsed.notes
    assert "appears twice" in note.error and "UID:a" in note.raw


@pytest.mark.parametrize(
    ("encode", "encoding"),
    [
        (lambda t: t.encode("utf-16"), "utf-16"),
        (lambda t: t.encode("utf-16-le"), "utf-16-le"),
        (lambda t: t.encode("cp1252"), "windows-1252"),
        (lambda t: t.replace("\n", "\r\n").encode("utf-8-sig"), "utf-8"),
    ],
)
def test_encodings_and_line_ends(encode, encoding: str) -> None:  # type: ignore[no-untyped-def]
    text = cal(event("a", "20250301T090000Z", "LOCATION:Café Müller"))
    parsed = ical.parse(encode(text), "x.ics")
    assert parsed.encoding == encoding
    [r] = parsed.resources
    assert ical.text_of(r.main.get("LOCATION")) == "Café Müller"


def test_folded_lines_and_lowercase_names() -> None:
    long = "A summary long enough that a careful writer folds it onto a second line"
    folded = f"summary:{long[:40]}\n {long[40:]}\n"
    text = cal(f"begin:vevent\nuid:a\ndtstart:20250301T090000Z\n{folded}end:vevent\n")
    [r] = ical.parse(text).resources
    assert r.summary == long


def test_what_is_not_a_calendar() -> None:
    with pytest.raises(ical.CalendarError, match="not an iCalendar file"):
        ical.parse(b"\x00\x01\xff binary junk" * 10, "junk.bin")
    with pytest.raises(ical.CalendarError, match="not an iCalendar file"):
        ical.parse(event("a"), "bare.ics")  # a VEVENT without its VCALENDAR
    with pytest.raises(ical.CalendarError, match="larger than 50 MB"):
        ical.parse(b" " * (ical.MAX_TEXT + 1), "huge.ics")
    assert ical.parse("  \n").resources == []


def test_components_of_other_kinds_are_notes() -> None:
    text = cal(
        event("a"),
        "BEGIN:VJOURNAL\nUID:j\nSUMMARY:Diary\nEND:VJOURNAL\n",
        "BEGIN:X-THING\nBEGIN:VEVENT\nUID:inner\nDTSTART:20250301\nEND:VEVENT\nEND:X-THING\n",
    )
    parsed = ical.parse(text)
    assert [r.uid for r in parsed.resources] == ["a"]
    assert [n.error.split(":")[0] for n in parsed.notes] == [
        "a journal entry (VJOURNAL)",
        "a X-THING component",
    ]
    assert "UID:inner" in parsed.notes[1].raw


def test_split_keeps_calendar_properties_and_nesting() -> None:
    text = cal(
        event("a", "20250301T090000Z", "BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER:-PT5M",
              "END:VALARM"),
        head="X-WR-CALNAME:Family\\, friends\nX-WR-TIMEZONE:Europe/Paris\n",
    )  # fmt: skip
    blocks, props = repair.split(text)
    assert [(b.name, b.complete) for b in blocks] == [("VEVENT", True)]
    assert "END:VALARM" in blocks[0].text
    assert props["X-WR-TIMEZONE"] == "Europe/Paris"
    assert ical.parse(text).name == "Family, friends"


def test_empty_rules_say_nothing_and_are_dropped() -> None:
    [r] = ical.parse(cal(event("a", "20250301", "RRULE:", "EXDATE:"))).resources
    assert "RRULE" not in r.main and "EXDATE" not in r.main


def test_serialize_keeps_what_floating_times_meant() -> None:
    paris = ical.parse(cal(event("p", "20250301T090000"), head="X-WR-TIMEZONE:Europe/Paris\n"))
    tokyo = ical.parse(
        cal(event("t", "20250301T090000", "RRULE:FREQ=DAILY;UNTIL=20250305T090000"),
            head="X-WR-TIMEZONE:Asia/Tokyo\n")
    )  # fmt: skip
    mine = ical.parse(cal(event("m", "20250301T090000")))
    resources = paris.resources + tokyo.resources + mine.resources
    back = {r.uid: r for r in ical.parse(ical.serialize(resources, "All")).resources}
    user = ZoneInfo("America/New_York")
    window = (datetime(2025, 2, 1, tzinfo=UTC), datetime(2025, 4, 1, tzinfo=UTC))
    for before in resources:
        was = [o.start for o in recurrence.occurrences(before, *window, user)]
        now = [o.start for o in recurrence.occurrences(back[before.uid], *window, user)]
        assert was == now and was, before.uid
    assert len(list(recurrence.occurrences(back["t"], *window, user))) == 5
    # One zone for all: the calendar says it once and the times stay as they were.
    one = ical.serialize(paris.resources)
    assert "X-WR-TIMEZONE:Europe/Paris" in one and "DTSTART:20250301T090000\r\n" in one


def test_all_day_and_zoned_times_survive_a_round_trip() -> None:
    event_ = ical.new_event("Trip", date(2025, 3, 30), date(2025, 4, 2))
    meeting = ical.new_event(
        "Sync", datetime(2025, 3, 28, 9, tzinfo=ZoneInfo("Europe/Berlin")),
        rrule={"FREQ": "WEEKLY", "COUNT": 3},
    )  # fmt: skip
    back = {r.summary: r for r in ical.parse(ical.serialize([event_, meeting])).resources}
    window = (datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 5, 1, tzinfo=UTC))
    tz = ZoneInfo("Europe/Berlin")
    starts = [o.start for o in recurrence.occurrences(back["Sync"], *window, tz)]
    # Across the change to summer time (30 March) the meeting stays at 09:00 local.
    assert [s.astimezone(tz).hour for s in starts] == [9, 9, 9]
    assert [s.astimezone(UTC).hour for s in starts] == [8, 7, 7]
    [trip] = recurrence.occurrences(back["Trip"], *window, tz)
    assert trip.all_day and (trip.end - trip.start).days == 3
