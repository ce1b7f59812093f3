"""Calendar requests in the user's words — and the many sentences that are not requests."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from os1.calendar.intents import (
    AgendaAsk,
    CancelEvent,
    ListReminders,
    MoveEvent,
    NewEvent,
    Unclear,
    agenda_ask,
    recognise,
)
from os1.calendar.reminder_request import ReminderError, ReminderRequest

TZ = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 26, 14, 0, tzinfo=TZ)  # Thursday 26 November 2026
TODAY = NOW.date()


def at(m: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(2026, m, d, h, mi, tzinfo=TZ)


AGENDA = [
    ("what's on Thursday?", date(2026, 12, 3), date(2026, 12, 3)),
    ("What's on today?", TODAY, TODAY),
    ("what do I have tomorrow", date(2026, 11, 27), date(2026, 11, 27)),
    ("what's my week like", TODAY, date(2026, 11, 29)),
    ("How does my week look?", TODAY, date(2026, 11, 29)),
    ("am I free on Friday", date(2026, 11, 27), date(2026, 11, 27)),
    ("Am I free on Friday at 3?", date(2026, 11, 27), date(2026, 11, 27)),
    ("am I busy?", TODAY, TODAY),
    ("my schedule for next week", date(2026, 11, 30), date(2026, 12, 6)),
    ("what's on this weekend", date(2026, 11, 28), date(2026, 11, 29)),
    ("what's happening this weekend?", date(2026, 11, 28), date(2026, 11, 29)),
    ("anything on today?", TODAY, TODAY),
    ("what's on my calendar", TODAY, date(2026, 12, 2)),
    ("what's on my calendar for next week?", date(2026, 11, 30), date(2026, 12, 6)),
    ("show me my calendar", TODAY, date(2026, 12, 2)),
    ("check my calendar for Friday", date(2026, 11, 27), date(2026, 11, 27)),
    ("how does tomorrow look?", date(2026, 11, 27), date(2026, 11, 27)),
    ("how's my Friday looking?", date(2026, 11, 27), date(2026, 11, 27)),
    ("what's my day like", TODAY, TODAY),
    ("what do I have to do today?", TODAY, TODAY),
    ("do I have any meetings tomorrow?", date(2026, 11, 27), date(2026, 11, 27)),
    ("what do I have on 3 December?", date(2026, 12, 3), date(2026, 12, 3)),
    ("what's on in the next 3 days", TODAY, date(2026, 11, 28)),
    ("what have I got on the rest of the week", TODAY, date(2026, 11, 29)),
    ("what did I have on Monday?", date(2026, 11, 23), date(2026, 11, 23)),
    ("what did I have last week", date(2026, 11, 16), date(2026, 11, 22)),
    ("Hey, what's on Friday?", date(2026, 11, 27), date(2026, 11, 27)),
    ("Great, thanks. What's on Friday?", date(2026, 11, 27), date(2026, 11, 27)),
    ("what's next week like?", date(2026, 11, 30), date(2026, 12, 6)),
    ("what's Friday looking like?", date(2026, 11, 27), date(2026, 11, 27)),
]


@pytest.mark.parametrize(("text", "start", "end"), AGENDA)
def test_agenda_questions(text: str, start: date, end: date) -> None:
    assert recognise(text, NOW) == AgendaAsk(start, end)


def test_the_weekend_asked_on_sunday_is_what_is_left_of_it() -> None:
    sunday = datetime(2026, 11, 29, 10, tzinfo=TZ)
    assert agenda_ask("what's on this weekend?", sunday) == AgendaAsk(sunday.date(), sunday.date())


def test_reminder_lists() -> None:
    for text in ("what are my reminders", "list my reminders", "What reminders do I have?",
                 "show me my reminders", "do I have any reminders?", "my reminders"):  # fmt: skip
        assert recognise(text, NOW) == ListReminders(), text
    tomorrow = date(2026, 11, 27)
    assert recognise("any reminders for tomorrow?", NOW) == ListReminders(tomorrow, tomorrow)


@pytest.mark.parametrize(
    ("text", "what", "start"),
    [
        ("wake me up at 7", "wake up", at(11, 27, 7)),  # not 19:00: a wake-up is a morning
        ("wake me at 6:30 tomorrow", "wake up", at(11, 27, 6, 30)),
        ("wake me up in 20 minutes", "wake up", at(11, 26, 14, 20)),
        ("set an alarm for 7 to call Paul", "call Paul", at(11, 27, 7)),
        ("wake me at 5pm", "wake up", at(11, 26, 17)),
    ],
)
def test_wake_ups_are_reminders(text: str, what: str, start: datetime) -> None:
    found = recognise(text, NOW)
    assert isinstance(found, ReminderRequest)
    assert (found.what, found.when.start) == (what, start)


def test_reminder_requests_come_through() -> None:
    asked = recognise("remind me to call my sister at five tomorrow", NOW)
    assert isinstance(asked, ReminderRequest)
    assert (asked.what, asked.when.start) == ("call my sister", at(11, 27, 17))
    missing = recognise("remind me to call Amy", NOW)
    assert missing == ReminderError("When should I remind you to call Amy?")


EVENTS = [
    ("put lunch with Amy on Friday at 1 in my calendar", "Lunch with Amy", at(11, 27, 13), None),
    ("add dentist appointment on 3 December at 10:30", "Dentist appointment", at(12, 3, 10, 30),
     None),
    ("schedule a call with Paul tomorrow at 4", "Call with Paul", at(11, 27, 16), None),
    ("Could you add Amy's birthday on 5 May to my calendar?", "Amy's birthday", date(2027, 5, 5),
     None),
    ("Hey, could you put yoga every Tuesday at 7 in my calendar?", "Yoga", at(12, 1, 7),
     {"FREQ": "WEEKLY", "BYDAY": ["TU"]}),
    ("create an event called Team dinner on Friday at 8pm", "Team dinner", at(11, 27, 20), None),
    ("set up a meeting with the landlord on Monday at 10", "Meeting with the landlord",
     at(11, 30, 10), None),
    ("pencil in coffee with Sam tomorrow morning on my calendar", "Coffee with Sam", at(11, 27, 9),
     None),
]  # fmt: skip


@pytest.mark.parametrize(("text", "summary", "start", "rrule"), EVENTS)
def test_new_events(
    text: str, summary: str, start: datetime | date, rrule: dict[str, object] | None
) -> None:
    found = recognise(text, NOW)
    assert isinstance(found, NewEvent)
    assert (found.summary, found.when.start, found.when.rrule) == (summary, start, rrule)


def test_an_event_without_a_time_asks_when() -> None:
    assert recognise("put lunch with Amy in my calendar", NOW) == Unclear(
        "When is “Lunch with Amy”?"
    )
    assert recognise("schedule a call with Paul", NOW) == Unclear("When is “Call with Paul”?")
    unclear = recognise("add the party on 12/3 to my calendar", NOW)
    assert isinstance(unclear, Unclear) and "12/3 could be" in unclear.message


def test_moving() -> None:
    found = recognise("move the dentist to Friday at 3", NOW)
    assert isinstance(found, MoveEvent)
    assert (found.what, found.when.start, found.day) == ("Dentist", at(11, 27, 15), None)
    found = recognise("move my meeting with Paul to 4pm", NOW)
    assert isinstance(found, MoveEvent)
    assert found.what == "Meeting with Paul"
    assert not found.when.said_day and found.when.start == at(11, 26, 16)  # same day, 16:00
    found = recognise("move the dentist from Thursday to Friday at 3", NOW)
    assert isinstance(found, MoveEvent)
    assert (found.what, found.day, found.when.start) == ("Dentist", date(2026, 12, 3),
                                                         at(11, 27, 15))  # fmt: skip
    found = recognise("move the trip to Rome to next Tuesday", NOW)
    assert isinstance(found, MoveEvent)
    assert (found.what, found.when.start) == ("Trip to Rome", date(2026, 12, 1))
    found = recognise("please reschedule the call with Paul for tomorrow at 11", NOW)
    assert isinstance(found, MoveEvent) and found.when.start == at(11, 27, 11)
    found = recognise("move the dentist to 4", NOW)  # after "move … to", 4 is a time
    assert isinstance(found, MoveEvent) and found.when.start == at(11, 26, 16)
    assert recognise("reschedule the dentist", NOW) == Unclear("When should “Dentist” move to?")


def test_cancelling() -> None:
    assert recognise("cancel the dentist on Friday", NOW) == CancelEvent(
        "Dentist", date(2026, 11, 27)
    )
    assert recognise("cancel my meeting with Paul", NOW) == CancelEvent("Meeting with Paul")
    assert recognise("delete the gym session from my calendar", NOW) == CancelEvent("Gym session")
    assert recognise("call off dinner with Sam tomorrow", NOW) == CancelEvent(
        "Dinner with Sam", date(2026, 11, 27)
    )


NOT_CALENDAR = [
    "I had a great time on Friday",
    "remember that my sister's birthday is 5 May",
    "my sister's birthday is 5 May",
    "I'm meeting Amy on Friday at 1",
    "What's on TV tonight?",
    "what's up",
    "what's new",
    "what do I have to lose",
    "what do I have in the fridge",
    "am I free to leave?",
    "am I free to say what I think on Friday?",
    "how was your day",
    "my day was long",
    "show me my photos from Friday",
    "what did you do on Friday?",
    "remind me what we talked about yesterday",
    "remind me about our trip to Rome",
    "add milk to my shopping list tomorrow",
    "add Amy to the group chat on Friday",
    "add salt at the end",
    "make dinner at 7",
    "schedule an email to Paul for tomorrow at 9",
    "move the couch to the bedroom",
    "move to Berlin next year",
    "I want to move the meeting to Friday",
    "change my password to 1234",
    "cancel my subscription",
    "cancel the order on Friday",
    "what's the weather tomorrow like",
    "what's your week like",
    "what's on your mind today?",
    "what's happening in the news today",
    "how's my day going",
    "what's my name",
    "add 3 eggs to the cake at 5",
    "add a note that I called Paul at 5",
    "put the kettle on at 5",
    "move it to Friday",
    "delete everything on Friday",
    "are you free on Friday?",
    "I'm free on Friday",
    "at five tomorrow we leave",
    "cancel it",
    "cancel that",
    "delete the email from Paul",
    "remove Amy from the meeting",
    "cancel my reminder to call Amy",
    "it's 5pm already",
    "the meeting on Friday went well",
    "Paul said: put the launch on Friday at 9 in my calendar",
    "",
]


@pytest.mark.parametrize("text", NOT_CALENDAR)
def test_not_calendar_requests(text: str) -> None:
    assert recognise(text, NOW) is None


def test_long_stories_are_not_read_as_requests() -> None:
    story = "move the dentist to Friday at 3 " + "and then we walked along the river " * 10
    assert len(story) > 300
    assert recognise(story, NOW) is None
    assert isinstance(recognise("move the dentist to Friday at 3", NOW), MoveEvent)
