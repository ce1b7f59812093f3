"""Ducking: her volume drops at the first sound of the user over her, and comes back after
a backchannel; a confirmed barge-in then stops her."""

from __future__ import annotations

import numpy as np
from voice_fakes import (
    FRAME,
    RATE,
    AmplitudeVAD,
    ListSpeaker,
    ScriptedRecogniser,
    ToneSynthesiser,
    scripted_replies,
    speech,
)

from os1.voice.audio import to_pcm
from os1.voice.conversation import build_pipeline, converse
from os1.voice.frames import AudioIn, Duck, Heard
from os1.voice.turns import TurnSettings

LONG = "Let me think about that for a while. It is a lovely question, and a long answer."
ONSET = int(3.072 * RATE)  # the user's sound over her starts here, on a frame boundary
FULL = int(np.abs(np.frombuffer(to_pcm(np.array([0.3])), "<i2"))[0])  # her tone's level


async def talk_over_her(talk_seconds: float):
    stt = ScriptedRecogniser(["tell me something", "wait a moment"])
    speaker = ListSpeaker()
    pipeline = build_pipeline(scripted_replies(LONG, "Of course."), AmplitudeVAD(), stt,
                              ToneSynthesiser(), speaker, pad_silence=True,
                              output_rate=RATE)  # fmt: skip
    audio = speech(("talk", 1.024), ("quiet", 2.048), ("talk", talk_seconds), ("quiet", 1.5))
    pcm = to_pcm(np.concatenate([audio, np.zeros(-audio.size % FRAME, np.float32)]))
    frames = [AudioIn(pcm[i : i + FRAME * 2]) for i in range(0, len(pcm), FRAME * 2)]
    out = await converse(pipeline, frames)
    return out, np.abs(speaker.samples().astype(np.int32)), speaker


def level(played: np.ndarray, start: float, end: float) -> set[int]:
    return set(np.unique(played[int(start * RATE) : int(end * RATE)]).tolist())


async def test_a_backchannel_ducks_her_at_once_and_her_volume_comes_back():
    out, played, speaker = await talk_over_her(talk_seconds=0.15)
    ducked = round(FULL * TurnSettings().duck_gain)
    assert level(played, 3.072 - 0.2, 3.072) == {FULL}  # full volume before the user's sound
    # From the very frame where the sound starts (not 200 ms later) she is quieter...
    assert played[ONSET] == ducked
    # ...through the sound (5 frames) and the quiet that discards it (150 ms, 5 frames)...
    assert level(played, 3.072, 3.072 + 0.16 + 0.128) == {ducked}
    # ...after which she is back at full volume.
    assert level(played, 3.072 + 0.16 + 0.16, 3.9) == {FULL}
    assert [f.gain for f in out if isinstance(f, Duck)] == [TurnSettings().duck_gain, 1.0]
    assert speaker.clears == 0
    assert [f for f in out if isinstance(f, Heard)] == [Heard(LONG, 1, False)]  # not stopped


async def test_a_confirmed_barge_in_is_ducked_until_it_stops_her():
    out, played, speaker = await talk_over_her(talk_seconds=0.6)
    ducked = round(FULL * TurnSettings().duck_gain)
    confirmed = ONSET + int(0.2 * RATE)
    stopped = int(np.flatnonzero(played[: int(3.5 * RATE)])[-1]) + 1
    assert confirmed - FRAME <= stopped <= confirmed  # as without ducking: within a frame
    assert level(played, 3.072 - 0.2, 3.072) == {FULL}
    assert set(np.unique(played[ONSET:stopped]).tolist()) == {ducked}
    assert not played[stopped : int(3.072 * RATE + 0.6 * RATE)].any()  # then silence
    assert speaker.clears == 1
    first = next(f for f in out if isinstance(f, Heard))
    assert first.interrupted and first.text  # what was heard, ducked or not, counts
