"""Turn a user's message into candidate facts: rules first, then a model, nothing invented.

The rules (`rules.py`) never miss the plain cases and work with any model. A model adds
what the rules can't phrase, through grammar-constrained JSON; its answer is checked
against the message, because a small model's JSON is always valid and often made up:
a fact whose value is not in the message is dropped, and a time not in it is ignored.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from os1.models.base import Message, Model

from .facts import KINDS, Fact, equivalent
from .rules import extract_rules, slot_key, when_text
from .timeparse import resolve

__all__ = ["checked", "extract", "extract_model", "extract_rules", "grounded"]

MODEL_KINDS = [k for k in KINDS if k != "insight"]  # insights come from consolidation
_IMPORTANCE = {"identity": 0.8, "relationship": 0.8, "state": 0.7, "plan": 0.6}
_SMALL_WORDS = frozenset(
    "a an the of to in on at for and or my is are was be with by from".split()
)  # fmt: skip


def _schema(max_facts: int) -> dict[str, Any]:
    item = {
        "type": "object",
        "properties": {
            "kind": {"type": "string", "enum": MODEL_KINDS},
            "about": {"type": "string", "maxLength": 40},
            "value": {"type": "string", "maxLength": 60},
            "statement": {"type": "string", "maxLength": 160},
            "when": {"anyOf": [{"type": "string", "maxLength": 40}, {"type": "null"}]},
        },
        "required": ["kind", "about", "value", "statement", "when"],
        "additionalProperties": False,
    }
    facts = {"type": "array", "items": item, "maxItems": max_facts}
    return {
        "type": "object",
        "properties": {"facts": facts},
        "required": ["facts"],
        "additionalProperties": False,
    }


_PROMPT = """You note facts that {name} states about their own life in one message.
Only what the message says; nothing guessed. Each fact:
- kind: one of {kinds}
- about: what it is about, two or three words ("sister name", "home city", "job")
- value: the words from the message that give the fact ("Anna", "Boston")
- statement: one sentence in the third person about {name} ("{name}'s sister is called Anna.")
- when: the time words from the message, or null
No facts in the message: {{"facts": []}}."""


def _stem(word: str) -> str:
    # Simple inflections only: "sisters" ~ "sister", "moved" ~ "move", "running" ~ "run".
    for suffix in ("'s", "’s", "ies", "es", "s", "ed", "ing", "d"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+(?:['’][a-z]+)?", text.lower())


def grounded(value: str, text: str) -> bool:
    """Whether every meaningful word of `value` occurs in `text` (allowing inflections)."""
    wanted = [w for w in _words(value) if w not in _SMALL_WORDS]
    if not wanted:
        return False
    have = {_stem(w) for w in _words(text)} | set(_words(text))
    return all(w in have or _stem(w) in have for w in wanted)


def _statement(item: dict[str, Any], text: str, name: str) -> str:
    """The model's sentence if it adds no name or number of its own, else a plain one."""
    statement = re.sub(r"\b(?:[Tt]he user|[Uu]ser)\b", name, str(item["statement"]).strip())
    invented = [
        w
        for w in re.findall(r"\b(?:[A-Z][\w'’-]*|\d+)\b", statement)
        if re.sub(r"['’]s$", "", w) != name
        and not grounded(w, text)
        and w not in ("I", "The", "A", "An", "He", "She")
    ]
    if statement and not invented and grounded(item["value"], statement):
        return statement if statement.endswith((".", "!")) else statement + "."
    about = " ".join(_words(item["about"])) or "news"
    return f"{name}'s {about}: {item['value'].strip()}."


async def extract_model(
    model: Model, text: str, *, said_at: datetime, name: str, max_facts: int = 3
) -> list[Fact]:
    """Facts a model finds in the message, each checked against it. Raises `ModelError`."""
    messages = [
        Message("system", _PROMPT.format(name=name, kinds=", ".join(MODEL_KINDS))),
        Message("user", text),
    ]
    answer = await model.json(messages, _schema(max_facts), max_tokens=120 + 110 * max_facts)
    return [fact for _, fact in checked(answer, text, said_at=said_at, name=name)][:max_facts]


def checked(answer: Any, text: str, *, said_at: datetime, name: str) -> list[tuple[str, Fact]]:
    """The model answer's facts that the message bears out, each with its checked value."""
    items = answer.get("facts", []) if isinstance(answer, dict) else []
    mentions = resolve(text, said_at)
    found: list[tuple[str, Fact]] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or item.get("kind") not in MODEL_KINDS:
            continue
        value = str(item.get("value", "")).strip()
        if not grounded(value, text):
            continue
        kind = str(item["kind"])
        about = slot_key(str(item.get("about", ""))) or "fact"
        slot = f"likes:{slot_key(value)}" if kind == "preference" else about.replace("_", ".", 1)
        if kind == "event":
            slot = f"event:{about}"
        content = _statement({**item, "value": value}, text, name)
        valid_from = None
        said = resolve(str(item.get("when") or ""), said_at)
        # A time counts only if the message has it: the model may not invent one.
        match = [m for m in mentions if said and (m.start, m.end) == (said[0].start, said[0].end)]
        if match:
            valid_from = match[0].start.isoformat()
            if kind in ("event", "plan") and when_text(match[0]) not in content:
                content = f"{content.rstrip('.')} {when_text(match[0])}."
        fact = Fact(kind, slot, content, 0.5, _IMPORTANCE.get(kind, 0.5), valid_from)
        found.append((value, fact))
    return found


async def extract(
    model: Model | None, text: str, *, said_at: datetime, name: str, use_model: bool
) -> list[Fact]:
    """Rules first, then the model when `use_model`; one fact per slot, rules winning."""
    found = extract_rules(text, said_at=said_at, name=name)
    if use_model and model is not None:
        for fact in await extract_model(model, text, said_at=said_at, name=name):
            if any(f.slot == fact.slot or equivalent(f.content, fact.content) for f in found):
                continue
            found.append(fact)
    return found
