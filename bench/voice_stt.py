"""Speech recognition word error rate and real-time factor: Whisper tiny.en vs pocketsphinx.

Run: python bench/voice_stt.py [--runs 1]

Ten companion-style utterances are synthesised with the engines OS1 ships (Piper joe at two
speeds; espeak-ng female and male voices at two speeds), each clean and with pink noise
mixed in at 10 dB SNR, and resampled to 16 kHz. OS1's default recogniser (faster-whisper
tiny.en, int8, greedy, 1 thread) and the baseline (pocketsphinx 5 with its bundled en-us
model), measured in the same run on the same audio, transcribe every clip in turn.

WER is word-level edit distance over the reference word count, pooled per condition, after
normalising both sides: lower case, apostrophes dropped ("o'clock" -> "oclock"), other
punctuation and hyphens to spaces, numbers 0-99 spelled out ("5" -> "five"). RTF is
recognition time over audio length, the median over clips (and over runs). Synthetic speech
ranks engines; it does not predict WER on real voices.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import describe, median, table

from os1.voice.audio import SPEECH_RATE as WHISPER_RATE
from os1.voice.audio import pcm_at
from os1.voice.audio import to_pcm as float_to_pcm
from os1.voice.engines import (
    EspeakSynthesiser,
    PiperSynthesiser,
    SphinxRecogniser,
    WhisperRecogniser,
)

UTTERANCES = [
    "can you remind me to call my sister at five o'clock tomorrow",
    "I had a really long day at work and I just want to talk for a bit",
    "what do you think I should cook for dinner tonight",
    "do you remember what we talked about last weekend",
    "I'm feeling a little nervous about the interview on Monday",
    "could you read me the last letter from my mother",
    "let's plan something fun for Saturday afternoon",
    "I don't know why but I can't stop thinking about her",
    "please move my dentist appointment to next Thursday morning",
    "tell me something that made you laugh today",
]

# (label, engine, voice option, speed option)
VOICES = [
    ("Piper joe", "piper", None, 1.0),
    ("Piper joe slow", "piper", None, 1.25),
    ("espeak-ng female", "espeak", "female", 175),
    ("espeak-ng male slow", "espeak", "male", 140),
]

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def _number(n: int) -> str:
    if n < 20:
        return _ONES[n]
    tens, ones = divmod(n, 10)
    return _TENS[tens] + ("" if ones == 0 else " " + _ONES[ones])


def normalise(text: str) -> list[str]:
    text = text.lower().replace("'", "").replace("’", "")
    text = re.sub(r"\b\d{1,2}\b", lambda m: _number(int(m.group())), text)
    return re.sub(r"[^a-z0-9]+", " ", text).split()


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    """Word-level Levenshtein distance: substitutions, insertions and deletions."""
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i]
        for j, h in enumerate(hyp, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h)))
        prev = cur
    return prev[-1]


def pink_noise(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum /= np.sqrt(np.maximum(np.arange(spectrum.size), 1))
    noise = np.fft.irfft(spectrum, n)
    return noise / np.sqrt(np.mean(noise**2))


def add_noise(audio: np.ndarray, snr_db: float, seed: int) -> np.ndarray:
    rms = np.sqrt(np.mean(audio.astype(np.float64) ** 2))
    noise = pink_noise(audio.size, seed) * rms / 10 ** (snr_db / 20)
    return (audio + noise).astype(np.float32)


async def synthesise_all() -> list[tuple[str, int, np.ndarray]]:
    """(condition, utterance index, 16 kHz float32 audio) for every voice and noise level."""
    piper = PiperSynthesiser()
    clips = []
    try:
        for label, engine, voice, speed in VOICES:
            synth: PiperSynthesiser | EspeakSynthesiser
            if engine == "piper":
                piper.length_scale = float(speed)
                synth = piper
            else:
                synth = EspeakSynthesiser(str(voice), words_per_minute=int(speed))
            for i, text in enumerate(UTTERANCES):
                pcm, rate = b"", 0
                async for chunk, chunk_rate in synth.synthesize(text):
                    pcm += chunk
                    rate = chunk_rate
                audio = pcm_at(pcm, rate, WHISPER_RATE)
                clips.append((label, i, audio))
                clips.append((f"{label} + noise 10 dB", i, add_noise(audio, 10.0, seed=i)))
    finally:
        piper.close()
    return clips


async def run(runs: int) -> None:
    clips = await synthesise_all()
    engines: dict[str, WhisperRecogniser | SphinxRecogniser] = {
        "whisper": WhisperRecogniser(cpu_threads=1),
        "sphinx": SphinxRecogniser(),
    }
    # Warm both up on real speech (Whisper's first call on silence alone is slow).
    for engine in engines.values():
        await engine.transcribe(float_to_pcm(clips[0][2]), WHISPER_RATE)
    conditions = list(dict.fromkeys(c for c, _, _ in clips))
    errors = {(e, c): 0 for e in engines for c in conditions}
    ref_words = dict.fromkeys(conditions, 0)
    rtf: dict[tuple[str, str], list[float]] = {(e, c): [] for e in engines for c in conditions}
    ms: dict[tuple[str, str], list[float]] = {(e, c): [] for e in engines for c in conditions}
    for r in range(runs):
        for condition, i, audio in clips:
            pcm = float_to_pcm(audio)
            seconds = audio.size / WHISPER_RATE
            ref = normalise(UTTERANCES[i])
            if r == 0:
                ref_words[condition] += len(ref)
            for name, engine in engines.items():
                t = time.perf_counter()
                heard = await engine.transcribe(pcm, WHISPER_RATE)
                took = time.perf_counter() - t
                rtf[name, condition].append(took / seconds)
                ms[name, condition].append(took * 1000)
                if r == 0:
                    errors[name, condition] += edit_distance(ref, normalise(heard))

    def wer(name: str, conds: list[str]) -> float:
        return 100 * sum(errors[name, c] for c in conds) / sum(ref_words[c] for c in conds)

    rows = []
    for condition in [*conditions, "all"]:
        conds = conditions if condition == "all" else [condition]
        w_rtf = median([x for c in conds for x in rtf["whisper", c]])
        s_rtf = median([x for c in conds for x in rtf["sphinx", c]])
        rows.append(
            [
                condition if condition != "all" else "**all**",
                f"{wer('whisper', conds):.1f} %",
                f"{wer('sphinx', conds):.1f} %",
                f"{w_rtf:.3f}",
                f"{s_rtf:.3f}",
                f"{w_rtf / s_rtf:.2f}",
                f"{median([x for c in conds for x in ms['whisper', c]]):.0f}",
                f"{median([x for c in conds for x in ms['sphinx', c]]):.0f}",
            ]
        )
    print(
        f"Speech recognition, {len(UTTERANCES)} utterances x {len(conditions)} conditions "
        f"({sum(ref_words.values())} reference words), median of {runs} run(s)\n"
    )
    print(
        table(
            [
                "condition",
                "Whisper tiny.en WER",
                "pocketsphinx WER (baseline)",
                "Whisper RTF",
                "pocketsphinx RTF",
                "RTF ratio",
                "Whisper ms/utt",
                "pocketsphinx ms/utt",
            ],
            rows,
        )
    )
    print(f"\nMachine: {describe()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    asyncio.run(run(args.runs))


if __name__ == "__main__":
    main()
