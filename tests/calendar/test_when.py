"""Times in the user's words: one table per moment, on both sides of daylight-saving changes
in Berlin and New York; refusals; repeat rules in words."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from os1.calendar.spoken import rule_words
from os1.calendar.when import WhenError, local, parse_when

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")

# Thursday 26 November 2026, 14:00 in Berlin (winter time, +01:00).
NOW = datetime(2026, 11, 26, 14, 0, tzinfo=BERLIN)


def at(y: int, mo: int, d: int, h: int, mi: int = 0, tz: ZoneInfo = BERLIN) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=tz)


# (words, start, rrule, phrase)
WINTER: list[tuple[str, datetime | date, dict[str, Any] | None, str]] = [
    ("remind me to call my sister at five tomorrow", at(2026, 11, 27, 17), None,
     "at five tomorrow"),
    ("tomorrow at 5", at(2026, 11, 27, 17), None, "tomorrow at 5"),
    ("at 5pm", at(2026, 11, 26, 17), None, "at 5pm"),
    ("at 5 p.m.", at(2026, 11, 26, 17), None, "at 5 p.m."),
    ("at 17:30", at(2026, 11, 26, 17, 30), None, "at 17:30"),
    ("at 13:30", at(2026, 11, 27, 13, 30), None, "at 13:30"),  # gone today: tomorrow
    ("at noon", at(2026, 11, 27, 12), None, "at noon"),
    ("at midnight", at(2026, 11, 27, 0), None, "at midnight"),
    ("on Friday at midnight", at(2026, 11, 28, 0), None, "on Friday at midnight"),
    ("tonight", at(2026, 11, 26, 20), None, "tonight"),
    ("tonight at 12", at(2026, 11, 27, 0), None, "tonight at 12"),
    ("at 1 tonight", at(2026, 11, 27, 1), None, "at 1 tonight"),
    ("this evening", at(2026, 11, 26, 19), None, "this evening"),
    ("tomorrow morning", at(2026, 11, 27, 9), None, "tomorrow morning"),
    ("tomorrow afternoon", at(2026, 11, 27, 15), None, "tomorrow afternoon"),
    ("at 7 in the evening", at(2026, 11, 26, 19), None, "at 7 in the evening"),
    ("at 5 in the morning", at(2026, 11, 27, 5), None, "at 5 in the morning"),
    ("in 20 minutes", at(2026, 11, 26, 14, 20), None, "in 20 minutes"),
    ("in twenty minutes", at(2026, 11, 26, 14, 20), None, "in twenty minutes"),
    ("in an hour", at(2026, 11, 26, 15), None, "in an hour"),
    ("in half an hour", at(2026, 11, 26, 14, 30), None, "in half an hour"),
    ("in an hour and a half", at(2026, 11, 26, 15, 30), None, "in an hour and a half"),
    ("in 2 hours", at(2026, 11, 26, 16), None, "in 2 hours"),
    ("in 1.5 hours", at(2026, 11, 26, 15, 30), None, "in 1.5 hours"),
    ("10 minutes from now", at(2026, 11, 26, 14, 10), None, "10 minutes from now"),
    ("in 3 days", date(2026, 11, 29), None, "in 3 days"),
    ("in a week", date(2026, 12, 3), None, "in a week"),
    ("on Friday", date(2026, 11, 27), None, "on Friday"),
    ("on Thursday", date(2026, 12, 3), None, "on Thursday"),  # today is Thursday: the next one
    ("this Thursday at 9", at(2026, 11, 26, 21), None, "this Thursday at 9"),
    ("on Friday at 3pm", at(2026, 11, 27, 15), None, "on Friday at 3pm"),
    ("Friday evening", at(2026, 11, 27, 19), None, "Friday evening"),
    ("next Tuesday at 9", at(2026, 12, 1, 9), None, "next Tuesday at 9"),
    ("on December 3rd at 10:30", at(2026, 12, 3, 10, 30), None, "on December 3rd at 10:30"),
    ("3 December", date(2026, 12, 3), None, "3 December"),
    ("the 3rd of December at 9am", at(2026, 12, 3, 9), None, "the 3rd of December at 9am"),
    ("on 5 May", date(2027, 5, 5), None, "on 5 May"),  # gone this year: next year's
    ("on 2026-12-24 at 18:00", at(2026, 12, 24, 18), None, "on 2026-12-24 at 18:00"),
    ("on 25/12", date(2026, 12, 25), None, "on 25/12"),
    ("on 12/25", date(2026, 12, 25), None, "on 12/25"),
    ("on 5/5", date(2027, 5, 5), None, "on 5/5"),
    ("on the 5th", date(2026, 12, 5), None, "on the 5th"),
    ("the 26th at 3", at(2026, 11, 26, 15), None, "the 26th at 3"),
    ("at half past five", at(2026, 11, 26, 17, 30), None, "at half past five"),
    ("quarter to one", at(2026, 11, 27, 12, 45), None, "quarter to one"),
    ("every Monday at 9", at(2026, 11, 30, 9), {"FREQ": "WEEKLY", "BYDAY": ["MO"]},
     "every Monday at 9"),
    ("every day at 8am", at(2026, 11, 27, 8), {"FREQ": "DAILY"}, "every day at 8am"),
    ("every weekday at 7", at(2026, 11, 27, 7), {"FREQ": "WEEKLY", "BYDAY": ["MO", "TU", "WE",
     "TH", "FR"]}, "every weekday at 7"),
    ("every 2 weeks on Thursday at 10", at(2026, 12, 3, 10),
     {"FREQ": "WEEKLY", "INTERVAL": 2, "BYDAY": ["TH"]}, "every 2 weeks on Thursday at 10"),
    ("every other Friday", date(2026, 11, 27), {"FREQ": "WEEKLY", "INTERVAL": 2, "BYDAY": ["FR"]},
     "every other Friday"),
    ("every month on the 1st", date(2026, 12, 1), {"FREQ": "MONTHLY", "BYMONTHDAY": [1]},
     "every month on the 1st"),
    ("on the first Monday of every month", date(2026, 12, 7),
     {"FREQ": "MONTHLY", "BYDAY": ["1MO"]}, "on the first Monday of every month"),
    ("the last Friday of the month at 4", at(2026, 11, 27, 16),
     {"FREQ": "MONTHLY", "BYDAY": ["-1FR"]}, "the last Friday of the month at 4"),
    ("every year on 5 May", date(2027, 5, 5), {"FREQ": "YEARLY", "BYMONTH": [5],
     "BYMONTHDAY": [5]}, "every year on 5 May"),
    ("on Mondays and Thursdays at 6", at(2026, 11, 26, 18),
     {"FREQ": "WEEKLY", "BYDAY": ["MO", "TH"]}, "on Mondays and Thursdays at 6"),
    ("every Monday morning", at(2026, 11, 30, 9), {"FREQ": "WEEKLY", "BYDAY": ["MO"]},
     "every Monday morning"),
    ("every evening", at(2026, 11, 26, 19), {"FREQ": "DAILY"}, "every evening"),
    ("every hour", at(2026, 11, 26, 15), {"FREQ": "HOURLY"}, "every hour"),
    ("every 30 minutes", at(2026, 11, 26, 14, 30), {"FREQ": "MINUTELY", "INTERVAL": 30},
     "every 30 minutes"),
    ("daily", date(2026, 11, 26), {"FREQ": "DAILY"}, "daily"),
    ("weekly on Fridays at 4", at(2026, 11, 27, 16), {"FREQ": "WEEKLY", "BYDAY": ["FR"]},
     "weekly on Fridays at 4"),
    ("monthly", date(2026, 11, 26), {"FREQ": "MONTHLY"}, "monthly"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "start", "rrule", "phrase"), WINTER)
def test_winter_in_berlin(
    text: str, start: datetime | date, rrule: dict[str, Any] | None, phrase: str
) -> None:
    when = parse_when(text, NOW)
    assert when is not None
    assert when.start == start and type(when.start) is type(start)
    assert when.rrule == rrule
    assert when.phrase == phrase
    if isinstance(start, datetime):
        assert when.start.utcoffset() == start.utcoffset()


# Bare hours without am/pm: 1–6 afternoon, 7–11 the next to come, with the clock at `hour`.
BARE = [
    (8, "at 9", at(2026, 11, 26, 9)),
    (14, "at 9", at(2026, 11, 26, 21)),
    (22, "at 9", at(2026, 11, 27, 9)),
    (8, "at 5", at(2026, 11, 26, 17)),
    (18, "at 5", at(2026, 11, 27, 17)),
    (8, "at 12", at(2026, 11, 26, 12)),
    (14, "tomorrow at 8", at(2026, 11, 27, 8)),
    (14, "today at 9", at(2026, 11, 26, 21)),
    (22, "today at 9", at(2026, 11, 26, 21)),  # named today and gone: the caller says so
    (14, "at 07:30", at(2026, 11, 27, 7, 30)),  # a leading zero is a 24-hour time
    (14, "at 7:30", at(2026, 11, 26, 19, 30)),
    (14, "at 5.30", at(2026, 11, 26, 17, 30)),
]


@pytest.mark.parametrize(("hour", "text", "start"), BARE)
def test_bare_hours(hour: int, text: str, start: datetime) -> None:
    when = parse_when(text, NOW.replace(hour=hour))
    assert when is not None and when.start == start


def test_the_words_around_the_time_are_kept() -> None:
    when = parse_when("remind me every Monday at 9 to water the plants", NOW)
    assert when is not None
    assert when.rest == "remind me to water the plants"
    when = parse_when("Tomorrow, remind me to call Amy at 5", NOW)
    assert when is not None
    assert (when.phrase, when.rest) == ("Tomorrow at 5", "remind me to call Amy")
    assert when.start == at(2026, 11, 27, 17)


def test_an_at_time_wins_over_a_bare_one() -> None:
    when = parse_when("remind me to move the 3pm meeting at 5", NOW)
    assert when is not None
    assert when.start == at(2026, 11, 26, 17)
    assert when.rest == "remind me to move the 3pm meeting"


def test_what_was_said_and_what_was_worked_out() -> None:
    bare = parse_when("at 5", NOW)
    assert bare is not None and (bare.said_day, bare.said_time) == (False, True)
    day = parse_when("on Friday", NOW)
    assert day is not None and (day.said_day, day.said_time) == (True, False)
    filled = parse_when("on Friday", NOW, default_time=time(9))
    assert filled is not None and filled.start == at(2026, 11, 27, 9)
    assert (filled.said_day, filled.said_time) == (True, False)
    series = parse_when("every Monday", NOW, default_time=time(9))
    assert series is not None and series.start == at(2026, 11, 30, 9)


# Berlin: summer time starts Sunday 29 March 2026 (02:00 → 03:00), ends 25 October (03:00 →
# 02:00). New York: starts Sunday 8 March 2026, ends Sunday 1 November.
DST = [
    (at(2026, 3, 28, 10), "tomorrow at 2:30am", at(2026, 3, 29, 3, 30)),  # skipped: moved on
    (at(2026, 3, 28, 10), "tomorrow at 9", at(2026, 3, 29, 9)),
    (at(2026, 3, 28, 10), "in 24 hours", at(2026, 3, 29, 11)),  # 24 real hours
    (at(2026, 3, 28, 10), "every day at 02:30", at(2026, 3, 29, 3, 30)),
    (at(2026, 3, 29, 1, 30), "in 1 hour", at(2026, 3, 29, 3, 30)),
    (at(2026, 10, 24, 12), "tomorrow at 2:30am", at(2026, 10, 25, 2, 30)),  # twice: the first
    (at(2026, 10, 24, 12), "tomorrow at 9", at(2026, 10, 25, 9)),
    (at(2026, 10, 24, 12), "in 24 hours", at(2026, 10, 25, 11)),
    (at(2026, 10, 24, 12), "every Sunday at 9", at(2026, 10, 25, 9)),
    (at(2026, 3, 7, 20, tz=NEW_YORK), "tomorrow at 2:30am", at(2026, 3, 8, 3, 30, tz=NEW_YORK)),
    (at(2026, 3, 7, 20, tz=NEW_YORK), "in 2 hours", at(2026, 3, 7, 22, tz=NEW_YORK)),
    (at(2026, 3, 7, 20, tz=NEW_YORK), "at 9", at(2026, 3, 7, 21, tz=NEW_YORK)),
    (at(2026, 3, 7, 20, tz=NEW_YORK), "tomorrow at 9", at(2026, 3, 8, 9, tz=NEW_YORK)),
    (at(2026, 10, 31, 23, 30, tz=NEW_YORK), "in an hour", at(2026, 11, 1, 0, 30, tz=NEW_YORK)),
    (at(2026, 10, 31, 23, 30, tz=NEW_YORK), "tomorrow at 1:30am",
     at(2026, 11, 1, 1, 30, tz=NEW_YORK)),
    (at(2026, 10, 31, 23, 30, tz=NEW_YORK), "every day at 8", at(2026, 11, 1, 8, tz=NEW_YORK)),
]  # fmt: skip


@pytest.mark.parametrize(("now", "text", "start"), DST)
def test_daylight_saving_changes(now: datetime, text: str, start: datetime) -> None:
    when = parse_when(text, now)
    assert when is not None
    assert when.start.astimezone(UTC) == start.astimezone(UTC)
    assert when.start.utcoffset() == start.utcoffset()


def test_the_daylight_saving_offsets_themselves() -> None:
    spring = parse_when("tomorrow at 9", at(2026, 3, 28, 10))
    autumn = parse_when("tomorrow at 2:30am", at(2026, 10, 24, 12))
    assert spring is not None and autumn is not None
    assert spring.start.astimezone(UTC) == datetime(2026, 3, 29, 7, tzinfo=UTC)
    assert autumn.start.astimezone(UTC) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert local(date(2026, 3, 29), time(2, 30), BERLIN).isoformat() == "2026-03-29T03:30:00+02:00"
    ny = parse_when("tomorrow at 2:30am", at(2026, 3, 7, 20, tz=NEW_YORK))
    assert ny is not None and ny.start.astimezone(UTC) == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("on 12/3", "12/3 could be 12 March or 3 December"),
        ("remind me on 3/4/2027 to pay", "3/4 could be 3 April or 4 March"),
        ("31 February", "There is no 31 February."),
        ("on 31/4", "There is no 31 April."),
        ("every 31 April", "There is no 31 April."),
    ],
)
def test_what_cannot_be_read_one_way_is_refused(text: str, said: str) -> None:
    with pytest.raises(WhenError) as e:
        parse_when(text, NOW)
    assert said in str(e.value)


@pytest.mark.parametrize(
    "text",
    [
        "hello there",
        "I had five apples",
        "at one point I was sad",
        "5 may be late",
        "it costs 5.30 euros",
        "take 1/2 a pill",
        "page 12/3 of the report",
        "a table for 5 people",
        "at 5 minutes past the hour he left",
        "the meeting",
        "",
    ],
)
def test_no_time_at_all(text: str) -> None:
    assert parse_when(text, NOW) is None


def test_now_must_carry_its_zone() -> None:
    with pytest.raises(ValueError):
        parse_when("at 5", datetime(2026, 11, 26, 14))


@pytest.mark.parametrize(
    ("rule", "start", "said"),
    [
        ({"FREQ": "WEEKLY", "BYDAY": ["MO"]}, at(2026, 11, 30, 9), "every Monday at 09:00"),
        ({"FREQ": "DAILY"}, at(2026, 11, 27, 8), "every day at 08:00"),
        ({"FREQ": "WEEKLY", "BYDAY": ["MO", "TU", "WE", "TH", "FR"]}, at(2026, 11, 27, 7),
         "every weekday at 07:00"),
        ({"FREQ": "WEEKLY", "INTERVAL": 2, "BYDAY": ["TH"]}, date(2026, 12, 3),
         "every other Thursday"),
        ({"FREQ": "WEEKLY", "INTERVAL": 3}, date(2026, 12, 3), "every 3 weeks on Thursday"),
        ({"FREQ": "MONTHLY", "BYMONTHDAY": [1]}, date(2026, 12, 1), "every month on the 1st"),
        ({"FREQ": "MONTHLY", "BYDAY": ["1MO"]}, at(2026, 12, 7, 10),
         "on the first Monday of every month at 10:00"),
        ({"FREQ": "YEARLY", "BYMONTH": [5], "BYMONTHDAY": [5]}, date(2027, 5, 5),
         "every year on 5 May"),
        ({"FREQ": "HOURLY", "INTERVAL": 2}, at(2026, 11, 26, 16), "every 2 hours"),
        ("FREQ=DAILY;COUNT=5", at(2026, 11, 27, 8), "every day at 08:00, 5 times"),
        ("FREQ=WEEKLY;BYDAY=SA,SU;UNTIL=20270101T000000Z", at(2026, 11, 28, 10),
         "every Saturday and Sunday at 10:00, until 1 January 2027"),
        ("FREQ=MONTHLY;BYSETPOS=-1;BYDAY=MO,TU,WE,TH,FR", date(2026, 11, 30),
         "repeating (FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1)"),
    ],
)  # fmt: skip
def test_repeat_rules_in_words(rule: Any, start: datetime | date, said: str) -> None:
    assert rule_words(rule, start) == said
