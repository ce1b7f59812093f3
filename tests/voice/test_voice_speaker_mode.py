"""Speaker mode: the microphone hears her own voice, and her echo must not interrupt her.

Each test is a whole (fake-engine) conversation in which whatever she plays comes back
into the microphone a few blocks later, quieter, as a loudspeaker's would, mixed with what
the user says. On headphones ("earpiece") that echo would cut her off; in speaker mode only
a voice clearly louder than her echo, or the talk key, does, and never a backchannel.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest
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
from os1.voice.conversation import build_pipeline
from os1.voice.echo import EchoGate
from os1.voice.frames import AudioIn, Duck, EndFrame, Frame, Heard, TalkKeyPressed, Transcript
from os1.voice.turns import TurnSettings

RATE = 16000
STORY = (
    "Once upon a time a lighthouse keeper lived alone by the sea. Every night she climbed "
    "the stairs and lit the lamp for the ships, and every morning she slept until noon."
)  # 32 words: 6.4 s of tone
SPEAKER, EARPIECE = TurnSettings(mode="speaker"), TurnSettings(mode="earpiece")


async def conversation(
    turns: TurnSettings,
    *,
    user: np.ndarray | None = None,
    at: float = 1.5,
    key_at: float | None = None,
    coupling: float = 0.3,
    delay: int = 2,
) -> tuple[list[Frame], ListSpeaker]:
    """The user asks (1 s of talk); she tells `STORY`. `user` is more of the user's voice,
    `at` seconds after her first sound; `key_at` presses the talk key then. Her echo is
    what she played, times `coupling`, `delay` blocks later."""
    speaker = ListSpeaker()
    pipeline = build_pipeline(
        scripted_replies(STORY, "Yes?"),
        AmplitudeVAD(),
        ScriptedRecogniser(["tell me a story", "wait"]),
        ToneSynthesiser(),
        speaker,
        turns=turns,
        pad_silence=True,  # what she plays is a timeline: silence when she is quiet
    )
    mic = speech(("quiet", 0.3), ("talk", 1.0), seed=5)
    echo = deque(np.zeros(FRAME, dtype=np.float32) for _ in range(delay))
    her_start: int | None = None  # the block her first sound was played in
    for k in range(int(12 * RATE / FRAME)):
        if her_start is not None and mic.size <= k * FRAME:
            since = (k - her_start) * FRAME / RATE
            if user is not None and since >= at:
                mic = np.concatenate([mic, np.zeros(k * FRAME - mic.size), user])
                user = None
            if key_at is not None and since >= key_at:
                pipeline.put(TalkKeyPressed())
                key_at = None
        block = np.zeros(FRAME, dtype=np.float32)
        block[: max(0, min(FRAME, mic.size - k * FRAME))] = mic[k * FRAME : (k + 1) * FRAME]
        before = speaker.samples().size
        pipeline.put(AudioIn(to_pcm(np.clip(block + echo.popleft(), -1, 1))))
        await pipeline.idle()
        played = speaker.samples()[before:].astype(np.float32) / 32768
        if her_start is None and played.any():
            her_start = k
        echo.append(coupling * np.pad(played, (0, FRAME - played.size)))
    pipeline.put(EndFrame())
    return await pipeline.run(), speaker


def replies(out: list[Frame]) -> list[Heard]:
    return [f for f in out if isinstance(f, Heard)]


async def test_on_headphones_settings_her_echo_would_cut_her_off():
    # Why speaker mode exists: a loudspeaker's echo, with any speech allowed to barge in.
    out, speaker = await conversation(EARPIECE, coupling=0.6)
    first = replies(out)[0]
    assert first.interrupted and len(first.text.split()) <= 3 and speaker.clears >= 1
    # A quieter echo (ducked, it no longer sounds like speech) makes her volume flicker.
    out, _ = await conversation(EARPIECE, coupling=0.3)
    assert sum(isinstance(f, Duck) for f in out) > 10


async def test_in_speaker_mode_her_echo_does_not_interrupt_her():
    out, speaker = await conversation(SPEAKER)
    (heard,) = replies(out)
    assert not heard.interrupted and heard.text == STORY
    assert speaker.clears == 0 and not any(isinstance(f, Duck) for f in out)
    # ...and the echo of her last words (the tail in the room) is not taken for a turn.
    assert [f.text for f in out if isinstance(f, Transcript) and f.final] == ["tell me a story"]


async def test_in_speaker_mode_a_clearly_louder_voice_interrupts_her():
    loud = speech(("talk", 1.0), seed=6)  # about 3 times her echo's level
    out, speaker = await conversation(SPEAKER, user=loud, at=1.5)
    first, second = replies(out)
    assert first.interrupted and speaker.clears == 1
    # Stopped about 200 ms after the user began, 1.5 s (7 or 8 words) into the story.
    assert 7 <= len(first.text.split()) <= 9 and STORY.startswith(first.text)
    assert [f.text for f in out if isinstance(f, Transcript) and f.final] == [
        "tell me a story",
        "wait",
    ]
    assert second.text == "Yes?" and not second.interrupted


async def test_in_speaker_mode_a_backchannel_does_not_interrupt_her():
    mm_hm = speech(("talk", 0.12), seed=7)
    out, speaker = await conversation(SPEAKER, user=mm_hm, at=1.5)
    (heard,) = replies(out)
    assert not heard.interrupted and heard.text == STORY and speaker.clears == 0


async def test_in_speaker_mode_a_voice_not_clearly_louder_than_her_echo_does_not():
    soft = 0.4 * speech(("talk", 1.0), seed=8)  # about 1.3 times her echo: could be her
    out, _ = await conversation(SPEAKER, user=soft, at=1.5)
    assert not replies(out)[0].interrupted
    # On headphones the same voice would have stopped her (it is speech, after all).
    out, _ = await conversation(EARPIECE, user=soft, at=0.1, coupling=0.0)
    assert replies(out)[0].interrupted


async def test_in_speaker_mode_the_talk_key_interrupts_her_at_once():
    out, speaker = await conversation(SPEAKER, key_at=1.5)
    first = replies(out)[0]
    assert first.interrupted and speaker.clears == 1
    assert 7 <= len(first.text.split()) <= 8  # 1.5 s of 0.2 s words: no onset to confirm


async def test_until_her_echo_is_learnt_only_the_key_interrupts_her():
    # Half a second into her first reply the gate has not heard enough of her: half-duplex.
    loud = speech(("talk", 0.3), seed=9)
    out, _ = await conversation(SPEAKER, user=loud, at=0.05)
    assert not replies(out)[0].interrupted


def test_the_echo_gate_learns_a_high_percentile_of_her_level():
    gate = EchoGate(margin=2.0, learn=4, keep=10)
    for level in (0.01, 0.1, 0.1):
        gate.hear(level)
    assert gate.threshold() == float("inf") and not gate.louder(1.0)
    gate.hear(0.1)
    assert gate.ready and gate.threshold() == pytest.approx(0.2)
    assert gate.louder(0.25) and not gate.louder(0.15)
    for _ in range(10):
        gate.hear(0.05)  # she got quieter: only recent windows count
    assert gate.threshold() == pytest.approx(0.1)
    with pytest.raises(ValueError):
        EchoGate(margin=0)
