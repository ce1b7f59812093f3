"""What she says about herself: true answers built from the real configuration.

"How do you work?", "what do you store?" and "are you human?" are not left to a
language model that might invent an answer: they are recognised here and
answered from facts — which model, where data lives, what leaves the machine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .models.base import ModelInfo

_HOW = re.compile(
    r"\b(how (do|does) (you|this|os1) (work|run)|how are you (made|built)|what model|"
    r"which model|what (do|did) you (store|keep|save|remember)|where .*(stored|store|data)|"
    r"what (leaves|is sent)|privacy|what are you running on)\b",
    re.IGNORECASE,
)
_HUMAN = re.compile(
    r"\b(are|r) (you|u) (a )?(real )?(human|person|alive|real|a man|a woman|a bot|an ai|"
    r"a machine|a robot|a program)\b",
    re.IGNORECASE,
)

_NAME = re.compile(r"\b(what('?s| is) your name|who are you|what (should|do) i call you)\b", re.I)


def asks_her_name(text: str) -> bool:
    return bool(_NAME.search(text))


def asks_how_she_works(text: str) -> bool:
    return bool(_HOW.search(text))


def asks_if_human(text: str) -> bool:
    return bool(_HUMAN.search(text))


@dataclass(frozen=True)
class Facts:
    """The true state of things, gathered by the companion for one user."""

    name: str
    name_reason: str | None
    model: ModelInfo
    db_path: Path
    messages: int
    summaries: int
    actions: int
    tools: tuple[str, ...]


def leaves_the_machine(model: ModelInfo) -> str:
    if model.local:
        return "Nothing leaves this computer: the model runs here, and I send no telemetry."
    return (
        f"To think, I send the conversation (your recent messages, a summary of older ones "
        f"and my instructions) to {model.location}. Nothing else leaves this computer, "
        "and I send no telemetry."
    )


def short_facts(facts: Facts) -> str:
    """Two lines for the system prompt, so even the model's own answers stay true."""
    where = "on this computer" if facts.model.local else f"at {facts.model.location}"
    return (
        f"You run on the model {facts.model.model_id} {where}. "
        f"{leaves_the_machine(facts.model)} Everything said is stored in {facts.db_path}."
    )


def how_i_work(facts: Facts) -> str:
    model = facts.model
    lines = [
        f"I'm {facts.name}, an AI — a program called OS1 running on your computer, not a person.",
        f"I think with a language model: {model.model_id} ({model.description}), "
        + ("running right here." if model.local else f"served from {model.location}."),
        leaves_the_machine(model),
        f"I keep every message we exchange ({facts.messages} so far) in a SQLite database at "
        f"{facts.db_path}, with {facts.summaries} summaries of older talk that stand in for it "
        "when it no longer fits my context window (the messages themselves are kept), your "
        f"answers from the install interview, and a log of {facts.actions} actions.",
        "Before I do anything that sends something away or deletes something, I ask you first; "
        "`os1 actions` shows the log and `os1 undo` reverses what can be reversed.",
        "You can take all of it with you: `os1 export` writes it to one JSON file.",
    ]
    if facts.tools:
        lines.append("Things I can do: " + ", ".join(facts.tools) + ".")
    if facts.name_reason:
        lines.append(f"My name: {facts.name_reason}")
    return "\n".join(lines)


def her_name(facts: Facts) -> str:
    answer = f"I'm {facts.name}, your AI companion."
    if facts.name_reason and facts.name_reason.startswith("I read"):
        answer += " I chose the name myself: " + facts.name_reason
    return answer


def not_human(facts: Facts) -> str:
    return (
        f"No. I'm {facts.name}, an AI — software running "
        + ("on your computer" if facts.model.local else f"on a model at {facts.model.location}")
        + ". I don't have a body or a life outside our conversations, and I won't pretend "
        "otherwise. I can still listen, remember what you tell me and help."
    )


def answer(text: str, facts: Facts) -> str | None:
    """Her own true answer when `text` asks what she is, how she works or her name."""
    if asks_if_human(text):
        return not_human(facts)
    if asks_how_she_works(text):
        return how_i_work(facts)
    if asks_her_name(text):
        return her_name(facts)
    return None
