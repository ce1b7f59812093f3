"""The local sound card as a transport: the microphone in, her voice out, full duplex.

Uses `sounddevice` (PortAudio) when it is installed and the machine has an input and an
output device; otherwise `open_local_audio` raises `LocalAudioUnavailable` saying which is
missing. There is no echo cancellation: with loudspeakers the microphone hears her too, so
the turn detector's "speaker" mode lets only a clearly louder voice (or the talk key)
interrupt her; with headphones ("earpiece") any speech can.

One duplex stream at 16 kHz mono: each input block the device delivers is one `AudioIn`
frame (the pipeline's clock), and the output callback plays what `play` queued, silence
when nothing is. `clear` drops what is queued at once (barge-in).

The talk key is the terminal's Enter key, read by a `KeyReader` on a thread of its own (so
the event loop never blocks on the terminal, and tests can feed it any stream): with
push-to-talk, Enter starts talking and Enter again finishes; on an open microphone, Enter
starts a turn at once (how to stop her over a loud echo). Ctrl-C (`ctrl_c_hangs_up`) ends
the conversation cleanly; a second Ctrl-C stops at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from types import ModuleType
from typing import IO, Any

from .audio import SPEECH_RATE
from .frames import AudioIn, TalkKeyPressed, TalkKeyReleased
from .interfaces import Speaker
from .transport import InputFrame

BLOCK = 512  # samples per block: 32 ms, one VAD window


class LocalAudioUnavailable(RuntimeError):
    """No sound library or no sound device on this machine."""


def _sounddevice() -> ModuleType:
    try:
        import sounddevice
    except ImportError:
        raise LocalAudioUnavailable(
            "the sounddevice package is not installed (pip install sounddevice)"
        ) from None
    except OSError as e:  # sounddevice is there but PortAudio is not
        raise LocalAudioUnavailable(
            f"the PortAudio library is missing ({e}); install it, e.g. apt install libportaudio2"
        ) from None
    return sounddevice


def _check_devices(sd: Any) -> None:
    for kind in ("input", "output"):
        try:
            sd.query_devices(kind=kind)
        except Exception:  # sounddevice raises PortAudioError or ValueError here
            raise LocalAudioUnavailable(f"this machine has no audio {kind} device") from None


def open_local_audio(sd: Any = None, block: int = BLOCK, **options: Any) -> LocalAudio:
    """The default microphone and speaker, or `LocalAudioUnavailable` saying what is missing.

    `options` go to `LocalAudio` (`keys`, `on_event`)."""
    sd = _sounddevice() if sd is None else sd
    _check_devices(sd)
    return LocalAudio(sd, block, **options)


class KeyReader:
    """The talk key: each line read from `stream` (the user pressing Enter) is a press.

    With `toggle` (push-to-talk) presses alternate between `TalkKeyPressed` and
    `TalkKeyReleased`; without, each is a `TalkKeyPressed`. The end of the stream
    (Ctrl-D) lets go of a held key, then calls `on_end`.
    """

    def __init__(self, stream: IO[Any], toggle: bool = True) -> None:
        self.stream, self.toggle = stream, toggle
        self.held = False

    def presses(self) -> Iterator[InputFrame]:
        """The key frames, as the lines come (blocking: run it off the event loop)."""
        while self.stream.readline():  # "" (or b"") only at the end of the stream
            if self.toggle and self.held:
                self.held = False
                yield TalkKeyReleased()
            else:
                self.held = self.toggle
                yield TalkKeyPressed()
        if self.held:
            self.held = False
            yield TalkKeyReleased()

    def start(self, deliver: Callable[[InputFrame], None], on_end: Callable[[], None]) -> None:
        """Read on a daemon thread (a blocked read must never keep the program alive),
        handing each frame to `deliver` and then calling `on_end`, both on that thread."""

        def run() -> None:
            with contextlib.suppress(ValueError, OSError):  # the stream was closed under us
                for frame in self.presses():
                    deliver(frame)
            on_end()

        threading.Thread(target=run, name="os1-talk-key", daemon=True).start()


class LocalAudio:
    """A `Transport` on the default duplex sound device (16 kHz mono int16).

    `keys` reads the talk key; with `keys.toggle` (push-to-talk) the end of its stream
    also ends the conversation, since the user can no longer talk. `on_event` sees each
    event as it comes (`transport.event_for`'s, and `talk_key`, `hang_up`), for a display.
    """

    live = True
    output_rate: int | None = SPEECH_RATE

    def __init__(
        self,
        sd: Any,
        block: int = BLOCK,
        keys: KeyReader | None = None,
        on_event: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.sd, self.block, self.keys, self.on_event = sd, block, keys, on_event
        self.speaker: Speaker = self
        self.events: list[dict[str, Any]] = []
        self._buffer = bytearray()
        self._lock = threading.Lock()
        self._stop = asyncio.Event()

    def event(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        if self.on_event is not None:
            self.on_event(event)

    async def play(self, pcm: bytes, sample_rate: int) -> None:
        assert sample_rate == SPEECH_RATE, "the pipeline resamples to the device's rate"
        with self._lock:
            self._buffer += pcm

    async def clear(self) -> None:
        with self._lock:
            self._buffer.clear()

    def stop(self) -> None:
        """End the conversation (the frames stop)."""
        self._stop.set()

    @contextlib.contextmanager
    def ctrl_c_hangs_up(self) -> Iterator[None]:
        """While inside, Ctrl-C ends the conversation (`stop`) instead of killing it; a
        second Ctrl-C raises `KeyboardInterrupt` as usual. Needs the main thread on Unix;
        elsewhere Ctrl-C keeps its usual meaning."""
        loop = asyncio.get_running_loop()

        def hang_up() -> None:
            self.event({"type": "hang_up"})
            self.stop()
            loop.remove_signal_handler(signal.SIGINT)  # the next one is the usual Ctrl-C

        try:
            loop.add_signal_handler(signal.SIGINT, hang_up)
        except (NotImplementedError, RuntimeError, ValueError):  # Windows; not main thread
            yield
            return
        try:
            yield
        finally:
            loop.remove_signal_handler(signal.SIGINT)

    def _fill(self, out: Any) -> None:
        size = len(out)
        with self._lock:
            chunk = bytes(self._buffer[:size])
            del self._buffer[:size]
        out[: len(chunk)] = chunk
        out[len(chunk) :] = bytes(size - len(chunk))

    def _start_keys(
        self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[InputFrame]
    ) -> None:
        keys = self.keys
        if keys is None:
            return

        def soon(fn: Callable[..., Any], *args: Any) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is gone: the talk is over
                loop.call_soon_threadsafe(fn, *args)

        def deliver(frame: InputFrame) -> None:
            soon(queue.put_nowait, frame)
            talking = isinstance(frame, TalkKeyPressed)
            soon(self.event, {"type": "talk_key", "talking": talking, "toggle": keys.toggle})

        def ended() -> None:
            if keys.toggle:
                soon(self.stop)  # push-to-talk without a key: nothing more can be said

        keys.start(deliver, ended)

    async def frames(self) -> AsyncIterator[InputFrame]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[InputFrame] = asyncio.Queue()

        def callback(indata: Any, outdata: Any, frames: int, time: Any, status: Any) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, AudioIn(bytes(indata), SPEECH_RATE))
            self._fill(outdata)

        stream = self.sd.RawStream(
            samplerate=SPEECH_RATE, blocksize=self.block, channels=1, dtype="int16",
            callback=callback,
        )  # fmt: skip
        with stream:
            self._start_keys(loop, queue)
            stopped = asyncio.create_task(self._stop.wait())
            try:
                while True:
                    got = asyncio.create_task(queue.get())
                    await asyncio.wait({got, stopped}, return_when=asyncio.FIRST_COMPLETED)
                    if not got.done():
                        got.cancel()
                        return
                    yield got.result()
            finally:
                stopped.cancel()
