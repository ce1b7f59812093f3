"""The local sound card as a transport: the microphone in, her voice out, full duplex.

Uses `sounddevice` (PortAudio) when it is installed and the machine has an input and an
output device; otherwise `open_local_audio` raises `LocalAudioUnavailable` saying which is
missing. Open microphone only (no push-to-talk yet), and no echo cancellation: with
loudspeakers she may hear herself, so use headphones (the "earpiece" mode).

One duplex stream at 16 kHz mono: each input block the device delivers is one `AudioIn`
frame (the pipeline's clock), and the output callback plays what `play` queued, silence
when nothing is. `clear` drops what is queued at once (barge-in).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from types import ModuleType
from typing import Any

from .audio import SPEECH_RATE
from .frames import AudioIn
from .interfaces import Speaker

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


def open_local_audio(sd: Any = None, block: int = BLOCK) -> LocalAudio:
    """The default microphone and speaker, or `LocalAudioUnavailable` saying what is missing."""
    sd = _sounddevice() if sd is None else sd
    _check_devices(sd)
    return LocalAudio(sd, block)


class LocalAudio:
    """A `Transport` on the default duplex sound device (16 kHz mono int16)."""

    live = True
    output_rate: int | None = SPEECH_RATE

    def __init__(self, sd: Any, block: int = BLOCK) -> None:
        self.sd, self.block = sd, block
        self.speaker: Speaker = self
        self.events: list[dict[str, Any]] = []
        self._buffer = bytearray()
        self._lock = threading.Lock()
        self._stop = asyncio.Event()

    def event(self, event: dict[str, Any]) -> None:
        self.events.append(event)

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

    def _fill(self, out: Any) -> None:
        size = len(out)
        with self._lock:
            chunk = bytes(self._buffer[:size])
            del self._buffer[:size]
        out[: len(chunk)] = chunk
        out[len(chunk) :] = bytes(size - len(chunk))

    async def frames(self) -> AsyncIterator[AudioIn]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[bytes] = asyncio.Queue()

        def callback(indata: Any, outdata: Any, frames: int, time: Any, status: Any) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, bytes(indata))
            self._fill(outdata)

        stream = self.sd.RawStream(
            samplerate=SPEECH_RATE, blocksize=self.block, channels=1, dtype="int16",
            callback=callback,
        )  # fmt: skip
        with stream:
            stopped = asyncio.create_task(self._stop.wait())
            try:
                while True:
                    got = asyncio.create_task(queue.get())
                    await asyncio.wait({got, stopped}, return_when=asyncio.FIRST_COMPLETED)
                    if not got.done():
                        got.cancel()
                        return
                    yield AudioIn(got.result(), SPEECH_RATE)
            finally:
                stopped.cancel()
