"""Run a GGUF chat model inside this process with llama-cpp-python (the bundled SmolLM2 by default).

llama.cpp is blocking C code, so every generation runs in a worker thread and hands its
chunks to the event loop through a queue. Structure (tool calls, JSON) comes from
grammar-constrained decoding, because a tiny model cannot be trusted to produce it.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import importlib.metadata
import json
import os
import secrets
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any, Literal

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
    tool_call_schema,
    tool_decision_schema,
    with_system_note,
)
from os1.models.llama_probe import probe_llama_build

REPLY = "reply"  # the decision "answer in words" when the model may choose tools or text
_MIN_CALL_TOKENS = 256  # a cut-off tool call is useless, so calls get at least this budget


_MAX_ITEMS = 16  # larger bounds are loosened in grammars (and checked after decoding)
_MAX_CHARS = 256


def grammar_schema(schema: Any) -> Any:
    """The schema with big length bounds loosened, for turning into a grammar.

    llama.cpp spells `maxLength: 2000` as 2,000 nested optional rules; a few such strings
    across many tools exceed its parser's limits, and it fails hard. So long strings are
    capped at a length a grammar can hold, and big item counts are dropped. The real
    bounds still hold: tool arguments are validated against the full schema before
    anything runs.
    """
    if isinstance(schema, list):
        return [grammar_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for k, v in schema.items():
        big = isinstance(v, int) and not isinstance(v, bool)
        if k == "maxLength" and big and v > _MAX_CHARS:
            out[k] = _MAX_CHARS
        elif k == "minLength" and big and v > _MAX_CHARS:
            continue
        elif k in ("maxItems", "minItems") and big and v > _MAX_ITEMS:
            continue
        else:
            out[k] = grammar_schema(v)
    return out


@functools.lru_cache(maxsize=64)
def _grammar(schema_json: str) -> Any:
    from llama_cpp import LlamaGrammar

    try:
        safe = json.dumps(grammar_schema(json.loads(schema_json)))
        return LlamaGrammar.from_json_schema(safe, verbose=False)
    except Exception as e:  # the converter raises bare Exceptions for unsupported schema parts
        raise ModelError(f"llama.cpp cannot turn this JSON schema into a grammar: {e}") from e


def _describe_tools(tools: Sequence[ToolSpec], reply: str | None) -> str:
    lines = ["You can use these tools:"]
    lines += [f"- {t.name}: {t.description} Arguments: {json.dumps(t.parameters)}" for t in tools]
    if reply:
        lines.append(f'Choose a tool only when it helps; choose "{reply}" to answer in words.')
    return "\n".join(lines)


def _to_llama(m: Message) -> dict[str, Any]:
    content = m.content
    if m.role == "assistant" and m.tool_calls and not content:
        # Most GGUF chat templates only render `content`; show the model what it called.
        content = json.dumps([{"name": c.name, "arguments": c.arguments} for c in m.tool_calls])
    return {"role": m.role, "content": content}


class EmbeddedModel(Model):
    """A GGUF model run by llama-cpp-python in this process, loaded on first use."""

    def __init__(
        self,
        model_path: str | Path,
        *,
        cache_dir: Path | None = None,
        context_length: int | None = None,
        threads: int | None = None,
        model_id: str | None = None,
        description: str | None = None,
        on_progress: Callable[[str], None] | None = None,
        repeat_penalty: float = 1.1,
        small: bool = False,
    ) -> None:
        self.path = Path(model_path).expanduser()
        self.info = ModelInfo(
            model_id=model_id or f"gguf:{self.path}",
            backend="embedded",
            description=description or f"{self.path.name}, run in-process by llama.cpp.",
            local=True,
            location=str(self.path),
            small=small,
        )
        self._cache_dir = cache_dir
        self._requested_ctx = context_length or 4096
        cores = os.cpu_count() or 1
        # As llama.cpp advises: decoding is memory-bound and runs best on half the cores
        # (measured here: 54 tokens/s on 1 of 2 cores, 33 on both); prompt evaluation
        # is compute-bound and uses them all. An explicit `threads` sets both.
        self._threads = threads or max(1, cores // 2)
        self._batch_threads = threads or cores
        # Small models fall into loops without a penalty on repeated tokens.
        self._repeat_penalty = repeat_penalty
        self._on_progress = on_progress
        self._llama: Any = None
        self._vocab: Any = None
        # Thread locks, not asyncio ones: the CLI may drive one model from several event loops.
        self._load_lock = threading.Lock()
        self._vocab_lock = threading.Lock()
        # One generation at a time: llama.cpp state must never be used by two threads.
        self._lock = threading.Lock()

    # Loading -------------------------------------------------------------------------

    def _check_file(self) -> None:
        if not self.path.is_file():
            raise ModelUnavailable(
                f"The model file {self.path} does not exist. Point OS1 at a .gguf file "
                "(os1 config set model gguf:/path/to/model.gguf) or use the bundled smollm2."
            )

    def _probe_mark(self) -> Path | None:
        """A file whose presence says the probe passed for this llama-cpp-python and model."""
        if self._cache_dir is None:
            return None
        version = importlib.metadata.version("llama-cpp-python")
        key = f"{version}|{self.path.resolve()}|{self.path.stat().st_size}"
        return self._cache_dir / f"llama-ok-{hashlib.sha256(key.encode()).hexdigest()[:16]}"

    def _n_ctx(self) -> int:
        meta = self._vocab_model().metadata()
        train = int(meta.get(f"{meta.get('general.architecture')}.context_length") or 0)
        return min(self._requested_ctx, train) if train else self._requested_ctx

    def _vocab_model(self) -> Any:
        """The tokenizer alone (no weights, no context): cheap, and safe before the probe."""
        with self._vocab_lock:
            if self._vocab is None:
                self._check_file()
                import llama_cpp
                from llama_cpp._internals import LlamaModel

                params = llama_cpp.llama_model_default_params()
                params.vocab_only = True
                try:
                    self._vocab = LlamaModel(
                        path_model=str(self.path), params=params, verbose=False
                    )
                except ValueError as e:
                    raise ModelUnavailable(f"llama.cpp could not read {self.path}: {e}") from e
            return self._vocab

    async def _ensure_loaded(self) -> Any:
        if self._llama is None:
            self._check_file()
            loop = asyncio.get_running_loop()

            def say(text: str) -> None:  # the callback runs on the loop, not in the worker
                if self._on_progress is not None:
                    loop.call_soon_threadsafe(self._on_progress, text)

            await asyncio.to_thread(self._load_once, say)
        return self._llama

    def _load_once(self, say: Callable[[str], None]) -> None:
        with self._load_lock:
            if self._llama is not None:
                return
            mark = self._probe_mark()
            if mark is None or not mark.exists():
                say("Checking that llama.cpp works on this machine…")
                if problem := probe_llama_build(self.path, threads=self._threads):
                    raise ModelUnavailable(problem)  # instead of a segfault taking us down
                if mark is not None:
                    mark.parent.mkdir(parents=True, exist_ok=True)
                    mark.write_text(f"{self.path}\n", "utf-8")
            say("Loading model…")
            from llama_cpp import Llama

            try:
                self._llama = Llama(
                    model_path=str(self.path),
                    n_ctx=self._n_ctx(),
                    n_threads=self._threads,
                    n_threads_batch=self._batch_threads,
                    verbose=False,
                )
            except ValueError as e:
                raise ModelUnavailable(f"llama.cpp could not load {self.path}: {e}") from e

    # Generation ----------------------------------------------------------------------

    async def _generate(
        self, messages: Sequence[Message], **params: Any
    ) -> AsyncIterator[TextDelta | str]:
        """Text pieces, then the finish reason as a plain string.

        llama.cpp generates in a worker thread that checks, between tokens, whether we still
        listen: cancelling the consuming task (Ctrl-C) stops it within one token.
        """
        llama = await self._ensure_loaded()
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        stop = threading.Event()
        request = [_to_llama(m) for m in messages]

        def emit(kind: str, value: Any) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, (kind, value))
            except RuntimeError:  # the loop is closed: nobody is listening any more
                stop.set()

        def work() -> None:
            try:
                with self._lock:
                    if stop.is_set():
                        return
                    it = llama.create_chat_completion(request, stream=True, **params)
                    try:
                        for chunk in it:
                            if stop.is_set():
                                break
                            emit("chunk", chunk)
                    finally:
                        it.close()
            except Exception as e:
                emit("error", e)
            finally:
                emit("done", None)

        # The default executor, so `asyncio.run` waits for a stopping thread before it exits.
        loop.run_in_executor(None, work)
        reason = "stop"
        try:
            while True:
                kind, value = await queue.get()
                if kind == "error":
                    raise ModelError(f"The embedded model failed: {value}") from value
                if kind == "done":
                    break
                choice = value["choices"][0]
                if text := choice["delta"].get("content"):
                    yield TextDelta(text)
                reason = choice.get("finish_reason") or reason
        finally:
            stop.set()
        yield reason

    async def _constrained(
        self, messages: Sequence[Message], schema: dict[str, Any], max_tokens: int, temp: float
    ) -> Any:
        grammar = _grammar(json.dumps(schema, sort_keys=True))
        parts: list[str] = []
        reason = "stop"
        async for item in self._generate(
            messages, max_tokens=max_tokens, temperature=temp, grammar=grammar
        ):
            if isinstance(item, TextDelta):
                parts.append(item.text)
            else:
                reason = item
        if reason == "length":
            raise ModelError(f"The model's JSON answer was cut off at {max_tokens} tokens.")
        return parse_json_text("".join(parts))

    async def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 512,
        temperature: float = 0.7,
        tools: Sequence[ToolSpec] = (),
        tool_choice: Literal["auto", "required"] | str = "auto",
    ) -> AsyncIterator[Chunk]:
        reply: str | None = None
        if tools:
            if tool_choice == "auto":
                reply = REPLY if all(t.name != REPLY for t in tools) else "__reply__"
                schema = tool_decision_schema(tools, reply)
            elif tool_choice == "required":
                schema = tool_call_schema(tools)
            else:
                chosen = [t for t in tools if t.name == tool_choice]
                if not chosen:
                    raise ModelError(f"tool_choice names {tool_choice!r}, which is not offered.")
                schema = tool_call_schema(chosen)
            messages = with_system_note(messages, _describe_tools(tools, reply))
            # A call is a decision, not prose: decide greedily.
            call = await self._constrained(messages, schema, max(max_tokens, _MIN_CALL_TOKENS), 0.0)
            if call.get("name") != reply:
                tool = ToolCall(call["name"], call["arguments"], f"call_{secrets.token_hex(4)}")
                yield Finished("tool_calls", (tool,))
                return
        elif tool_choice not in ("auto", "required"):
            raise ModelError(f"tool_choice names {tool_choice!r}, but no tools were offered.")
        count = 0
        # Same prompt as the decision above, so llama.cpp reuses its cached prefix.
        async for item in self._generate(
            messages,
            max_tokens=max_tokens,
            temperature=temperature,
            repeat_penalty=self._repeat_penalty,
        ):
            if isinstance(item, TextDelta):
                count += 1
                yield item
            else:
                yield Finished(item, completion_tokens=count)

    async def json(
        self,
        messages: Sequence[Message],
        schema: dict[str, Any],
        *,
        max_tokens: int = 512,
        temperature: float = 0.0,
    ) -> Any:
        note = f"Answer only with JSON that fits this schema: {json.dumps(schema)}"
        return await self._constrained(
            with_system_note(messages, note), schema, max_tokens, temperature
        )

    def count_tokens(self, text: str) -> int:
        # The vocabulary alone tokenizes exactly like the loaded model, without waiting for it.
        # special=True: the chat handler tokenizes prompts that way, so count the same way.
        tokens = self._vocab_model().tokenize(text.encode("utf-8"), add_bos=False, special=True)
        return len(tokens)

    @property
    def context_length(self) -> int:
        if self._llama is not None:
            return int(self._llama.n_ctx())
        try:
            return self._n_ctx()
        except ModelUnavailable:  # no file: say what we would ask for; using it will explain
            return self._requested_ctx

    async def warm_up(self) -> None:
        await self._ensure_loaded()

    async def close(self) -> None:
        vocab, self._vocab = self._vocab, None
        if vocab is not None:
            vocab.close()
        llama, self._llama = self._llama, None
        if llama is not None:

            def free() -> None:
                with self._lock:  # wait for a generation that is still stopping
                    llama.close()

            await asyncio.to_thread(free)
