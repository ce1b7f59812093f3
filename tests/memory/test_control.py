"""The user's control over memory, on a real store: cascade, consolidation, profile, jobs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from os1.companion import Companion
from os1.config import Config
from os1.memory import control
from os1.testing import ScriptedModel


@pytest.fixture
async def small(config: Config) -> AsyncIterator[Companion]:
    c = await Companion.open(config, embedder=None, model=ScriptedModel(small=True))
    yield c
    await c.close()


async def say(c: Companion, text: str, **kw: Any) -> str:
    return "".join([p async for p in c.reply("theo", text, **kw)])


async def test_forgetting_a_conversation_takes_what_came_from_it(small: Companion) -> None:
    first = await small.start_conversation("theo")
    await say(small, "My sister is called Anna.", conversation_id=first)
    second = await small.start_conversation("theo")
    await say(small, "I live in Boston.", conversation_id=second)
    await small.memory.work()
    learned = " ".join(f.content for f in await small.memory.facts("theo"))
    assert "Anna" in learned and "Boston" in learned
    counts = await control.forget_conversation(small.memory, "theo", first)
    assert counts["messages"] == 2 and counts["facts"] == 1
    left = [f.content for f in await small.memory.facts("theo")]
    assert len(left) == 1 and "Boston" in left[0]
    rows = await small.store.query("SELECT content FROM messages WHERE user_id = 'theo'")
    assert all("Anna" not in r[0] for r in rows)


async def test_paused_memory_learns_nothing_but_keeps_the_conversation(small: Companion) -> None:
    await small.memory.set_paused("theo", True)
    await say(small, "My brother is called Paul.")
    await small.memory.work()
    assert await small.memory.facts("theo") == []
    assert len(await small.history("theo")) == 2
    await small.memory.set_paused("theo", False)
    await say(small, "My brother is called Paul.")
    await small.memory.work()
    assert len(await small.memory.facts("theo")) == 1


async def test_failed_extraction_is_retried_then_marked_failed(config: Config) -> None:
    # A capable-model path whose model fails: the job is retried, then marked, never lost.
    c = await Companion.open(config, embedder=None, model=ScriptedModel(["ok"] * 10))
    try:
        await say(c, "I went hiking yesterday.")
        await c.memory.stop()
        for _ in range(3):
            await c.store.execute_write(
                "UPDATE memory_jobs SET status = 'pending' WHERE status = 'pending'"
            )
            await c.memory.work()
        job = await c.store.query_one("SELECT * FROM memory_jobs WHERE kind = 'extract'")
        assert job is not None and job["status"] == "failed" and job["attempts"] == 3
        assert "ModelError" in job["error"]
    finally:
        await c.close()


async def test_consolidation_merges_and_notes_follow_ups(small: Companion) -> None:
    await say(small, "I'm going to the dentist tomorrow.")
    await small.memory.work()  # consolidation runs on its own once facts arrive
    notes = [f for f in await small.memory.facts("theo") if f.kind == "insight"]
    assert len(notes) == 1 and notes[0].content.startswith("Follow up after")
    assert (await control.consolidate(small.memory, "theo"))["followups"] == 0  # once only
    await say(small, "My sister is called Anna.")
    await say(small, "My sister is called Anna.")
    await small.store.execute_write(  # the same fact twice, as an old version could leave it
        "INSERT INTO memories (user_id, kind, slot, content, recorded_at) "
        "SELECT user_id, kind, slot, content, recorded_at FROM memories WHERE slot = 'sister.name'"
    )
    assert (await control.consolidate(small.memory, "theo"))["merged"] >= 1


async def test_profile_stays_within_its_budget(small: Companion) -> None:
    for text in [
        "My sister is called Anna.",
        "My brother is called Paul.",
        "I live in Boston.",
        "I work as a nurse.",
        "I love coffee.",
        "I hate mornings.",
    ]:
        await say(small, text)
    await small.memory.work()
    everything = await small.memory.profile("theo", budget_tokens=1000, count=lambda t: 10)
    few = await small.memory.profile("theo", budget_tokens=25, count=lambda t: 10)
    assert len(few.splitlines()) == 2 < len(everything.splitlines())


async def test_about_is_honest_when_empty(small: Companion) -> None:
    answer = await say(small, "What do you know about me?")
    assert "don't know anything about you yet" in answer
