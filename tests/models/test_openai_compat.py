"""The OpenAI-compatible backend against a real llama-cpp-python server on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from os1.models import (
    Finished,
    Message,
    ModelError,
    ModelUnavailable,
    TextDelta,
    ToolCall,
    ToolSpec,
)
from os1.models.openai_compat import OpenAICompatModel


@pytest.fixture
async def model(llama_server: Any) -> AsyncIterator[OpenAICompatModel]:
    m = OpenAICompatModel(base_url=llama_server.base_url, model="smollm2", local=True)
    yield m
    await m.close()


async def test_streams_text_then_one_finished(model: OpenAICompatModel) -> None:
    chunks = [
        c async for c in model.stream([Message("user", "Say hello.")], max_tokens=12, temperature=0)
    ]
    assert isinstance(chunks[-1], Finished) and chunks[-1].reason in ("stop", "length")
    assert all(isinstance(c, TextDelta) for c in chunks[:-1])
    assert "".join(c.text for c in chunks if isinstance(c, TextDelta)).strip()


@pytest.mark.parametrize("choice", ["set_timer", "get_weather"])
async def test_named_tool_choice_makes_a_valid_call(
    model: OpenAICompatModel, tools: tuple[ToolSpec, ...], check_schema: Any, choice: str
) -> None:
    prompt = [Message("user", "Start a pasta timer for 9 minutes, and how's Rome's weather?")]
    chunks = [c async for c in model.stream(prompt, tools=tools, tool_choice=choice)]
    end = chunks[-1]
    assert isinstance(end, Finished) and end.reason == "tool_calls"
    (call,) = end.tool_calls
    assert call.name == choice and call.id
    check_schema(call.arguments, {t.name: t for t in tools}[choice].parameters)


async def test_required_with_one_tool_is_a_call(
    model: OpenAICompatModel, tools: tuple[ToolSpec, ...]
) -> None:
    chunks = [
        c
        async for c in model.stream(
            [Message("user", "Weather in Lima?")], tools=tools[:1], tool_choice="required"
        )
    ]
    end = chunks[-1]
    assert isinstance(end, Finished) and end.tool_calls[0].name == "get_weather"


async def test_a_cut_off_tool_call_is_a_model_error(
    model: OpenAICompatModel, tools: tuple[ToolSpec, ...]
) -> None:
    # Three tokens cannot hold the arguments: the server sends broken JSON, which we reject.
    prompt = [Message("user", "Weather in Lima?")]
    with pytest.raises(ModelError, match="not valid JSON"):
        _ = [c async for c in model.stream(prompt, tools=tools, tool_choice="get_weather",
                                           max_tokens=3)]  # fmt: skip


async def test_tool_results_go_back_to_the_server(model: OpenAICompatModel) -> None:
    call = ToolCall("get_weather", {"city": "Lima"}, "call_1")
    history = [
        Message("user", "Weather in Lima?"),
        Message("assistant", "", tool_calls=(call,)),
        Message("tool", '{"sky": "sunny", "celsius": 24}', tool_call_id="call_1"),
    ]
    text = await model.complete(history, max_tokens=12, temperature=0)
    assert text.strip()


async def test_json_fits_the_schema(
    model: OpenAICompatModel, mood_schema: dict[str, Any], check_schema: Any
) -> None:
    for text in ("I won the lottery!", "I lost my keys again."):
        answer = await model.json([Message("user", f"How do they feel? {text}")], mood_schema)
        check_schema(answer, mood_schema)


async def test_unreachable_server_is_unavailable(closed_url: str) -> None:
    model = OpenAICompatModel(base_url=closed_url, model="x")
    with pytest.raises(ModelUnavailable, match="Can't reach the model server at http://127"):
        _ = [c async for c in model.stream([Message("user", "Hi")])]
    with pytest.raises(ModelUnavailable, match="Can't reach"):
        await model.json([Message("user", "Hi")], {"type": "object"})
    await model.close()


async def test_a_server_that_dies_mid_stream_is_a_model_error(
    gguf: Path, tmp_path: Path, server_factory: Any
) -> None:
    server = await asyncio.to_thread(server_factory, gguf, tmp_path / "doomed.log")
    model = OpenAICompatModel(base_url=server.base_url, model="smollm2")
    got: list[Any] = []
    try:
        prompt = [Message("user", "Write a very long story about a lighthouse keeper.")]
        with pytest.raises(ModelError) as caught:
            async for chunk in model.stream(prompt, max_tokens=500, temperature=0):
                got.append(chunk)
                if len(got) == 3:
                    server.process.kill()
                    await asyncio.to_thread(server.process.wait)
        assert not isinstance(caught.value, ModelUnavailable)
        assert "broke off" in str(caught.value) or "ended its answer early" in str(caught.value)
        assert not any(isinstance(c, Finished) for c in got)
    finally:
        server.stop()
        await model.close()
