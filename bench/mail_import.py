"""Mail import throughput: messages per second and peak memory, mbox and Maildir.

Run: python bench/mail_import.py [--messages 50000] [--runs 3]

A deterministic generator writes an archive shaped like real mail: plain and
multipart/alternative (HTML) messages, replies that quote and thread, signatures,
encoded-word subjects in several charsets, ~3% with a small attachment, unescaped
"From " lines in bodies. The same messages go into one mbox and one Maildir.

Each run imports into a fresh database in a child process, whose peak RSS (its own
and its parser workers') is reported. The baseline, measured in the same run on the
same files, is what the standard library gives: `mailbox.mbox`/`mailbox.Maildir`
iterated with `email.message_from_bytes(policy=email.policy.default)` and each
message's body read — parsing only, nothing stored. ("stdlib found" differs from 50,000
where `mailbox.mbox` splits at the planted unescaped "From " lines.) Target: ≥ 2,000
messages/s.
"""

from __future__ import annotations

import argparse
import email.header
import email.utils
import json
import random
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import describe, median, table

WORDS = (
    "meeting friday dinner report invoice please thanks call tomorrow project letter book "
    "order shipped weekend family budget draft review photos trip flight hotel birthday "
    "contract deadline lunch coffee concert garden recipe school doctor insurance rent"
).split()
SUBJECT_CHARSETS = ["utf-8", "iso-8859-1", "utf-8", "windows-1252"]


def _sentence(rng: random.Random) -> str:
    words = rng.choices(WORDS, k=rng.randint(6, 18))
    return " ".join(words).capitalize() + rng.choice([".", ".", "?", "!"])


def generate(n: int, seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    start = datetime(2019, 1, 1, tzinfo=UTC)
    people = [(f"Person {i}", f"person{i}@example{i % 40}.com") for i in range(600)]
    out: list[bytes] = []
    for i in range(n):
        name, addr = rng.choice(people)
        m = EmailMessage()
        m["From"] = email.utils.formataddr((name, addr))
        m["To"] = "Theo Twombly <theo@example.com>"
        subject = " ".join(rng.choices(WORDS, k=rng.randint(2, 7))).capitalize()
        if i % 10 == 0:
            charset = SUBJECT_CHARSETS[i % len(SUBJECT_CHARSETS)]
            subject = email.header.Header(subject + " café", charset).encode().replace("\n", "")
        m["Subject"] = subject
        when = start + timedelta(minutes=17 * i)
        m["Date"] = email.utils.format_datetime(when)
        m["Message-ID"] = f"<bench{i}@example.com>"
        body = "\n\n".join(
            " ".join(_sentence(rng) for _ in range(rng.randint(1, 5)))
            for _ in range(rng.randint(1, 4))
        )
        if i % 3 == 1 and i > 0:
            m["In-Reply-To"] = f"<bench{i - 1}@example.com>"
            m["References"] = f"<bench{i - 1}@example.com>"
            body += "\n\nOn a weekday, someone wrote:\n> " + _sentence(rng)
        if i % 50 == 0:
            body += "\n\nFrom here on, a line that a careless mbox writer leaves alone."
        body += f"\n\n-- \n{name}"
        m.set_content(body)
        if i % 4 == 0:
            m.add_alternative(
                "<html><body>" + "".join(f"<p>{p}</p>" for p in body.split("\n\n")) + "</body>"
                "</html>",
                subtype="html",
            )
        if i % 33 == 0:
            m.add_attachment(rng.randbytes(20_000), "application", "pdf", filename="scan.pdf")
        out.append(bytes(m))
    return out


def write_archives(raws: list[bytes], folder: Path) -> tuple[Path, Path]:
    mbox = folder / "archive.mbox"
    with mbox.open("wb") as f:
        for raw in raws:
            f.write(b"From bench@example.com Mon Mar  3 10:00:00 2025\n")
            # mboxrd-style escaping, except the planted unescaped "From here on" lines.
            data = raw.replace(b"\r\n", b"\n").replace(b"\n>From ", b"\n>>From ")
            escaped = data.replace(b"\nFrom ", b"\n>From ")
            f.write(escaped.replace(b"\n\n>From here on, a", b"\n\nFrom here on, a"))
            f.write(b"\n")
    maildir = folder / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    for i, raw in enumerate(raws):
        (maildir / "cur" / f"{1_600_000_000 + i}.{i}.bench:2,S").write_bytes(raw)
    return mbox, maildir


CHILD = """
import asyncio, json, resource, sys, time
from pathlib import Path
from os1.store import Store
from os1.mail.importer import import_path

async def main():
    store = await Store.open(Path(sys.argv[1]))
    t = time.perf_counter()
    report = await import_path(store, "bench", Path(sys.argv[2]))
    seconds = time.perf_counter() - t
    await store.close()
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"seconds": seconds, "added": report.added,
                      "unparsed": len(report.unparsed), "rss_kib": own + kids}))

if __name__ == "__main__":
    asyncio.run(main())
"""

BASELINE = """
import email, email.policy, json, mailbox, resource, sys, time
path, kind = sys.argv[1], sys.argv[2]
box = mailbox.mbox(path) if kind == "mbox" else mailbox.Maildir(path, create=False)
t = time.perf_counter()
n = 0
for key in box.iterkeys():
    msg = email.message_from_bytes(box.get_bytes(key), policy=email.policy.default)
    body = msg.get_body(("plain", "html"))
    if body is not None:
        body.get_content()
    n += 1
seconds = time.perf_counter() - t
print(json.dumps({"seconds": seconds, "added": n, "unparsed": 0,
                  "rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def _run(args: list[str]) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, *args], check=True, capture_output=True, text=True
    ).stdout.strip()
    return dict(json.loads(out.splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--write-only", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write_only:
        write_archives(generate(args.messages), args.write_only)
        return
    with tempfile.TemporaryDirectory(prefix="os1-mail-bench-") as tmp:
        folder = Path(tmp)
        # Written by a child process: Linux carries a process's peak RSS over into the
        # programs it starts, so this process must stay small for the children's peaks
        # to be their own.
        subprocess.run(
            [sys.executable, __file__, "--messages", str(args.messages), "--write-only", tmp],
            check=True,
        )
        mbox, maildir = folder / "archive.mbox", folder / "Maildir"
        size_mb = mbox.stat().st_size / 1e6
        child = folder / "child.py"
        child.write_text(CHILD)
        rows = []
        for kind, path in (("mbox", mbox), ("Maildir", maildir)):
            ours, base = [], []
            for r in range(args.runs):
                db = folder / f"{kind}-{r}.db"
                ours.append(_run([str(child), str(db), str(path)]))
                base.append(_run(["-c", BASELINE, str(path), kind.lower()]))
            rate = median([o["added"] / o["seconds"] for o in ours])
            base_rate = median([b["added"] / b["seconds"] for b in base])
            rows.append(
                [
                    kind,
                    f"{ours[0]['added']:,}",
                    f"{base[0]['added']:,}",
                    f"{rate:,.0f}",
                    f"{base_rate:,.0f}",
                    f"{rate / base_rate:.2f}",
                    f"{median([o['rss_kib'] for o in ours]) / 1024:,.0f}",
                    f"{median([b['rss_kib'] for b in base]) / 1024:,.0f}",
                    int(ours[0]["unparsed"]),
                ]
            )
    print(
        f"Mail import, {args.messages:,} generated messages ({size_mb:,.0f} MB as mbox), "
        f"median of {args.runs} runs\n"
    )
    print(
        table(
            [
                "archive",
                "OS1 stored",
                "stdlib found",
                "OS1 msg/s",
                "stdlib parse-only msg/s",
                "ratio",
                "OS1 peak MiB",
                "stdlib peak MiB",
                "unparsed",
            ],
            rows,
        )
    )
    print(f"\nMachine: {describe()}")


if __name__ == "__main__":
    main()
