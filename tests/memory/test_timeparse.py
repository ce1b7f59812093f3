"""Time expressions resolve to absolute windows against the moment they were said."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from os1.memory.timeparse import query_window, resolve, tense_of

# Monday 8 May 2023, mid-afternoon: the LoCoMo example ("last year" then means 2022).
MON = datetime(2023, 5, 8, 15, 30)


def one(text: str, said_at: datetime = MON) -> tuple[str, date, date, str]:
    mentions = resolve(text, said_at)
    assert len(mentions) == 1, mentions
    m = mentions[0]
    return m.phrase, m.start.date(), m.end.date(), m.granularity


def d(text: str) -> date:
    return date.fromisoformat(text)


@pytest.mark.parametrize(
    ("text", "start", "end", "gran"),
    [
        ("I did it today", "2023-05-08", "2023-05-09", "day"),
        ("it rained yesterday", "2023-05-07", "2023-05-08", "day"),
        ("see you tomorrow", "2023-05-09", "2023-05-10", "day"),
        ("the day before yesterday", "2023-05-06", "2023-05-07", "day"),
        ("the day after tomorrow", "2023-05-10", "2023-05-11", "day"),
        ("dinner tonight", "2023-05-08", "2023-05-09", "day"),
        ("I ran this morning", "2023-05-08", "2023-05-09", "day"),
        ("I slept badly last night", "2023-05-07", "2023-05-08", "day"),
        ("last week was long", "2023-05-01", "2023-05-08", "week"),
        ("this week is busy", "2023-05-08", "2023-05-15", "week"),
        ("next week I start", "2023-05-15", "2023-05-22", "week"),
        ("last month", "2023-04-01", "2023-05-01", "month"),
        ("this month", "2023-05-01", "2023-06-01", "month"),
        ("next month", "2023-06-01", "2023-07-01", "month"),
        ("last year was rough", "2022-01-01", "2023-01-01", "year"),
        ("this year", "2023-01-01", "2024-01-01", "year"),
        ("next year", "2024-01-01", "2025-01-01", "year"),
        ("I went there last Tuesday", "2023-05-02", "2023-05-03", "day"),
        ("last Monday", "2023-05-01", "2023-05-02", "day"),  # today is Monday: a week ago
        ("I saw her on Friday", "2023-05-05", "2023-05-06", "day"),
        ("I'm seeing her on Friday", "2023-05-12", "2023-05-13", "day"),
        ("I'll call next Tuesday", "2023-05-09", "2023-05-10", "day"),
        ("3 days ago", "2023-05-05", "2023-05-06", "day"),
        ("a couple of days ago", "2023-05-06", "2023-05-07", "day"),
        ("two weeks ago", "2023-04-24", "2023-05-01", "week"),
        ("a month ago", "2023-04-01", "2023-05-01", "month"),
        ("five years ago", "2018-01-01", "2019-01-01", "year"),
        ("in 3 days", "2023-05-11", "2023-05-12", "day"),
        ("in two weeks", "2023-05-22", "2023-05-29", "week"),
        ("in 2 months", "2023-07-01", "2023-08-01", "month"),
        ("10 days from now", "2023-05-18", "2023-05-19", "day"),
        ("I moved to LA in March", "2023-03-01", "2023-04-01", "month"),
        ("it happened in June", "2022-06-01", "2022-07-01", "month"),  # the last June gone by
        ("I will fly there in June", "2023-06-01", "2023-07-01", "month"),
        ("last March", "2023-03-01", "2023-04-01", "month"),
        ("last May", "2022-05-01", "2022-06-01", "month"),  # said in May: the May before
        ("next March", "2024-03-01", "2024-04-01", "month"),
        ("in March 2023", "2023-03-01", "2023-04-01", "month"),
        ("June 2021", "2021-06-01", "2021-07-01", "month"),
        ("8 May 2023", "2023-05-08", "2023-05-09", "day"),
        ("the 3rd of January, 2020", "2020-01-03", "2020-01-04", "day"),
        ("May 8, 2023", "2023-05-08", "2023-05-09", "day"),
        ("on 2023-04-01", "2023-04-01", "2023-04-02", "day"),
        ("May 8", "2023-05-08", "2023-05-09", "day"),
        ("we met on June 12th", "2022-06-12", "2022-06-13", "day"),
        ("we will meet on June 12th", "2023-06-12", "2023-06-13", "day"),
        ("back in 2022", "2022-01-01", "2023-01-01", "year"),
        ("the weekend was great", "2023-05-06", "2023-05-08", "week"),
        ("last weekend", "2023-05-06", "2023-05-08", "week"),
        ("this weekend I'll rest", "2023-05-13", "2023-05-15", "week"),
        ("next weekend", "2023-05-20", "2023-05-22", "week"),
        ("the past 3 days", "2023-05-06", "2023-05-09", "day"),
    ],
)
def test_resolves(text: str, start: str, end: str, gran: str) -> None:
    _, s, e, g = one(text)
    assert (s, e, g) == (d(start), d(end), gran)


def test_phrase_and_order_of_several_mentions() -> None:
    found = resolve("Yesterday I booked it, tomorrow we fly; we'll be back on 20 May.", MON)
    assert [m.phrase for m in found] == ["Yesterday", "tomorrow", "20 May"]
    assert found[-1].start.date() == d("2023-05-20")  # its own clause is about the future
    # Told as past, the same date is the last 20 May gone by.
    assert resolve("I was back on 20 May.", MON)[0].start.date() == d("2022-05-20")


def test_specific_form_wins_over_its_parts() -> None:
    # "8 May 2023" is one day, not a day plus a month plus a year.
    assert len(resolve("on 8 May 2023 it began", MON)) == 1
    assert len(resolve("in March 2023", MON)) == 1


@pytest.mark.parametrize(
    "text",
    [
        "that may be true",
        "I think 5 may be enough",
        "may I ask something?",
        "it costs $2022",
        "call 2022-555",
        "I have 3 cats",
        "we march on",
        "I love Tuesdays",
        "nothing about time here",
        "version 3.2023",
    ],
)
def test_no_false_alarms(text: str) -> None:
    assert resolve(text, MON) == []


def test_weekend_told_during_the_weekend() -> None:
    sunday = datetime(2023, 5, 14, 12)
    assert one("the weekend has been lovely", sunday)[1:3] == (d("2023-05-13"), d("2023-05-15"))
    assert one("last weekend", sunday)[1:3] == (d("2023-05-06"), d("2023-05-08"))


def test_year_boundaries() -> None:
    jan = datetime(2024, 1, 2, 9)
    assert one("last month", jan)[1:3] == (d("2023-12-01"), d("2024-01-01"))
    assert one("in December", jan)[1:3] == (d("2023-12-01"), d("2024-01-01"))
    assert one("two months ago", jan)[1:3] == (d("2023-11-01"), d("2023-12-01"))
    assert one("last week", jan)[1:3] == (d("2023-12-25"), d("2024-01-01"))
    dec = datetime(2023, 12, 30, 9)
    assert one("in 3 days", dec)[1:3] == (d("2024-01-02"), d("2024-01-03"))
    assert one("I'll go in January", dec)[1:3] == (d("2024-01-01"), d("2024-02-01"))


def test_leap_day_and_impossible_dates() -> None:
    said = datetime(2025, 3, 1)
    assert one("on 29 February", said)[1] == d("2024-02-29")  # the last one that existed
    assert resolve("on 30 February", said) == []


def test_timezone_is_kept() -> None:
    tz = timezone(timedelta(hours=-7))
    m = resolve("yesterday", datetime(2023, 5, 8, 1, tzinfo=tz))[0]
    assert m.start == datetime(2023, 5, 7, tzinfo=tz)
    assert m.end - m.start == timedelta(days=1)
    assert resolve("today", datetime(2023, 5, 8, tzinfo=UTC))[0].start.tzinfo is UTC


def test_explicit_tense_overrides_the_guess() -> None:
    assert resolve("on Friday", MON, tense="future")[0].start.date() == d("2023-05-12")
    assert resolve("on Friday", MON, tense="past")[0].start.date() == d("2023-05-05")


def test_tense_of() -> None:
    assert tense_of("I'm going to Paris") == "future"
    assert tense_of("we'll see") == "future"
    assert tense_of("I went to Paris") == "past"
    assert tense_of("I love Paris") == "past"


@pytest.mark.parametrize(
    ("question", "start", "end"),
    [
        ("what did we talk about last Tuesday?", "2023-05-02", "2023-05-03"),
        ("what happened in May 2023?", "2023-05-01", "2023-06-01"),
        ("what did I say yesterday?", "2023-05-07", "2023-05-08"),
        ("what did we do last year?", "2022-01-01", "2023-01-01"),
        ("what am I doing next week?", "2023-05-15", "2023-05-22"),
        ("what did we do between March and May?", "2023-03-01", "2023-06-01"),
        ("what did I say yesterday or the day before yesterday?", "2023-05-06", "2023-05-08"),
    ],
)
def test_query_window(question: str, start: str, end: str) -> None:
    window = query_window(question, MON)
    assert window is not None
    assert (window[0].date(), window[1].date()) == (d(start), d(end))


def test_query_without_time() -> None:
    assert query_window("what is my sister called?", MON) is None
    assert query_window("may I ask what you remember?", MON) is None
