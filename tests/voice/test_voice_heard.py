"""After a barge-in her stored reply keeps only what the user heard, for that user only."""

from __future__ import annotations

from os1.companion import Companion
from os1.testing import ScriptedModel


async def say(c: Companion, text: str, user: str = "theo") -> str:
    return "".join([p async for p in c.reply(user, text)])


async def rows(c: Companion, user: str = "theo") -> list[tuple[str, str, str]]:
    return [(r["role"], r["content"], r["status"]) for r in await c.history(user)]


async def test_heard_trims_the_latest_reply_and_marks_it_interrupted(
    companion: Companion, model: ScriptedModel
) -> None:
    model.replies = ["First answer.", "Well, let me tell you a long story about the sea."]
    await say(companion, "hi")
    await say(companion, "tell me a story")
    assert await companion.heard("theo", "Well, let me tell you") is True
    assert await rows(companion) == [
        ("user", "hi", "complete"),
        ("assistant", "First answer.", "complete"),
        ("user", "tell me a story", "complete"),
        ("assistant", "Well, let me tell you", "interrupted"),
    ]
    # The same again changes nothing; the next turn's prompt holds only what was heard.
    assert await companion.heard("theo", "Well, let me tell you") is False
    await say(companion, "go on")
    prompt = "\n".join(m.content for m in model.prompts[-1])
    assert "Well, let me tell you" in prompt and "about the sea" not in prompt


async def test_heard_touches_only_that_users_reply(
    companion: Companion, model: ScriptedModel
) -> None:
    model.replies = ["For Theo.", "For Amy, all of it."]
    await say(companion, "hello", user="theo")
    await say(companion, "hello", user="amy")
    assert await companion.heard("theo", "For") is True
    assert (await rows(companion, "theo"))[-1] == ("assistant", "For", "interrupted")
    assert (await rows(companion, "amy"))[-1] == ("assistant", "For Amy, all of it.", "complete")
    assert await companion.heard("nobody", "anything") is False


async def test_nothing_heard_keeps_an_empty_interrupted_reply(
    companion: Companion, model: ScriptedModel
) -> None:
    model.replies = ["Something she never got to say."]
    await say(companion, "hi")
    assert await companion.heard("theo", "") is True
    assert (await rows(companion))[-1] == ("assistant", "", "interrupted")
