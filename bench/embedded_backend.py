"""Benchmark: does EmbeddedModel.stream cost anything over raw llama-cpp-python?

The same prompt goes through `Llama.create_chat_completion(stream=True)` and through
`EmbeddedModel.stream`, alternating, greedy (temperature 0) so both make the same tokens.
Each side has its own `Llama` with the same settings, and its KV cache is reset before every
run, so both evaluate the whole prompt every time (no prompt-cache advantage for either).

    python bench/embedded_backend.py [--runs N] [--tokens N] [--threads N] [--model PATH]

Targets (from the issue): throughput ratio ours/raw >= 0.95, at most 30 ms added to the
first token.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/machine.py
try:
    import os1  # noqa: F401
except ImportError:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import llama_cpp
from machine import describe

from os1.models import Message, TextDelta, bundled_model_path
from os1.models.embedded import EmbeddedModel

PROMPT = "Write a long story about a lighthouse keeper who finds a message in a bottle."
THROUGHPUT_TARGET = 0.95
TTFT_BUDGET_MS = 30.0
REPEAT_PENALTY = 1.1  # what EmbeddedModel uses for replies


@dataclass
class Run:
    ttft_ms: float
    tokens: int
    tokens_per_s: float
    text: str


def measure(start: float, stamps: list[float], pieces: list[str]) -> Run:
    """Time to the first piece; throughput over the pieces after it (the decode rate)."""
    decode = stamps[-1] - stamps[0]
    rate = (len(stamps) - 1) / decode if decode > 0 else float("nan")
    return Run((stamps[0] - start) * 1000, len(stamps), rate, "".join(pieces))


def run_raw(llm: llama_cpp.Llama, tokens: int) -> Run:
    llm.reset()  # forget the cached prompt: evaluate it in full, as `ours` does
    stamps: list[float] = []
    pieces: list[str] = []
    start = time.perf_counter()
    for chunk in llm.create_chat_completion(
        [{"role": "user", "content": PROMPT}],
        stream=True,
        max_tokens=tokens,
        temperature=0.0,
        repeat_penalty=REPEAT_PENALTY,
    ):
        text = chunk["choices"][0]["delta"].get("content")  # type: ignore[index, union-attr]
        if text:
            stamps.append(time.perf_counter())
            pieces.append(text)
    return measure(start, stamps, pieces)


async def run_ours(model: EmbeddedModel, tokens: int) -> Run:
    model._llama.reset()  # private on purpose: the same reset the raw side gets
    stamps: list[float] = []
    pieces: list[str] = []
    start = time.perf_counter()
    async for chunk in model.stream([Message("user", PROMPT)], max_tokens=tokens, temperature=0):
        if isinstance(chunk, TextDelta):
            stamps.append(time.perf_counter())
            pieces.append(chunk.text)
    return measure(start, stamps, pieces)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=None, help="default: as OS1 does")
    parser.add_argument("--model", type=Path, default=None, help="a GGUF (default: bundled)")
    args = parser.parse_args()
    path = args.model or bundled_model_path()

    ours = EmbeddedModel(
        path, context_length=4096, threads=args.threads, repeat_penalty=REPEAT_PENALTY
    )
    await ours.complete([Message("user", "Hi")], max_tokens=1)  # load (and probe) first
    raw = llama_cpp.Llama(
        model_path=str(path),
        n_ctx=ours.context_length,
        n_threads=ours._threads,
        n_threads_batch=ours._batch_threads,
        verbose=False,
    )
    run_raw(raw, 8)  # warm both the same way
    await run_ours(ours, 8)

    raws: list[Run] = []
    mine: list[Run] = []
    for i in range(args.runs):
        # Alternate who goes first, so drift (thermal, other load) hits both sides alike.
        if i % 2 == 0:
            raws.append(run_raw(raw, args.tokens))
            mine.append(await run_ours(ours, args.tokens))
        else:
            mine.append(await run_ours(ours, args.tokens))
            raws.append(run_raw(raw, args.tokens))
    await ours.close()

    def med(runs: list[Run], field: str) -> float:
        return statistics.median(getattr(r, field) for r in runs)

    ratio = med(mine, "tokens_per_s") / med(raws, "tokens_per_s")
    added = med(mine, "ttft_ms") - med(raws, "ttft_ms")
    same = all(a.text == b.text for a, b in zip(raws, mine, strict=True))
    print(f"Machine: {describe()}")
    print(f"model {path.name}, {ours._threads} threads ({ours._batch_threads} for prompts),")
    print(f"{args.runs} runs x {args.tokens} tokens each side; same output both sides: {same}\n")
    print("| path | median tokens/s | median TTFT (ms) | tokens |")
    print("|---|---:|---:|---:|")
    for name, runs in (("raw create_chat_completion", raws), ("EmbeddedModel.stream", mine)):
        print(
            f"| {name} | {med(runs, 'tokens_per_s'):.1f} | {med(runs, 'ttft_ms'):.1f}"
            f" | {med(runs, 'tokens'):.0f} |"
        )
    print(f"| **ours / raw** | **{ratio:.3f}** | **{added:+.1f} ms** | |\n")
    print(f"throughput ratio {ratio:.3f} (target >= {THROUGHPUT_TARGET}): "
          f"{'PASS' if ratio >= THROUGHPUT_TARGET else 'FAIL'}")  # fmt: skip
    print(f"added TTFT {added:+.1f} ms (target <= {TTFT_BUDGET_MS:.0f} ms): "
          f"{'PASS' if added <= TTFT_BUDGET_MS else 'FAIL'}")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
