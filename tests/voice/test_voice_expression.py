"""Expression: her words spoken, her laughs, sighs and pauses rendered (or left out), honestly."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from itertools import groupby

import numpy as np
import pytest
from voice_fakes import ListSpeaker, ToneSynthesiser

from os1.voice.audio import to_float
from os1.voice.expression import (
    EXPRESSIVE_HINT,
    LAUGH_TEXT,
    PLAIN_HINT,
    Expression,
    hint,
    say,
)
from os1.voice.frames import (
    AudioIn,
    AudioOut,
    EndFrame,
    Frame,
    Heard,
    Interruption,
    ReplyDone,
    ReplyText,
)
from os1.voice.nonverbal import ELLIPSIS_PAUSE_S, Nonverbal, mark_directions, sigh
from os1.voice.pipeline import Pipeline
from os1.voice.playback import Playback
from os1.voice.sentences import speakable
from os1.voice.synthesis import Synthesis

RATE = 22050


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def kinds(parts: list[str | Nonverbal]) -> list[str]:
    return [p.kind if isinstance(p, Nonverbal) else "words" for p in parts]


def said(parts: list[str | Nonverbal]) -> str:
    return " ".join(p for p in parts if isinstance(p, str))


def rms(pcm: bytes) -> float:
    return float(np.sqrt(np.mean(to_float(pcm) ** 2)))


async def run(pipeline: Pipeline, frames: list[Frame]) -> list[Frame]:
    return await pipeline.run([*frames, EndFrame()])


# --- What the text becomes ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("*laughs* That is so funny.", "laugh"),
        ("(laughs) That is so funny.", "laugh"),
        ("[laughs] That is so funny.", "laugh"),
        ("**giggles** That is so funny.", "laugh"),
        ("*chuckles softly* That is so funny.", "laugh"),
        ("Haha, that is so funny.", "laugh"),
        ("Ha ha ha! That is so funny.", "laugh"),
        ("*sighs* That is so funny.", "sigh"),
        ("_sighs_ That is so funny.", "sigh"),
        ("*takes a deep breath* That is so funny.", "sigh"),
        ("*pause* That is so funny.", "pause"),
        ("(a long pause) That is so funny.", "pause"),
    ],
)
def test_expression_reads_every_way_a_model_writes_a_direction(text: str, kind: str) -> None:
    on, off = Expression(True).pieces(text), Expression(False).pieces(text)
    assert kinds(on) == [kind, "words"]
    assert said(on) == said(off)
    assert words(said(off)) == ["that", "is", "so", "funny"]
    assert kinds(off) == ["words"]


def test_expression_off_never_reads_a_direction_aloud() -> None:
    text = "*laughs* Oh, you. *sighs* (pause) I *really* missed you... haha. *smiles* Truly."
    off = Expression(False).pieces(text)
    assert kinds(off) == ["words"]
    assert words(said(off)) == "oh you i really missed you truly".split()
    assert "*" not in said(off) and "asterisk" not in said(off)
    on = Expression(True).pieces(text)
    assert kinds(on) == [
        "laugh", "words", "sigh", "pause", "words", "pause", "laugh", "words",
    ]  # fmt: skip
    assert said(on) == "Oh, you. I really missed you... Truly."  # "*smiles*" has no sound


@pytest.mark.parametrize(
    "text",
    [
        "I *really* missed you (I think) and _truly_ so.",
        "I laughed (honestly) at the pause in that film.",
        "We sighed, paused, and laughed about it at 3.5 km.",
        "Read chapter 2 (the long one) [optional] before Friday.",
        "She said he, he said she. Breathe in, breathe out.",
    ],
)
def test_expression_never_loses_a_word(text: str) -> None:
    for expressive in (True, False):
        parts = Expression(expressive).pieces(text)
        assert kinds(parts) == ["words"]
        assert words(said(parts)) == words(text)


def test_expression_makes_markdown_emoji_and_links_speakable() -> None:
    assert say("## Plans\n- **Call** `Anna` 😀 _today_") == "Plans Call Anna today"
    assert say("See https://www.example.com/a_b?q=1. Then rest.") == (
        "See example dot com. Then rest."
    )
    assert say("Docs: <http://docs.python.org/3/>") == "Docs: docs dot python dot org"
    assert say("[the guide](https://x.org/guide) is good") == "the guide is good"
    assert say("*** 😀 ***") == ""


def test_expression_hints_use_the_notation_it_renders() -> None:
    assert hint(True) == EXPRESSIVE_HINT and hint(False) == PLAIN_HINT
    notation = re.findall(r"\*\w+\*|\.\.\.", EXPRESSIVE_HINT)
    assert notation == ["*laughs*", "*sighs*", "..."]
    assert kinds(Expression(True).pieces(" Yes ".join(notation) + " yes")) == [
        "laugh", "words", "sigh", "words", "pause", "words",
    ]  # fmt: skip
    assert "no stage directions" in PLAIN_HINT


def test_expression_directions_survive_the_splitters_cleaning_once_marked() -> None:
    # `speakable` strips asterisks: unmarked, "*laughs*" would arrive as the word "laughs".
    raw = "*laughs* I *really* do. *sighs softly*"
    assert mark_directions(raw) == "[laughs] I *really* do. [sighs softly]"
    assert mark_directions(mark_directions(raw)) == mark_directions(raw)
    marked = speakable(mark_directions(raw))
    assert marked == "[laughs] I really do. [sighs softly]"
    assert kinds(Expression(True).pieces(marked)) == ["laugh", "words", "sigh"]
    assert said(Expression(False).pieces(marked)) == "I really do."


# --- In the pipeline ---------------------------------------------------------------------


async def test_expression_frames_sounds_between_words_with_fresh_indices() -> None:
    tts = ToneSynthesiser(RATE)
    out = await run(
        Pipeline([Expression(True, tts), Synthesis(tts)]),
        [ReplyText("*sighs* I know... it hurts.", 1, 0), ReplyText("Haha, yes!", 1, 1)],
    )
    seen = [(type(f).__name__, f.text, f.index) for f in out if isinstance(f, ReplyText | AudioOut)]
    assert [key for key, _ in groupby(seen)] == [
        ("AudioOut", "*sighs*", 0),
        ("ReplyText", "I know...", 1),
        ("AudioOut", "I know...", 1),
        ("AudioOut", "", 2),
        ("ReplyText", "it hurts.", 3),
        ("AudioOut", "it hurts.", 3),
        ("AudioOut", "*laughs*", 4),
        ("ReplyText", "yes!", 5),
        ("AudioOut", "yes!", 5),
    ]
    # Only words reach the synthesiser, plus the laugh it is asked to say (once, in her voice).
    assert sorted(tts.spoken) == sorted(["I know...", "it hurts.", LAUGH_TEXT, "yes!"])
    audio = [f for f in out if isinstance(f, AudioOut)]
    assert {f.sample_rate for f in audio} == {RATE}
    pause = next(f for f in audio if f.index == 2)
    assert not any(pause.pcm) and pause.samples == round(ELLIPSIS_PAUSE_S * RATE)
    laugh = b"".join(f.pcm for f in audio if f.index == 4)
    assert laugh == b"".join([pcm async for pcm, _ in ToneSynthesiser(RATE).synthesize(LAUGH_TEXT)])


async def test_expression_off_sends_no_sounds_of_its_own() -> None:
    tts = ToneSynthesiser(RATE)
    out = await run(
        Pipeline([Expression(False, tts), Synthesis(tts)]),
        [ReplyText("*sighs* I know... *laughs* it hurts, haha.", 1, 0)],
    )
    assert tts.spoken == ["I know... it hurts."]
    assert {f.text for f in out if isinstance(f, AudioOut)} == {"I know... it hurts."}


async def test_expression_follows_a_change_of_setting_at_the_next_chunk() -> None:
    expression = Expression(True)
    assert kinds(expression.pieces("*sighs* Fine.")) == ["sigh", "words"]
    expression.expressive = False  # "Don't sigh at me."
    assert kinds(expression.pieces("*sighs* Fine.")) == ["words"]


async def play(pipeline: Pipeline, until, limit: int = 400) -> None:
    """Tick the playback clock with 32 ms of microphone silence until `until()` holds."""
    for _ in range(limit):
        if until():
            return
        pipeline.put(AudioIn(bytes(1024)))
        await pipeline.idle()
    raise AssertionError("playback never got there")


def heard(pipeline: Pipeline) -> list[Heard]:
    return [f for f in pipeline.output if isinstance(f, Heard)]


async def test_expression_heard_keeps_her_sounds_as_the_model_writes_them() -> None:
    tts = ToneSynthesiser(RATE)
    pipeline = Pipeline([Expression(True, tts), Synthesis(tts), Playback(ListSpeaker())])
    for frame in (ReplyText("*sighs* I know... it hurts.", 1, 0), ReplyText("Haha, yes!", 1, 1)):
        pipeline.put(frame)
    pipeline.put(ReplyDone(1))
    await play(pipeline, lambda: bool(heard(pipeline)))
    (done,) = heard(pipeline)
    assert not done.interrupted
    # (A pause is a chunk with no words: Playback joins it as an extra space.)
    assert " ".join(done.text.split()) == "*sighs* I know... it hurts. *laughs* yes!"
    await pipeline.stop()


@pytest.mark.parametrize(
    ("into_words", "expected"), [(None, ""), (0.0, "*sighs*"), (0.5, "*sighs* I")]
)
async def test_expression_interrupted_she_kept_only_the_sounds_and_words_heard(
    into_words: float | None, expected: str
) -> None:
    tts = ToneSynthesiser(RATE)
    playback = Playback(ListSpeaker())
    pipeline = Pipeline([Expression(True, tts), Synthesis(tts), playback])
    pipeline.put(ReplyText("*sighs* I know... it hurts.", 1, 0))
    pipeline.put(ReplyDone(1))
    breath = len(sigh(RATE, seed=1)) // 2
    words_len = 2 * 3200 * RATE // 16000  # ToneSynthesiser: 3200 samples a word at 16 kHz
    # None: cut a third of the way into the sigh (less than half a sigh is not a sigh).
    stop = breath // 3 if into_words is None else breath + int(into_words * words_len)
    await play(pipeline, lambda: playback.played_samples >= stop)
    pipeline.put(Interruption())
    await pipeline.idle()
    (cut,) = heard(pipeline)
    assert cut.interrupted and cut.text == expected
    await pipeline.stop()


class NativeTts(ToneSynthesiser):
    """A synthesiser that can laugh by itself (not sigh)."""

    expressions = frozenset({"laugh"})

    def __init__(self) -> None:
        super().__init__(RATE)
        self.rendered: list[str] = []

    async def render_nonverbal(self, kind: str) -> AsyncIterator[tuple[bytes, int]]:
        self.rendered.append(kind)
        yield b"\x07\x00" * 500, RATE


async def test_expression_an_engine_that_can_laugh_laughs_itself() -> None:
    tts = NativeTts()
    out = await run(
        Pipeline([Expression(True, tts), Synthesis(tts)]),
        [ReplyText("*laughs* Stop it. *sighs*", 1, 0)],
    )
    audio = {f.text: f for f in out if isinstance(f, AudioOut)}
    assert tts.rendered == ["laugh"] and audio["*laughs*"].pcm == b"\x07\x00" * 500
    assert tts.spoken == ["Stop it."]  # not asked to say "ha ha ha"
    assert audio["*sighs*"].pcm == sigh(RATE, seed=2)  # the second sound: made here


async def test_expression_without_a_synthesiser_laughs_four_voiced_syllables() -> None:
    expression = Expression(True)
    [(pcm, rate)] = [c async for c in expression.render(Nonverbal("laugh"))]
    x = to_float(pcm)
    assert rate == RATE and 0.8 < x.size / RATE < 1.0 and rms(pcm) > 0.05
    loud = np.convolve(np.abs(x), np.ones(660) / 660, "same") > 0.01
    assert np.count_nonzero(np.diff(loud.astype(int)) == 1) == 4  # ha-ha-ha-ha


# --- The sounds ----------------------------------------------------------------------------


def test_expression_a_sigh_is_a_quiet_breath_in_then_a_longer_one_out() -> None:
    pcm = sigh(RATE, seed=3)
    assert pcm == sigh(RATE, seed=3) and pcm != sigh(RATE, seed=4)  # reproducible, varied
    x = to_float(pcm)
    assert 0.95 < x.size / RATE < 1.1
    assert 0.02 < rms(pcm) < 0.05  # Piper speaks at an RMS of 0.1 to 0.17
    inhale, exhale = x[: int(0.32 * RATE)], x[int(0.4 * RATE) :]
    assert np.sqrt(np.mean(exhale**2)) > 1.5 * np.sqrt(np.mean(inhale**2))
    assert max(abs(x[:50]).max(), abs(x[-50:]).max()) < 0.01  # fades: no clicks
    power = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(x.size, 1 / RATE)
    band = power[(freqs > 300) & (freqs < 5000)].sum() / power.sum()
    assert band > 0.95  # breath through the mouth, not hiss or rumble
    assert len(sigh(16000)) == 2 * (int(0.32 * 16000) + int(0.08 * 16000) + int(0.62 * 16000))


# --- With the real engines -----------------------------------------------------------------


async def test_expression_piper_laughs_and_sighs_and_never_says_so(piper, whisper) -> None:
    # What the sentence splitter hands on once it marks directions (see mark_directions).
    chunks = [
        speakable(mark_directions("*sighs* I know how that feels.")),
        speakable(mark_directions("*laughs* That is so funny, I love it.")),
    ]
    out = await run(
        Pipeline([Expression(True, piper), Synthesis(piper)]),
        [ReplyText(text, 1, i) for i, text in enumerate(chunks)],
    )
    # Only her words went to the synthesiser (besides the laugh Expression asked it for).
    spoken = [f.text for f in out if isinstance(f, ReplyText)]
    assert spoken == ["I know how that feels.", "That is so funny, I love it."]
    audio = [f for f in out if isinstance(f, AudioOut)]
    breath = b"".join(f.pcm for f in audio if f.text == "*sighs*")
    laugh = b"".join(f.pcm for f in audio if f.text == "*laughs*")
    speech = b"".join(f.pcm for f in audio if f.text in spoken)
    assert {f.sample_rate for f in audio} == {22050}
    assert 0.95 < len(breath) / 2 / 22050 < 1.1
    assert 0.01 < rms(breath) < rms(speech) / 2  # there, and quieter than her words
    # Piper's voice varies a little each time: the laugh is heard as "ha ha", "haha", "aha"…
    laughing = re.compile(r"a?(ha)+h?")
    assert any(laughing.fullmatch(w) for w in words(await whisper.transcribe(laugh, 22050)))
    heard = await whisper.transcribe(b"".join(f.pcm for f in audio), 22050)
    # Read out, "laughs That is so funny" is heard as "Last set is so funny".
    plain = " ".join(w for w in words(heard) if not laughing.fullmatch(w))  # the laugh, if heard
    assert "i know how that feels that is so funny i love it" in plain, heard
    assert not re.search(r"laugh|sigh|asterisk", heard.lower()), heard


async def test_expression_piper_off_speaks_only_the_words(piper, whisper) -> None:
    text = speakable(mark_directions("*sighs* I know how that feels... *laughs* haha."))
    out = await run(Pipeline([Expression(False, piper), Synthesis(piper)]), [ReplyText(text)])
    audio = [f for f in out if isinstance(f, AudioOut)]
    assert [f.text for f in out if isinstance(f, ReplyText)] == ["I know how that feels..."]
    assert {f.text for f in audio} == {"I know how that feels..."}
    heard = await whisper.transcribe(b"".join(f.pcm for f in audio), 22050)
    assert " ".join(words(heard)) == "i know how that feels", heard
    assert not re.search(r"laugh|sigh|asterisk|ha ha", heard.lower()), heard
