"""`Companion.prefetch`: a reply started from an early transcript, handed over or dropped."""

import asyncio

import pytest

from os1.companion import Companion
from os1.models import ModelError
from os1.testing import ScriptedModel


async def collect(c: Companion, text: str, user: str = "theo") -> str:
    return "".join([p async for p in c.reply(user, text)])


async def test_the_reply_takes_over_the_model_call_already_running(
    companion: Companion, model: ScriptedModel
) -> None:
    model.replies = ["Hello Theo, nice to hear you.", "a second, different answer"]
    model.delay = 0.01
    await companion.prefetch("theo", "hello there")
    await asyncio.sleep(0.03)  # the model is already generating
    assert len(model.prompts) == 1
    assert await collect(companion, "hello there") == "Hello Theo, nice to hear you."
    assert len(model.prompts) == 1  # no second call: the running one was handed over
    assert companion._speculations.claimed == 1
    rows = await companion.history("theo")
    assert [(r["role"], r["content"]) for r in rows] == [
        ("user", "hello there"),
        ("assistant", "Hello Theo, nice to hear you."),
    ]


async def test_a_prefetch_stores_nothing(companion: Companion, model: ScriptedModel) -> None:
    model.replies = ["guessed answer"]
    await companion.prefetch("theo", "my sister is called Anna")
    await asyncio.sleep(0.01)
    assert await companion.history("theo") == []
    for table in ("messages", "memories", "memory_jobs", "summaries", "actions"):
        assert await companion.store.query(f"SELECT * FROM {table}") == [], table


async def test_other_words_mean_a_new_call(companion: Companion, model: ScriptedModel) -> None:
    model.replies = ["answer to the guess", "answer to what was said"]
    model.delay = 0.01
    await companion.prefetch("theo", "what should I")
    await asyncio.sleep(0.02)
    assert await collect(companion, "what should I cook tonight") == "answer to what was said"
    assert len(model.prompts) == 2 and model.prompts[1][-1].content == "what should I cook tonight"
    assert companion._speculations.claimed == 0
    rows = await companion.history("theo")
    assert [r["content"] for r in rows] == ["what should I cook tonight", "answer to what was said"]


async def test_an_empty_prefetch_drops_the_guess(
    companion: Companion, model: ScriptedModel
) -> None:
    model.replies = ["one two three four five six seven eight nine ten", "fresh"]
    model.delay = 0.05
    await companion.prefetch("theo", "tell me a story")
    await asyncio.sleep(0.02)
    await companion.prefetch("theo", "")  # the user went on talking
    assert await collect(companion, "tell me a story") == "fresh"
    assert len(model.prompts) == 2


async def test_a_canned_answer_drops_the_guess(companion: Companion, model: ScriptedModel) -> None:
    model.replies = ["a model answer nobody needs"]
    await companion.prefetch("theo", "what's on Thursday?")
    answer = await collect(companion, "what's on Thursday?")
    assert "a model answer" not in answer
    assert companion._speculations._by_user == {}


async def test_questions_about_her_are_not_prefetched(
    companion: Companion, model: ScriptedModel
) -> None:
    await companion.prefetch("theo", "what model are you?")
    assert model.prompts == []


async def test_users_keep_their_own_guesses(companion: Companion, model: ScriptedModel) -> None:
    model.replies = ["for theo", "for amy"]
    model.delay = 0.01
    await companion.prefetch("theo", "hello")
    await companion.prefetch("amy", "hello")
    await asyncio.sleep(0.03)
    assert await collect(companion, "hello", user="amy") == "for amy"
    assert await collect(companion, "hello", user="theo") == "for theo"
    assert len(model.prompts) == 2
    assert all(r["user_id"] == "amy" for r in await companion.history("amy"))


async def test_a_model_failure_reaches_the_reply(
    companion: Companion, model: ScriptedModel
) -> None:
    model.replies = ["it breaks after three words"]
    model.fail_after = 3
    await companion.prefetch("theo", "hello")
    with pytest.raises(ModelError):
        await collect(companion, "hello")
    rows = await companion.history("theo")
    assert [(r["role"], r["status"]) for r in rows] == [
        ("user", "complete"),
        ("assistant", "failed"),
    ]


async def test_closing_the_reply_stops_the_speculation(
    companion: Companion, model: ScriptedModel
) -> None:
    model.replies = [" ".join(f"w{i}" for i in range(200))]
    model.delay = 0.005
    await companion.prefetch("theo", "talk for a long time")
    stream = companion.reply("theo", "talk for a long time")
    first = await anext(stream)
    await stream.aclose()  # a barge-in
    assert first == "w0"
    rows = await companion.history("theo")
    assert rows[-1]["status"] == "interrupted"
    await asyncio.sleep(0.05)
    assert companion._speculations._by_user == {}
