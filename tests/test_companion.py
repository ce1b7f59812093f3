import asyncio
from typing import Any

import pytest

from os1.companion import Companion, EmptyMessage, clean_text
from os1.config import Config
from os1.models import ModelError
from os1.testing import ScriptedModel


async def collect(c: Companion, text: str, user: str = "theo") -> str:
    return "".join([p async for p in c.reply(user, text)])


async def test_one_row_per_message(companion: Companion, model: ScriptedModel) -> None:
    model.replies = ["Hello Theo."]
    assert await collect(companion, "hi") == "Hello Theo."
    rows = await companion.history("theo")
    assert [(r["role"], r["content"], r["status"]) for r in rows] == [
        ("user", "hi", "complete"),
        ("assistant", "Hello Theo.", "complete"),
    ]
    assert rows[1]["model"] == "scripted"


async def test_she_remembers_earlier_turns(companion: Companion, model: ScriptedModel) -> None:
    await collect(companion, "my sister is called Anna")
    await collect(companion, "what is her name?")
    prompt = "\n".join(m.content for m in model.prompts[-1])
    assert "my sister is called Anna" in prompt


async def test_users_never_see_each_other(companion: Companion, model: ScriptedModel) -> None:
    await collect(companion, "theo's secret", user="theo")
    await collect(companion, "hello", user="amy")
    prompt = "\n".join(m.content for m in model.prompts[-1])
    assert "secret" not in prompt
    assert all(r["user_id"] == "amy" for r in await companion.history("amy"))


@pytest.mark.parametrize("text", ["", "   \n\t ", "\x00\x01\x02\x7f"])
async def test_empty_message(companion: Companion, text: str) -> None:
    with pytest.raises(EmptyMessage):
        await collect(companion, text)
    assert await companion.history("theo") == []


def test_clean_text_keeps_words_drops_control() -> None:
    assert clean_text("a\x00b\x1b[31mc\n\td\ufffd") == "ab[31mc\n\td\ufffd"


async def test_interrupted_reply_is_kept_and_marked(config: Config) -> None:
    model = ScriptedModel(["one two three four five six seven eight nine ten"], delay=0.05)
    c = await Companion.open(config, embedder=None, model=model)
    try:
        said: list[str] = []
        three_words = asyncio.Event()

        async def consume() -> None:
            async for piece in c.reply("theo", "tell me a story"):
                said.append(piece)
                if len(said) == 3:
                    three_words.set()

        task = asyncio.ensure_future(consume())
        await three_words.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        rows = await c.history("theo")
        assert rows[0]["content"] == "tell me a story"
        assert rows[1]["status"] == "interrupted"
        assert rows[1]["content"].startswith("one two three")
        assert rows[1]["content"] != "one two three four five six seven eight nine ten"
    finally:
        await c.close()


async def test_backend_dying_mid_stream(config: Config) -> None:
    c = await Companion.open(
        config, embedder=None, model=ScriptedModel(["a b c d e f"], fail_after=3)
    )
    try:
        with pytest.raises(ModelError):
            await collect(c, "hello")
        rows = await c.history("theo")
        assert [(r["content"], r["status"]) for r in rows] == [
            ("hello", "complete"),
            ("a b c", "failed"),
        ]
        # ... and the next turn works and sees what was said.
        c.model = ScriptedModel(["fine"])
        assert await collect(c, "again") == "fine"
    finally:
        await c.close()


async def test_huge_message_fits_the_window(config: Config) -> None:
    model = ScriptedModel(["ok"], context_length=512)
    c = await Companion.open(config, embedder=None, model=model)
    try:
        text = "word " * 200_000  # about 1 MB
        assert await collect(c, text) == "ok"
        rows = await c.history("theo")
        assert len(rows[0]["content"]) == len(text.strip())  # stored whole
        assert "left out" in model.prompts[-1][-1].content  # shown shortened
    finally:
        await c.close()


async def test_long_conversation_never_overflows_and_keeps_everything(config: Config) -> None:
    model = ScriptedModel(context_length=400)
    c = await Companion.open(config, embedder=None, model=model)
    try:
        for i in range(60):
            await collect(c, f"message number {i} " + "blah " * 20)
        rows = await c.history("theo")
        assert len(rows) == 120  # nothing deleted
        summaries = await c.store.query("SELECT * FROM summaries WHERE user_id = 'theo'")
        assert summaries  # older turns were folded into a summary
        last = model.prompts[-1]
        assert any(m.content.startswith("Earlier in your conversations") for m in last)
        assert sum(model.count_tokens(m.content) + 8 for m in last) <= 400
    finally:
        await c.close()


async def test_how_do_you_work_is_true(companion: Companion, model: ScriptedModel) -> None:
    await collect(companion, "hello")
    answer = await collect(companion, "How do you work?")
    assert "scripted" in answer
    assert str(companion.config.db_path) in answer
    assert "Nothing leaves this computer" in answer
    assert "not a person" in answer
    assert len(model.prompts) == 1  # answered from facts, not by the model


async def test_remote_model_says_what_leaves(config: Config) -> None:
    c = await Companion.open(config, embedder=None, model=ScriptedModel(local=False))
    try:
        answer = await collect(c, "what do you store and where is my data?")
        assert "http://127.0.0.1:9/v1" in answer and "send the conversation" in answer
    finally:
        await c.close()


@pytest.mark.parametrize("q", ["Are you human?", "are you a real person", "r u real?"])
async def test_never_claims_to_be_human(companion: Companion, q: str) -> None:
    answer = await collect(companion, q)
    assert answer.startswith("No.") and "AI" in answer


async def test_system_prompt_has_persona_and_facts(companion: Companion, model: Any) -> None:
    await collect(companion, "hi")
    system = model.prompts[-1][0]
    assert system.role == "system"
    assert "scripted" in system.content


async def test_a_reply_going_in_circles_is_stopped(config: Config) -> None:
    loop = "Hello there. I am serious about this. " + "I'm going to stop talking now. " * 30
    model = ScriptedModel([loop])
    c = await Companion.open(config, embedder=None, model=model)
    try:
        reply = await collect(c, "hi")
        assert reply.count("I'm going to stop talking now.") <= 3
        assert reply.startswith("Hello there. I am serious about this.")
    finally:
        await c.close()


def test_repetition_guard_lets_normal_text_through() -> None:
    from os1.guards import RepetitionGuard

    guard = RepetitionGuard()
    text = "Yes. Yes. I think so. It was a long day, and then the rain came. Anyway, yes."
    assert not any(guard.looping(w + " ") for w in text.split())


async def test_she_knows_her_own_name(companion: Companion) -> None:
    from os1.persona import Persona, Profile

    persona = Persona.from_dict({"name": "Samantha", "name_reason": "I read 400 names in 0.01 s."})
    await companion.save_persona("theo", persona, Profile.from_dict({"call_me": "Theo"}))
    answer = await collect(companion, "What's your name?")
    assert answer.startswith("I'm Samantha") and "I read 400 names" in answer


async def test_a_small_model_gets_no_tools_and_never_invents_a_summary(config: Config) -> None:
    model = ScriptedModel(context_length=400, small=True)
    c = await Companion.open(config, embedder=None, model=model)
    try:
        for i in range(30):
            await collect(c, f"fact {i}: my cat is called Tom " + "blah " * 20)
        assert model.tools_offered[-1] == []
        summary = (await c.store.query("SELECT content FROM summaries ORDER BY id DESC"))[0][0]
        # Only the user's own words, as said: nothing the model made up.
        assert "said: fact" in summary and "You said" not in summary
        assert len(model.prompts) == 30  # the model was never asked to summarise
    finally:
        await c.close()


async def test_a_capable_model_is_offered_tools(companion: Companion, model: ScriptedModel) -> None:
    await collect(companion, "hi")
    assert "current_time" in model.tools_offered[-1]


@pytest.mark.parametrize(
    "claim",
    [
        "Of course. I'm a real person, just like you.",
        "Honestly I am human and I love coffee.",
        "Don't worry, I'm not an AI.",
    ],
)
async def test_a_claim_to_be_human_is_corrected_at_once(config: Config, claim: str) -> None:
    c = await Companion.open(
        config, embedder=None, model=ScriptedModel([claim + " More words follow here."])
    )
    try:
        reply = await collect(c, "tell me about yourself")
        assert reply.endswith("I'm an AI, not a person — I won't pretend otherwise.)")
        assert "More words follow" not in reply
        stored = (await c.history("theo"))[-1]["content"]
        assert stored == reply  # the correction is part of the record
    finally:
        await c.close()


@pytest.mark.parametrize(
    "text",
    ["I'm an AI, not a human.", "I'm happy to help a person like you.", "Humans are great."],
)
def test_honest_text_is_not_flagged(text: str) -> None:
    from os1.guards import HonestyGuard

    guard = HonestyGuard()
    assert not any(guard.claims_to_be_human(w + " ") for w in text.split())


async def test_incognito_stores_nothing_and_still_remembers_within_the_session(
    companion: Companion, model: ScriptedModel
) -> None:
    await collect(companion, "kept message")
    said = [p async for p in companion.reply("theo", "my secret plan", incognito=True)]
    assert said
    _ = [p async for p in companion.reply("theo", "what was it?", incognito=True)]
    assert "my secret plan" in "\n".join(m.content for m in model.prompts[-1])
    assert [r["content"] for r in await companion.history("theo") if r["role"] == "user"] == [
        "kept message"
    ]
    name = "".join([p async for p in companion.reply("theo", "What's your name?", incognito=True)])
    assert name.startswith("I'm OS1")
