"""The turn detector with an end-of-turn model (fakes): a finished turn ends at the pause, an
unfinished one waits longer, speech cancels the question, a broken model changes nothing."""

from __future__ import annotations

import asyncio
import logging

from voice_fakes import FRAME, RATE, AmplitudeVAD, speech

from os1.voice.audio import to_pcm
from os1.voice.frames import AudioIn, EndFrame
from os1.voice.pipeline import Pipeline
from os1.voice.turns import TurnDetector, TurnSettings

LATE = ("SpeechPaused", "SpeechResumed", "SpeechStopped")


class FixedModel:
    """Always the same answer; keeps how many samples each question held."""

    def __init__(self, probability: float) -> None:
        self.probability = probability
        self.heard: list[int] = []

    async def complete(self, pcm: bytes, sample_rate: int) -> float:
        assert sample_rate == RATE
        self.heard.append(len(pcm) // 2)
        return self.probability


class FirstHangs(FixedModel):
    """The first question never gets an answer (until cancelled); later ones do."""

    def __init__(self, probability: float) -> None:
        super().__init__(probability)
        self.cancelled = 0

    async def complete(self, pcm: bytes, sample_rate: int) -> float:
        if not self.heard:
            self.heard.append(len(pcm) // 2)
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.cancelled += 1
                raise
        return await super().complete(pcm, sample_rate)


class Broken:
    async def complete(self, pcm: bytes, sample_rate: int) -> float:
        raise RuntimeError("the model file is corrupt")


async def late_events(audio, model=None, settings: TurnSettings | None = None, live=True):
    """(frame name, seconds of audio before it) for the pause, resume and stop signals.

    `live`: each frame arrives once the one before is handled (a microphone, with a model
    quicker than a frame); otherwise all at once (a file read faster than real time).
    """
    detector = TurnDetector(AmplitudeVAD(), settings, end_of_turn=model)
    pcm = to_pcm(audio)
    frames = [AudioIn(pcm[i : i + FRAME * 2]) for i in range(0, len(pcm), FRAME * 2)]
    pipeline = Pipeline([detector])
    if live:
        for audio_in in frames:
            pipeline.put(audio_in)
            for _ in range(5):  # the detector handles it, and an instant model answers
                await asyncio.sleep(0)
        frames = []
    out = await asyncio.wait_for(pipeline.run([*frames, EndFrame()]), 10)
    times: list[tuple[str, float]] = []
    n = 0
    for frame in out:
        if isinstance(frame, AudioIn):
            n += frame.samples
        elif type(frame).__name__ in LATE:
            times.append((type(frame).__name__, n / RATE))
    return times


async def test_a_finished_turn_ends_at_the_pause_not_after_the_hangover():
    model = FixedModel(0.9)
    times = await late_events(speech(("quiet", 0.3), ("talk", 1.0), ("quiet", 1.0)), model)
    assert [name for name, _ in times] == ["SpeechPaused", "SpeechStopped"]
    paused, stopped = times[0][1], times[1][1]
    assert stopped - 1.3 < 0.3  # about speculate_ms (0.2 s) after the last syllable, not 0.5 s
    assert stopped - paused <= FRAME / RATE  # as soon as the model answers
    assert len(model.heard) == 1


async def test_without_a_model_the_same_turn_waits_for_the_hangover():
    times = await late_events(speech(("quiet", 0.3), ("talk", 1.0), ("quiet", 1.0)))
    assert [name for name, _ in times] == ["SpeechPaused", "SpeechStopped"]
    assert 1.3 + 0.5 <= times[1][1] <= 1.3 + 0.5 + FRAME / RATE


async def test_an_unfinished_turn_outlasts_a_pause_longer_than_the_hangover():
    audio = speech(("talk", 0.8), ("quiet", 0.9), ("talk", 0.8), ("quiet", 1.5))
    model = FixedModel(0.1)
    times = await late_events(audio, model)
    # The 0.9 s thinking pause (the hangover is 0.5 s) does not cut her off.
    assert [name for name, _ in times] == [
        "SpeechPaused",
        "SpeechResumed",
        "SpeechPaused",
        "SpeechStopped",
    ]
    assert 2.5 + 1.2 <= times[-1][1] <= 2.5 + 1.2 + 2 * FRAME / RATE  # max_hangover_ms
    assert len(model.heard) == 2  # asked again at the second pause


async def test_the_longest_wait_is_configurable():
    settings = TurnSettings(max_hangover_ms=800)
    times = await late_events(speech(("talk", 0.8), ("quiet", 1.2)), FixedModel(0.2), settings)
    assert 0.8 + 0.8 <= times[-1][1] <= 0.8 + 0.8 + FRAME / RATE


async def test_the_threshold_is_configurable():
    settings = TurnSettings(semantic_threshold=0.95)
    times = await late_events(speech(("talk", 0.8), ("quiet", 1.5)), FixedModel(0.9), settings)
    assert times[-1][1] >= 0.8 + 1.2  # 0.9 is not confident enough: the longest wait


async def test_speech_cancels_the_question_about_an_earlier_pause():
    audio = speech(("talk", 0.8), ("quiet", 0.4), ("talk", 0.8), ("quiet", 1.0))
    model = FirstHangs(0.9)
    times = await late_events(audio, model)
    assert model.cancelled == 1
    assert [name for name, _ in times] == [
        "SpeechPaused",
        "SpeechResumed",
        "SpeechPaused",
        "SpeechStopped",
    ]
    assert times[-1][1] - 2.0 < 0.3  # the second pause's answer ended the turn


async def test_a_slow_model_is_waited_for_at_the_hangover_and_a_hung_one_is_not():
    # Audio faster than real time (a file) reaches the hangover before the model answers.
    audio = speech(("talk", 0.8), ("quiet", 2.0))
    late = await late_events(audio, FixedModel(0.1), live=False)
    assert late[-1][1] >= 0.8 + 1.2  # its "unfinished" was heeded
    done = await late_events(audio, FixedModel(0.9), live=False)
    assert 0.8 + 0.5 <= done[-1][1] <= 0.8 + 0.5 + FRAME / RATE  # "finished": at the hangover
    hung = FirstHangs(0.1)
    times = await late_events(speech(("talk", 0.8), ("quiet", 1.0)), hung)
    assert hung.cancelled == 1
    assert 0.8 + 0.5 <= times[-1][1] <= 0.8 + 0.5 + FRAME / RATE  # the hangover decided


async def test_a_broken_model_leaves_the_hangover_in_charge(caplog):
    with caplog.at_level(logging.WARNING):
        times = await late_events(speech(("talk", 0.8), ("quiet", 1.0)), Broken())
    assert [name for name, _ in times] == ["SpeechPaused", "SpeechStopped"]
    assert 0.8 + 0.5 <= times[-1][1] <= 0.8 + 0.5 + FRAME / RATE
    assert "end-of-turn model failed" in caplog.text


async def test_the_model_hears_the_turn_and_at_most_the_last_eight_seconds():
    model = FixedModel(0.9)
    await late_events(speech(("quiet", 3.0), ("talk", 1.0), ("quiet", 0.6)), model)
    # The turn, half a second before its onset, and the pause: not the 3 s of silence.
    assert 1.6 * RATE <= model.heard[0] <= 1.8 * RATE
    model = FixedModel(0.9)
    await late_events(speech(("talk", 12.0), ("quiet", 0.6)), model)
    assert model.heard == [8 * RATE]


async def test_without_speculation_the_model_is_not_asked():
    model = FixedModel(0.9)
    settings = TurnSettings(speculate_ms=0)
    times = await late_events(speech(("talk", 0.8), ("quiet", 1.0)), model, settings)
    assert model.heard == []
    assert 0.8 + 0.5 <= times[-1][1] <= 0.8 + 0.5 + FRAME / RATE
