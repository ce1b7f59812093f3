"""Play her audio in step with the microphone and know exactly which words were heard.

The microphone's `AudioIn` frames are the clock: a duplex sound device (or a browser
streaming its microphone) takes in one block of audio for each block it plays, so for
every input frame this plays the same duration of her speech (or silence). That makes
"played" exact in a simulation and a good estimate live. When a reply has been played to
its end it reports `Heard(all of it)`; on an interruption it stops at once, clears the
speaker, and reports only what was played: whole chunks, then the played fraction of the
current chunk (by sample count) as the same fraction of its words. A `Duck` frame sets
her volume (lowered while the user may be talking over her, restored after a backchannel);
an interruption resets it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import numpy as np

from .audio import resample
from .frames import AudioIn, AudioOut, Duck, Frame, Heard, Interruption, ReplyDone, ReplyText
from .interfaces import Speaker
from .pipeline import Processor


@dataclass
class _Chunk:
    text: str
    total: int = 0  # samples received so far
    played: int = 0


class Playback(Processor):
    """The last step: plays `AudioOut` to `speaker`, clocked by `AudioIn`, and reports `Heard`.

    `sample_rate` fixes the output rate (else the first chunk's rate is used);
    `pad_silence` writes silence while she is quiet, so the output is a timeline
    aligned with the input (useful for files and tests).
    """

    def __init__(
        self,
        speaker: Speaker,
        sample_rate: int | None = None,
        pad_silence: bool = False,
        on_heard: Callable[[Heard], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__()
        self.speaker = speaker
        self.rate = sample_rate
        self.pad_silence = pad_silence
        self.on_heard = on_heard
        self.played_samples = 0  # of her speech, all replies together
        self._queue: deque[tuple[np.ndarray, tuple[int, int]] | int] = deque()
        self._chunks: dict[tuple[int, int], _Chunk] = {}
        self._open: dict[int, list[tuple[int, int]]] = {}  # reply id -> its chunks, in order
        self._owed = 0.0
        self.gain = 1.0  # her volume: lowered by `Duck`

    def speaking(self) -> bool:
        """Whether any of her audio is waiting to be played."""
        return any(not isinstance(item, int) for item in self._queue)

    async def process(self, frame: Frame) -> None:
        if isinstance(frame, AudioIn):
            await self._tick(frame)
            return
        if isinstance(frame, AudioOut):
            self._enqueue(frame)
            return
        if isinstance(frame, ReplyText):
            key = (frame.reply_id, frame.index)
            self._chunks[key] = _Chunk(frame.text)
            self._open.setdefault(frame.reply_id, []).append(key)
        elif isinstance(frame, ReplyDone):
            self._open.setdefault(frame.reply_id, [])
            self._queue.append(frame.reply_id)
            await self._finish_replies()
        elif isinstance(frame, Duck):
            self.gain = frame.gain
        elif isinstance(frame, Interruption):
            self.gain = 1.0
            await self._interrupt()
        await self.push(frame)

    def _enqueue(self, frame: AudioOut) -> None:
        samples = np.frombuffer(frame.pcm, dtype="<i2")
        if self.rate is None:
            self.rate = frame.sample_rate
        elif frame.sample_rate != self.rate:
            scaled = resample(samples.astype(np.float32), frame.sample_rate, self.rate)
            samples = scaled.round().astype("<i2")
        key = (frame.reply_id, frame.index)
        chunk = self._chunks.setdefault(key, _Chunk(frame.text))
        if key not in self._open.setdefault(frame.reply_id, []):
            self._open[frame.reply_id].append(key)
        chunk.total += samples.size
        self._queue.append((samples, key))

    async def _tick(self, frame: AudioIn) -> None:
        if self.rate is None:
            return
        self._owed += frame.samples * self.rate / frame.sample_rate
        want = int(self._owed)
        self._owed -= want
        out: list[np.ndarray] = []
        got = 0
        while got < want and self._queue:
            item = self._queue[0]
            if isinstance(item, int):
                await self._finish_replies()
                continue
            samples, key = item
            take = samples[: want - got]
            if take.size < samples.size:
                self._queue[0] = (samples[take.size :], key)
            else:
                self._queue.popleft()
            self._chunks[key].played += take.size
            out.append(take)
            got += take.size
        self.played_samples += got
        if out and self.gain != 1.0:
            out = [(np.concatenate(out) * self.gain).round().astype("<i2")]
        await self._finish_replies()
        if self.pad_silence and got < want:
            out.append(np.zeros(want - got, dtype="<i2"))
        if out:
            await self.speaker.play(np.concatenate(out).astype("<i2").tobytes(), self.rate)

    async def _finish_replies(self) -> None:
        # A reply marker at the head of the queue means all its audio has been played.
        while self._queue and isinstance(self._queue[0], int):
            reply_id = self._queue.popleft()
            assert isinstance(reply_id, int)
            await self._report(reply_id, interrupted=False)

    async def _interrupt(self) -> None:
        if self.speaking():
            await self.speaker.clear()
        self._queue.clear()
        self._owed = 0.0
        for reply_id in list(self._open):
            await self._report(reply_id, interrupted=True)

    async def _report(self, reply_id: int, interrupted: bool) -> None:
        keys = self._open.pop(reply_id, [])
        chunks = [self._chunks.pop(key) for key in keys]
        heard = heard_text(chunks) if interrupted else " ".join(c.text for c in chunks if c.text)
        frame = Heard(heard, reply_id, interrupted)
        if self.on_heard is not None:
            await self.on_heard(frame)
        await self.push(frame)


def heard_text(chunks: list[_Chunk]) -> str:
    """Whole chunks played, then the played share of the words of the chunk cut off."""
    words: list[str] = []
    for chunk in chunks:
        if chunk.total and chunk.played >= chunk.total:
            words += chunk.text.split()
            continue
        if chunk.total and chunk.played:
            chunk_words = chunk.text.split()
            words += chunk_words[: round(len(chunk_words) * chunk.played / chunk.total)]
        break
    return " ".join(words)
