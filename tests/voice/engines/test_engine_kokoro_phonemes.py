"""espeak-ng's IPA rewritten into Kokoro's phonemes, clauses, and token runs."""

from __future__ import annotations

import shutil

import pytest

from os1.voice.engines.kokoro_phonemes import clauses, from_espeak, phonemize, tokens


def test_kokoro_phonemes_diphthongs_become_single_symbols() -> None:
    assert from_espeak("həlˈo^ʊ") == "həlˈO"
    assert from_espeak("a^ɪm sɐmˈænθə") == "Im səmˈænθə"
    assert from_espeak("hˈa^ʊ ɑː^ɹ juː") == "hˈW ɑɹ ju"
    assert from_espeak("ɛnd^ʒˈɔ^ɪ tədˈe^ɪ") == "ɛnʤˈY tədˈA"
    assert from_espeak("bˈɛɾɚ  bˈɜːd\n") == "bˈɛɾəɹ bˈɜɹd"


def test_kokoro_phonemes_drop_language_switch_flags() -> None:
    assert from_espeak("(fr)kafe(en) ɪz") == "kafA ɪz"


def test_kokoro_phonemes_short_clauses_join_the_next() -> None:
    assert clauses("Oh, that sounds exhausting, and I think you should rest.") == [
        "Oh, that sounds exhausting,",
        "and I think you should rest.",
    ]
    assert clauses("Well, I never.") == ["Well, I never."]
    assert clauses("I know what you mean; really.") == ["I know what you mean; really."]


def test_kokoro_phonemes_tokens_skip_unknown_symbols_and_break_long_runs() -> None:
    vocab = {" ": 16, "a": 43, "b": 44}
    assert tokens("ab ?b", vocab) == [[43, 44, 16, 44]]
    runs = tokens(" ".join(["ab"] * 10), vocab, limit=8)
    assert all(len(r) <= 8 for r in runs) and len(runs) > 1
    assert sum(r.count(43) for r in runs) == 10


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="apt-get install espeak-ng")
async def test_kokoro_phonemes_from_espeak_keep_the_punctuation() -> None:
    program = shutil.which("espeak-ng")
    assert program is not None
    ps = await phonemize(program, "Hello there, I'm Samantha!")
    assert ps == "həlˈO ðˈɛɹ, Im səmˈænθə!"
