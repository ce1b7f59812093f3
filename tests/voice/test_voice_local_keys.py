"""The local sound card's talk key (Enter) and Ctrl-C, without a sound card.

The key reader takes any stream (a pipe here, the terminal in `os1 voice`); the sound
device is a stand-in for PortAudio's duplex stream, a thread calling back every block.
"""

from __future__ import annotations

import asyncio
import io
import os
import signal
import threading
import time
from typing import Any

import pytest
from voice_fakes import AmplitudeVAD, ScriptedRecogniser, ToneSynthesiser

from os1.companion import Companion
from os1.testing import ScriptedModel
from os1.voice.engines import Engines
from os1.voice.frames import AudioIn, TalkKeyPressed, TalkKeyReleased
from os1.voice.local_audio import KeyReader, LocalAudio, open_local_audio
from os1.voice.session import VoiceSession
from os1.voice.transport import talk
from os1.voice.turns import TurnSettings

RATE, BLOCK = 16000, 512


def test_enter_toggles_the_key_and_the_end_of_input_lets_it_go() -> None:
    keys = KeyReader(io.StringIO("\n\n\n"), toggle=True)
    kinds = [type(f).__name__ for f in keys.presses()]
    assert kinds == ["TalkKeyPressed", "TalkKeyReleased", "TalkKeyPressed", "TalkKeyReleased"]
    # On an open microphone every Enter is a press (start a turn now), never a release.
    keys = KeyReader(io.BytesIO(b"\nanything typed\n"), toggle=False)
    assert [type(f).__name__ for f in keys.presses()] == ["TalkKeyPressed"] * 2


class Mic:
    """Stands in for sounddevice: a duplex stream whose thread delivers silent blocks
    until the stream is closed."""

    def __init__(self, on_block: Any = None) -> None:
        self.blocks, self.on_block = 0, on_block

    def query_devices(self, kind: str) -> dict[str, str]:
        return {"name": f"fake {kind}"}

    def RawStream(self, **kw: Any) -> Mic.Stream:
        return Mic.Stream(self, kw)

    class Stream:
        def __init__(self, mic: Mic, kw: dict[str, Any]) -> None:
            self.mic, self.kw = mic, kw
            self.open = True
            self.thread = threading.Thread(target=self._run)

        def _run(self) -> None:
            while self.open:
                out = bytearray(BLOCK * 2)
                self.kw["callback"](bytes(BLOCK * 2), out, BLOCK, None, None)
                self.mic.blocks += 1
                if self.mic.on_block is not None:
                    self.mic.on_block(self.mic.blocks)
                time.sleep(BLOCK / RATE / 8)  # faster than real time

        def __enter__(self) -> Mic.Stream:
            self.thread.start()
            return self

        def __exit__(self, *exc: object) -> None:
            self.open = False
            self.thread.join()


async def test_key_presses_arrive_among_the_audio_and_ctrl_d_ends_push_to_talk() -> None:
    read, write = os.pipe()
    shown: list[dict[str, Any]] = []
    with os.fdopen(read, "rb", buffering=0) as stream, os.fdopen(write, "wb", 0) as keyboard:
        audio = open_local_audio(Mic(), keys=KeyReader(stream, toggle=True), on_event=shown.append)
        got: list[Any] = []
        async for frame in audio.frames():
            got.append(frame)
            audio_frames = sum(isinstance(f, AudioIn) for f in got)
            if audio_frames == 5 and len(got) == 5:
                keyboard.write(b"\n")  # Enter: talk
            if audio_frames == 20 and not any(isinstance(f, TalkKeyReleased) for f in got):
                keyboard.write(b"\n")  # Enter again: done
            if audio_frames == 30:
                keyboard.close()  # Ctrl-D: with push-to-talk nothing more can be said
            assert audio_frames < 2000, "the end of the keys never ended the conversation"
    kinds = [type(f) for f in got]
    pressed, released = kinds.index(TalkKeyPressed), kinds.index(TalkKeyReleased)
    assert 5 <= pressed < released and kinds.count(TalkKeyPressed) == 1
    assert [e for e in shown if e["type"] == "talk_key"] == [
        {"type": "talk_key", "talking": True, "toggle": True},
        {"type": "talk_key", "talking": False, "toggle": True},
    ]
    assert audio.events == shown


async def test_ctrl_c_hangs_up_and_a_second_one_is_the_usual_interrupt() -> None:
    audio = LocalAudio(Mic())
    got = 0
    with audio.ctrl_c_hangs_up():
        async for _ in audio.frames():
            got += 1
            if got == 10:
                os.kill(os.getpid(), signal.SIGINT)  # the user presses Ctrl-C
            assert got < 2000, "Ctrl-C did not end the conversation"
        assert audio.events == [{"type": "hang_up"}]
        # The handler is gone after the first: the next Ctrl-C interrupts as usual.
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGINT)
        await asyncio.sleep(0.1)


async def test_a_push_to_talk_conversation_over_the_sound_card(
    companion: Companion, model: ScriptedModel
) -> None:
    model.replies = ["Hello, Theo."]
    read, write = os.pipe()
    with os.fdopen(read, "rb", buffering=0) as stream, os.fdopen(write, "wb", 0) as keyboard:

        def shown(event: dict[str, Any]) -> None:
            if event["type"] == "heard":
                audio.stop()  # she has answered: hang up

        def user(block: int) -> None:
            if block in (5, 40):  # Enter to talk, Enter again to finish (with 35 blocks said)
                keyboard.write(b"\n")

        keys = KeyReader(stream, toggle=True)
        audio = open_local_audio(Mic(on_block=user), keys=keys, on_event=shown)
        voice = VoiceSession(
            companion,
            "theo",
            Engines(AmplitudeVAD(), ScriptedRecogniser(["hello there"]), ToneSynthesiser()),
        )
        await asyncio.wait_for(talk(voice, audio, turns=TurnSettings(push_to_talk=True)), 60)
    kinds = [e["type"] for e in audio.events]
    assert kinds[:2] == ["talk_key", "talk_key"] and kinds[-1] == "heard", kinds
    (transcript,) = [e for e in audio.events if e["type"] == "transcript"]
    assert transcript["text"] == "hello there"
    assert audio.events[-1] == {
        "type": "heard", "text": "Hello, Theo.", "reply_id": 1, "interrupted": False
    }  # fmt: skip
    rows = await companion.history("theo")
    assert [(r["role"], r["content"]) for r in rows] == [
        ("user", "hello there"),
        ("assistant", "Hello, Theo."),
    ]


async def test_hanging_up_mid_reply_stops_her_and_keeps_what_was_heard(
    companion: Companion, model: ScriptedModel
) -> None:
    story = (
        "Once upon a time a lighthouse keeper lived alone by the sea, "
        "and every night she lit the lamp for the ships."
    )
    model.replies = [story]
    loop = asyncio.get_running_loop()
    read, write = os.pipe()
    with os.fdopen(read, "rb", buffering=0) as stream, os.fdopen(write, "wb", 0) as keyboard:
        replying: list[int] = []

        def shown(event: dict[str, Any]) -> None:
            if event["type"] == "reply" and not replying:
                replying.append(mic.blocks)

        def user(block: int) -> None:
            if block in (5, 40):
                keyboard.write(b"\n")
            if replying and block == replying[0] + 40:  # 1.3 s into her reply: Ctrl-C
                loop.call_soon_threadsafe(audio.stop)

        mic = Mic(on_block=user)
        audio = open_local_audio(mic, keys=KeyReader(stream, toggle=True), on_event=shown)
        voice = VoiceSession(
            companion,
            "theo",
            Engines(AmplitudeVAD(), ScriptedRecogniser(["tell me a story"]), ToneSynthesiser()),
        )
        await asyncio.wait_for(talk(voice, audio, turns=TurnSettings(push_to_talk=True)), 60)
    (heard,) = [e for e in audio.events if e["type"] == "heard"]
    assert heard["interrupted"] and 3 <= len(heard["text"].split()) <= 8, heard
    assert story.startswith(heard["text"])
    rows = await companion.history("theo")
    assert [(r["role"], r["content"], r["status"]) for r in rows][1] == (
        "assistant", heard["text"], "interrupted"
    )  # fmt: skip
