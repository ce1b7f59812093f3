"""The one small interface every language-model backend implements.

A backend streams chat, makes tool calls, returns JSON that fits a schema,
counts tokens and knows its context length. The companion never talks to a
vendor library directly: it talks to a `Model`.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True)
class Message:
    """One chat message as a backend sees it."""

    role: Role
    content: str
    tool_call_id: str | None = None
    """For role "tool": the id of the call this message answers."""
    tool_calls: tuple[ToolCall, ...] = ()
    """For role "assistant": the calls the model asked for."""


@dataclass(frozen=True)
class ToolSpec:
    """A tool as offered to a model: a name, what it does, and a JSON schema for its arguments."""

    name: str
    description: str
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})


@dataclass(frozen=True)
class ToolCall:
    """The model asked to run `name` with `arguments` (already parsed JSON)."""

    name: str
    arguments: dict[str, Any]
    id: str = "call_0"


@dataclass(frozen=True)
class TextDelta:
    """A piece of streamed reply text."""

    text: str


@dataclass(frozen=True)
class Finished:
    """The stream ended; `reason` is "stop", "length" or "tool_calls"."""

    reason: str
    tool_calls: tuple[ToolCall, ...] = ()
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


Chunk = TextDelta | Finished


class ModelError(Exception):
    """A backend failed in a way the user should hear about in plain words."""


class ModelUnavailable(ModelError):
    """The backend cannot be reached or loaded (server down, file missing, crashed build)."""


@dataclass(frozen=True)
class ModelInfo:
    """What `os1 models` and `how do you work?` say about a model."""

    model_id: str
    backend: str
    """"embedded" or "openai"."""
    description: str
    local: bool
    """True when nothing leaves this machine to run it."""
    location: str
    """A file path or a base URL."""
    small: bool = False
    """Too small to trust with judgement: it is not asked to summarise or to choose tools."""


class Model(ABC):
    """A chat model. Async only: the CLI calls it through `asyncio.run` at the edge."""

    info: ModelInfo

    @property
    def model_id(self) -> str:
        return self.info.model_id

    @abstractmethod
    def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 512,
        temperature: float = 0.7,
        tools: Sequence[ToolSpec] = (),
        tool_choice: Literal["auto", "required"] | str = "auto",
    ) -> AsyncIterator[Chunk]:
        """Stream a reply: `TextDelta`s, then exactly one `Finished`.

        With `tools`, the model may answer with tool calls instead of text; they
        arrive in `Finished.tool_calls`. `tool_choice` is "auto", "required" or
        the name of one tool that must be called.
        Raises `ModelUnavailable` when the backend cannot be reached, and
        `ModelError` when it fails mid-stream.
        """

    @abstractmethod
    async def json(
        self,
        messages: Sequence[Message],
        schema: dict[str, Any],
        *,
        max_tokens: int = 512,
        temperature: float = 0.0,
    ) -> Any:
        """Answer with a JSON value valid against `schema` (grammar-constrained where possible)."""

    @abstractmethod
    def count_tokens(self, text: str) -> int:
        """How many tokens `text` costs in this model's prompt (exact or a safe over-estimate)."""

    @property
    @abstractmethod
    def context_length(self) -> int:
        """The most tokens prompt and reply may take together."""

    async def warm_up(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing
        """Load what the first reply would otherwise wait for (a front door may do this early)."""

    async def close(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing
        """Release what the backend holds (threads, connections)."""

    async def complete(self, messages: Sequence[Message], **kwargs: Any) -> str:
        """Convenience: the whole streamed text of one reply."""
        parts = [c.text async for c in self.stream(messages, **kwargs) if isinstance(c, TextDelta)]
        return "".join(parts)


def count_messages(model: Model, messages: Sequence[Message]) -> int:
    """Tokens a list of messages costs, with a small allowance per message for the chat template."""
    return sum(model.count_tokens(m.content) + 8 for m in messages)


def with_system_note(messages: Sequence[Message], note: str) -> list[Message]:
    """`messages` with `note` appended to the system prompt (or as a new first system message).

    Backends use it to tell the model about tools or a JSON schema without adding a
    second system message, which many chat templates reject.
    """
    if messages and messages[0].role == "system":
        first = replace(messages[0], content=f"{messages[0].content}\n\n{note}")
        return [first, *messages[1:]]
    return [Message("system", note), *messages]


def tool_call_schema(tools: Sequence[ToolSpec]) -> dict[str, Any]:
    """A JSON schema that only admits a call to one of `tools` with valid arguments.

    Used to constrain small local models: the grammar built from it makes an
    invalid call impossible rather than unlikely.
    """
    options = [
        {
            "type": "object",
            "properties": {
                "name": {"const": t.name},
                "arguments": t.parameters,
            },
            "required": ["name", "arguments"],
        }
        for t in tools
    ]
    return options[0] if len(options) == 1 else {"anyOf": options}


def tool_decision_schema(tools: Sequence[ToolSpec], reply: str = "reply") -> dict[str, Any]:
    """Like `tool_call_schema`, but also admitting `{"name": reply}`: "answer in words instead".

    For tool_choice "auto" on a grammar-constrained model: a short constrained decision first,
    then, when it chose `reply`, an ordinary streamed answer.
    """
    answer = {"type": "object", "properties": {"name": {"const": reply}}, "required": ["name"]}
    calls = tool_call_schema(tools)
    return {"anyOf": [{**answer, "additionalProperties": False}, *calls.get("anyOf", [calls])]}


def parse_json_text(text: str) -> Any:
    """Parse a model's JSON answer, with a clear error when it is not JSON."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ModelError(f"the model's answer was not valid JSON ({e.msg})") from e
