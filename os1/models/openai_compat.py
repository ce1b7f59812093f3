"""Talk to any OpenAI-compatible chat server (OpenAI, Ollama, llama.cpp's server, vLLM…).

Failures are translated into the two errors the companion understands: `ModelUnavailable`
when the server cannot be reached or refuses us, `ModelError` when an answer breaks off or
makes no sense.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Sequence
from typing import Any, Literal

import openai

from os1.models.base import (
    Chunk,
    Finished,
    Message,
    Model,
    ModelError,
    ModelInfo,
    ModelUnavailable,
    TextDelta,
    ToolCall,
    ToolSpec,
    parse_json_text,
    with_system_note,
)

# Connecting is quick or hopeless; a local model may think for a long time before a token.
TIMEOUT = openai.Timeout(120.0, connect=5.0)


def _to_openai(m: Message) -> dict[str, Any]:
    if m.role == "tool":
        return {"role": "tool", "tool_call_id": m.tool_call_id or "call_0", "content": m.content}
    message: dict[str, Any] = {"role": m.role, "content": m.content}
    if m.tool_calls:
        message["tool_calls"] = [
            {
                "id": c.id,
                "type": "function",
                "function": {"name": c.name, "arguments": json.dumps(c.arguments)},
            }
            for c in m.tool_calls
        ]
    return message


def _tool(t: ToolSpec) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
    }


class OpenAICompatModel(Model):
    """A model behind an OpenAI-compatible HTTP API, used through the official client."""

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str | None = None,
        model_id: str | None = None,
        description: str | None = None,
        context_length: int | None = None,
        local: bool = False,
        timeout: float | openai.Timeout = TIMEOUT,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.info = ModelInfo(
            model_id=model_id or f"openai:{model}",
            backend="openai",
            description=description or f"{model}, served at {self.base_url}.",
            local=local,
            location=self.base_url,
        )
        self._context_length = context_length or 8192
        # Local servers want no key, but the client insists on one.
        self._client = openai.AsyncOpenAI(
            base_url=self.base_url,
            api_key=api_key or "not-needed",
            timeout=timeout,
            max_retries=1,
        )
        self._json_formats: list[str] = ["json_schema", "json_object"]

    def _unavailable(self, e: Exception) -> ModelError:
        """The error a failed request becomes, in words a person can act on."""
        where = f"the model server at {self.base_url}"
        if isinstance(e, openai.APIConnectionError):
            why = "it timed out" if isinstance(e, openai.APITimeoutError) else "no connection"
            return ModelUnavailable(f"Can't reach {where} ({why}). Is it running?")
        if isinstance(e, openai.AuthenticationError | openai.PermissionDeniedError):
            return ModelUnavailable(f"{where} refused the API key ({e.status_code}).")
        if isinstance(e, openai.NotFoundError):
            return ModelUnavailable(f"{where} does not know the model {self.model!r}.")
        if isinstance(e, openai.APIStatusError):
            return ModelError(f"{where} answered {e.status_code}: {_detail(e)}")
        return ModelError(f"{where} failed: {e}")

    async def _open(self, **request: Any) -> Any:
        try:
            return await self._client.chat.completions.create(model=self.model, **request)
        except openai.OpenAIError as e:
            raise self._unavailable(e) from e

    async def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 512,
        temperature: float = 0.7,
        tools: Sequence[ToolSpec] = (),
        tool_choice: Literal["auto", "required"] | str = "auto",
    ) -> AsyncIterator[Chunk]:
        request: dict[str, Any] = {
            "messages": [_to_openai(m) for m in messages],
            "max_tokens": max_tokens,
            "temperature": temperature,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if tools:
            request["tools"] = [_tool(t) for t in tools]
            if tool_choice == "required" and len(tools) == 1:
                tool_choice = tools[0].name  # servers that ignore "required" honour a name
            if tool_choice not in ("auto", "required"):
                if all(t.name != tool_choice for t in tools):
                    raise ModelError(f"tool_choice names {tool_choice!r}, which is not offered.")
                request["tool_choice"] = {"type": "function", "function": {"name": tool_choice}}
            else:
                request["tool_choice"] = tool_choice
        stream = await self._open(**request)
        calls: dict[int, dict[str, Any]] = {}
        reason: str | None = None
        usage: Any = None
        iterator = stream.__aiter__()
        while True:
            try:
                chunk = await iterator.__anext__()
            except StopAsyncIteration:
                break
            except Exception as e:  # the client raises transport errors as it gets them
                why = e.__cause__ or e  # the transport's own words say more than the wrapper's
                raise ModelError(
                    f"The model server at {self.base_url} broke off its answer ({why})."
                ) from e
            usage = getattr(chunk, "usage", None) or usage
            for choice in chunk.choices or ():
                delta = choice.delta
                if delta is not None and delta.content:
                    yield TextDelta(delta.content)
                for part in (delta.tool_calls if delta is not None else None) or ():
                    call = calls.setdefault(part.index, {"id": None, "name": "", "args": []})
                    call["id"] = call["id"] or part.id
                    if part.function is not None:
                        # The name arrives whole (some servers repeat it in every delta).
                        call["name"] = call["name"] or part.function.name or ""
                        call["args"].append(part.function.arguments or "")
                reason = choice.finish_reason or reason
        if reason is None and not calls:
            raise ModelError(f"The model server at {self.base_url} ended its answer early.")
        tool_calls = tuple(self._parse_call(i, calls[i]) for i in sorted(calls))
        if tool_choice != "auto" and tools and not tool_calls:
            raise ModelError(f"{self.model} answered in words although a tool call was required.")
        yield Finished(
            "tool_calls" if tool_calls else (reason or "stop"),
            tool_calls,
            prompt_tokens=getattr(usage, "prompt_tokens", None),
            completion_tokens=getattr(usage, "completion_tokens", None),
        )

    def _parse_call(self, index: int, call: dict[str, Any]) -> ToolCall:
        text = "".join(call["args"]).strip() or "{}"
        try:
            arguments = json.loads(text)
        except json.JSONDecodeError as e:
            raise ModelError(
                f"{self.model} called {call['name'] or 'a tool'} with arguments that are not "
                f"valid JSON ({e.msg})."
            ) from e
        if not isinstance(arguments, dict):
            raise ModelError(f"{self.model} called {call['name']} with non-object arguments.")
        if not call["name"]:
            raise ModelError(f"{self.model} made a tool call without a tool name.")
        return ToolCall(call["name"], arguments, call["id"] or f"call_{index}")

    async def json(
        self,
        messages: Sequence[Message],
        schema: dict[str, Any],
        *,
        max_tokens: int = 512,
        temperature: float = 0.0,
    ) -> Any:
        note = f"Answer only with JSON that fits this schema: {json.dumps(schema)}"
        request: dict[str, Any] = {
            "messages": [_to_openai(m) for m in with_system_note(messages, note)],
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        formats: dict[str, Any] = {
            "json_schema": {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": schema, "strict": True},
            },
            # llama.cpp's server (and others) take the schema this way instead.
            "json_object": {"type": "json_object", "schema": schema},
        }
        for kind in list(self._json_formats):
            last = kind == self._json_formats[-1]
            # A refusal of the format is an answer, not a hiccup: don't retry it.
            client = self._client if last else self._client.with_options(max_retries=0)
            try:
                answer = await client.chat.completions.create(
                    model=self.model, response_format=formats[kind], **request
                )
            except (
                openai.BadRequestError,
                openai.UnprocessableEntityError,
                openai.InternalServerError,  # llama-cpp-python's server rejects json_schema so
            ) as e:
                if last:
                    raise self._unavailable(e) from e
                # Remember, so later calls go straight to the form this server accepts.
                self._json_formats.remove(kind)
                continue
            except openai.OpenAIError as e:
                raise self._unavailable(e) from e
            choice = answer.choices[0]
            if choice.finish_reason == "length":
                raise ModelError(f"The model's JSON answer was cut off at {max_tokens} tokens.")
            return parse_json_text(choice.message.content or "")
        raise ModelError("no JSON response format left to try")  # unreachable: loop returns

    def count_tokens(self, text: str) -> int:
        # No tokenizer to download: a byte-based bound that over-counts for every common BPE.
        return math.ceil(len(text.encode("utf-8")) / 3)

    @property
    def context_length(self) -> int:
        return self._context_length

    async def close(self) -> None:
        await self._client.close()


def _detail(e: openai.APIStatusError) -> str:
    body = e.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if isinstance(body.get("detail"), str | list):
            return str(body["detail"])[:300]
    return e.message
