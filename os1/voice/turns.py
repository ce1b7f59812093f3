"""Decide when the user's turn starts and ends, from voice activity and a silence hangover.

A turn starts once enough speech is heard: `start_ms` while she is quiet, `barge_in_ms`
while she is speaking, so a backchannel ("mm-hm") shorter than that never stops her.
Short gaps (`gap_ms`) inside that onset are bridged; a longer one discards it. A turn
ends only after `hangover_ms` of silence, so a pause inside a sentence never ends it.
At the start it sends `Interruption` (before the audio, so playback stops at once), then
the audio, then `SpeechStarted` telling the recogniser how much of its recent audio the
turn already holds.

Two early signals shorten the wait. After `speculate_ms` of silence inside a turn it sends
`SpeechPaused` (the recogniser starts on the turn so far) and, if the user talks again,
`SpeechResumed` (that early transcript is stale). While she is speaking, the first sign of
the user's speech sends `Duck(duck_gain)` ahead of the audio, so her volume drops at once;
an onset that is discarded (a backchannel, a cough) sends `Duck(1.0)` to restore it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .audio import resample, to_float, to_pcm
from .frames import (
    AudioIn,
    Duck,
    EndFrame,
    Frame,
    Interruption,
    SpeechPaused,
    SpeechResumed,
    SpeechStarted,
    SpeechStopped,
)
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
    speculate_ms: int = 200  # silence that starts recognition early (0: never)
    duck_gain: float = 0.3  # her volume while an onset over her is unconfirmed (1.0: off)

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
        self._paused = self._ducked = False

    async def process(self, frame: Frame) -> None:
        if isinstance(frame, AudioIn):
            await self._audio(frame)
        elif isinstance(frame, EndFrame) and self.in_turn:
            # The input ended mid-turn: what was said is still a turn to answer.
            self.in_turn = self._paused = False
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
        events: list[str] = []
        lead = 0
        while self._pending.size >= size:
            window, self._pending = self._pending[:size], self._pending[size:]
            speech = self.vad.process(window) >= self.settings.threshold
            if "start" in events:
                lead += size
            for event in self._step(speech, size):
                if event == "start":
                    lead = self._onset_total
                events.append(event)
        early = {
            "duck": Duck(self.settings.duck_gain),
            "unduck": Duck(1.0),
            "start": Interruption(),
        }
        late = {"pause": SpeechPaused(), "resume": SpeechResumed(), "stop": SpeechStopped()}
        for event in events:
            if event in early:
                await self.push(early[event])
        await self.push(frame)
        for event in events:
            if event == "start":
                await self.push(SpeechStarted(lead_samples=lead + self._pending.size))
            elif event in late:
                await self.push(late[event])

    def _step(self, speech: bool, n: int) -> list[str]:
        s = self.settings
        if self.in_turn:
            return self._in_turn(speech, n)
        events = []
        if speech:
            if not self._onset_total and self.is_speaking() and s.duck_gain != 1.0:
                self._ducked = True
                events.append("duck")
            self._onset_speech += n
            self._onset_total += n
            self._silence = 0
        elif self._onset_total:
            self._onset_total += n
            self._silence += n
            if self._silence >= s.samples(s.gap_ms):
                self._onset_speech = self._onset_total = self._silence = 0
                if self._ducked:
                    self._ducked = False
                    events.append("unduck")
        needed = s.barge_in_ms if self.is_speaking() else s.start_ms
        if self._onset_speech and self._onset_speech >= s.samples(needed):
            self.in_turn = True
            self._silence = 0
            self._ducked = False  # the interruption stops her (and resets her volume)
            events.append("start")
        return events

    def _in_turn(self, speech: bool, n: int) -> list[str]:
        s = self.settings
        events = []
        if speech:
            self._silence = 0
            if self._paused:
                self._paused = False
                events.append("resume")
            return events
        self._silence += n
        speculate = 0 < s.speculate_ms < s.hangover_ms
        if speculate and not self._paused and self._silence >= s.samples(s.speculate_ms):
            self._paused = True
            events.append("pause")
        if self._silence >= s.samples(s.hangover_ms):
            self.in_turn = self._paused = False
            self._onset_speech = self._onset_total = self._silence = 0
            events.append("stop")
        return events
