"""Wire the engines into one spoken exchange: hear a turn, answer, speak, track what was heard.

`build_pipeline` assembles TurnDetector → Recognition → Reply → Expression → Synthesis →
Playback around any engines that fit `interfaces`; `converse` drives it from a stream of
microphone frames, either in real time or as fast as possible (each frame waits until the
pipeline is idle, so processing takes no simulated time and a run is deterministic).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

from .expression import Expression
from .frames import (
    AudioIn,
    EndFrame,
    Frame,
    Heard,
    SpeechPaused,
    SpeechResumed,
    SpeechStarted,
    SpeechStopped,
    Transcript,
)
from .interfaces import PrefetchFn, Recogniser, ReplyFn, Speaker, Synthesiser, VoiceActivity
from .pipeline import Pipeline, Processor
from .playback import Playback
from .reply import ACKNOWLEDGEMENTS, Reply
from .semantic_turn import EndOfTurnModel
from .synthesis import Synthesis
from .turns import TurnDetector, TurnSettings
from .wavfile import WavSpeaker, wav_frames


class Recognition(Processor):
    """Keeps the audio of the user's turn and transcribes it when the turn ends.

    A little audio from before the confirmed start is kept (`lead_ms`), since a VAD
    notices speech late. If the user starts again before the last turn's transcript is
    out, the two turns are merged into one: it was one thought with a long pause.

    Speculatively: at `SpeechPaused` (a short silence inside the turn) it starts on the
    turn so far and pushes the result as an early `Transcript(final=False)`; if the turn
    then ends with no more speech, that transcript becomes the final one (the recogniser is
    not called again); `SpeechResumed` discards it.
    """

    def __init__(self, stt: Recogniser, rate: int = 16000, lead_ms: int = 150) -> None:
        super().__init__()
        self.stt, self.rate = stt, rate
        self._lead = lead_ms * rate // 1000 * 2
        self._recent = bytearray()
        self._turn: bytearray | None = None
        self._pending: tuple[asyncio.Task[None], bytes] | None = None
        self._guess: asyncio.Task[str] | None = None
        self.speculative_hits = 0  # turns answered from an early transcript

    async def process(self, frame: Frame) -> None:
        if isinstance(frame, AudioIn):
            if self._turn is not None:
                self._turn += frame.pcm
            else:
                self._recent = (self._recent + frame.pcm)[-self.rate * 4 :]  # 2 s of int16
        elif isinstance(frame, SpeechStarted):
            self._discard()
            start = max(0, len(self._recent) - frame.lead_samples * 2 - self._lead)
            self._turn = bytearray(self._recent[start:])
            if self._pending is not None and not self._pending[0].done():
                self._pending[0].cancel()
                self._turn[:0] = self._pending[1]
            self._pending = None
        elif isinstance(frame, SpeechPaused) and self._turn is not None:
            self._discard()
            self._guess = self.spawn(self._early(bytes(self._turn)))
        elif isinstance(frame, SpeechResumed):
            self._discard()
        elif isinstance(frame, SpeechStopped) and self._turn is not None:
            audio, self._turn, self._recent = bytes(self._turn), None, bytearray()
            guess, self._guess = self._guess, None
            if guess is not None:
                self.speculative_hits += 1
            self._pending = (self.spawn(self._transcribe(audio, guess)), audio)
        await self.push(frame)

    def _discard(self) -> None:
        if self._guess is not None:
            self._guess.cancel()
            self._guess = None

    async def _recognise(self, audio: bytes) -> str:
        return (await self.stt.transcribe(audio, self.rate)).strip()

    async def _early(self, audio: bytes) -> str:
        # Told at once (not final), so the reply can get ready while the turn may still go on.
        text = await self._recognise(audio)
        if text:
            await self.push(Transcript(text, final=False))
        return text

    async def _transcribe(self, audio: bytes, guess: asyncio.Task[str] | None) -> None:
        text = await (guess if guess is not None else self._recognise(audio))
        if text:
            await self.push(Transcript(text, final=True))


def build_pipeline(
    reply: ReplyFn,
    vad: VoiceActivity,
    stt: Recogniser,
    tts: Synthesiser,
    speaker: Speaker,
    *,
    turns: TurnSettings | None = None,
    on_heard: Callable[[Heard], Awaitable[None]] | None = None,
    pad_silence: bool = False,
    output_rate: int | None = None,
    on_output: Callable[[Frame], None] | None = None,
    prefetch: PrefetchFn | None = None,
    acknowledge_ms: int | None = None,
    expressive: bool = True,
    end_of_turn: EndOfTurnModel | None = None,
) -> Pipeline:
    """The whole voice loop around `reply` (e.g. `lambda text: companion.reply(user, text)`).

    `on_output` sees each frame that leaves the last step (turn events, transcripts, reply
    text, `Heard`), as it happens; `prefetch` gets early transcripts (`Companion.prefetch`);
    `acknowledge_ms`: how long she may think before a short acknowledgement (None: never);
    `expressive`: her laughs, sighs and pauses are heard (else only her words);
    `end_of_turn`: a model that may end the user's turn at a pause (see `TurnDetector`).
    """
    playback = Playback(speaker, output_rate, pad_silence, on_heard)
    return Pipeline(
        [
            TurnDetector(vad, turns, is_speaking=playback.speaking, end_of_turn=end_of_turn),
            Recognition(stt),
            Reply(reply, prefetch=prefetch, acknowledge_ms=acknowledge_ms),
            Expression(expressive, tts),
            Synthesis(tts, warm=ACKNOWLEDGEMENTS if acknowledge_ms is not None else ()),
            playback,
        ],
        on_output,
    )


async def converse(
    pipeline: Pipeline,
    frames: Iterable[AudioIn],
    *,
    realtime: bool = False,
    max_tail_s: float = 120.0,
) -> list[Frame]:
    """Feed microphone frames, then silence until she has finished answering; then end.

    `realtime` hands each frame over once its duration has elapsed (frame k at start +
    (k + 1) x its duration, as a microphone would); otherwise each
    frame waits for the pipeline to go idle. Returns everything the pipeline put out.
    """
    turns = next(p for p in pipeline.processors if isinstance(p, TurnDetector))
    playback = next(p for p in pipeline.processors if isinstance(p, Playback))
    clock = time.monotonic()
    last = AudioIn(b"", 16000)

    async def due(frame: AudioIn) -> None:
        # A sound card hands over a block once its duration has passed, never before.
        nonlocal clock
        if realtime:
            clock += frame.samples / frame.sample_rate
            await asyncio.sleep(max(0.0, clock - time.monotonic()))

    async def feed(frame: AudioIn) -> None:
        pipeline.put(frame)
        if not realtime:
            await pipeline.idle()

    for frame in frames:
        await due(frame)
        await feed(frame)
        last = frame
    silence = AudioIn(bytes(len(last.pcm) or 1024), last.sample_rate)
    tail = 0.0
    while tail < max_tail_s:
        await due(silence)  # (in real time, the pipeline has had a block's time to work)
        if not (turns.in_turn or pipeline.busy() or playback.speaking()):
            break
        await feed(silence)
        tail += silence.samples / silence.sample_rate
    pipeline.put(EndFrame())
    return await pipeline.run()


async def converse_files(
    in_path: Path, out_path: Path, reply: ReplyFn, vad: VoiceActivity, stt: Recogniser,
    tts: Synthesiser, *, realtime: bool = False, **options: Any,
) -> list[Frame]:  # fmt: skip
    """`os1 voice --in question.wav --out answer.wav`: one whole exchange, file to file."""
    speaker = WavSpeaker(out_path)
    pipeline = build_pipeline(reply, vad, stt, tts, speaker, **options)
    try:
        return await converse(pipeline, wav_frames(in_path), realtime=realtime)
    finally:
        speaker.close()
