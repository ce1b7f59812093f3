"""Triage quality and speed on a labelled mailbox, against baselines measured in the same run.

Run: .venv/bin/python bench/mail_triage.py [--seed N] [--scale X] [--model-sample N]

The mailbox comes from bench/mail_corpus.py (generated, labelled; why: see its docstring):
about 3,000 received messages plus the user's sent mail, imported into a fresh Store the way
`os1 mail import` stores them. Labels stay in the generator's output; triage sees only the
stored mail. Printed, per category: precision, recall and F1 for
- "majority class": everything is a newsletter (the commonest category);
- "headers only": List-*/Precedence -> newsletter, spam flag -> junk, no-reply/auto ->
  transactional, the user's own work domain -> work, anything else -> personal;
- "OS1 rules + history": `os1.mail.triage.triage_all` without a model (what runs offline).
Then the same for the bundled model (SmolLM2-135M) on a stratified sample, asked (a) about
every sampled message and (b) only where the rules are unsure, next to the rules on that
sample; then messages/second, importance precision/recall, the hard cases, and what the
clean-up proposal would archive. Caveat, stated in the output too: one author wrote both the
generator and the rules, so these figures are optimistic for real mail; the hard cases are
the honest part.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import describe, median, table  # noqa: E402
from mail_corpus import NOW, Corpus, Label, generate  # noqa: E402

from os1.mail import signals, triage  # noqa: E402
from os1.mail.accounts import Account, save_account  # noqa: E402
from os1.mail.store import add_message  # noqa: E402
from os1.store import Store  # noqa: E402

USER = "bench"
CATS = triage.CATEGORIES


async def load(corpus: Corpus, path: Path) -> Store:
    store = await Store.open(path)
    await save_account(store, USER, Account("work", corpus.me[0], archive_folder="Archive"))
    await save_account(store, USER, Account("home", corpus.me[1], archive_folder="Archive"))
    me = frozenset(corpus.me)

    def write(c):  # type: ignore[no-untyped-def]
        now = NOW.isoformat()
        for name, email in corpus.address_book:
            pid = c.execute(
                "INSERT INTO people (user_id, name, emails, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (USER, name, json.dumps([email]), now, now),
            ).lastrowid
            c.execute("INSERT OR IGNORE INTO people_emails VALUES (?, ?, ?)", (USER, email, pid))
        for m in corpus.mails:
            add_message(c, USER, m.raw, folder=m.folder, flags=m.flags, me=me)

    await store.write(write)
    return store


def headers_only(row, mine_domains: set[str]) -> str:  # type: ignore[no-untyped-def]
    h = json.loads(row["headers"])
    local, _, domain = row["from_addr"].partition("@")
    if h.get("x-spam-flag", "").lower().startswith("yes"):
        return "junk"
    if h.get("list-id") or h.get("list-unsubscribe") or h.get("precedence") in ("bulk", "list"):
        return "newsletter"
    if signals.NOREPLY.search(local) or h.get("auto-submitted", "no") != "no":
        return "transactional"
    return "work" if domain in mine_domains else "personal"


def prf(pairs: Sequence[tuple[str, str]]) -> dict[str, tuple[float, float, float, int]]:
    """Per category (gold, predicted) -> precision, recall, F1, support; plus "macro"."""
    out = {}
    for c in CATS:
        tp = sum(1 for g, p in pairs if g == c and p == c)
        fp = sum(1 for g, p in pairs if g != c and p == c)
        fn = sum(1 for g, p in pairs if g == c and p != c)
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        out[c] = (prec, rec, f1, tp + fn)
    vals = [out[c] for c in CATS if out[c][3]]
    macro = [sum(v[i] for v in vals) / len(vals) for i in range(3)]
    out["macro"] = (macro[0], macro[1], macro[2], len(pairs))
    acc = sum(1 for g, p in pairs if g == p) / len(pairs) if pairs else 0.0
    out["accuracy"] = (acc, acc, acc, len(pairs))
    return out


def print_prf(results: dict[str, list[tuple[str, str]]], baseline: str) -> None:
    scores = {name: prf(pairs) for name, pairs in results.items()}
    rows = []
    for c in (*CATS, "macro"):
        row: list[object] = [c, scores[baseline][c][3]]
        for name in results:
            p, r, f1, _ = scores[name][c]
            row.append(f"{p:.2f} / {r:.2f} / **{f1:.2f}**")
        rows.append(row)
    acc = ["accuracy", "", *(f"{scores[n]['accuracy'][0]:.3f}" for n in results)]
    rows.append(acc)
    base_f1 = scores[baseline]["macro"][2]
    rows.append(
        [
            "macro F1 / baseline",
            "",
            *(f"{scores[n]['macro'][2] / base_f1:.2f}x" if base_f1 else "-" for n in results),
        ]
    )
    print(table(["category", "n", *(f"{n}: P / R / F1" for n in results)], rows))


async def timed_triage(store: Store, runs: int = 3) -> tuple[float, int]:
    rates, n = [], 0
    for _ in range(runs):
        t0 = time.perf_counter()
        counts = await triage.triage_all(store, USER, only_new=False)
        n = counts["total"]
        rates.append(n / (time.perf_counter() - t0))
    return median(rates), n


async def ask_all(model, rows, gold, history):  # type: ignore[no-untyped-def]
    """Rules, the model alone, and rules + model where unsure, on these rows."""
    results: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for row in rows:
        g = gold[row["id"]].category
        f = signals.features(row, history)
        guess = triage.rules(f)
        alone = await triage.ask_model(model, row, f, guess)
        results["rules"].append((g, guess.category))
        results["model alone"].append((g, alone.category))
        refined = alone if guess.uncertain and not f["injection"] else guess
        results["rules + model where unsure"].append((g, refined.category))
    return results


async def model_sample(store: Store, gold: dict[int, Label], n: int, seed: int) -> None:
    from os1.config import load_config
    from os1.models import get_model

    with tempfile.TemporaryDirectory() as home:
        model = get_model(load_config(env={"OS1_HOME": home}), cache_dir=Path(home) / "cache")
        history = await signals.load_history(store, USER)
        rows = await store.query(
            f"SELECT {triage.COLUMNS} FROM mail_messages WHERE user_id = ? AND from_me = 0 "
            "ORDER BY id",
            (USER,),
        )
        rng = random.Random(seed)
        by_cat: dict[str, list] = defaultdict(list)  # type: ignore[type-arg]
        for r in rows:
            by_cat[gold[r["id"]].category].append(r)
        stratified = [r for c in CATS for r in rng.sample(by_cat[c], n // len(CATS))]
        unsure_all = [r for r in rows if triage.rules(signals.features(r, history)).uncertain]
        unsure = rng.sample(unsure_all, min(len(unsure_all), 2 * n))
        t0 = time.perf_counter()
        for title, sample in (
            (f"a stratified sample of {len(stratified)}", stratified),
            (f"{len(unsure)} of the {len(unsure_all)} messages the rules are unsure of", unsure),
        ):
            print(f"\n### The bundled model ({model.model_id}) on {title}\n")
            print_prf(await ask_all(model, sample, gold, history), "rules")
        per = (time.perf_counter() - t0) / (len(stratified) + len(unsure))
        print(f"\n{per:.2f} s per model call (grammar-constrained JSON, CPU).")
        await model.close()


async def cleanup(store: Store, gold: dict[int, Label]) -> None:
    from os1.mail.cleanup import propose_cleanup

    t0 = time.perf_counter()
    plan = await propose_cleanup(store, USER, older_than_days=30, now=NOW)
    took = time.perf_counter() - t0
    lost = Counter(
        gold[i].category for i in plan.archive_ids if gold[i].category in ("personal", "work")
    )
    important = sum(1 for i in plan.archive_ids if gold[i].important)
    print(f"\n### Clean-up proposal for INBOX, older than 30 days ({took:.2f} s)\n")
    print(plan.summary)
    print(
        f"Archived by mistake, by label: {dict(lost) or 'no personal or work mail'}; "
        f"labelled important: {important}."
    )


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--model-sample", type=int, default=40, help="0 skips the model")
    args = p.parse_args()
    print(f"Machine: {describe()}")
    corpus = generate(args.seed, args.scale)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        store = await load(corpus, Path(tmp) / "os1.db")
        load_s = time.perf_counter() - t0
        rows = await store.query(
            "SELECT * FROM mail_messages WHERE user_id = ? AND from_me = 0", (USER,)
        )
        gold = {r["id"]: corpus.labels[r["message_id"]] for r in rows}
        print(
            f"Mailbox: {len(rows)} received messages labelled, "
            f"{len(corpus.mails) - len(rows)} sent; imported in {load_s:.1f} s; "
            f"seed {args.seed}\n"
        )
        t0 = time.perf_counter()
        domains = {a.split("@")[1] for a in corpus.me} - signals.FREEMAIL
        base = {r["id"]: headers_only(r, domains) for r in rows}
        base_rate = len(rows) / (time.perf_counter() - t0)
        rate, n = await timed_triage(store)
        ours = {
            r["id"]: r
            for r in await store.query(
                "SELECT id, category, importance FROM mail_messages WHERE user_id = ? "
                "AND from_me = 0",
                (USER,),
            )
        }
        majority = Counter(lbl.category for lbl in gold.values()).most_common(1)[0][0]
        results = {
            "majority class": [(g.category, majority) for g in gold.values()],
            "headers only": [(g.category, base[i]) for i, g in gold.items()],
            "OS1 rules + history": [(g.category, ours[i]["category"]) for i, g in gold.items()],
        }
        print("### Category: precision / recall / F1 (baseline for the ratio: headers only)\n")
        print_prf(results, "headers only")
        print(
            f"\nSpeed: OS1 triage_all {rate:,.0f} messages/s (median of 3 runs over {n}, "
            f"features + rules + writing results); headers-only baseline "
            f"{base_rate:,.0f}/s in memory, nothing written."
        )
        tp = sum(1 for i, g in gold.items() if g.important and ours[i]["importance"] >= 0.6)
        fp = sum(1 for i, g in gold.items() if not g.important and ours[i]["importance"] >= 0.6)
        fn = sum(1 for i, g in gold.items() if g.important and ours[i]["importance"] < 0.6)
        print(
            f"\nImportance >= {triage.IMPORTANT}: precision {tp / max(tp + fp, 1):.2f}, "
            f"recall {tp / max(tp + fn, 1):.2f} ({tp + fn} labelled important)."
        )
        hard: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
        for i, g in gold.items():
            if g.hard:
                hard[g.hard].append((ours[i]["category"] == g.category, base[i] == g.category))
        print("\n### Hard cases: share triaged to the right category\n")
        share = [
            [
                h,
                len(v),
                f"{sum(o for o, _ in v) / len(v):.2f}",
                f"{sum(b for _, b in v) / len(v):.2f}",
            ]
            for h, v in sorted(hard.items())
        ]
        print(table(["case", "n", "OS1", "headers only"], share))
        confusion = Counter((g.category, ours[i]["category"]) for i, g in gold.items())
        print(
            "\nMost common confusions (label -> OS1):",
            ", ".join(f"{a}->{b} {n}" for (a, b), n in confusion.most_common() if a != b),
        )
        await cleanup(store, gold)
        if args.model_sample:
            await model_sample(store, gold, args.model_sample, args.seed)
        await store.close()
    print(
        "\nCaveat: the labelled set is generated (bench/mail_corpus.py) by the author of the "
        "rules; expect lower figures on real mail. The hard cases show where rules fail."
    )


if __name__ == "__main__":
    asyncio.run(main())
