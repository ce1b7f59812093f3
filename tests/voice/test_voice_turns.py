"""The turn detector: pauses inside speech never end a turn; backchannels never stop her."""

from __future__ import annotations

from voice_fakes import FRAME, AmplitudeVAD, speech

from os1.voice.audio import to_pcm
from os1.voice.frames import (
    AudioIn,
    Duck,
    EndFrame,
    Interruption,
    SpeechStarted,
    SpeechStopped,
)
from os1.voice.pipeline import Pipeline
from os1.voice.turns import TurnDetector, TurnSettings

EARLY = ("Duck", "SpeechPaused", "SpeechResumed")  # early signals, tested on their own


async def events(
    audio, speaking: bool = False, settings: TurnSettings | None = None, early: bool = False
):
    detector = TurnDetector(AmplitudeVAD(), settings, is_speaking=lambda: speaking)
    pcm = to_pcm(audio)
    frames = [AudioIn(pcm[i : i + FRAME * 2]) for i in range(0, len(pcm), FRAME * 2)]
    out = await Pipeline([detector]).run([*frames, EndFrame()])
    times, n = [], 0
    for frame in out:
        if isinstance(frame, AudioIn):
            n += frame.samples
        elif not isinstance(frame, EndFrame):
            if early or type(frame).__name__ not in EARLY:
                times.append((type(frame).__name__, n / 16000))
    return times, out


async def test_a_pause_shorter_than_the_hangover_does_not_end_the_turn():
    audio = speech(("quiet", 0.3), ("talk", 0.8), ("quiet", 0.4), ("talk", 0.8), ("quiet", 1))
    times, _ = await events(audio)
    names = [name for name, _ in times]
    assert names == ["Interruption", "SpeechStarted", "SpeechStopped"]
    stopped = times[-1][1]
    assert 2.3 + 0.5 <= stopped <= 2.3 + 0.5 + 0.07  # last syllable + hangover (+ a frame)


async def test_a_pause_longer_than_the_hangover_ends_the_turn():
    audio = speech(("talk", 0.8), ("quiet", 0.7), ("talk", 0.8), ("quiet", 1))
    times, _ = await events(audio)
    assert [name for name, _ in times] == ["Interruption", "SpeechStarted", "SpeechStopped"] * 2


async def test_the_hangover_is_configurable():
    audio = speech(("talk", 0.8), ("quiet", 0.4), ("talk", 0.8), ("quiet", 1))
    times, _ = await events(audio, settings=TurnSettings(hangover_ms=300))
    assert [name for name, _ in times].count("SpeechStopped") == 2


async def test_a_backchannel_while_she_speaks_is_not_a_turn():
    audio = speech(("quiet", 0.3), ("talk", 0.15), ("quiet", 0.2), ("talk", 0.12), ("quiet", 1))
    times, _ = await events(audio, speaking=True)
    assert times == []
    # ...while the same sound when she is quiet is the user starting to talk.
    times, _ = await events(audio, speaking=False)
    assert [name for name, _ in times][:2] == ["Interruption", "SpeechStarted"]


async def test_barge_in_is_confirmed_after_200_ms_and_interrupts_before_the_audio():
    audio = speech(("quiet", 0.512), ("talk", 1.0), ("quiet", 1))
    times, out = await events(audio, speaking=True)
    (_, interrupted), (_, confirmed) = times[:2]
    # The interruption goes out before the frame that confirmed the speech...
    assert interrupted == confirmed - FRAME / 16000
    assert 0.512 + 0.2 <= confirmed <= 0.512 + 0.2 + FRAME / 16000
    first = next(i for i, f in enumerate(out) if isinstance(f, Interruption))
    assert isinstance(out[first + 1], AudioIn)
    assert isinstance(out[first + 2], SpeechStarted)
    # The turn began at the onset: the lead covers all the speech so far.
    assert out[first + 2].lead_samples == round((confirmed - 0.512) * 16000)


async def test_input_ending_mid_turn_still_ends_the_turn():
    times, out = await events(speech(("talk", 0.5)))
    assert [name for name, _ in times] == ["Interruption", "SpeechStarted", "SpeechStopped"]
    assert isinstance(out[-2], SpeechStopped)


async def test_a_short_silence_inside_a_turn_is_signalled_early_and_resumed_speech_too():
    audio = speech(("talk", 0.8), ("quiet", 0.4), ("talk", 0.8), ("quiet", 1))
    times, _ = await events(audio, early=True)
    assert [name for name, _ in times] == [
        "Interruption", "SpeechStarted", "SpeechPaused", "SpeechResumed", "SpeechPaused",
        "SpeechStopped",
    ]  # fmt: skip
    paused, stopped = times[4][1], times[5][1]
    assert 2.0 + 0.2 <= paused <= 2.0 + 0.2 + 0.07  # last syllable + speculate_ms (+ a frame)
    assert 2.0 + 0.5 <= stopped <= 2.0 + 0.5 + 0.07


async def test_speculation_can_be_switched_off():
    audio = speech(("talk", 0.8), ("quiet", 1))
    times, _ = await events(audio, settings=TurnSettings(speculate_ms=0), early=True)
    assert [name for name, _ in times] == ["Interruption", "SpeechStarted", "SpeechStopped"]


async def test_her_volume_ducks_at_the_first_speech_over_her_and_comes_back_after_a_backchannel():
    audio = speech(("quiet", 0.512), ("talk", 0.128), ("quiet", 1))
    times, out = await events(audio, speaking=True, early=True)
    assert [name for name, _ in times] == ["Duck", "Duck"]
    ducks = [f for f in out if isinstance(f, Duck)]
    assert [d.gain for d in ducks] == [TurnSettings().duck_gain, 1.0]
    # Ducked before the first frame with speech; restored once the onset is discarded.
    assert times[0][1] == 0.512
    assert 0.64 + 0.15 - 0.032 <= times[1][1] <= 0.64 + 0.15  # (at the start of that frame)


async def test_a_confirmed_barge_in_ducks_first_then_interrupts():
    audio = speech(("quiet", 0.512), ("talk", 1.0), ("quiet", 1))
    times, _ = await events(audio, speaking=True, early=True)
    assert [name for name, _ in times][:3] == ["Duck", "Interruption", "SpeechStarted"]
    assert times[0][1] == 0.512 and times[1][1] == 0.704  # onset; the frame confirming it


async def test_no_ducking_while_she_is_quiet():
    audio = speech(("quiet", 0.512), ("talk", 0.128), ("quiet", 1))
    times, _ = await events(audio, speaking=False, early=True)
    assert "Duck" not in [name for name, _ in times]
    assert [name for name, _ in times][:2] == ["Interruption", "SpeechStarted"]
