"""Engines shared by many users' conversations: models load once per voice, state never shared.

The real engine classes (they load nothing until used); Piper's worker is really started,
to see that one conversation ending does not stop it for the others.
"""

from __future__ import annotations

import os

from voice_fakes import AmplitudeVAD, ScriptedRecogniser

from os1.companion import Companion
from os1.persona import Persona, Profile
from os1.voice.engines import (
    Engines,
    EspeakSynthesiser,
    PiperSynthesiser,
    SileroVad,
    WhisperRecogniser,
)
from os1.voice.session import VoiceSession
from os1.voice.shared_engines import Borrowed, SharedEngines


def real(voice: str) -> Engines:
    synth = PiperSynthesiser() if voice == "male" else EspeakSynthesiser(voice)
    return Engines(SileroVad(), WhisperRecogniser(), synth)


async def test_users_in_one_voice_share_the_models_but_never_the_vad(
    companion: Companion,
) -> None:
    for user, voice in (("theo", "female"), ("amy", "female"), ("bo", "male")):
        await companion.save_persona(user, Persona("Sam", "", voice=voice), Profile())  # type: ignore[arg-type]
    shared = SharedEngines(companion, real)
    theo, amy, bo = [await shared(user) for user in ("theo", "amy", "bo")]
    theo_again = await shared("theo")
    assert shared.voices == ["female", "male"]

    # One Whisper for everyone; one synthesiser per voice, in that voice.
    for engines in (theo, amy, bo, theo_again):
        assert isinstance(engines.recogniser, Borrowed)
        assert isinstance(engines.synthesiser, Borrowed)
    assert theo.recogniser.engine is amy.recogniser.engine is bo.recogniser.engine
    assert theo.synthesiser.engine is amy.synthesiser.engine is theo_again.synthesiser.engine
    assert isinstance(theo.synthesiser.engine, EspeakSynthesiser)
    assert theo.synthesiser.voice == "en-us+f3"  # the borrowed engine works as itself
    assert isinstance(bo.synthesiser.engine, PiperSynthesiser)
    # A VAD follows one audio stream: every conversation gets its own.
    vads = [e.vad for e in (theo, amy, bo, theo_again)]
    assert len({id(v) for v in vads}) == 4 and all(isinstance(v, SileroVad) for v in vads)
    await shared.aclose()


async def test_one_conversation_ending_leaves_the_shared_voice_running(
    companion: Companion,
) -> None:
    await companion.save_persona("bo", Persona("Sam", "", voice="male"), Profile())
    shared = SharedEngines(companion, real)
    first, second = await shared("bo"), await shared("bo")
    piper = first.synthesiser.engine
    await piper.start()
    pid = piper.pid
    assert pid is not None
    session = VoiceSession(companion, "bo", first)
    await session.close()  # as a connection ending does
    assert piper.pid == pid
    chunks = [c async for c in second.synthesiser.synthesize("Still here.")]
    assert chunks and chunks[0][1] == 22050
    await shared.aclose()  # the server closing stops it
    assert piper.pid is None
    try:
        os.kill(pid, 0)
        alive = True
    except ProcessLookupError:
        alive = False
    assert not alive


async def test_engines_that_keep_state_are_made_fresh_for_each_conversation(
    companion: Companion,
) -> None:
    def fakes(voice: str) -> Engines:
        return Engines(AmplitudeVAD(), ScriptedRecogniser([voice]), EspeakSynthesiser(voice))

    shared = SharedEngines(companion, fakes)
    a, b = await shared("theo"), await shared("amy")  # no persona yet: the neutral voice
    assert shared.voices == ["neutral"]
    assert a.recogniser is not b.recogniser and isinstance(a.recogniser, ScriptedRecogniser)
    assert a.synthesiser.engine is b.synthesiser.engine
    assert getattr(a.synthesiser, "aclose", None) is None
    await shared.aclose()
