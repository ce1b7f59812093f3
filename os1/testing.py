"""Test helpers shipped with the package: a scripted model, a scripted approver, plugin tools.

`ScriptedModel` never stands in for a real backend in tests of a feature that
claims to support one; those tests run the bundled model or a real server.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any, Literal

import pluggy

from . import hookspecs
from .actions import Proposal, Tool
from .models.base import (
    Chunk,
    Finished,
    Message,
    Model,
    ModelError,
    ModelInfo,
    TextDelta,
    ToolCall,
    ToolSpec,
)


class ScriptedModel(Model):
    """Answers with the next scripted reply (default: echoes), word by word.

    Tokens are counted as words, so tests can reason about context budgets exactly.
    `fail_after` words makes the stream die like a backend that crashed; `delay`
    slows each word so a test can interrupt mid-reply. Every prompt it receives is
    kept in `prompts`.
    """

    def __init__(
        self,
        replies: Sequence[str | ToolCall] = (),
        *,
        context_length: int = 2048,
        fail_after: int | None = None,
        delay: float = 0.0,
        local: bool = True,
        small: bool = False,
    ) -> None:
        self.replies = list(replies)
        self._context_length = context_length
        self.fail_after = fail_after
        self.delay = delay
        self.prompts: list[list[Message]] = []
        self.info = ModelInfo(
            "scripted",
            "embedded" if local else "openai",
            "a scripted test model",
            local,
            "memory" if local else "http://127.0.0.1:9/v1",
            small=small,
        )
        self.tools_offered: list[list[str]] = []

    @property
    def context_length(self) -> int:
        return self._context_length

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    async def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 512,
        temperature: float = 0.7,
        tools: Sequence[ToolSpec] = (),
        tool_choice: Literal["auto", "required"] | str = "auto",
    ) -> AsyncIterator[Chunk]:
        self.prompts.append(list(messages))
        self.tools_offered.append([t.name for t in tools])
        total = sum(self.count_tokens(m.content) + 8 for m in messages)
        if total + max_tokens > self.context_length:
            raise ModelError(f"prompt of {total} tokens overflows {self.context_length}")
        reply = self.replies.pop(0) if self.replies else f"You said: {messages[-1].content}"
        if isinstance(reply, ToolCall):
            if not tools:
                reply = "(no tools offered)"
            else:
                yield Finished("tool_calls", (reply,))
                return
        for i, word in enumerate(reply.split()[:max_tokens]):
            if self.fail_after is not None and i >= self.fail_after:
                raise ModelError("the backend died mid-stream")
            if self.delay:
                await asyncio.sleep(self.delay)
            yield TextDelta(word if i == 0 else " " + word)
        yield Finished("stop")

    async def json(
        self,
        messages: Sequence[Message],
        schema: dict[str, Any],
        *,
        max_tokens: int = 512,
        temperature: float = 0.0,
    ) -> Any:
        raise ModelError("ScriptedModel does not do JSON")


class ScriptedApprover:
    """The person at the keyboard: says `answer` to every proposal and keeps what was shown."""

    def __init__(self, answer: bool) -> None:
        self.answer = answer
        self.shown: list[Proposal] = []

    async def __call__(self, proposal: Proposal) -> bool:
        self.shown.append(proposal)
        return self.answer


def registered_tools(plugin: object) -> list[Tool]:
    """The tools `plugin` offers through its `register_tools` hook, registered on its own."""
    pm = pluggy.PluginManager("os1")
    pm.add_hookspecs(hookspecs)
    pm.register(plugin)
    found: list[Tool] = []
    pm.hook.register_tools(register=found.append)
    return found
