from os1 import context
from os1.context import Turn
from os1.testing import ScriptedModel


def test_budget_reserves_reply_room() -> None:
    b = context.budget_for(ScriptedModel(context_length=4096), 400)
    assert (b.window, b.reply, b.prompt) == (4096, 400, 3696)
    small = context.budget_for(ScriptedModel(context_length=256), 400)
    assert small.reply == 64 and small.prompt == 192


def test_shorten_keeps_head_and_tail() -> None:
    m = ScriptedModel()
    text = " ".join(f"w{i}" for i in range(1000))
    short = context.shorten(m, text, 100)
    assert m.count_tokens(short) <= 100
    assert short.startswith("w0 w1") and short.endswith("w999") and "left out" in short
    assert context.shorten(m, "tiny text", 100) == "tiny text"


def test_fit_recent_keeps_newest() -> None:
    m = ScriptedModel()
    turns = [Turn(i, "user", "a b c d") for i in range(10)]
    left, kept = context.fit_recent(m, turns, 36, 100)
    assert [t.id for t in kept] == [7, 8, 9]
    assert [t.id for t in left] == list(range(7))


async def test_summarise_uses_the_model_and_falls_back() -> None:
    m = ScriptedModel(["Theo has a sister called Anna."], context_length=512)
    budget = context.budget_for(m, 100)
    turns = [Turn(1, "user", "my sister is Anna"), Turn(2, "assistant", "lovely")]
    assert await context.summarise(m, "", turns, budget, "Theo") == "Theo has a sister called Anna."
    assert "Theo: my sister is Anna" in m.prompts[-1][-1].content
    broken = ScriptedModel(["x y z"], fail_after=0, context_length=512)
    fallback = await context.summarise(broken, "", turns, budget, "Theo")
    assert "my sister is Anna" in fallback


async def test_summarise_in_chunks_when_turns_exceed_the_window() -> None:
    m = ScriptedModel(context_length=300)
    budget = context.budget_for(m, 50)
    turns = [Turn(i, "user", "blah " * 60) for i in range(10)]
    await context.summarise(m, "", turns, budget, "Theo")
    assert len(m.prompts) > 1  # folded a chunk at a time, each within the window


def test_trim_cuts_on_words_without_a_loud_marker() -> None:
    m = ScriptedModel()
    text = " ".join(f"w{i}" for i in range(100))
    head = context.trim(m, text, 10)
    tail = context.trim(m, text, 10, keep_end=True)
    assert head.startswith("w0 w1") and head.endswith("…") and m.count_tokens(head) <= 10
    assert tail.endswith("w99") and tail.startswith("…") and m.count_tokens(tail) <= 10
    assert "left out" not in head + tail
    assert context.trim(m, "short", 10) == "short"
