"""Voice-to-voice latency and barge-in reaction time, through the real voice pipeline.

Run: python bench/voice_latency.py [--voice female|male] [--utterances 8] [--barge-ins 10]

Everything runs in real time through `os1.voice.conversation.build_pipeline` with the
engines `default_engines` picks for her voice (Silero VAD, Whisper tiny.en; for `--voice
female`, her default, Kokoro-82M; for male, Piper joe in its worker).
A simulated microphone hands the pipeline one 32 ms block of audio when that block has
"happened" (block k at t0 + (k+1) x 32 ms, as a sound card delivers it), so the pipeline
never sees audio early; her audio goes to a speaker that notes when it gets its first
samples (the pipeline's Playback clocks her speech by the microphone blocks, as a duplex
sound device does).

1. Voice-to-voice latency. Companion-style utterances are synthesised with Piper (joe, two
   speeds) and espeak-ng (female, male), trimmed to the speech (the true last syllable is
   the last 10 ms window within 40 dB of the loudest one) and played after 0.4 s of
   silence. The clock runs from that last syllable to her first audio sample out, split
   into: end-of-turn wait (the VAD's silence hangover and lag, up to `SpeechStopped`),
   recognition (to the `Transcript`: what is left of it, since it starts speculatively
   at the first `speculate_ms` of silence and that result is used if no speech follows),
   the answer's first speakable chunk (to the first `ReplyText` that is not an
   acknowledgement), its synthesis (to its first audio reaching playback), and playout
   (to the next microphone block, which carries her first samples out: the answer's, or
   an acknowledgement's when the answer was late). Each utterance goes through three
   loops in the same run, in rotating order, each its own session (its own Companion and
   home):
   - SmolLM2 as shipped: the real `Companion` with the bundled model, whose reply starts
     from the early transcript (`Companion.prefetch`: the model runs while the end of the
     turn is still being confirmed), whose short phrases, once synthesised, are kept, and
     who says a short acknowledgement ("Hmm,") if the answer is not ready 250 ms after the
     transcript, with the spoken-conversation note in her prompt, as `VoiceSession` runs
     it by default (with `--smart-turn`, her turn detector also asks Smart Turn at the
     first pause whether the user has finished, and ends the turn there if so);
   - the baseline, SmolLM2 with no head start: the same without those (the pipeline
     before them: the turn ends after the 500 ms hangover, the reply starts at the final
     transcript, and she is silent until the answer comes);
   - no model: an instant `ScriptedModel`, so the difference is the model's share.
   SmolLM2 samples at the configured temperature, as a user would run it (`--temperature 0`
   makes it open nearly every reply with the same refusal). Once her first audio is out
   the turn is cut off (the pipeline stops), so the run stays short.
2. Barge-in reaction time. She speaks a long scripted reply with real Piper audio; while it
   plays, a synthesised interjection is injected into the microphone (earpiece mode: the
   microphone does not hear her). From the interjection's speech onset to her volume
   ducked (the `Duck` frame passing playback) and to the speaker's `clear()` (playback
   stopped), against the configured confirmation window `barge_in_ms`.

The machine is shared and the numbers are noisy: read medians and ratios. p95 over 8-10
trials is close to the maximum.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import sys
import tempfile
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import describe, median, table
from voice_rig import BLOCK, RATE, Marks, Microphone, Observer, TimedSpeaker, make_clips

from os1.companion import Companion
from os1.config import load_config
from os1.persona import Persona, Profile
from os1.testing import ScriptedModel
from os1.voice.audio import to_pcm
from os1.voice.conversation import Recognition, build_pipeline
from os1.voice.engines import PiperSynthesiser, default_engines
from os1.voice.expression import hint
from os1.voice.frames import (
    Transcript,
)
from os1.voice.pipeline import Pipeline
from os1.voice.session import ACKNOWLEDGE_MS
from os1.voice.synthesis import Synthesis
from os1.voice.turns import TurnSettings

LEAD_S = 0.4  # silence before each utterance
TURN_TIMEOUT_S = 20.0  # after the last syllable, give up on a turn
TARGET_S = 1.0
HUMAN_GAP_S = 0.2

# No "do you remember …" questions: the Companion answers those from memory, without the model.
UTTERANCES = [
    "I had a really long day at work and I just want to talk for a bit.",
    "What do you think I should cook for dinner tonight?",
    "I went for a long walk by the river this evening.",
    "I'm feeling a little nervous about the interview on Monday.",
    "Let's plan something fun for Saturday afternoon.",
    "Tell me something that made you laugh today.",
    "I can't sleep. Can we talk for a while?",
    "My sister called me this morning and we had a fight.",
]
INTERJECTIONS = [
    "Wait, hold on a second.",
    "Sorry, can I say something?",
    "No, that's not what I meant.",
    "Hang on, I have a question.",
    "Actually, let me stop you there.",
]
STORY = (
    "Once upon a time there was a lighthouse keeper who lived alone on a small rocky island. "
    "Every evening he climbed the long spiral staircase to light the great lamp at the top. "
    "One stormy night he saw a small boat tossed by the waves, far out beyond the reef. "
    "He watched it for hours, and at dawn he rowed out to find it."
)
SCRIPTED_REPLY = "Oh, that sounds like a lot. Tell me more about it, I'm listening."


@dataclass
class Loop:
    vad: Any
    stt: Any
    synth: Any
    speaker: TimedSpeaker
    settings: TurnSettings
    recognition: Recognition | None = None
    synthesis: Synthesis | None = None

    def pipeline(
        self,
        reply: Callable[[str], AsyncIterator[str]],
        prefetch: Callable[[str], Any] | None = None,
        cache: OrderedDict[str, list[tuple[bytes, int]]] | None = None,
        acknowledge_ms: int | None = None,
        end_of_turn: Any = None,
    ) -> tuple[Pipeline, Marks]:
        marks = Marks()
        self.speaker.marks = marks
        self.vad.reset()  # one trial is one fresh stream
        built = build_pipeline(
            reply, self.vad, self.stt, self.synth, self.speaker, turns=self.settings,
            prefetch=prefetch, acknowledge_ms=acknowledge_ms, end_of_turn=end_of_turn,
        )  # fmt: skip
        self.recognition = next(p for p in built.processors if isinstance(p, Recognition))
        self.synthesis = next(p for p in built.processors if isinstance(p, Synthesis))
        # A variant is one session: its phrases stay synthesised from trial to trial.
        self.synthesis.cache = OrderedDict() if cache is None else cache
        # Same processors, rewired with observers: before playback, and of what falls off.
        steps = built.processors
        return Pipeline([*steps[:-1], Observer(marks), steps[-1]], marks.on_output), marks


@dataclass
class Variant:
    """One way of running the loop: which reply, with or without the head starts."""

    name: str
    companion: Companion
    head_start: bool  # the reply starts from the early transcript (Companion.prefetch)
    phrase_cache: bool  # short phrases said before are not synthesised again
    acknowledge: bool = False  # "Hmm," while the answer is late (ACKNOWLEDGE_MS)
    end_of_turn: Any = None  # Smart Turn: may end the user's turn at the first pause
    style: str = ""  # the spoken-conversation note VoiceSession gives the model
    cache: OrderedDict[str, list[tuple[bytes, int]]] = field(default_factory=OrderedDict)

    def reply(self, text: str) -> AsyncIterator[str]:
        return self.companion.reply("bench", text, style=self.style)

    @property
    def prefetch(self) -> Callable[[str], Any] | None:
        if not self.head_start:
            return None
        return lambda text: self.companion.prefetch("bench", text, style=self.style)


# --- 1. voice-to-voice latency ------------------------------------------------------------


STAGES = [
    ("end-of-turn wait (hangover + VAD lag)", "eot"),
    ("recognition (Whisper, the rest after end of turn)", "stt"),
    ("the answer's first speakable chunk", "reply"),
    ("its synthesis (her voice, or the phrase cache)", "tts"),
    ("**the answer's first audio ready** (sum of the above)", "answer"),
    ("playout (next 32 ms audio block)", "out"),
]


async def latency_trial(loop: Loop, variant: Variant, clip: np.ndarray) -> dict[str, Any]:
    pipeline, marks = loop.pipeline(
        variant.reply,
        variant.prefetch,
        variant.cache if variant.phrase_cache else None,
        ACKNOWLEDGE_MS if variant.acknowledge else None,
        variant.end_of_turn,
    )
    hits_before = loop.synthesis.cache_hits if loop.synthesis else 0
    mic = Microphone(pipeline)
    mic.audio = np.concatenate([np.zeros(int(LEAD_S * RATE), np.float32), clip])
    end = mic.block_time(0) + mic.audio.size / RATE  # the true last syllable
    try:
        while (marks.first_play is None or marks.answer_audio is None) and (
            time.monotonic() < end + TURN_TIMEOUT_S
        ):
            await mic.tick()
    finally:
        await pipeline.stop()
    await asyncio.sleep(0.2)  # let a cancelled generation thread notice and stop
    if marks.first_play is None or marks.transcript is None or marks.first_chunk is None:
        raise RuntimeError(f"no reply within {TURN_TIMEOUT_S:.0f} s: {marks}")
    t_text, text = marks.transcript
    stop = max(t for t in marks.stopped if t <= t_text)
    t_chunk, chunk = marks.first_chunk
    assert marks.answer_audio is not None and marks.first_audio is not None
    return {
        "eot": stop - end,
        "stt": t_text - stop,
        "reply": t_chunk - t_text,
        "tts": marks.answer_audio - t_chunk,
        "answer": marks.answer_audio - end,
        "ack": marks.ack,
        "out": marks.first_play - marks.first_audio,
        "total": marks.first_play - end,
        "turns": len(marks.stopped),
        "speculative": bool(loop.recognition and loop.recognition.speculative_hits),
        "cached": bool(loop.synthesis and loop.synthesis.cache_hits > hits_before),
        "heard": text,
        "chunk": chunk,
        "late": mic.late,
    }


async def open_companion(
    home: str, model: Any, tokens: int, temperature: float | None
) -> Companion:
    env = {
        "OS1_HOME": home,
        "OS1_USER": "bench",
        "OS1_MAX_REPLY_TOKENS": str(tokens),
    }
    if temperature is not None:
        env["OS1_TEMPERATURE"] = str(temperature)
    companion = await Companion.open(load_config(env=env), model=model, embedder=None)
    persona = Persona("Samantha", "I liked the sound of it.", "female", "warm", "her")
    await companion.save_persona("bench", persona, Profile.from_dict({"call_me": "Theo"}))
    return companion


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


# --- 2. barge-in --------------------------------------------------------------------------


async def story(_text: str) -> AsyncIterator[str]:
    for word in STORY.split(" "):
        yield word + " "


async def barge_trial(loop: Loop, clip: np.ndarray, delay: float) -> dict[str, Any]:
    pipeline, marks = loop.pipeline(story)
    mic = Microphone(pipeline)
    pipeline.put(Transcript("Tell me a story."))  # her turn, without the user's audio
    onset: float | None = None
    try:
        while time.monotonic() < mic.t0 + 30:
            if onset is None and marks.first_play and time.monotonic() >= marks.first_play + delay:
                start = mic.k * BLOCK  # the interjection starts with the next block
                mic.audio = np.concatenate([np.zeros(start, np.float32), clip])
                onset = mic.block_time(mic.k)
            await mic.tick()
            if onset is not None and (
                marks.cleared or marks.interruption or time.monotonic() > onset + 3
            ):
                await mic.tick()  # one more block: nothing must play after the clear
                break
    finally:
        await pipeline.stop()
    if onset is None:
        raise RuntimeError("she never started speaking")
    stopped = marks.cleared or marks.interruption
    return {
        "reaction": (stopped - onset) if stopped else None,
        "duck": (marks.ducked - onset) if marks.ducked else None,
        "cleared": marks.cleared is not None,
        "played_after": marks.played_after_clear,
        "early": bool(stopped and stopped < onset),
    }


# --- the run ------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> None:
    began = time.monotonic()
    engines = default_engines(args.voice)
    vad, stt, tts = engines
    piper = tts if isinstance(tts, PiperSynthesiser) else PiperSynthesiser()  # the user's voice
    settings = TurnSettings(speculate_ms=args.speculate_ms)
    if args.whisper_threads and hasattr(stt, "cpu_threads"):
        stt.cpu_threads = args.whisper_threads
    loop = Loop(vad, stt, tts, TimedSpeaker(), settings)

    say = lambda *a: print(*a, file=sys.stderr, flush=True)  # noqa: E731
    say(f"warming up: Whisper, {tts.description}, the bundled model …")
    await piper.start()
    if tts is not piper:
        await tts.start()
    await stt.load()
    if args.smart_turn and engines.end_of_turn is not None:
        await engines.end_of_turn.load()
    texts = [UTTERANCES[i % len(UTTERANCES)] for i in range(args.utterances)]
    clips = await make_clips(piper, texts)
    await stt.transcribe(to_pcm(clips[0][1]), RATE)  # warm up on speech, not silence
    barge_texts = [INTERJECTIONS[i % len(INTERJECTIONS)] for i in range(args.barge_ins)]
    barge_clips = await make_clips(piper, barge_texts)

    with tempfile.TemporaryDirectory() as home:
        homes = [str(Path(home) / name) for name in ("a", "b", "c")]
        real = await open_companion(homes[0], None, args.tokens, args.temperature)
        before = await open_companion(homes[1], None, args.tokens, args.temperature)
        scripted_model = ScriptedModel([SCRIPTED_REPLY] * 1000, context_length=8192, small=True)
        scripted = await open_companion(homes[2], scripted_model, args.tokens, args.temperature)
        for companion in (real, before):
            async for _ in companion.reply("bench", "Hello."):  # loads the model
                pass
        variants = [
            Variant(
                "model",
                real,
                head_start=True,
                phrase_cache=True,
                acknowledge=True,
                style=hint(expressive=True),
                end_of_turn=engines.end_of_turn if args.smart_turn else None,
            ),
            Variant("before", before, head_start=False, phrase_cache=False),
            Variant("scripted", scripted, head_start=False, phrase_cache=False),
        ]
        say(f"ready after {time.monotonic() - began:.0f} s; {len(clips)} utterances x 3 loops")

        results: dict[str, list[dict[str, Any]]] = {v.name: [] for v in variants}
        for i, (label, clip) in enumerate(clips):
            k = i % len(variants)  # rotate the order, so no loop always goes first
            for variant in variants[k:] + variants[:k]:
                r = await latency_trial(loop, variant, clip)
                results[variant.name].append(r)
                say(
                    f"  {variant.name:8} {label:17} {clip.size / RATE:4.1f} s  "
                    f"total {ms(r['total'])} ms  (eot {ms(r['eot'])}, stt {ms(r['stt'])}, "
                    f"reply {ms(r['reply'])}, tts {ms(r['tts'])}, out {ms(r['out'])}, "
                    f"answer {ms(r['answer'])})  ack {r['ack']!r}  "
                    f"heard {r['heard']!r}  first chunk {r['chunk']!r}"
                    + ("  [cached]" if r["cached"] else "")
                )
        temperature = real.config.temperature
        claimed, started = real._speculations.claimed, real._speculations.started
        for companion in (real, before, scripted):
            await companion.close()

    say(f"barge-in: {len(barge_clips)} trials")
    barges = []
    for i, (label, clip) in enumerate(barge_clips):
        delay = 0.5 + 1.0 * i / max(1, len(barge_clips) - 1)  # 0.5 .. 1.5 s into her reply
        b = await barge_trial(loop, clip, delay)
        barges.append(b)
        say(
            f"  {label:17} after {delay:.2f} s: reaction "
            f"{ms(b['reaction']) if b['reaction'] is not None else 'none'} ms"
        )
    await piper.aclose()
    if tts is not piper:
        await tts.aclose()
    elapsed = time.monotonic() - began

    # --- the tables ---
    model, prior, base = results["model"], results["before"], results["scripted"]
    rows = []
    total = "**voice to voice: last syllable to her first audio out** (answer or acknowledgement)"
    for title, key in [*STAGES, (total, "total")]:
        row = [title]
        for trials in (model, prior, base):
            values = [r[key] for r in trials]
            row += [ms(median(values)), ms(pct(values, 95))]
        rows.append(row)
    tm, tp, ts = (median([r["total"] for r in t]) for t in (model, prior, base))
    rows.append(
        ["model's share (p50 difference)", f"{(tm - ts) * 1000:+.0f}", "",
         f"{(tp - ts) * 1000:+.0f}", "", "", ""]
    )  # fmt: skip
    print(f"## Voice-to-voice latency ({len(clips)} synthesised utterances, real time)\n")
    print(
        table(
            ["stage (ms)", "SmolLM2 p50", "p95", "SmolLM2, no head start p50", "p95",
             "no model p50", "p95"],
            rows,
        )
    )  # fmt: skip
    print(
        f"\nRatios (p50 totals): SmolLM2 / SmolLM2 with no head start {tm / tp:.2f}x; "
        f"SmolLM2 / no model {tm / ts:.2f}x. "
        f"Target: <= {TARGET_S * 1000:.0f} ms p50 for the whole loop "
        f"({'met' if tm <= TARGET_S else 'missed'}: {ms(tm)} ms); "
        f"human turn gaps are about {HUMAN_GAP_S * 1000:.0f} ms "
        f"({tm / HUMAN_GAP_S:.1f}x that)."
    )
    acked = [r for r in model if r["ack"]]
    print(
        f"Head start: the reply began from the early transcript in {claimed} of {len(model)} "
        f"turns ({started} started); the answer's first chunk came from the phrase cache in "
        f"{sum(r['cached'] for r in model)} of {len(model)} turns. She acknowledged first "
        f"(the answer not ready {ACKNOWLEDGE_MS} ms after the transcript) in {len(acked)} of "
        f"{len(model)} turns: " + ", ".join(sorted({r["ack"] for r in acked})) + "."
    )
    extra = sum(r["turns"] > 1 for r in model + prior + base)
    if extra:
        print(f"Note: in {extra} trials the VAD ended a turn early (a pause inside the utterance).")
    every = model + prior + base
    spec = sum(r["speculative"] for r in every)
    print(
        f"Speculative recognition (started at {settings.speculate_ms} ms of silence) was used "
        f"in {spec} of {len(every)} turns; the others were transcribed again."
    )
    late = max(r["late"] for r in every)
    print(f"Worst microphone block lateness (event loop busy): {late * 1000:.0f} ms.")

    reactions = [b["reaction"] for b in barges if b["reaction"] is not None]
    window = settings.barge_in_ms / 1000
    print(f"\n## Barge-in reaction ({len(barges)} interjections over her Piper audio)\n")
    ducks = [b["duck"] for b in barges if b["duck"] is not None]
    brows = [
        [
            f"speech onset to her volume ducked (x{settings.duck_gain})",
            ms(median(ducks)) if ducks else "-",
            ms(pct(ducks, 95)) if ducks else "-",
            f"{median(ducks) / window:.2f}" if ducks else "-",
        ],
        [
            "speech onset to playback stopped",
            ms(median(reactions)),
            ms(pct(reactions, 95)),
            f"{median(reactions) / window:.2f}",
        ],
        ["baseline: confirmation window (barge_in_ms)", ms(window), "", "1.00"],
    ]
    print(table(["measure (ms)", "p50", "p95", "ratio to window"], brows))
    missed = len(barges) - len(reactions)
    odd = sum(b["early"] or b["played_after"] or not b["cleared"] for b in barges)
    print(
        f"\nMissed (never stopped within 3 s): {missed}; stopped before the onset, "
        f"played after the stop, or stopped without a clear: {odd}."
    )

    lead_ms = inspect.signature(Recognition).parameters["lead_ms"].default
    print(
        f"\nSettings: VAD threshold {settings.threshold}, hangover {settings.hangover_ms} ms, "
        f"start {settings.start_ms} ms, barge-in {settings.barge_in_ms} ms, "
        f"gap {settings.gap_ms} ms, duck x{settings.duck_gain}, {BLOCK / RATE * 1000:.0f} ms "
        f"blocks; recognition speculative from {settings.speculate_ms} ms of silence "
        f"(lead {lead_ms} ms), "
        f"Whisper {stt.cpu_threads} thread(s); reply cut at {args.tokens} tokens, "
        f"temperature {temperature}; earpiece mode (no echo of her voice in the microphone); "
        + (
            f"Smart Turn (SmolLM2 loop only): complete at >= {settings.semantic_threshold}, "
            f"else up to {settings.max_hangover_ms} ms of silence."
            if args.smart_turn and engines.end_of_turn is not None
            else "no Smart Turn (the default; --smart-turn to try it)."
        )
    )
    print("Engines: " + "; ".join(engines.describe().splitlines()))
    print(
        f"Machine: {describe()}. Run took {elapsed:.0f} s; shared CPU, so noisy: "
        "read medians and ratios."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--utterances", type=int, default=8)
    parser.add_argument("--barge-ins", type=int, default=10)
    parser.add_argument("--tokens", type=int, default=48, help="longest reply, in tokens")
    parser.add_argument(
        "--voice", choices=("female", "male", "neutral"), default="female",
        help="her voice, as chosen at install (female: Kokoro; male: Piper joe)",
    )  # fmt: skip
    parser.add_argument(
        "--speculate-ms", type=int, default=TurnSettings.speculate_ms,
        help="silence that starts recognition (and the reply) early",
    )  # fmt: skip
    parser.add_argument(
        "--smart-turn", action="store_true",
        help="let Smart Turn end the user's turn at a pause (the `smart_turn` voice setting)",
    )  # fmt: skip
    parser.add_argument(
        "--whisper-threads", type=int, default=0, help="Whisper's threads (0: the engine's own)"
    )
    parser.add_argument(
        "--temperature", type=float, default=None, help="reply temperature (default: config's)"
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
