"""The WebSocket PCM transport: one WebSocket is one spoken conversation of one user.

The protocol (what the web front door's page, or any client, speaks):

1. The client signs in and says hello in one JSON message:
   `{"sample_rate": 16000, "token": "os1_...", "user": "theo"}`. `sample_rate` is the rate
   of its microphone audio, 8000 to 48000 Hz. `token` is one of the user's access tokens
   (`os1 tokens create`); a client that can set headers may send it instead as
   `Authorization: Bearer os1_...` on the HTTP upgrade. `user` is optional: if given, it
   must be the token's user. Without a token, a server for local use (on loopback, by
   default) speaks with the home's configured user; elsewhere a token is required. The
   rules, and the limits on connections, are in `os1/voice/admission.py`.
2. The server answers `{"type": "ready", "user": ..., "sample_rate": 16000}`.
3. The client streams its microphone as binary messages of 16-bit little-endian mono PCM,
   at the speed of speech (the microphone is the pipeline's clock: her audio is sent back
   in step with it, so a client must keep sending, silence included, while she talks).
   For push-to-talk it sends the talk key as text: `{"type": "talk", "pressed": true}` when
   the key goes down, `{"type": "talk", "pressed": false}` when it comes up.
4. The server sends her voice as binary PCM of the same kind, each run of it preceded by
   `{"type": "audio", "sample_rate": N}` whenever the rate is new, and JSON events:
   `transcript` (what she heard), `reply` (her words, clause by clause), `heard` (what of
   a reply was played: `interrupted` when cut off), `clear` (the user barged in: flush
   your playback buffer now), and `error` (then the server closes the socket).

Each connection gets its own `VoiceSession` for its user, turn-taking from that user's
voice settings (earpiece or speaker, push-to-talk), and engines in that user's persona
voice (`SharedEngines`: heavy models load once and are shared, per-stream state is not).
A refused sign-in closes with 1008, a full server with 1013. Malformed input (a bad
hello, text that is not a talk message, an odd number of bytes, a frame over
`MAX_FRAME_BYTES`) gets an `error` event and a clean close; the server keeps serving other
connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed

from ..companion import Companion
from .admission import Admission, Anonymous, Refused, bearer
from .audio import SPEECH_RATE, pcm_at, to_pcm
from .engines import Engines
from .frames import AudioIn, TalkKeyPressed, TalkKeyReleased
from .interfaces import Speaker
from .pipeline import PipelineError
from .session import VoiceSession
from .settings import load
from .shared_engines import SharedEngines
from .transport import InputFrame, talk
from .turns import TurnSettings

log = logging.getLogger(__name__)

DEFAULT_PORT = 8765
#: The largest audio message accepted: 2 s of 16 kHz PCM (a browser sends 20–100 ms).
MAX_FRAME_BYTES = 64 * 1024
#: Messages larger than this are refused by the WebSocket layer itself (close code 1009).
MAX_MESSAGE_BYTES = 1024 * 1024

# Close codes (RFC 6455).
UNSUPPORTED, INVALID, POLICY, TOO_BIG, SERVER_ERROR = 1003, 1007, 1008, 1009, 1011

TALK = '{"type": "talk", "pressed": true}'


class ProtocolError(Exception):
    """The client broke the protocol: say why, then close with `code`."""

    def __init__(self, message: str, code: int = INVALID) -> None:
        super().__init__(message)
        self.code = code


class WebSocketTransport:
    """A `Transport` over one WebSocket connection (after the hello)."""

    live = True
    output_rate: int | None = None

    def __init__(self, ws: ServerConnection, sample_rate: int = SPEECH_RATE) -> None:
        self.ws, self.sample_rate = ws, sample_rate
        self.speaker: Speaker = self
        self._out: asyncio.Queue[str | bytes | None] = asyncio.Queue()
        self._rate: int | None = None
        self._writer: asyncio.Task[None] | None = None

    # -- what the client sends --------------------------------------------------------
    async def frames(self) -> AsyncIterator[InputFrame]:
        async for message in self.ws:
            yield self._talk(message) if isinstance(message, str) else self._audio(message)

    def _talk(self, message: str) -> TalkKeyPressed | TalkKeyReleased:
        """The only text a client sends after the hello: the push-to-talk key."""
        try:
            data = json.loads(message)
        except ValueError:
            data = None
        if not isinstance(data, dict) or data.get("type") != "talk":
            raise ProtocolError(
                f"expected binary 16-bit PCM audio or a talk message ({TALK}), got other text",
                UNSUPPORTED,
            )
        pressed = data.get("pressed")
        if not isinstance(pressed, bool):
            raise ProtocolError(f'a talk message needs "pressed": true or false: {TALK}')
        return TalkKeyPressed() if pressed else TalkKeyReleased()

    def _audio(self, message: bytes) -> AudioIn:
        if len(message) > MAX_FRAME_BYTES:
            raise ProtocolError(
                f"audio message of {len(message)} bytes is over {MAX_FRAME_BYTES}: "
                "send the microphone in small pieces (20-100 ms)",
                TOO_BIG,
            )
        if len(message) % 2:
            raise ProtocolError(
                f"audio message of {len(message)} bytes: 16-bit PCM has an even byte count"
            )
        if self.sample_rate == SPEECH_RATE:
            return AudioIn(bytes(message), SPEECH_RATE)
        return AudioIn(to_pcm(pcm_at(bytes(message), self.sample_rate)), SPEECH_RATE)

    # -- what the server sends --------------------------------------------------------
    def event(self, event: dict[str, Any]) -> None:
        self._out.put_nowait(json.dumps(event))

    async def play(self, pcm: bytes, sample_rate: int) -> None:
        if sample_rate != self._rate:
            self._rate = sample_rate
            self.event({"type": "audio", "sample_rate": sample_rate})
        self._out.put_nowait(pcm)

    async def clear(self) -> None:
        """Barge-in: drop her audio not yet sent, and tell the client to flush its own."""
        kept = [m for m in self._drain() if not isinstance(m, bytes)]
        for message in kept:
            self._out.put_nowait(message)
        self.event({"type": "clear"})

    def _drain(self) -> list[str | bytes | None]:
        items = []
        while not self._out.empty():
            items.append(self._out.get_nowait())
        return items

    def start(self) -> None:
        self._writer = asyncio.create_task(self._write())

    async def _write(self) -> None:
        while (message := await self._out.get()) is not None:
            await self.ws.send(message)

    async def finish(self) -> None:
        """Send what is queued, then stop writing."""
        if self._writer is None:
            return
        self._out.put_nowait(None)
        with contextlib.suppress(ConnectionClosed):
            await self._writer


class VoiceServer:
    """Serve spoken conversations with the Companion over WebSockets, one user per connection.

    `user` is the home's configured user, served without a token where `anonymous` allows
    (see `os1/voice/admission.py`: on loopback only, by default; None: never). `engines`
    makes a fresh set of engines for each connection, the same whoever signs in (a test's
    fakes); by default each user's conversation gets engines in their persona voice, from a
    `SharedEngines` the server owns. `turns` applies to every connection; by default each
    follows its user's voice settings. `port=0` picks a free port (see `port`). Raises
    `ValueError` for limits below one, or for `anonymous="anywhere"` without a `user`.
    """

    def __init__(
        self,
        companion: Companion,
        user: str | None = None,
        engines: Callable[[], Awaitable[Engines]] | SharedEngines | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        incognito: bool = False,
        turns: TurnSettings | None = None,
        hello_timeout: float = 10.0,
        anonymous: Anonymous = "loopback",
        max_per_user: int = 4,
        max_connections: int = 16,
    ) -> None:
        if anonymous == "anywhere" and user is None:
            raise ValueError('anonymous="anywhere" needs the user that connections speak as')
        self.companion, self.user = companion, user
        self._owns_engines = engines is None
        self.engines = SharedEngines(companion) if engines is None else engines
        self.host, self.port = host, port
        self.incognito, self.turns = incognito, turns
        self.hello_timeout = hello_timeout
        self.admission = Admission(
            companion.store,
            user,
            host,
            anonymous=anonymous,
            max_per_user=max_per_user,
            max_connections=max_connections,
        )
        #: Connections handled so far (refused ones included).
        self.connections = 0
        self._server: Server | None = None

    @property
    def sign_in_required(self) -> bool:
        """Whether every connection must bring an access token."""
        return self.admission.anonymous_user is None

    async def start(self) -> None:
        self._server = await serve(self._handle, self.host, self.port, max_size=MAX_MESSAGE_BYTES)
        self.port = self._server.sockets[0].getsockname()[1] if self.port == 0 else self.port

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    async def serve_forever(self) -> None:
        if self._server is None:
            await self.start()
        assert self._server is not None
        await self._server.serve_forever()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        if self._owns_engines and isinstance(self.engines, SharedEngines):
            await self.engines.aclose()

    async def __aenter__(self) -> VoiceServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _hello(self, ws: ServerConnection) -> tuple[int, str]:
        """The client's microphone rate, and the user it signed in as."""
        try:
            message = await asyncio.wait_for(ws.recv(), self.hello_timeout)
        except TimeoutError:
            raise ProtocolError('no hello: send {"sample_rate": 16000} first', POLICY) from None
        if isinstance(message, bytes):
            raise ProtocolError("the first message must be a JSON hello, not audio")
        try:
            hello = json.loads(message)
        except ValueError:
            raise ProtocolError("the hello is not JSON") from None
        if not isinstance(hello, dict):
            raise ProtocolError("the hello must be a JSON object")
        rate = hello.get("sample_rate", SPEECH_RATE)
        if not isinstance(rate, int) or isinstance(rate, bool) or not 8000 <= rate <= 48000:
            raise ProtocolError(f"sample_rate must be a whole number of Hz, 8000-48000: {rate!r}")
        headers = ws.request.headers if ws.request else Headers()
        sent, origins = headers.get_all("Authorization"), headers.get_all("Origin")
        if len(sent) > 1 or len(origins) > 1:
            raise Refused("send one Authorization header and at most one Origin")
        header, origin = bearer(sent[0] if sent else None), origins[0] if origins else None
        try:
            user = await self.admission.sign_in(
                hello.get("token"), header, hello.get("user"), origin
            )
        except Refused:
            log.warning("voice sign-in refused for %s", ws.remote_address)
            raise
        return rate, user

    async def _engines(self, user: str) -> Engines:
        if isinstance(self.engines, SharedEngines):
            return await self.engines(user)
        return await self.engines()

    async def _handle(self, ws: ServerConnection) -> None:
        self.connections += 1
        transport = WebSocketTransport(ws)
        transport.start()
        close_code, reason = 1000, ""
        try:
            with self.admission.connection():
                transport.sample_rate, user = await self._hello(ws)
                with self.admission.conversation(user):
                    await self._converse(transport, user)
        except (ProtocolError, Refused) as e:
            transport.event({"type": "error", "message": str(e)})
            close_code, reason = e.code, "refused" if isinstance(e, Refused) else "protocol error"
        except PipelineError as e:
            log.exception("voice pipeline failed")
            transport.event({"type": "error", "message": f"she could not go on: {e}"})
            close_code, reason = SERVER_ERROR, "pipeline failed"
        except ConnectionClosed:
            pass
        except Exception as e:  # an engine that cannot load, say: tell the client, serve on
            log.exception("voice connection failed")
            transport.event({"type": "error", "message": f"she could not go on: {e}"})
            close_code, reason = SERVER_ERROR, "server error"
        finally:
            await transport.finish()
            await ws.close(close_code, reason)

    async def _converse(self, transport: WebSocketTransport, user: str) -> None:
        settings = await self.companion.store.read(lambda c: load(c, user))
        # The user's own say: earpiece or speaker, push-to-talk, expressiveness.
        turns = self.turns if self.turns is not None else TurnSettings.of(settings)
        session = VoiceSession(
            self.companion, user, await self._engines(user), incognito=self.incognito,
            settings=settings,
        )  # fmt: skip
        try:
            transport.event({"type": "ready", "user": user, "sample_rate": SPEECH_RATE})
            await talk(session, transport, turns=turns)
        finally:
            await session.close()
