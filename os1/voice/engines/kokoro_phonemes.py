"""English text to Kokoro's phoneme tokens, with espeak-ng (a separate program) as the reader.

Kokoro-82M was trained on misaki's phoneme inventory (US English: diphthongs as single
capitals, A = eɪ, I = aɪ, W = aʊ, O = oʊ, Y = ɔɪ; no length marks). misaki's own English
front end needs spaCy and a model download, so OS1 asks espeak-ng for IPA instead
(`espeak-ng -q --ipa --tie=^`, GPL, never in this process) and rewrites its symbols into that
inventory, as misaki's espeak fallback does. Punctuation shapes Kokoro's pauses and pitch,
but espeak-ng drops it, so each clause is read separately and its punctuation put back.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping

from os1.voice.engines.espeak import run_espeak

# espeak-ng IPA (with "^" tying multi-letter phonemes) -> Kokoro/misaki US English; longest
# first, so "e^ɪ" becomes A before a lone "e" does.
_REWRITES: tuple[tuple[str, str], ...] = tuple(
    sorted(
        {
            "ʔˌn\u0329": "tn",
            "ʔn\u0329": "tn",
            "ʔn": "tn",
            "ʔ": "t",
            "a^ɪ": "I",
            "a^ʊ": "W",
            "d^ʒ": "ʤ",
            "e^ɪ": "A",
            "e": "A",
            "t^ʃ": "ʧ",
            "ɔ^ɪ": "Y",
            "o^ʊ": "O",
            "ə^l": "ᵊl",
            "ʲo": "jo",
            "ʲə": "jə",
            "ʲ": "",
            "ɚ^ɹ": "əɹ",
            "ɚɹ": "əɹ",
            "ɚ": "əɹ",
            "r": "ɹ",
            "x": "k",
            "ç": "k",
            "ɐ": "ə",
            "ɬ": "l",
            "\u0303": "",
            "ɜː^ɹ": "ɜɹ",
            "ɜːɹ": "ɜɹ",
            "ɜː": "ɜɹ",
            "ɪə": "iə",
        }.items(),
        key=lambda kv: -len(kv[0]),
    )
)
_LANGUAGE_FLAG = re.compile(r"\([a-z]{2,3}(?:-[a-z]+)?\)")  # espeak's "(fr)" switches
_CLAUSE_END = re.compile(r"(?<=[,;:—–])\s+")
_TRAILING = re.compile(r"[\s,;:.!?…—–\"'”’)\]]+$")
_MARK = {",": ",", ";": ";", ":": ":", "—": "—", "–": "—", ".": ".", "!": "!", "?": "?"}


def from_espeak(ipa: str) -> str:
    """espeak-ng's IPA for one clause, rewritten into Kokoro's US English phonemes."""
    ps = " ".join(_LANGUAGE_FLAG.sub("", ipa).split())
    for old, new in _REWRITES:
        ps = ps.replace(old, new)
    ps = re.sub(r"(\S)\u0329", r"ᵊ\1", ps)  # a syllabic consonant: a small schwa before it
    ps = ps.replace("ː", "").replace("o", "ɔ")  # no length marks in US English; old espeaks
    return ps.replace("^", "")


def clauses(sentence: str, min_words: int = 4) -> list[str]:
    """A sentence in pieces worth speaking on their own: split at commas, semicolons, colons
    and dashes, a piece shorter than `min_words` joined to the next (too short a piece
    sounds clipped), so the first piece's audio comes sooner."""
    out: list[str] = []
    pending = ""
    for piece in _CLAUSE_END.split(sentence.strip()):
        pending = f"{pending} {piece}".strip()
        if len(pending.split()) >= min_words:
            out.append(pending)
            pending = ""
    if pending:
        if out and len(pending.split()) < min_words:
            out[-1] = f"{out[-1]} {pending}"
        else:
            out.append(pending)
    return out


def _ending(piece: str) -> str:
    """The Kokoro punctuation for how a piece of text ends ("" when it doesn't)."""
    tail = _TRAILING.search(piece)
    for ch in reversed(tail.group(0) if tail else ""):
        if ch in _MARK:
            return _MARK[ch]
    return ""


async def _espeak_ipa(program: str, text: str, voice: str) -> str:
    args = ["-q", "--ipa", "--tie=^", "-v", voice]
    out = await run_espeak(program, args, text, "espeak-ng could not read that")
    return out.decode(errors="replace")


async def phonemize(program: str, text: str, voice: str = "en-us") -> str:
    """Kokoro phonemes for a clause, its inner punctuation kept (one espeak-ng run per part)."""
    parts = [p for p in re.split(r"(?<=[,;:—–])\s+", text.strip()) if p.strip()]
    bare = [_TRAILING.sub("", p) for p in parts]
    ipas = await asyncio.gather(*(_espeak_ipa(program, b, voice) for b in bare if b))
    it = iter(ipas)
    out = []
    for part, b in zip(parts, bare, strict=True):
        spoken = from_espeak(next(it)) if b else ""
        out.append(spoken + _ending(part))
    return " ".join(p for p in out if p)


def tokens(phonemes: str, vocab: Mapping[str, int], limit: int = 510) -> list[list[int]]:
    """Token ids for the phonemes, in runs of at most `limit` (Kokoro's context), broken at
    spaces; symbols outside the vocabulary are left out."""
    runs: list[list[int]] = [[]]
    for word in phonemes.split(" "):
        ids = [vocab[c] for c in word if c in vocab]
        space = [vocab[" "]] if runs[-1] and " " in vocab else []
        if len(runs[-1]) + len(space) + len(ids) > limit and runs[-1]:
            runs.append([])
            space = []
        runs[-1].extend(space + ids[:limit])
    return [r for r in runs if r]
