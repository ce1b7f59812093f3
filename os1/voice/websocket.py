"""The WebSocket PCM transport: one WebSocket is one spoken conversation.

The protocol (what the web front door's page, or any client, speaks):

1. The client sends a JSON hello: `{"sample_rate": 16000, "user": "theo"}` (`user` is
   optional; `sample_rate` is the rate of its microphone audio, 8000 to 48000 Hz).
2. The server answers `{"type": "ready", "user": ..., "sample_rate": 16000}`.
3. The client streams its microphone as binary messages of 16-bit little-endian mono PCM,
   at the speed of speech (the microphone is the pipeline's clock: her audio is sent back
   in step with it, so a client must keep sending, silence included, while she talks).
4. The server sends her voice as binary PCM of the same kind, each run of it preceded by
   `{"type": "audio", "sample_rate": N}` whenever the rate is new, and JSON events:
   `transcript` (what she heard), `reply` (her words, clause by clause), `heard` (what of
   a reply was played: `interrupted` when cut off), `clear` (the user barged in: flush
   your playback buffer now), and `error` (then the server closes the socket).

A server speaks for one user, the one it was started for (multi-user sign-in comes with the
web server), and listens on loopback unless told otherwise. Malformed input (a bad hello,
text where PCM is expected, an odd number of bytes, a frame over `MAX_FRAME_BYTES`) gets
an `error` event and a clean close; the server keeps serving other connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from ..companion import Companion
from .audio import SPEECH_RATE, pcm_at, to_pcm
from .engines import Engines
from .frames import AudioIn
from .interfaces import Speaker
from .pipeline import PipelineError
from .session import VoiceSession
from .transport import talk
from .turns import TurnSettings

log = logging.getLogger(__name__)

DEFAULT_PORT = 8765
#: The largest audio message accepted: 2 s of 16 kHz PCM (a browser sends 20–100 ms).
MAX_FRAME_BYTES = 64 * 1024
#: Messages larger than this are refused by the WebSocket layer itself (close code 1009).
MAX_MESSAGE_BYTES = 1024 * 1024

# Close codes (RFC 6455).
UNSUPPORTED, INVALID, POLICY, TOO_BIG, SERVER_ERROR = 1003, 1007, 1008, 1009, 1011


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
    async def frames(self) -> AsyncIterator[AudioIn]:
        async for message in self.ws:
            yield self._audio(message)

    def _audio(self, message: str | bytes) -> AudioIn:
        if isinstance(message, str):
            raise ProtocolError("expected binary 16-bit PCM audio, got a text message", UNSUPPORTED)
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
    """Serve spoken conversations with `user`'s Companion over WebSockets.

    `engines` makes a fresh set of engines for each connection (a VAD keeps state, and a
    synthesiser worker is closed with its session). `port=0` picks a free port (see `port`).
    """

    def __init__(
        self,
        companion: Companion,
        user: str,
        engines: Callable[[], Awaitable[Engines]],
        *,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        incognito: bool = False,
        turns: TurnSettings | None = None,
        hello_timeout: float = 10.0,
    ) -> None:
        self.companion, self.user, self.engines = companion, user, engines
        self.host, self.port = host, port
        self.incognito, self.turns = incognito, turns
        self.hello_timeout = hello_timeout
        self.connections = 0
        self._server: Server | None = None

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

    async def __aenter__(self) -> VoiceServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _hello(self, ws: ServerConnection) -> int:
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
        user = hello.get("user", self.user)
        if user != self.user:
            raise ProtocolError(f"this server speaks only with {self.user!r}", POLICY)
        return rate

    async def _handle(self, ws: ServerConnection) -> None:
        self.connections += 1
        transport = WebSocketTransport(ws)
        transport.start()
        close_code, reason = 1000, ""
        try:
            transport.sample_rate = await self._hello(ws)
            session = VoiceSession(
                self.companion, self.user, await self.engines(), incognito=self.incognito
            )
            transport.event({"type": "ready", "user": self.user, "sample_rate": SPEECH_RATE})
            try:
                await talk(session, transport, turns=self.turns)
            finally:
                await session.close()
        except ProtocolError as e:
            transport.event({"type": "error", "message": str(e)})
            close_code, reason = e.code, "protocol error"
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
