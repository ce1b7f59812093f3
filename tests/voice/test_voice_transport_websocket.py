"""The WebSocket PCM transport, with a real server and a real client on loopback.

The engines are the real ones (Silero, Whisper, Piper; espeak-ng for the user who barges
in); the Companion is real with a scripted model, so the words she says are known. The
client streams its microphone in real time, as a browser would, silence included.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import numpy as np
import pytest
from voice_fakes import AmplitudeVAD, ScriptedRecogniser, ToneSynthesiser
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from os1.companion import Companion
from os1.config import Config
from os1.testing import ScriptedModel
from os1.voice.audio import pcm_at, to_pcm
from os1.voice.engines import (
    Engines,
    EspeakSynthesiser,
    PiperSynthesiser,
    SileroVad,
    WhisperRecogniser,
)
from os1.voice.websocket import MAX_FRAME_BYTES, VoiceServer

RATE, FRAME = 16000, 512
ANSWER = "The sea is very deep, and whales sing long songs to each other in the dark water."
STORY = (
    "Once upon a time, a lighthouse keeper lived alone by the sea. Every night she climbed "
    "the stairs and lit the lamp for the ships. One stormy night a small boat came close to "
    "the rocks, and she rang the bell as loud as she could. The sailors heard it and turned "
    "away just in time. In the morning they came to thank her with bread and fish."
)


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


async def spoken(synth: Any, text: str) -> bytes:
    chunks = [pcm_at(pcm, rate, RATE) async for pcm, rate in synth.synthesize(text)]
    return to_pcm(np.concatenate(chunks))


class Client:
    """A microphone streaming in real time; keeps her audio and the events, in order."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []
        self.audio = bytearray()
        self.rate: int | None = None
        self.clock = time.monotonic()
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self.ws:
            if isinstance(message, bytes):
                self.audio += message
                continue
            event = json.loads(message)
            event["audio_bytes"] = len(self.audio)  # how much audio had come before it
            self.events.append(event)
            if event["type"] == "audio":
                self.rate = event["sample_rate"]

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == kind]

    async def say(self, pcm: bytes) -> None:
        for i in range(0, len(pcm), FRAME * 2):
            frame = pcm[i : i + FRAME * 2]
            await self.ws.send(frame)
            self.clock += len(frame) / 2 / RATE
            await asyncio.sleep(max(0.0, self.clock - time.monotonic()))

    async def quiet_until(self, done: Callable[[], bool], limit_s: float = 60.0) -> None:
        silence = bytes(FRAME * 2)
        for _ in range(int(limit_s * RATE / FRAME)):
            if done():
                return
            await self.say(silence)
        raise AssertionError(f"timed out; events so far: {self.events}")

    async def hang_up(self) -> None:
        await self.ws.close()
        await self.reader


@pytest.fixture
async def piper() -> AsyncIterator[PiperSynthesiser]:
    synth = PiperSynthesiser()
    yield synth
    await synth.aclose()


async def real_engines() -> Engines:
    return Engines(SileroVad(), WhisperRecogniser(), PiperSynthesiser())


async def test_a_spoken_question_over_a_websocket_gets_an_intelligible_spoken_answer(
    config: Config, piper: PiperSynthesiser
) -> None:
    model = ScriptedModel([ANSWER])
    companion = await Companion.open(config, embedder=None, model=model)
    try:
        question = await spoken(piper, "Can you tell me a little about the sea?")
        async with VoiceServer(companion, "theo", real_engines, port=0) as server:
            assert server.host == "127.0.0.1"
            async with connect(server.url) as ws:
                await ws.send(json.dumps({"user": "theo", "sample_rate": RATE}))
                ready = json.loads(await ws.recv())
                assert ready == {"type": "ready", "user": "theo", "sample_rate": RATE}
                client = Client(ws)
                await client.say(bytes(RATE))  # half a second of quiet
                await client.say(question)
                await client.quiet_until(lambda: bool(client.of("heard")))
                await client.hang_up()

        transcript = " ".join(e["text"] for e in client.of("transcript"))
        assert {"tell", "me", "little", "about"} <= set(words(transcript)), transcript
        reply = " ".join(e["text"] for e in client.of("reply"))
        assert words(reply) == words(ANSWER)
        (heard,) = client.of("heard")
        assert not heard["interrupted"] and words(heard["text"]) == words(ANSWER)
        # The audio header came before any audio; the answer is her voice, understood again.
        header = client.of("audio")[0]
        assert header["audio_bytes"] == 0 and client.rate == 22050
        assert len(client.audio) / 2 / client.rate > 2.0
        recognised = words(await WhisperRecogniser().transcribe(bytes(client.audio), client.rate))
        assert len(recognised) >= 8, recognised
        assert len(set(recognised) & set(words(ANSWER))) / len(set(words(ANSWER))) >= 0.7

        rows = [(r["role"], r["status"]) for r in await companion.history("theo")]
        assert rows == [("user", "complete"), ("assistant", "complete")]
    finally:
        await companion.close()


async def test_barge_in_over_the_websocket_clears_the_client_and_keeps_what_was_heard(
    config: Config, piper: PiperSynthesiser
) -> None:
    model = ScriptedModel([STORY, "Of course, I'm listening."])
    companion = await Companion.open(config, embedder=None, model=model)
    try:
        question = await spoken(piper, "Could you tell me a story about the sea?")
        interruption = await spoken(EspeakSynthesiser("female"), "Wait, wait, stop please.")
        async with VoiceServer(companion, "theo", real_engines, port=0) as server:
            async with connect(server.url) as ws:
                await ws.send(json.dumps({"sample_rate": RATE}))
                assert json.loads(await ws.recv())["type"] == "ready"
                client = Client(ws)
                await client.say(bytes(RATE))
                await client.say(question)
                # Let her speak for two and a half seconds, then talk over her.
                await client.quiet_until(
                    lambda: client.rate is not None and len(client.audio) > 5 * client.rate
                )
                talked_at = len(client.audio)
                await client.say(interruption)
                await client.quiet_until(lambda: len(client.of("heard")) == 2)
                await client.hang_up()

        (clear,) = client.of("clear")
        first, second = client.of("heard")
        assert first["interrupted"] and not second["interrupted"]
        # `clear` came soon after the user began (barge-in needs ~200 ms of speech), and
        # before she reported what was heard; the story's audio then stopped.
        assert clear["audio_bytes"] - talked_at < 1.0 * 2 * 22050
        assert clear["audio_bytes"] <= first["audio_bytes"]
        assert second["text"] == "Of course, I'm listening."
        heard_words = first["text"].split()
        assert 4 <= len(heard_words) <= 16, first["text"]
        assert STORY.split()[: len(heard_words)] == heard_words
        transcripts = [e["text"].lower() for e in client.of("transcript")]
        assert len(transcripts) == 2 and "stop" in transcripts[1], transcripts

        rows = [(r["role"], r["content"], r["status"]) for r in await companion.history("theo")]
        assert rows[1] == ("assistant", first["text"], "interrupted")
        assert rows[3] == ("assistant", "Of course, I'm listening.", "complete")
    finally:
        await companion.close()


async def fake_engines() -> Engines:
    return Engines(AmplitudeVAD(), ScriptedRecogniser(["hello"]), ToneSynthesiser())


async def refused(
    url: str, hello: str | None, *messages: str | bytes, ready: bool = False
) -> tuple[str, int]:
    """Connect, send the hello and messages; the error event and the close code."""
    async with connect(url) as ws:
        if hello is not None:
            await ws.send(hello)
        if ready:
            assert json.loads(await ws.recv())["type"] == "ready"
        for message in messages:
            await ws.send(message)
        errors = []
        with pytest.raises(ConnectionClosed):
            while True:
                event = json.loads(await ws.recv())
                errors.append(event["message"]) if event["type"] == "error" else None
        assert ws.close_code is not None and len(errors) == 1, errors
        return errors[0], ws.close_code


async def test_malformed_input_gets_an_error_and_a_clean_close_and_the_server_goes_on(
    companion: Companion,
) -> None:
    async with VoiceServer(companion, "theo", fake_engines, port=0, hello_timeout=1) as server:
        url, hello = server.url, json.dumps({"sample_rate": RATE})
        text, code = await refused(url, hello, bytes(1024), "hello there", ready=True)
        assert "binary" in text and code == 1003
        odd, code = await refused(url, hello, bytes(1023), ready=True)
        assert "even byte count" in odd and code == 1007
        huge, code = await refused(url, hello, bytes(MAX_FRAME_BYTES + 2), ready=True)
        assert "over" in huge and code == 1009
        not_json, code = await refused(url, "{sample_rate: 16000")
        assert "not JSON" in not_json and code == 1007
        rate, code = await refused(url, json.dumps({"sample_rate": "fast"}))
        assert "sample_rate" in rate and code == 1007
        other, code = await refused(url, json.dumps({"user": "mallory", "sample_rate": RATE}))
        assert "only with 'theo'" in other and code == 1008
        silent, code = await refused(url, None)
        assert "no hello" in silent and code == 1008

        # Still serving: a well-behaved client talks (tone voice, scripted ears) and is
        # answered, with 8 kHz audio resampled on the way in.
        async with connect(url) as ws:
            await ws.send(json.dumps({"sample_rate": 8000}))
            assert json.loads(await ws.recv())["type"] == "ready"
            burst = to_pcm(0.3 * np.sign(np.sin(np.arange(8000) / 3)))
            for pcm in (bytes(8000), burst, bytes(16000)):
                for i in range(0, len(pcm), 512):
                    await ws.send(pcm[i : i + 512])
            kinds: list[str] = []
            while "reply" not in kinds:
                message = await asyncio.wait_for(ws.recv(), 10)
                if isinstance(message, str):
                    kinds.append(json.loads(message)["type"])
            assert kinds[:2] == ["transcript", "reply"], kinds
        assert server.connections == 8
    replies = [r["content"] for r in await companion.history("theo") if r["role"] == "user"]
    assert replies == ["hello"]
