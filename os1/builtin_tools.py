"""The tools the core ships with: one of each effect below outward, each undoable where it writes.

Later capabilities (mail, calendar, …) add their tools the same way; the
consent rules in `actions` apply to all of them alike.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from .actions import Effect, Tool, ToolContext, ToolResult
from .hookspecs import hookimpl
from .persona import Persona, Profile


async def _current_time(ctx: ToolContext, args: dict[str, Any]) -> ToolResult:
    return ToolResult(datetime.now().astimezone().strftime("%A %d %B %Y, %H:%M %Z"))


async def _rename(ctx: ToolContext, args: dict[str, Any]) -> ToolResult:
    found = await ctx.companion.persona(ctx.user)
    if found is None:
        raise ValueError("she has no name yet: the install interview has not run")
    persona, profile = found
    new = args["name"].strip()
    if not new:
        raise ValueError("a name cannot be empty")
    renamed = Persona.from_dict(
        {**persona.to_dict(), "name": new, "chosen_by": "user", "name_reason": ""}
    )
    await ctx.companion.save_persona(ctx.user, renamed, profile)
    return ToolResult(f"From now on I'm {new}.", undo={"persona": persona.to_dict()})


async def _undo_rename(ctx: ToolContext, undo: dict[str, Any]) -> str:
    found = await ctx.companion.persona(ctx.user)
    profile = found[1] if found else Profile.from_dict({})
    persona = Persona.from_dict(undo["persona"])
    await ctx.companion.save_persona(ctx.user, persona, profile)
    return f"I'm {persona.name} again."


async def _start_over(ctx: ToolContext, args: dict[str, Any]) -> ToolResult:
    found = await ctx.companion.persona(ctx.user)
    if found is None:
        return ToolResult("There was nothing to forget: the interview has not run yet.")
    persona, profile = found
    await ctx.companion.forget_persona(ctx.user)
    return ToolResult(
        f"I've forgotten my name ({persona.name}) and your interview answers. "
        "The install interview runs again next time you start os1.",
        undo={"persona": persona.to_dict(), "profile": profile.to_dict()},
    )


async def _undo_start_over(ctx: ToolContext, undo: dict[str, Any]) -> str:
    persona = Persona.from_dict(undo["persona"])
    await ctx.companion.save_persona(ctx.user, persona, Profile.from_dict(undo["profile"]))
    return f"Restored: I'm {persona.name}, and I remember your interview answers."


BUILTIN_TOOLS: tuple[Tool, ...] = (
    Tool(
        name="current_time",
        description="The current local date and time.",
        effect=Effect.READ,
        run=_current_time,
    ),
    Tool(
        name="rename_companion",
        description="Change the companion's own name, when the user asks for a new one.",
        effect=Effect.LOCAL_WRITE,
        run=_rename,
        undo=_undo_rename,
        parameters={
            "type": "object",
            "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 40}},
            "required": ["name"],
        },
        describe=lambda a: f"Change my name to {a['name']!r}.",
    ),
    Tool(
        name="start_over",
        description="Forget the companion's name and the install-interview answers so the "
        "interview runs again. Conversations are kept.",
        effect=Effect.DESTRUCTIVE,
        run=_start_over,
        undo=_undo_start_over,
        describe=lambda a: (
            "Delete my name and your install-interview answers; the interview "
            "runs again next time. Our conversations are kept. (Undo: os1 undo)"
        ),
    ),
)


@hookimpl
def register_tools(register: Callable[[Tool], None]) -> None:
    for tool in BUILTIN_TOOLS:
        register(tool)
