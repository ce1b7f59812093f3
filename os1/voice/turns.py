"""Decide when the user's turn starts and ends: from voice activity, or from the talk key.

Open microphone: a turn starts once enough speech is heard: `start_ms` while she is quiet,
`barge_in_ms` while she is speaking, so a backchannel ("mm-hm") shorter than that never
stops her. Short gaps (`gap_ms`) inside that onset are bridged; a longer one discards it.
A turn ends only after `hangover_ms` of silence, so a pause inside a sentence never ends
it. At the start it sends `Interruption` (before the audio, so playback stops at once),
then the audio, then `SpeechStarted` telling the recogniser how much of its recent audio
the turn already holds.

Two early signals shorten the wait. After `speculate_ms` of silence inside a turn it sends
`SpeechPaused` (the recogniser starts on the turn so far) and, if the user talks again,
`SpeechResumed` (that early transcript is stale). While she is speaking, the first sign of
the user's speech sends `Duck(duck_gain)` ahead of the audio, so her volume drops at once;
an onset that is discarded (a backchannel, a cough) sends `Duck(1.0)` to restore it.

With an `end_of_turn` model (Smart Turn: os1.voice.engines.smart_turn), the pause also asks
it, in the background, whether the user has finished (semantic_turn.py keeps the audio).
"Complete" (probability >= `semantic_threshold`) with no speech since ends the turn at once,
about `speculate_ms` after the last syllable instead of `hangover_ms`; "not complete" lets
the silence run to `max_hangover_ms`, so a thinking pause mid-sentence is not cut off.
Speech cancels the question; a model slower than the hangover is waited for (up to
`PATIENCE_S`), and one that fails or hangs leaves the hangover in charge. Without a model
(None) nothing of this happens.

`mode="speaker"` (loudspeakers, no echo cancellation): while she speaks, and for
`echo_tail_ms` after, only speech `echo_margin` times louder than her own echo counts
(see `echo.EchoGate`); "earpiece" (headphones) lets any speech barge in.

Push-to-talk: `TalkKeyPressed` starts the turn at once (`Interruption`, `SpeechStarted`:
the key is unambiguous, so it stops her immediately) and `TalkKeyReleased` ends it after
`key_tail_ms` more audio, so the last syllable is not clipped; the VAD is not consulted
and audio outside the key is not part of any turn. On an open microphone the key still
starts a turn at once (the VAD then ends it): it is how to interrupt her over a loud echo.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .audio import resample, to_float, to_pcm
from .echo import EchoGate, level
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
    TalkKeyPressed,
    TalkKeyReleased,
)
from .interfaces import VoiceActivity
from .pipeline import Processor
from .semantic_turn import PATIENCE_S, EndOfTurnModel, TurnAudio, ask
from .settings import Mode, VoiceSettings

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
    mode: Mode = "earpiece"  # "speaker": the microphone hears her; gate out her echo
    echo_margin: float = 2.0  # how much louder (RMS) than her echo the user must be: 6 dB
    echo_learn_ms: int = 500  # her speech heard before any voice may interrupt her
    echo_tail_ms: int = 300  # her echo still in the room (and device buffers) after she stops
    push_to_talk: bool = False  # turns follow the talk key; the VAD is not used
    key_tail_ms: int = 150  # audio kept after the key is let go (the last syllable)
    # With an end-of-turn model, asked at the pause (`speculate_ms`; 0 never asks it):
    semantic_threshold: float = 0.5  # "complete" at or above this ends the turn (pipecat's)
    max_hangover_ms: int = 1200  # silence that ends a turn the model called unfinished

    def samples(self, ms: int) -> int:
        return ms * RATE // 1000

    @classmethod
    def of(cls, voice: VoiceSettings, **overrides: Any) -> TurnSettings:
        """The turn-taking a user's voice settings ask for."""
        return cls(**{"mode": voice.mode, "push_to_talk": voice.push_to_talk, **overrides})


class TurnDetector(Processor):
    """Turns `AudioIn` and talk-key frames into turn events; `is_speaking` says whether she
    is talking."""

    def __init__(
        self,
        vad: VoiceActivity,
        settings: TurnSettings | None = None,
        is_speaking: Callable[[], bool] | None = None,
        end_of_turn: EndOfTurnModel | None = None,
    ) -> None:
        super().__init__()
        self.vad = vad
        self.end_of_turn = end_of_turn
        self.settings = s = settings or TurnSettings()
        self.is_speaking = is_speaking or (lambda: False)
        self.in_turn = False
        self.key_held = False  # push-to-talk: between a press and its release
        self._pending = np.zeros(0, dtype=np.float32)
        self._onset_speech = self._onset_total = self._silence = 0
        self._paused = self._ducked = False
        self._tail = 0  # push-to-talk: samples still to keep after the release
        learn = max(1, s.samples(s.echo_learn_ms) // vad.frame_size)
        self.echo = EchoGate(s.echo_margin, learn, max(learn, s.samples(3000) // vad.frame_size))
        self._since_her = s.samples(s.echo_tail_ms)  # samples since she last spoke
        # The semantic end of turn: the turn's audio, the question in flight, its answer.
        self._turn_audio = TurnAudio(RATE)
        self._hangover = s.samples(s.hangover_ms)  # this pause's; the model may lengthen it
        self._asked = False  # the model was asked about this pause
        self._check: asyncio.Task[None] | None = None
        self._waiting = False  # `_audio` waits for the answer (it applies it itself)
        self._answer: float | None = None

    async def process(self, frame: Frame) -> None:
        if isinstance(frame, AudioIn):
            await (self._keyed_audio(frame) if self.settings.push_to_talk else self._audio(frame))
        elif isinstance(frame, TalkKeyPressed):
            await self._pressed()
        elif isinstance(frame, TalkKeyReleased):
            await self._released()
        elif isinstance(frame, EndFrame) and self.in_turn:
            # The input ended mid-turn: what was said is still a turn to answer.
            self._forget_pause()
            self.in_turn = self._paused = self.key_held = False
            self._tail = 0
            await self.push(SpeechStopped())
            await self.push(frame)
        else:
            await self.push(frame)

    # -- the talk key ---------------------------------------------------------------------
    async def _pressed(self) -> None:
        self.key_held = True
        if self.in_turn:
            self._tail = 0  # pressed again before the tail ran out: the same turn goes on
            return
        self._onset_speech = self._onset_total = self._silence = 0
        self._paused = self._ducked = False  # the interruption resets her volume
        self.in_turn = True
        self._turn_audio.turn = 0
        await self.push(Interruption())
        await self.push(SpeechStarted(lead_samples=0))

    async def _released(self) -> None:
        if not self.key_held:
            return
        self.key_held = False
        if not self.settings.push_to_talk:
            return  # on an open microphone the VAD ends the turn
        self._tail = self.settings.samples(self.settings.key_tail_ms)
        if not self._tail:
            self.in_turn = False
            await self.push(SpeechStopped())

    async def _keyed_audio(self, frame: AudioIn) -> None:
        frame = _at_rate(frame)
        await self.push(frame)
        if self._tail:
            self._tail = max(0, self._tail - frame.samples)
            if not self._tail:
                self.in_turn = False
                await self.push(SpeechStopped())

    # -- the open microphone --------------------------------------------------------------
    async def _audio(self, frame: AudioIn) -> None:
        frame = _at_rate(frame)
        self._pending = np.concatenate([self._pending, to_float(frame.pcm)])
        size = self.vad.frame_size
        events: list[str] = []
        lead = 0
        while self._pending.size >= size:
            window, self._pending = self._pending[:size], self._pending[size:]
            speech = self._user(window, self.vad.process(window) >= self.settings.threshold)
            if self.end_of_turn is not None:
                self._turn_audio.hear(window)
                if not speech and await self._answered_at_hangover(size):
                    events.append("stop")
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

    def _user(self, window: np.ndarray, speech: bool) -> bool:
        """Whether this window is the user speaking (in speaker mode, not her echo)."""
        s = self.settings
        if s.mode != "speaker" or self.in_turn:
            return speech
        speaking = self.is_speaking()
        if speaking:
            self._since_her = 0
        elif self._since_her >= s.samples(s.echo_tail_ms):
            return speech
        else:
            self._since_her += window.size
        loud = level(window)
        if speech and self.echo.louder(loud):
            return True
        if speaking and not self._onset_total:
            self.echo.hear(loud)  # her echo alone (an onset over her is not learnt from)
        return False

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
            self._turn_audio.turn = self._onset_total
            self._ducked = False  # the interruption stops her (and resets her volume)
            events.append("start")
        return events

    def _in_turn(self, speech: bool, n: int) -> list[str]:
        s = self.settings
        events = []
        self._turn_audio.turn += n
        if speech:
            self._silence = 0
            self._forget_pause()
            if self._paused:
                self._paused = False
                events.append("resume")
            return events
        self._silence += n
        speculate = 0 < s.speculate_ms < s.hangover_ms
        if speculate and not self._paused and self._silence >= s.samples(s.speculate_ms):
            self._paused = True
            events.append("pause")
        if speculate and self.end_of_turn is not None and self._paused and not self._asked:
            self._asked = True
            self._check = self.spawn(self._judge(self._turn_audio.current()))
        if self._silence >= self._hangover:
            self._end_turn()
            events.append("stop")
        return events

    def _end_turn(self) -> None:
        self._forget_pause()
        self.in_turn = self._paused = False
        self._onset_speech = self._onset_total = self._silence = 0

    # -- the semantic end of turn ---------------------------------------------------------
    def _forget_pause(self) -> None:
        """Speech, or the end of the turn: the question about this pause no longer matters."""
        if self._check is not None:
            self._check.cancel()
        self._check, self._answer, self._asked = None, None, False
        self._hangover = self.settings.samples(self.settings.hangover_ms)

    async def _judge(self, audio: np.ndarray) -> None:
        assert self.end_of_turn is not None
        probability = await ask(self.end_of_turn, audio, RATE)
        self._check = None
        if self._waiting:
            self._answer = probability  # `_audio` is waiting for it mid-frame: it applies it
        elif self._apply(probability):
            await self.push(SpeechStopped())  # between frames: the turn ends now, not later

    def _apply(self, probability: float | None) -> bool:
        """Act on the model's answer; True when it ends the turn now."""
        if probability is None or not (self.in_turn and self._asked):
            return False  # the model failed (the hangover decides), or the user spoke again
        if probability >= self.settings.semantic_threshold:
            self._end_turn()
            return True
        self._hangover = max(self._hangover, self.settings.samples(self.settings.max_hangover_ms))
        return False

    async def _answered_at_hangover(self, n: int) -> bool:
        """The hangover is about to pass while the model is still thinking (a slow model, or
        audio faster than real time): wait for its answer; True when it ends the turn."""
        check = self._check
        if check is None or not self.in_turn or self._silence + n < self._hangover:
            return False
        self._waiting = True
        try:
            done, _ = await asyncio.wait({check}, timeout=PATIENCE_S)
        finally:
            self._waiting = False
        if not done:  # a hung model: the hangover decides
            check.cancel()
            self._check = None
        answer, self._answer = self._answer, None
        return self._apply(answer)


def _at_rate(frame: AudioIn) -> AudioIn:
    if frame.sample_rate == RATE:
        return frame
    return AudioIn(to_pcm(resample(to_float(frame.pcm), frame.sample_rate, RATE)), RATE)
