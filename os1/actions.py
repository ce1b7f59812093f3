"""Actions with consent: tools declare their effect; outward and destructive ones need a yes.

Every request to run a tool, from the user or from the model, becomes a row in
the action log. Reads and local writes run at once. Outward actions (data
leaves the machine) and destructive ones become a *proposal*: the front door
shows exactly what will happen and asks the person at the keyboard through its
`Approver`. Approval can only come from that callback or from `approve()`
called by a front door on the user's explicit command — never from text in a
message, a document or the model's output. A front door that cannot wait for the
answer (a voice conversation: the yes comes as the user's next turn) has its
Approver return None: the proposal is then worded as its question and waits for
that front door's `approve()` or `decline()`. What ran is logged with what is
needed to undo it.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from .models.base import ToolSpec
from .schema import SchemaError, validate

if TYPE_CHECKING:
    from .companion import Companion


class Effect(StrEnum):
    """What running a tool does to the world."""

    READ = "read"
    LOCAL_WRITE = "local_write"
    OUTWARD = "outward"
    """Data leaves this machine (sending, publishing)."""
    DESTRUCTIVE = "destructive"
    """Something is deleted or overwritten."""

    @property
    def needs_approval(self) -> bool:
        return self in (Effect.OUTWARD, Effect.DESTRUCTIVE)


@dataclass(frozen=True)
class ToolContext:
    """What a tool gets when it runs: whose action it is and the companion to act through."""

    user: str
    companion: Companion


@dataclass(frozen=True)
class ToolResult:
    """What a tool did: `output` for the model and the user, `undo` data if it can be undone."""

    output: str
    undo: dict[str, Any] | None = None


RunFn = Callable[[ToolContext, dict[str, Any]], Awaitable[ToolResult]]
UndoFn = Callable[[ToolContext, dict[str, Any]], Awaitable[str]]


@dataclass(frozen=True)
class Tool:
    """A capability she can use, with the effect it has and, where possible, its undo."""

    name: str
    description: str
    effect: Effect
    run: RunFn
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})
    undo: UndoFn | None = None
    describe: Callable[[dict[str, Any]], str] | None = None
    """Says exactly what will happen with these arguments (shown in the approval prompt)."""
    private: bool = False
    """Once it has run, the log keeps that it ran but not what it was about (forgetting)."""
    confirm: bool = False
    """Ask first although nothing leaves or is destroyed: it commits the user (an event in
    their calendar)."""

    @property
    def needs_approval(self) -> bool:
        return self.effect.needs_approval or self.confirm

    def spec(self) -> ToolSpec:
        return ToolSpec(self.name, self.description, self.parameters)

    def summary(self, arguments: Mapping[str, Any]) -> str:
        if self.describe is not None:
            return self.describe(dict(arguments))
        args = ", ".join(f"{k}={v!r}" for k, v in arguments.items())
        return f"{self.name}({args})"


@dataclass(frozen=True)
class Proposal:
    """An action waiting for a yes or no."""

    action_id: int
    tool: str
    effect: Effect
    arguments: dict[str, Any]
    summary: str


Approver = Callable[[Proposal], Awaitable[bool | None]]
"""Asks the person at the front door; True means they said yes. None means the front door
has asked and will take the answer later (with `Actions.approve` or `decline`)."""


def question(summary: str) -> str:
    """A proposal as the question a front door asks about it: what will happen, then
    whether to go ahead (summaries are worded as phrases, sentences or whole messages)."""
    text = summary.strip()
    text = text[:1].upper() + text[1:]
    if text.endswith("?"):
        return text
    if "\n" in text:  # a whole message (a mail to send): the question stands apart from it
        return f"{text}\n\nShall I go ahead?"
    if not text.endswith((".", "!")):
        text += "."
    return f"{text} Shall I go ahead?"


@dataclass(frozen=True)
class Outcome:
    """How a request ended: "done", "declined", "proposed" (still waiting) or "failed".

    `asked`: a proposal whose front door asked and takes the answer later; `output` is
    then `question(summary)`, the words it asked with.
    """

    action_id: int
    status: str
    output: str
    asked: bool = False


class ActionError(Exception):
    """An action cannot be requested, approved or undone; the message says why."""


def _now() -> str:
    return datetime.now(UTC).isoformat()


class Actions:
    """The tools of one companion and the log of what they did."""

    def __init__(self, companion: Companion, tools: Mapping[str, Tool]) -> None:
        self._companion = companion
        self.tools = dict(tools)

    def specs(self) -> list[ToolSpec]:
        return [t.spec() for t in self.tools.values()]

    def _tool(self, name: str) -> Tool:
        if name not in self.tools:
            raise ActionError(f"there is no tool called {name!r}")
        return self.tools[name]

    async def request(
        self,
        user: str,
        name: str,
        arguments: Mapping[str, Any],
        *,
        requested_by: str,
        approve: Approver | None,
    ) -> Outcome:
        """Log the request, ask for approval if the tool's effect needs it, and run it."""
        tool = self._tool(name)
        args = dict(arguments)
        try:
            validate(args, tool.parameters)
        except SchemaError as e:
            raise ActionError(f"{name}: {e}") from e
        summary = tool.summary(args)
        store = self._companion.store
        await self._companion.ensure_user(user)
        action_id = await store.execute_write(
            "INSERT INTO actions (user_id, tool, effect, arguments, summary, status, "
            "requested_by, created_at) VALUES (?, ?, ?, ?, ?, 'proposed', ?, ?)",
            (user, name, tool.effect.value, json.dumps(args), summary, requested_by, _now()),
        )
        if not tool.needs_approval:
            return await self._execute(user, action_id, tool, args)
        if approve is None:
            return Outcome(
                action_id,
                "proposed",
                f"Waiting for your approval: {summary}\nSay yes with `os1 approve {action_id}`.",
            )
        proposal = Proposal(action_id, name, tool.effect, args, summary)
        answer = await approve(proposal)
        if answer is None:
            return Outcome(action_id, "proposed", question(summary), asked=True)
        if answer:
            return await self.approve(user, action_id)
        return await self.decline(user, action_id)

    async def _row(self, user: str, action_id: int) -> Any:
        row = await self._companion.store.query_one(
            "SELECT * FROM actions WHERE id = ? AND user_id = ?", (action_id, user)
        )
        if row is None:
            raise ActionError(f"no action {action_id} for {user}")
        return row

    async def approve(self, user: str, action_id: int) -> Outcome:
        """Run a proposed action; only front doors call this, on the user's explicit yes."""
        row = await self._row(user, action_id)
        if row["status"] != "proposed":
            raise ActionError(f"action {action_id} is {row['status']}, not waiting for approval")
        await self._companion.store.execute_write(
            "UPDATE actions SET status = 'approved', decided_at = ? WHERE id = ?",
            (_now(), action_id),
        )
        return await self._execute(
            user, action_id, self._tool(row["tool"]), json.loads(row["arguments"])
        )

    async def decline(self, user: str, action_id: int) -> Outcome:
        row = await self._row(user, action_id)
        if row["status"] != "proposed":
            raise ActionError(f"action {action_id} is {row['status']}, not waiting for approval")
        await self._companion.store.execute_write(
            "UPDATE actions SET status = 'declined', decided_at = ? WHERE id = ?",
            (_now(), action_id),
        )
        return Outcome(action_id, "declined", f"Declined: {row['summary']}")

    async def _execute(
        self, user: str, action_id: int, tool: Tool, args: dict[str, Any]
    ) -> Outcome:
        ctx = ToolContext(user, self._companion)
        try:
            result = await tool.run(ctx, args)
        except Exception as e:  # a tool failing is logged and reported, never fatal
            await self._companion.store.execute_write(
                "UPDATE actions SET status = 'failed', error = ?, done_at = ? WHERE id = ?",
                (f"{type(e).__name__}: {e}", _now(), action_id),
            )
            return Outcome(action_id, "failed", f"{tool.name} failed: {e}")
        await self._companion.store.execute_write(
            "UPDATE actions SET status = 'done', result = ?, undo = ?, done_at = ? WHERE id = ?",
            (
                result.output,
                json.dumps(result.undo) if result.undo is not None else None,
                _now(),
                action_id,
            ),
        )
        if tool.private:
            # What was forgotten must not live on in the log of forgetting it.
            await self._companion.store.execute_write(
                "UPDATE actions SET arguments = '{}', summary = ?, result = ? WHERE id = ?",
                (f"{tool.name} (details not kept)", "done", action_id),
            )
        return Outcome(action_id, "done", result.output)

    async def undo(self, user: str, action_id: int | None = None) -> str:
        """Undo one action (default: the latest undoable one) and log that it was undone."""
        if action_id is None:
            row = await self._companion.store.query_one(
                "SELECT * FROM actions WHERE user_id = ? AND status = 'done' "
                "AND undo IS NOT NULL ORDER BY id DESC LIMIT 1",
                (user,),
            )
            if row is None:
                raise ActionError("there is nothing to undo")
        else:
            row = await self._row(user, action_id)
        if row["status"] != "done":
            raise ActionError(f"action {row['id']} is {row['status']}; only done actions undo")
        tool = self.tools.get(row["tool"])
        if tool is None or tool.undo is None or row["undo"] is None:
            raise ActionError(f"action {row['id']} ({row['summary']}) cannot be undone")
        message = await tool.undo(ToolContext(user, self._companion), json.loads(row["undo"]))
        await self._companion.store.execute_write(
            "UPDATE actions SET status = 'undone', undone_at = ? WHERE id = ?", (_now(), row["id"])
        )
        return message

    async def log(self, user: str, limit: int = 50) -> list[dict[str, Any]]:
        rows = await self._companion.store.query(
            "SELECT * FROM actions WHERE user_id = ? ORDER BY id DESC LIMIT ?", (user, limit)
        )
        return [dict(r) for r in rows]
