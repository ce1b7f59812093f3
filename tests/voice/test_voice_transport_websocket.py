"""The WebSocket PCM transport, with a real server and a real client on loopback.

The engines are the real ones (Silero, Whisper, Piper; espeak-ng for the user who barges
in); the Companion is real with a scripted model, so the words she says are known. The
client streams its microphone in real time, as a browser would, silence included. The
tests of sign-in, many users, push-to-talk and limits use fake engines (a loudness VAD,
scripted ears, a tone voice): they are about who is talking, not how well she hears.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import numpy as np
import pytest
from speech import spoken, words
from voice_fakes import AmplitudeVAD, ScriptedRecogniser, ToneSynthesiser
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from os1 import tokens
from os1.companion import Companion
from os1.config import Config
from os1.persona import Persona, Profile
from os1.testing import ScriptedModel
from os1.voice import settings as voice_settings
from os1.voice.audio import to_pcm
from os1.voice.engines import (
    Engines,
    EspeakSynthesiser,
    PiperSynthesiser,
    SileroVad,
    WhisperRecogniser,
)
from os1.voice.frames import AudioIn, TalkKeyPressed, TalkKeyReleased
from os1.voice.shared_engines import SharedEngines
from os1.voice.websocket import MAX_FRAME_BYTES, ProtocolError, VoiceServer, WebSocketTransport

RATE, FRAME = 16000, 512
ANSWER = "The sea is very deep, and whales sing long songs to each other in the dark water."
STORY = (
    "Once upon a time, a lighthouse keeper lived alone by the sea. Every night she climbed "
    "the stairs and lit the lamp for the ships. One stormy night a small boat came close to "
    "the rocks, and she rang the bell as loud as she could. The sailors heard it and turned "
    "away just in time. In the morning they came to thank her with bread and fish."
)


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


async def real_engines() -> Engines:
    return Engines(SileroVad(), WhisperRecogniser(), PiperSynthesiser())


async def test_a_spoken_question_over_a_websocket_gets_an_intelligible_spoken_answer(
    config: Config, piper: PiperSynthesiser
) -> None:
    model = ScriptedModel([ANSWER])
    companion = await Companion.open(config, embedder=None, model=model)
    try:
        question = to_pcm(await spoken(piper, "Can you tell me a little about the sea?"))
        # No engines given: the server's own, in theo's persona voice (the best installed:
        # Silero, Whisper, Piper), shared with any other conversation in that voice.
        async with VoiceServer(companion, "theo", port=0) as server:
            assert server.host == "127.0.0.1" and not server.sign_in_required
            async with connect(server.url) as ws:
                await ws.send(json.dumps({"user": "theo", "sample_rate": RATE}))
                ready = json.loads(await ws.recv())
                assert ready == {"type": "ready", "user": "theo", "sample_rate": RATE}
                client = Client(ws)
                await client.say(bytes(RATE))  # half a second of quiet
                await client.say(question)
                await client.quiet_until(lambda: bool(client.of("heard")))
                await client.hang_up()

        transcript = " ".join(e["text"] for e in client.of("transcript") if e["final"])
        assert {"tell", "me", "little", "about"} <= set(words(transcript)), transcript
        reply = " ".join(e["text"] for e in client.of("reply"))
        assert words(reply) == words(ANSWER)
        (heard,) = client.of("heard")
        assert not heard["interrupted"] and words(heard["text"]) == words(ANSWER)
        # The audio header came before any audio; the answer is her voice, understood again.
        header = client.of("audio")[0]
        # (Her voice: the default persona's is neutral, Kokoro's, at 24 kHz.)
        assert header["audio_bytes"] == 0 and client.rate == 24000
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
        question = to_pcm(await spoken(piper, "Could you tell me a story about the sea?"))
        interruption = to_pcm(await spoken(EspeakSynthesiser("female"), "Wait, wait, stop please."))
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
        transcripts = [e["text"].lower() for e in client.of("transcript") if e["final"]]
        assert len(transcripts) == 2 and "stop" in transcripts[1], transcripts

        rows = [(r["role"], r["content"], r["status"]) for r in await companion.history("theo")]
        assert rows[1] == ("assistant", first["text"], "interrupted")
        assert rows[3] == ("assistant", "Of course, I'm listening.", "complete")
    finally:
        await companion.close()


async def fake_engines() -> Engines:
    return Engines(AmplitudeVAD(), ScriptedRecogniser(["hello"]), ToneSynthesiser())


async def refused(
    url: str, hello: str | None, *messages: str | bytes, ready: bool = False, **options: Any
) -> tuple[str, int]:
    """Connect, send the hello and messages; the error event and the close code."""
    async with connect(url, **options) as ws:
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
                    event = json.loads(message)
                    if event.get("final", True):  # an early transcript may come first
                        kinds.append(event["type"])
            assert kinds[:2] == ["transcript", "reply"], kinds
        assert server.connections == 8
    replies = [r["content"] for r in await companion.history("theo") if r["role"] == "user"]
    assert replies == ["hello"]


# -- sign-in, many users, push-to-talk, limits ------------------------------------------

BURST = to_pcm(0.3 * np.sign(np.sin(np.arange(RATE // 2) / 3)))  # half a second of "speech"
SAID = {"female": "the lighthouse keeper", "male": "the whale singer", "neutral": "a stranger"}


def by_voice(voice: str) -> Engines:
    """Fake engines whose ears hear what each voice's user says (to tell users apart)."""
    return Engines(AmplitudeVAD(), ScriptedRecogniser([SAID[voice]]), ToneSynthesiser())


async def token_for(companion: Companion, user: str, voice: str | None = None) -> str:
    if voice is not None:
        await companion.save_persona(user, Persona("Sam", "", voice=voice), Profile())  # type: ignore[arg-type]
    _, text = await companion.store.write(lambda c: tokens.create(c, user, "test"))
    return text


async def exchange(url: str, hello: dict[str, Any], **options: Any) -> list[dict[str, Any]]:
    """Sign in, say something, wait until her answer was heard; the events, ready first."""
    async with connect(url, **options) as ws:
        await ws.send(json.dumps({"sample_rate": RATE, **hello}))
        ready = json.loads(await ws.recv())
        assert ready["type"] == "ready", ready
        client = Client(ws)
        await client.say(bytes(RATE))
        await client.say(BURST)
        await client.quiet_until(lambda: bool(client.of("heard")), limit_s=20)
        await client.hang_up()
    return [ready, *client.events]


async def test_two_users_each_with_a_token_talk_at_once_each_in_their_own_voice_and_history(
    companion: Companion, model: ScriptedModel
) -> None:
    theo = await token_for(companion, "theo", "female")
    amy = await token_for(companion, "amy", "male")
    shared = SharedEngines(companion, by_voice)
    # Nobody is served without a token here, not even the home's configured user.
    async with VoiceServer(companion, None, shared, port=0) as server:
        assert server.sign_in_required
        theos, amys = await asyncio.gather(
            exchange(server.url, {"token": theo, "user": "theo"}),
            # Amy signs in with a header on the upgrade request instead of in the hello.
            exchange(server.url, {}, additional_headers={"Authorization": f"Bearer {amy}"}),
        )
    assert theos[0]["user"] == "theo" and amys[0]["user"] == "amy"
    assert shared.voices == ["female", "male"]  # each user's engines follow her persona voice
    for events, said in ((theos, SAID["female"]), (amys, SAID["male"])):
        assert [e["text"] for e in events if e["type"] == "transcript" and e["final"]] == [said]
        assert not [e for e in events if e["type"] == "error"]

    for user, voice in (("theo", "female"), ("amy", "male")):
        rows = [(r["role"], r["content"]) for r in await companion.history(user)]
        assert rows == [("user", SAID[voice]), ("assistant", f"You said: {SAID[voice]}")]
    # The model never saw one user's words while answering the other.
    assert len(model.prompts) == 2
    for prompt in model.prompts:
        text = " ".join(m.content for m in prompt)
        assert ("lighthouse" in text) != ("whale" in text), text


async def test_a_token_signs_in_only_as_its_user_and_bad_or_revoked_tokens_are_refused(
    companion: Companion,
) -> None:
    amy = await token_for(companion, "amy")
    old = await token_for(companion, "amy")
    (old_id,) = [t.id for t in await companion.store.read(lambda c: tokens.tokens_of(c, "amy"))][1:]
    await companion.store.write(lambda c: tokens.revoke(c, "amy", old_id))
    unknown = tokens.PREFIX + "A" * 43  # well formed, never made
    async with VoiceServer(companion, "theo", fake_engines, port=0, hello_timeout=1) as server:
        url = server.url

        def hello(**fields: Any) -> str:
            return json.dumps({"sample_rate": RATE, **fields})

        claim, code = await refused(url, hello(token=amy, user="theo"))
        assert claim == "this token does not sign in as 'theo'" and code == 1008
        nobody, code = await refused(url, hello(token=amy, user="mallory"))
        assert nobody == "this token does not sign in as 'mallory'" and code == 1008
        # Unknown, revoked and garbage tokens get the same answer: nothing is revealed.
        answers = {await refused(url, hello(token=t)) for t in (unknown, old, "letmein")}
        assert answers == {("sign-in failed: that access token is not valid", 1008)}
        revoked_by_header, code = await refused(
            url, hello(), additional_headers={"Authorization": f"Bearer {old}"}
        )
        assert "not valid" in revoked_by_header and code == 1008
        two, code = await refused(
            url, hello(token=amy), additional_headers={"Authorization": f"Bearer {unknown}"}
        )
        assert "different tokens" in two and code == 1008
        scheme, code = await refused(
            url, hello(), additional_headers={"Authorization": "Basic dGhlbzpzZWNyZXQ="}
        )
        assert "Bearer" in scheme and code == 1008
        number, code = await refused(url, hello(token=42))
        assert "must be text" in number and code == 1008

        # Any web page in the user's browser can open a socket to loopback: one from
        # elsewhere must sign in, even where the configured user needs no token.
        page, code = await refused(url, hello(), origin="https://evil.example")
        assert "a web page from https://evil.example must sign in" in page and code == 1008
        async with connect(url, origin="https://evil.example") as ws:  # type: ignore[arg-type]
            await ws.send(hello(token=amy))
            assert json.loads(await ws.recv())["user"] == "amy"
        async with connect(url, origin="http://localhost:3000") as ws:  # type: ignore[arg-type]
            await ws.send(hello())
            assert json.loads(await ws.recv())["user"] == "theo"

        # On loopback the configured user still needs no token; a token signs in as its own
        # user on the same server, and the hello's user may name it.
        async with connect(url) as ws:
            await ws.send(hello(token=amy, user="amy"))
            assert json.loads(await ws.recv()) == {
                "type": "ready",
                "user": "amy",
                "sample_rate": RATE,
            }
        async with connect(url) as ws:
            await ws.send(hello())
            assert json.loads(await ws.recv())["user"] == "theo"
    assert [r["role"] for r in await companion.history("amy")] == []


async def test_off_loopback_every_connection_must_sign_in(companion: Companion) -> None:
    theo = await token_for(companion, "theo")
    # Listening on every address: the configured user gets no free pass.
    async with VoiceServer(companion, "theo", fake_engines, host="0.0.0.0", port=0) as server:
        assert server.sign_in_required
        url = f"ws://127.0.0.1:{server.port}"
        bare, code = await refused(url, json.dumps({"sample_rate": RATE, "user": "theo"}))
        assert "sign in: send your access token" in bare and "os1 tokens create" in bare
        assert code == 1008
        async with connect(url) as ws:
            await ws.send(json.dumps({"sample_rate": RATE, "token": theo}))
            assert json.loads(await ws.recv())["user"] == "theo"

    # Tokens everywhere, by choice; or (explicitly) none at all, for a trusted network.
    never = VoiceServer(companion, "theo", fake_engines, anonymous="never")
    assert never.sign_in_required
    anywhere = VoiceServer(companion, "theo", fake_engines, host="0.0.0.0", anonymous="anywhere")
    assert not anywhere.sign_in_required and anywhere.admission.anonymous_user == "theo"
    with pytest.raises(ValueError, match="needs the user"):
        VoiceServer(companion, None, fake_engines, host="0.0.0.0", anonymous="anywhere")
    with pytest.raises(ValueError, match="anonymous must be one of"):
        VoiceServer(companion, "theo", fake_engines, anonymous="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least 1"):
        VoiceServer(companion, "theo", fake_engines, max_per_user=0)


class FakeSocket:
    """What a client sent, in order, as `ServerConnection` iterates it."""

    def __init__(self, *messages: str | bytes) -> None:
        self.messages = messages

    async def __aiter__(self) -> AsyncIterator[str | bytes]:
        for message in self.messages:
            yield message


async def test_talk_messages_become_talk_key_frames_among_the_audio() -> None:
    press, release = '{"type": "talk", "pressed": true}', '{"type": "talk", "pressed": false}'
    socket = FakeSocket(bytes(4), press, bytes(2), release)
    transport = WebSocketTransport(socket)  # type: ignore[arg-type]
    frames = [frame async for frame in transport.frames()]
    assert frames == [AudioIn(bytes(4)), TalkKeyPressed(), AudioIn(bytes(2)), TalkKeyReleased()]

    for bad, code in (('{"type": "talk"}', 1007), ('{"type": "dance"}', 1003), ("[1]", 1003)):
        with pytest.raises(ProtocolError) as caught:
            _ = [f async for f in WebSocketTransport(FakeSocket(bad)).frames()]  # type: ignore[arg-type]
        assert caught.value.code == code, bad


async def test_push_to_talk_over_the_socket_follows_the_users_own_setting(
    companion: Companion,
) -> None:
    amy = await token_for(companion, "amy")
    await companion.store.write(lambda c: voice_settings.change(c, "amy", push_to_talk=True))
    async with VoiceServer(companion, "theo", fake_engines, port=0) as server:
        async with connect(server.url) as ws:
            await ws.send(json.dumps({"sample_rate": RATE, "token": amy}))
            assert json.loads(await ws.recv())["user"] == "amy"
            client = Client(ws)
            # Amy talks to the room without the key: not a turn.
            await client.say(bytes(RATE // 2))
            await client.say(BURST)
            await client.say(bytes(RATE * 2))
            assert client.of("transcript") == [], client.events
            # With the key held, she is heard, and her release ends the turn.
            await ws.send(json.dumps({"type": "talk", "pressed": True}))
            await client.say(BURST)
            await ws.send(json.dumps({"type": "talk", "pressed": False}))
            await client.quiet_until(lambda: bool(client.of("heard")), limit_s=20)
            await client.hang_up()
        assert not client.of("error")
        assert [e["text"] for e in client.of("transcript") if e["final"]] == ["hello"]
        bad, code = await refused(
            server.url, json.dumps({"sample_rate": RATE}), '{"type": "talk"}', ready=True
        )
        assert '"pressed": true or false' in bad and code == 1007
    assert [r["content"] for r in await companion.history("amy")] == ["hello", "You said: hello"]
    assert await companion.history("theo") == []


async def test_too_many_connections_are_refused_and_the_others_go_on(
    companion: Companion,
) -> None:
    amy = await token_for(companion, "amy")
    hello = json.dumps({"sample_rate": RATE})
    async with VoiceServer(
        companion, "theo", fake_engines, port=0, max_per_user=2, max_connections=3
    ) as server:
        url = server.url
        async with contextlib.AsyncExitStack() as stack:
            theirs = []
            for _ in range(2):
                ws = await stack.enter_async_context(connect(url))
                await ws.send(hello)
                assert json.loads(await ws.recv())["user"] == "theo"
                theirs.append(ws)
            third, code = await refused(url, hello)
            assert "you already have 2 voice conversations open" in third and code == 1013
            ws = await stack.enter_async_context(connect(url))
            await ws.send(json.dumps({"sample_rate": RATE, "token": amy}))
            assert json.loads(await ws.recv())["user"] == "amy"  # her own allowance
            full, code = await refused(url, None)
            assert "the voice server is full (3 connections at once)" in full and code == 1013
            assert server.admission.open == 3

            await theirs[0].close()
            for _ in range(50):  # the server notices the hang-up
                if server.admission.open < 3:
                    break
                await asyncio.sleep(0.05)
            again = await stack.enter_async_context(connect(url))
            await again.send(hello)
            assert json.loads(await again.recv())["user"] == "theo"
            await theirs[1].send(bytes(1024))  # the ones already talking were never touched
            assert theirs[1].close_code is None
        for _ in range(50):
            if server.admission.open == 0:
                break
            await asyncio.sleep(0.05)
        assert server.admission.open == 0 and not server.admission.by_user
