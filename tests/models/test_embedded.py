"""The embedded backend, run for real on the bundled SmolLM2 (tiny, so these stay quick)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import llama_cpp
import pytest

from os1.models import (
    Finished,
    Message,
    ModelError,
    ModelUnavailable,
    TextDelta,
    ToolSpec,
    llama_probe,
)
from os1.models.embedded import EmbeddedModel
from os1.models.llama_probe import BUILD_FIX, probe_llama_build

CRASH = "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"


@pytest.fixture
async def model(gguf: Path, probe_cache: Path) -> AsyncIterator[EmbeddedModel]:
    # One thread: llama.cpp's threads spin-wait, so on a busy 2-core machine two of them
    # can slow each other down a hundredfold; one thread is as fast here and never stalls.
    m = EmbeddedModel(gguf, cache_dir=probe_cache, context_length=2048, threads=1)
    yield m
    await m.close()


def entries(folder: Path) -> list[Path]:
    return list(folder.iterdir())


async def collect(model: EmbeddedModel, text: str, **kwargs: Any) -> list[Any]:
    return [c async for c in model.stream([Message("user", text)], **kwargs)]


async def test_stream_yields_text_then_one_finished(model: EmbeddedModel) -> None:
    chunks = await collect(model, "Say hello to Theo.", max_tokens=16, temperature=0.0)
    assert isinstance(chunks[-1], Finished)
    assert chunks[-1].reason in ("stop", "length")
    assert all(isinstance(c, TextDelta) for c in chunks[:-1])
    assert "".join(c.text for c in chunks[:-1]).strip()
    assert chunks[-1].completion_tokens == len(chunks) - 1


@pytest.mark.parametrize(
    "prompt",
    ["What's the weather in Paris?", "Set a tea timer for 4 minutes.", "Hi!", "Tell me a joke."],
)
async def test_required_tool_call_is_valid(
    model: EmbeddedModel, tools: tuple[ToolSpec, ...], check_schema: Any, prompt: str
) -> None:
    chunks = await collect(model, prompt, tools=tools, tool_choice="required", max_tokens=8)
    assert len(chunks) == 1 and isinstance(chunks[0], Finished)
    assert chunks[0].reason == "tool_calls" and len(chunks[0].tool_calls) == 1
    call = chunks[0].tool_calls[0]
    spec = {t.name: t for t in tools}[call.name]
    check_schema(call.arguments, spec.parameters)


@pytest.mark.parametrize("name", ["get_weather", "set_timer"])
async def test_named_tool_choice_calls_that_tool(
    model: EmbeddedModel, tools: tuple[ToolSpec, ...], check_schema: Any, name: str
) -> None:
    chunks = await collect(model, "Please help.", tools=tools, tool_choice=name)
    (call,) = chunks[-1].tool_calls
    assert call.name == name
    check_schema(call.arguments, {t.name: t for t in tools}[name].parameters)


async def test_unknown_tool_choice_is_an_error(
    model: EmbeddedModel, tools: tuple[ToolSpec, ...]
) -> None:
    with pytest.raises(ModelError, match="not offered"):
        await collect(model, "Hi", tools=tools, tool_choice="launch_rocket")


@pytest.mark.parametrize("prompt", ["What's the weather in Oslo?", "How are you today?"])
async def test_auto_gives_text_or_a_valid_call(
    model: EmbeddedModel, tools: tuple[ToolSpec, ...], check_schema: Any, prompt: str
) -> None:
    chunks = await collect(model, prompt, tools=tools, max_tokens=12)
    end = chunks[-1]
    assert isinstance(end, Finished)
    assert [c for c in chunks if isinstance(c, Finished)] == [end]
    if end.tool_calls:
        assert len(chunks) == 1 and end.reason == "tool_calls"
        call = end.tool_calls[0]
        check_schema(call.arguments, {t.name: t for t in tools}[call.name].parameters)
    else:
        assert end.reason in ("stop", "length") and len(chunks) > 1


@pytest.mark.parametrize(
    "text", ["I got the job!!", "My cat died this morning.", "The bus was on time."]
)
async def test_json_fits_the_schema(
    model: EmbeddedModel, mood_schema: dict[str, Any], check_schema: Any, text: str
) -> None:
    answer = await model.json(
        [Message("user", f"How does this person feel? {text}")], mood_schema, max_tokens=40
    )
    check_schema(answer, mood_schema)


async def test_json_cut_off_is_a_model_error(
    model: EmbeddedModel, mood_schema: dict[str, Any]
) -> None:
    with pytest.raises(ModelError, match="cut off"):
        await model.json([Message("user", "Mood?")], mood_schema, max_tokens=3)


def test_count_tokens_is_exact_and_monotonic(gguf: Path) -> None:
    model = EmbeddedModel(gguf)
    text = "Hello Theo! Shall we plan Saturday's hike to the lake? 🌲 It's 12 km."
    reference = llama_cpp.Llama(model_path=str(gguf), vocab_only=True, verbose=False)
    expected = len(reference.tokenize(text.encode(), add_bos=False, special=True))
    assert model.count_tokens(text) == expected
    # Token counts only grow word by word (inside a word, BPE may merge pieces).
    words = text.split(" ")
    counts = [model.count_tokens(" ".join(words[:i])) for i in range(len(words) + 1)]
    assert counts[0] == 0
    assert all(a <= b for a, b in itertools.pairwise(counts))
    assert model.count_tokens(text * 10) > 9 * expected


async def test_cancelling_mid_stream_stops_generation(model: EmbeddedModel) -> None:
    got: list[Any] = []
    three = asyncio.Event()

    async def consume() -> None:
        prompt = [Message("user", "Write a very long story about a dragon and a baker.")]
        async for chunk in model.stream(prompt, max_tokens=400, temperature=0.0):
            got.append(chunk)
            if len(got) == 3:
                three.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(three.wait(), timeout=30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not any(isinstance(c, Finished) for c in got)
    # Had the worker kept generating its ~400 tokens, this would wait for it (several seconds).
    start = time.monotonic()
    text = await model.complete([Message("user", "Say hi.")], max_tokens=4, temperature=0.0)
    assert time.monotonic() - start < 2.5
    assert text.strip()


async def test_concurrent_requests_take_turns(model: EmbeddedModel) -> None:
    a, b = await asyncio.gather(
        model.complete([Message("user", "Name a fruit.")], max_tokens=8, temperature=0.0),
        model.complete([Message("user", "Name a colour.")], max_tokens=8, temperature=0.0),
    )
    # Had both threads driven the one llama context at once, this would crash or garble.
    assert a.strip() and b.strip() and a != b


async def test_missing_file_is_unavailable(tmp_path: Path) -> None:
    missing = tmp_path / "nope.gguf"
    model = EmbeddedModel(missing, cache_dir=tmp_path)
    with pytest.raises(ModelUnavailable, match=r"nope\.gguf"):
        await collect(model, "Hi")
    with pytest.raises(ModelUnavailable, match="does not exist"):
        model.count_tokens("Hi")
    assert model.context_length == 4096


async def test_a_file_that_is_not_gguf_is_unavailable(tmp_path: Path) -> None:
    fake = tmp_path / "fake.gguf"
    fake.write_text("not a model")
    with pytest.raises(ModelUnavailable, match="could not"):
        await collect(EmbeddedModel(fake, cache_dir=tmp_path), "Hi")


def test_probe_passes_on_the_bundled_model(gguf: Path) -> None:
    assert probe_llama_build(gguf) is None


def test_probe_explains_a_crash_with_the_fix(gguf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(llama_probe, "_PROBE", CRASH)  # a real SIGSEGV, in a subprocess
    problem = probe_llama_build(gguf)
    assert problem is not None
    assert "SIGSEGV" in problem and BUILD_FIX in problem


async def test_a_crashing_build_is_reported_not_cached_then_cached_once_fixed(
    gguf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(llama_probe, "_PROBE", CRASH)
    with pytest.raises(ModelUnavailable) as caught:
        await collect(EmbeddedModel(gguf, cache_dir=tmp_path, threads=1), "Hi", max_tokens=2)
    assert BUILD_FIX in str(caught.value)
    assert entries(tmp_path) == []
    monkeypatch.undo()
    progress: list[str] = []
    fixed = EmbeddedModel(gguf, cache_dir=tmp_path, threads=1, on_progress=progress.append)
    assert (await fixed.complete([Message("user", "Hi")], max_tokens=2)) is not None
    await fixed.close()
    assert progress == ["Checking that llama.cpp works on this machine…", "Loading model…"]
    assert len(entries(tmp_path)) == 1
    # The OK is remembered: a crashing probe would now not even be run.
    monkeypatch.setattr(llama_probe, "_PROBE", CRASH)
    again = EmbeddedModel(gguf, cache_dir=tmp_path, threads=1)
    assert (await again.complete([Message("user", "Hi")], max_tokens=2)) is not None
    await again.close()


async def test_context_length_never_exceeds_training(gguf: Path, probe_cache: Path) -> None:
    assert EmbeddedModel(gguf).context_length == 4096
    big = EmbeddedModel(gguf, cache_dir=probe_cache, context_length=100_000, threads=1)
    assert big.context_length == 8192  # SmolLM2 was trained on 8k
    await big.complete([Message("user", "Hi")], max_tokens=1)
    assert big.context_length == 8192
    await big.close()
