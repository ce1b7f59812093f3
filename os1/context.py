"""The context window: fit persona, summary and recent turns into the model's budget.

She never fails because the context is full. Recent turns go in newest first
while they fit; when older turns no longer fit they are folded into a running
summary (stored, the turns themselves kept), and a message too long for the
window on its own is shown to the model as its head and tail.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .models.base import Message, Model, ModelError

SUMMARY_INSTRUCTIONS = (
    "Summarise the conversation below for your own memory in at most {words} words. "
    "Keep names, facts about the user, plans, feelings and promises. Write plain sentences."
)


@dataclass(frozen=True)
class Turn:
    """A stored message as the context builder sees it."""

    id: int
    role: str
    content: str


@dataclass(frozen=True)
class Budget:
    """How a context window is shared out, in tokens."""

    window: int
    reply: int

    @property
    def prompt(self) -> int:
        return self.window - self.reply

    @property
    def summary(self) -> int:
        return max(64, self.window // 8)

    @property
    def single_message(self) -> int:
        return max(64, self.prompt // 2)


def budget_for(model: Model, max_reply_tokens: int) -> Budget:
    window = model.context_length
    return Budget(window=window, reply=max(32, min(max_reply_tokens, window // 4)))


def shorten(model: Model, text: str, max_tokens: int) -> str:
    """`text` cut to about `max_tokens`, keeping its head and tail and saying what was left out."""
    if len(text.encode("utf-8")) <= max_tokens:  # a token is at least one byte
        return text
    # Tokenizing a megabyte on every turn would be slow: count exactly only what is
    # plausibly near the budget, and estimate characters per token from a sample.
    if len(text) <= max_tokens * 16 and model.count_tokens(text) <= max_tokens:
        return text
    sample = text[:4000]
    ratio = len(sample) / max(1, model.count_tokens(sample))
    keep = max(16, int(max_tokens * ratio * 0.9) - 60)
    while True:
        head, tail = text[: keep * 2 // 3], text[-(keep // 3) :]
        omitted = len(text) - len(head) - len(tail)
        short = f"{head}\n[… {omitted} characters left out here …]\n{tail}"
        if keep <= 16 or model.count_tokens(short) <= max_tokens:
            return short
        keep = keep * 3 // 4


def fit_recent(
    model: Model, turns: Sequence[Turn], budget_tokens: int, single_max: int
) -> tuple[list[Turn], list[Turn]]:
    """Split `turns` (oldest first) into (left out, kept): the newest that fit `budget_tokens`."""
    kept: list[Turn] = []
    used = 0
    for turn in reversed(turns):
        content = shorten(model, turn.content, single_max)
        cost = model.count_tokens(content) + 8
        if used + cost > budget_tokens:
            break
        kept.append(Turn(turn.id, turn.role, content))
        used += cost
    kept.reverse()
    left_out = list(turns[: len(turns) - len(kept)])
    return left_out, kept


def _extractive(model: Model, previous: str, turns: Sequence[Turn], max_tokens: int) -> str:
    """A summary without the model: the start of each turn. Used when the model fails."""
    lines = [previous] if previous else []
    lines += [f"{t.role}: {t.content[:160]}" for t in turns]
    return shorten(model, "\n".join(lines), max_tokens)


async def summarise(
    model: Model, previous: str, turns: Sequence[Turn], budget: Budget, user_name: str
) -> str:
    """Fold `turns` into the running summary, a chunk at a time so each call fits the window."""
    summary = previous
    chunk_tokens = max(128, budget.prompt - budget.summary * 2 - 200)
    chunk: list[str] = []
    used = 0

    async def fold(lines: list[str]) -> str:
        words = max(30, budget.summary * 2 // 3)
        prompt = [
            Message("system", SUMMARY_INSTRUCTIONS.format(words=words)),
            Message(
                "user",
                (f"Summary so far:\n{summary}\n\n" if summary else "")
                + "Conversation:\n"
                + "\n".join(lines),
            ),
        ]
        try:
            text = await model.complete(prompt, max_tokens=budget.summary, temperature=0.2)
        except ModelError:
            text = ""
        text = text.strip()
        if not text:
            return _extractive(model, summary, [], budget.summary) + "\n" + "\n".join(lines)
        return text

    for turn in turns:
        who = user_name if turn.role == "user" else "you"
        line = f"{who}: {shorten(model, turn.content, chunk_tokens // 2)}"
        cost = model.count_tokens(line) + 2
        if chunk and used + cost > chunk_tokens:
            summary = await fold(chunk)
            chunk, used = [], 0
        chunk.append(line)
        used += cost
    if chunk:
        summary = await fold(chunk)
    return shorten(model, summary, budget.summary)
