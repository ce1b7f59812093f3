"""Push-to-talk: the talk key, not the VAD, starts and ends the user's turn.

Fake engines (a loudness VAD, scripted recognition, tones for her voice): the turn logic on
its own. The same with real engines, through `talk`, is in test_voice_push_to_talk_spoken.
"""

from __future__ import annotations

import numpy as np
from voice_fakes import (
    FRAME,
    AmplitudeVAD,
    ListSpeaker,
    ScriptedRecogniser,
    ToneSynthesiser,
    scripted_replies,
    speech,
)

from os1.voice.audio import to_pcm
from os1.voice.conversation import Recognition, build_pipeline
from os1.voice.frames import (
    AudioIn,
    EndFrame,
    Frame,
    Heard,
    Interruption,
    SpeechStarted,
    SpeechStopped,
    TalkKeyPressed,
    TalkKeyReleased,
    Transcript,
)
from os1.voice.pipeline import Pipeline
from os1.voice.turns import TurnDetector, TurnSettings

RATE = 16000
PTT = TurnSettings(push_to_talk=True)
PRESS, RELEASE = TalkKeyPressed(), TalkKeyReleased()


def blocks(audio: np.ndarray) -> list[Frame]:
    pcm = to_pcm(audio)
    return [AudioIn(pcm[i : i + FRAME * 2]) for i in range(0, len(pcm), FRAME * 2)]


def timeline(out: list[Frame]) -> list[tuple[str, float]]:
    """Each turn event with the audio time (s, to the sample) it came at."""
    times, n = [], 0
    for frame in out:
        if isinstance(frame, AudioIn):
            n += frame.samples
        elif not isinstance(frame, EndFrame | Transcript):
            times.append((type(frame).__name__, round(n / RATE, 5)))
    return times


async def test_the_key_starts_and_ends_the_turn_and_audio_outside_it_is_ignored():
    vad = AmplitudeVAD()
    stt = ScriptedRecogniser(["what time is it"])
    talking = speech(("talk", 1.024), seed=1)
    frames = [
        *blocks(speech(("talk", 0.512), ("quiet", 0.512), seed=2)),  # said before the key
        PRESS,
        *blocks(talking),
        RELEASE,
        *blocks(speech(("quiet", 0.256), ("talk", 1.0), ("quiet", 1.0), seed=3)),  # after it
        EndFrame(),
    ]
    out = await Pipeline([TurnDetector(vad, PTT), Recognition(stt)]).run(frames)
    assert timeline(out) == [
        ("Interruption", 1.024),
        ("SpeechStarted", 1.024),
        ("SpeechStopped", 2.208),  # after the tail: 150 ms, in whole frames (160 ms)
    ]
    assert [f.text for f in out if isinstance(f, Transcript)] == ["what time is it"]
    assert vad.frames == 0  # the VAD is not asked
    # Recognised: the recogniser's usual lead (150 ms, quiet here), the words while the key
    # was held, and the tail after it; nothing of what was said before or after.
    (heard,) = stt.heard
    audio = np.frombuffer(heard, dtype="<i2")
    lead, tail = 150 * RATE // 1000, 5 * FRAME
    assert audio.size == lead + talking.size + tail
    assert not audio[:lead].any() and not audio[lead + talking.size :].any()
    assert np.array_equal(audio[lead : lead + talking.size], np.frombuffer(to_pcm(talking), "<i2"))


async def test_a_release_with_no_tail_ends_the_turn_at_once_and_stray_keys_are_harmless():
    settings = TurnSettings(push_to_talk=True, key_tail_ms=0)
    frames = [RELEASE, *blocks(speech(("quiet", 0.128))), PRESS, PRESS]
    frames += [*blocks(speech(("talk", 0.256))), RELEASE, RELEASE, *blocks(speech(("quiet", 0.5)))]
    out = await Pipeline([TurnDetector(AmplitudeVAD(), settings)]).run([*frames, EndFrame()])
    assert timeline(out) == [
        ("Interruption", 0.128),
        ("SpeechStarted", 0.128),
        ("SpeechStopped", 0.384),
    ]


async def test_pressing_again_within_the_tail_goes_on_with_the_same_turn():
    frames = [PRESS, *blocks(speech(("talk", 0.256))), RELEASE, *blocks(speech(("talk", 0.064)))]
    frames += [PRESS, *blocks(speech(("talk", 0.256))), RELEASE, *blocks(speech(("quiet", 0.5)))]
    out = await Pipeline([TurnDetector(AmplitudeVAD(), PTT)]).run([*frames, EndFrame()])
    assert [name for name, _ in timeline(out)] == ["Interruption", "SpeechStarted", "SpeechStopped"]


async def test_input_ending_with_the_key_held_still_ends_the_turn():
    detector = TurnDetector(AmplitudeVAD(), PTT)
    out = await Pipeline([detector]).run([PRESS, *blocks(speech(("talk", 0.5))), EndFrame()])
    assert [name for name, _ in timeline(out)] == ["Interruption", "SpeechStarted", "SpeechStopped"]
    assert not detector.in_turn and not detector.key_held


async def test_on_an_open_microphone_the_key_starts_a_turn_at_once_and_the_vad_ends_it():
    # She is speaking: a voice would need 200 ms to barge in; the key needs none.
    detector = TurnDetector(AmplitudeVAD(), TurnSettings(), is_speaking=lambda: True)
    frames = [*blocks(speech(("quiet", 0.256))), PRESS, *blocks(speech(("talk", 0.064)))]
    frames += [RELEASE, *blocks(speech(("talk", 0.5), ("quiet", 1.0)))]
    out = await Pipeline([detector]).run([*frames, EndFrame()])
    times = [(n, t) for n, t in timeline(out) if n in ("Interruption", "SpeechStarted")]
    assert times == [("Interruption", 0.256), ("SpeechStarted", 0.256)]
    (stopped,) = [t for n, t in timeline(out) if n == "SpeechStopped"]
    assert 0.82 + 0.5 <= stopped <= 0.82 + 0.5 + 0.07  # the hangover after the last speech


async def test_pressing_the_key_while_she_speaks_stops_her_at_once():
    """Push-to-talk in a whole (fake-engine) conversation: no VAD delay before she stops."""
    speaker = ListSpeaker()
    stt = ScriptedRecogniser(["tell me a story", "wait a moment"])
    story = "Once upon a time a keeper of a lighthouse lived alone by the sea and sang."
    pipeline = build_pipeline(
        scripted_replies(story, "Of course."),
        AmplitudeVAD(),
        stt,
        ToneSynthesiser(),
        speaker,
        turns=PTT,
    )
    talk = blocks(speech(("talk", 0.8), seed=4))
    quiet = blocks(speech(("quiet", 0.032)))[0]
    for frame in [PRESS, *talk, RELEASE]:
        pipeline.put(frame)
        await pipeline.idle()
    ticks = 0
    while speaker.samples().size < RATE:  # let her speak for a second
        pipeline.put(quiet)
        await pipeline.idle()
        ticks += 1
        assert ticks < 200, "she never started"
    played_at_press = speaker.samples().size
    pipeline.put(PRESS)
    await pipeline.idle()
    out_before = list(pipeline.output)
    for frame in [*talk, RELEASE]:
        pipeline.put(frame)
        await pipeline.idle()
    assert speaker.samples().size == played_at_press  # not one more sample of the story
    for frame in [quiet] * 80:
        pipeline.put(frame)
        await pipeline.idle()
    pipeline.put(EndFrame())
    out = await pipeline.run()

    # The press alone (before any more audio) stopped her: nothing more of the story played.
    assert any(isinstance(f, Interruption) for f in out_before[-4:])
    assert speaker.clears == 1
    heard = [f for f in out if isinstance(f, Heard)]
    assert heard[0].interrupted and heard[0].reply_id == 1
    said = heard[0].text.split()
    assert 0 < len(said) <= played_at_press // 3200 + 1 and story.startswith(" ".join(said))
    assert [f.text for f in out if isinstance(f, Transcript)] == [
        "tell me a story",
        "wait a moment",
    ]
    assert not heard[1].interrupted and heard[1].text == "Of course."
    started = [f for f in out if isinstance(f, SpeechStarted)]
    stopped = [f for f in out if isinstance(f, SpeechStopped)]
    assert len(started) == len(stopped) == 2
