"""What the companion adds to each turn: prompt building and storage, against the bare model.

Run: python bench/companion_overhead.py [--turns N] [--tokens N] [--history N]

Two measurements in one run:
1. With the bundled model: a full `Companion.reply` turn against a bare `model.stream` call on
   the very prompt the companion built, alternating which goes first (llama.cpp reuses a
   cached prompt prefix, so order matters).
2. With an instant scripted model: the companion's own cost per turn (storing both messages,
   reading facts and history, building the prompt), at a short and a long history.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import describe, median, table

from os1.companion import Companion
from os1.config import load_config
from os1.models import Message, Model, get_model
from os1.testing import ScriptedModel


class Recording(Model):
    """Wraps a model and keeps the last prompt it was given."""

    def __init__(self, inner: Model) -> None:
        self.inner, self.info = inner, inner.info
        self.last: list[Message] = []

    def stream(self, messages, **kw):  # type: ignore[no-untyped-def]
        self.last = list(messages)
        return self.inner.stream(messages, **kw)

    async def json(self, messages, schema, **kw):  # type: ignore[no-untyped-def]
        return await self.inner.json(messages, schema, **kw)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    @property
    def context_length(self) -> int:
        return self.inner.context_length


async def real_model(turns: int, tokens: int) -> list[list[object]]:
    with tempfile.TemporaryDirectory() as home:
        env = {
            "OS1_HOME": home,
            "OS1_USER": "bench",
            "OS1_MAX_REPLY_TOKENS": str(tokens),
            "OS1_TEMPERATURE": "0",
        }
        config = load_config(env=env)
        model = Recording(get_model(config, cache_dir=Path(home) / "cache"))
        companion = await Companion.open(config, model=model)
        await model.complete([Message("user", "warm up")], max_tokens=4)
        ours, bare = [], []
        for i in range(turns):
            text = f"Tell me one short fact about the number {i}."

            async def turn(text: str = text) -> float:
                t = time.perf_counter()
                async for _ in companion.reply("bench", text):
                    pass
                return time.perf_counter() - t

            async def plain(prompt: list[Message]) -> float:
                t = time.perf_counter()
                async for _ in model.inner.stream(prompt, max_tokens=tokens, temperature=0):
                    pass
                return time.perf_counter() - t

            if i % 2 == 0:
                ours.append(await turn())
                bare.append(await plain(model.last))
            else:
                # Same prompt first through the bare model, then the companion's turn.
                persona, profile = await companion._persona_or_default("bench")
                facts = await companion.facts("bench", persona)
                prompt = await companion._build_prompt(
                    "bench", 1 << 62, text, facts, persona, profile
                )
                bare.append(await plain(prompt))
                ours.append(await turn())
        await companion.close()
    o, b = median(ours) * 1000, median(bare) * 1000
    return [
        ["bundled model: bare model call", f"{b:.0f} ms", "1.00"],
        ["bundled model: companion turn", f"{o:.0f} ms", f"{o / b:.3f}"],
        ["bundled model: added per turn", f"{o - b:+.0f} ms", ""],
    ]


async def overhead(turns: int, history: int) -> list[list[object]]:
    rows: list[list[object]] = []
    for size in (10, history):
        with tempfile.TemporaryDirectory() as home:
            config = load_config(env={"OS1_HOME": home, "OS1_USER": "bench"})
            model = ScriptedModel(context_length=4096)
            companion = await Companion.open(config, model=model)
            for i in range(size // 2):
                async for _ in companion.reply("bench", f"earlier message {i}"):
                    pass
            times = []
            for i in range(turns):
                t = time.perf_counter()
                async for _ in companion.reply("bench", f"hello {i}"):
                    pass
                times.append(time.perf_counter() - t)
            await companion.close()
        rows.append(
            [f"companion only, {size} stored messages", f"{median(times) * 1000:.1f} ms", ""]
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=6)
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--history", type=int, default=2000)
    args = parser.parse_args()
    rows = asyncio.run(real_model(args.turns, args.tokens))
    rows += asyncio.run(overhead(max(args.turns, 20), args.history))
    print(f"Companion per-turn overhead (median of {args.turns} turns, {args.tokens} tokens)\n")
    print(table(["measure", "median", "ratio to bare"], rows))
    print(f"\nMachine: {describe()}")


if __name__ == "__main__":
    main()
