"""Decide when the user's turn starts and ends, from voice activity and a silence hangover.

A turn starts once enough speech is heard: `start_ms` while she is quiet, `barge_in_ms`
while she is speaking, so a backchannel ("mm-hm") shorter than that never stops her.
Short gaps (`gap_ms`) inside that onset are bridged; a longer one discards it. A turn
ends only after `hangover_ms` of silence, so a pause inside a sentence never ends it.
At the start it sends `Interruption` (before the audio, so playback stops at once), then
the audio, then `SpeechStarted` telling the recogniser how much of its recent audio the
turn already holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .audio import resample, to_float, to_pcm
from .frames import AudioIn, EndFrame, Frame, Interruption, SpeechStarted, SpeechStopped
from .interfaces import VoiceActivity
from .pipeline import Processor

RATE = 16000


@dataclass(frozen=True)
class TurnSettings:
    threshold: float = 0.5  # VAD probability counted as speech
    start_ms: int = 100  # speech that starts a turn while she is quiet
    barge_in_ms: int = 200  # speech that starts a turn (and stops her) while she speaks
    gap_ms: int = 150  # silence that discards a not-yet-confirmed onset
    hangover_ms: int = 500  # silence that ends a turn

    def samples(self, ms: int) -> int:
        return ms * RATE // 1000


class TurnDetector(Processor):
    """Turns `AudioIn` into turn events; `is_speaking` tells it whether she is talking."""

    def __init__(
        self,
        vad: VoiceActivity,
        settings: TurnSettings | None = None,
        is_speaking: Callable[[], bool] | None = None,
    ) -> None:
        super().__init__()
        self.vad = vad
        self.settings = settings or TurnSettings()
        self.is_speaking = is_speaking or (lambda: False)
        self.in_turn = False
        self._pending = np.zeros(0, dtype=np.float32)
        self._onset_speech = self._onset_total = self._silence = 0

    async def process(self, frame: Frame) -> None:
        if isinstance(frame, AudioIn):
            await self._audio(frame)
        elif isinstance(frame, EndFrame) and self.in_turn:
            # The input ended mid-turn: what was said is still a turn to answer.
            self.in_turn = False
            await self.push(SpeechStopped())
            await self.push(frame)
        else:
            await self.push(frame)

    async def _audio(self, frame: AudioIn) -> None:
        samples = to_float(frame.pcm)
        if frame.sample_rate != RATE:
            samples = resample(samples, frame.sample_rate, RATE)
            frame = AudioIn(to_pcm(samples), RATE)
        self._pending = np.concatenate([self._pending, samples])
        size = self.vad.frame_size
        started = stopped = False
        lead = 0
        while self._pending.size >= size:
            window, self._pending = self._pending[:size], self._pending[size:]
            speech = self.vad.process(window) >= self.settings.threshold
            if started:
                lead += size
            event = self._step(speech, size)
            if event == "start":
                started, lead = True, self._onset_total
            elif event == "stop":
                stopped = True
        if started:
            await self.push(Interruption())
        await self.push(frame)
        if started:
            await self.push(SpeechStarted(lead_samples=lead + self._pending.size))
        if stopped:
            await self.push(SpeechStopped())

    def _step(self, speech: bool, n: int) -> str | None:
        s = self.settings
        if self.in_turn:
            self._silence = 0 if speech else self._silence + n
            if self._silence >= s.samples(s.hangover_ms):
                self.in_turn = False
                self._onset_speech = self._onset_total = self._silence = 0
                return "stop"
            return None
        if speech:
            self._onset_speech += n
            self._onset_total += n
            self._silence = 0
        elif self._onset_total:
            self._onset_total += n
            self._silence += n
            if self._silence >= s.samples(s.gap_ms):
                self._onset_speech = self._onset_total = self._silence = 0
        needed = s.barge_in_ms if self.is_speaking() else s.start_ms
        if self._onset_speech and self._onset_speech >= s.samples(needed):
            self.in_turn = True
            self._silence = 0
            return "start"
        return None
