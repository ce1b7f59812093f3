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

SUMMARY_SYSTEM = "You keep short notes about your conversations with {user}."
SUMMARY_INSTRUCTIONS = (
    "Write notes on the conversation above in at most {words} words: names, facts about "
    "{user}, plans, feelings and promises. Plain sentences, no dialogue."
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
    def memory(self) -> int:
        """For the profile and what is recalled from memory for this turn."""
        return max(48, self.window // 6)

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


def trim(model: Model, text: str, max_tokens: int, *, keep_end: bool = False) -> str:
    """`text` cut on a word boundary to fit `max_tokens`, marked only by "…".

    For text the model reads back (summaries): a loud marker there gets parroted.
    """
    if len(text.encode("utf-8")) <= max_tokens or model.count_tokens(text) <= max_tokens:
        return text
    window = max_tokens * 8  # no token is longer than this many characters on average
    words = (text[-window:] if keep_end else text[:window]).split(" ")

    def part(n: int) -> str:
        return " ".join(words[len(words) - n :] if keep_end else words[:n])

    lo, hi = 0, len(words)
    while lo < hi:  # the most words that fit
        mid = (lo + hi + 1) // 2
        if model.count_tokens(part(mid)) + 1 <= max_tokens:
            lo = mid
        else:
            hi = mid - 1
    return "…" + part(lo) if keep_end else part(lo) + "…"


def _extractive(model: Model, previous: str, lines: Sequence[str], max_tokens: int) -> str:
    """A summary without the model: the turns themselves, newest kept. Used when it fails."""
    return trim(
        model, "\n".join([previous, *lines] if previous else lines), max_tokens, keep_end=True
    )


async def summarise(
    model: Model,
    previous: str,
    turns: Sequence[Turn],
    budget: Budget,
    user_name: str,
    *,
    use_model: bool = True,
) -> str:
    """Fold `turns` into the running summary, a chunk at a time so each call fits the window.

    Without `use_model` (a model too small to summarise without inventing), the summary is
    what the user said, newest kept: less fluent, never false.
    """
    if not use_model:
        said = [trim(model, t.content, 100) for t in turns if t.role == "user"]
        lines = [f"{user_name} said: {s}" for s in said]
        return _extractive(model, previous, lines, budget.summary)
    summary = previous
    chunk_tokens = max(128, budget.prompt - budget.summary * 2 - 200)
    per_turn = max(32, min(200, chunk_tokens // 2))
    words = max(30, budget.summary * 2 // 3)
    chunk: list[str] = []
    used = 0

    async def fold(lines: list[str]) -> str:
        # Instructions after the transcript: small models follow what they read last.
        prompt = [
            Message("system", SUMMARY_SYSTEM.format(user=user_name)),
            Message(
                "user",
                (f"What you knew before:\n{summary}\n\n" if summary else "")
                + "Conversation:\n"
                + "\n".join(lines)
                + "\n\n"
                + SUMMARY_INSTRUCTIONS.format(user=user_name, words=words),
            ),
        ]
        try:
            text = await model.complete(prompt, max_tokens=budget.summary, temperature=0.2)
        except ModelError:
            text = ""
        return text.strip() or _extractive(model, summary, lines, budget.summary)

    for turn in turns:
        who = user_name if turn.role == "user" else "You"
        line = f"{who}: {trim(model, turn.content, per_turn)}"
        cost = model.count_tokens(line) + 2
        if chunk and used + cost > chunk_tokens:
            summary = await fold(chunk)
            chunk, used = [], 0
        chunk.append(line)
        used += cost
    if chunk:
        summary = await fold(chunk)
    return trim(model, summary, budget.summary, keep_end=True)
