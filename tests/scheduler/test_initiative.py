"""What she says on her own: the morning briefing and check-ins, from stored facts only."""

from __future__ import annotations

import hashlib
import itertools
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from os1.calendar import ical
from os1.calendar import store as calstore
from os1.companion import Companion
from os1.config import Config
from os1.memory import facts as factstore
from os1.scheduler.initiative import Initiative, checkin_template, plan_text
from os1.store import Store
from os1.testing import ScriptedModel

PARIS = ZoneInfo("Europe/Paris")
DAY = date(2026, 6, 1)
PLANS = itertools.count(1)


def paris(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 6, day, hour, minute, tzinfo=PARIS)


@pytest.fixture
async def tiny(config: Config) -> AsyncIterator[Companion]:
    c = await Companion.open(config, embedder=None, model=ScriptedModel(small=True))
    yield c
    await c.close()


async def put(store: Store, resource: ical.Resource, user: str = "theo") -> None:
    def write(c: sqlite3.Connection) -> None:
        cal = calstore.calendar_id(c, user)
        calstore.put_resource(c, user, cal, resource, origin="local", tz=PARIS, now=paris(1, 0))

    await store.write(write)


async def followup(store: Store, plan: str, when: datetime, user: str = "theo") -> int:
    content = f"Follow up after {when.day} {when:%B %Y}: {plan}"

    def write(c: sqlite3.Connection) -> int:
        c.execute("INSERT OR IGNORE INTO users (id, created_at) VALUES (?, ?)", (user, "2026"))
        fact = factstore.Fact(
            "insight", f"followup:{next(PLANS)}", content, valid_from=when.isoformat()
        )
        return factstore.add_fact(
            c, user, fact, sources=[], recorded_at=when, origin="consolidation", extractor="test"
        ).id

    return await store.write(write)


async def mail(store: Store, subject: str, importance: float, when: datetime) -> None:
    await store.execute_write(
        "INSERT INTO mail_messages (user_id, raw_hash, subject, from_name, from_addr, date, "
        "importance, category, imported_at) VALUES ('theo', ?, ?, 'Anna', 'anna@example.com', ?, "
        "?, 'personal', ?)",
        (hashlib.sha256(subject.encode()).hexdigest(), subject, when.astimezone(UTC).isoformat(),
         importance, when.astimezone(UTC).isoformat()),
    )  # fmt: skip


async def full_day(store: Store) -> None:
    await put(store, ical.new_event("Dentist", paris(1, 9), paris(1, 10), location="Rue Cler"))
    await put(store, ical.new_event("Choir", paris(2, 19)))  # tomorrow: not today's
    await put(store, ical.new_todo("Call my sister", paris(1, 17)))
    done = ical.new_todo("Pay rent", paris(1, 12))
    done.main["STATUS"] = "COMPLETED"
    await put(store, done)
    await mail(store, "Dinner on Saturday?", 0.8, paris(1, 6))
    await mail(store, "Weekly newsletter", 0.1, paris(1, 6))
    await mail(store, "Old news", 0.9, paris(1, 6) - timedelta(days=3))
    await followup(store, "Theo plans to meet Paul for lunch on 1 June 2026.", paris(1, 0))
    await followup(
        store, "Theo plans to go to the interview on 31 May 2026.", paris(1, 0) - timedelta(days=1)
    )


async def test_briefing_on_the_tiny_model_is_a_clean_template(tiny: Companion) -> None:
    await full_day(tiny.store)
    text = await Initiative(tiny).briefing("theo", DAY, PARIS)
    assert text == (
        "Good morning. Here is Monday 1 June.\n"
        "On your calendar:\n"
        "  - 09:00–10:00 Dentist (Rue Cler)\n"
        "Reminders today:\n"
        "  - 17:00 Call my sister\n"
        "Important mail since yesterday:\n"
        "  - Anna: Dinner on Saturday?\n"
        "You planned to:\n"
        "  - meet Paul for lunch on 1 June 2026"
    )
    assert tiny.model.prompts == []  # type: ignore[attr-defined]


async def test_nothing_to_say_is_no_briefing(tiny: Companion) -> None:
    assert await Initiative(tiny).briefing("theo", DAY, PARIS) is None
    await put(tiny.store, ical.new_event("Choir", paris(2, 19)))
    assert await Initiative(tiny).briefing("theo", DAY, PARIS) is None


async def test_a_capable_model_phrases_the_briefing_from_the_facts(config: Config) -> None:
    model = ScriptedModel(["Morning! The dentist at nine, then call your sister at five."])
    companion = await Companion.open(config, embedder=None, model=model)
    try:
        await full_day(companion.store)
        text = await Initiative(companion).briefing("theo", DAY, PARIS)
        assert text == "Morning! The dentist at nine, then call your sister at five."
        [prompt] = model.prompts
        assert "invent no events" in prompt[0].content
        assert "09:00–10:00 Dentist (Rue Cler)" in prompt[1].content
        assert "Dinner on Saturday?" in prompt[1].content
        assert "Choir" not in prompt[1].content
    finally:
        await companion.close()


async def test_a_failing_model_falls_back_on_the_template(config: Config) -> None:
    companion = await Companion.open(config, embedder=None, model=ScriptedModel(fail_after=2))
    try:
        await full_day(companion.store)
        text = await Initiative(companion).briefing("theo", DAY, PARIS)
        assert text is not None and text.startswith("Good morning. Here is Monday 1 June.")
    finally:
        await companion.close()


async def test_checkin_asks_about_a_plan_whose_day_has_passed(tiny: Companion) -> None:
    initiative = Initiative(tiny)
    fact = await followup(
        tiny.store,
        "Theo plans to go to the interview on 31 May 2026.",
        paris(1, 0) - timedelta(days=1),
    )
    await followup(tiny.store, "Theo plans to meet Paul on 1 June 2026.", paris(1, 0))  # today
    await followup(
        tiny.store, "Theo plans to paint on 20 May 2026.", paris(1, 0) - timedelta(days=12)
    )
    found = await initiative.next_checkin("theo", paris(1, 15), PARIS)
    assert found is not None and found.fact_id == fact
    assert found.text == "How did it go? You were planning to go to the interview on 31 May 2026."
    assert await initiative.checkin("theo", paris(1, 15), PARIS) == found.text
    await tiny.store.execute_write(
        "INSERT INTO notifications (user_id, kind, key, title, fired_at) "
        "VALUES ('theo', 'checkin', ?, 'Checking in', ?)",
        (str(fact), paris(1, 15).isoformat()),
    )
    assert await initiative.checkin("theo", paris(1, 16), PARIS) is None  # asked already
    assert await initiative.checkin("amy", paris(1, 16), PARIS) is None


async def test_a_capable_model_phrases_the_checkin(config: Config) -> None:
    model = ScriptedModel(["So, how did the interview go?"])
    companion = await Companion.open(config, embedder=None, model=model)
    try:
        await followup(
            companion.store,
            "Theo plans to go to the interview on 31 May 2026.",
            paris(1, 0) - timedelta(days=1),
        )
        text = await Initiative(companion).checkin("theo", paris(1, 15), PARIS)
        assert text == "So, how did the interview go?"
        assert "go to the interview on 31 May 2026" in model.prompts[0][1].content
    finally:
        await companion.close()


def test_plan_text_and_the_checkin_template() -> None:
    note = "Follow up after 31 May 2026: Theo plans to go to the interview on 31 May 2026."
    assert plan_text(note) == "go to the interview on 31 May 2026"
    # Before the interview names her, the user is "The user": two words, still a plan.
    unnamed = "Follow up after 1 June 2026: The user plans to go to a job interview on 1 June."
    assert checkin_template(unnamed) == (
        "How did it go? You were planning to go to a job interview on 1 June."
    )
    assert checkin_template("Follow up after 2 June 2026: Anna visits.") == (
        "How did it go? I had noted: Anna visits."
    )
