"""Her voice: each speakable chunk of a reply synthesised, short phrases kept once said."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from .frames import AudioOut, Frame, ReplyText
from .interfaces import Synthesiser, close_stream
from .pipeline import Processor


class Synthesis(Processor):
    """Speaks each `ReplyText` (passed on first, so playback knows the words) as `AudioOut`.

    Short phrases she says often ("I'm here.", "Of course,", an apology) are kept once
    synthesised (the last `cache_size`, up to `cache_words` words each), so saying one again
    costs nothing: they are typically the first clause of a reply, where every millisecond
    shows. The cache lives as long as this step, one user's session.
    """

    def __init__(
        self,
        tts: Synthesiser,
        cache_words: int = 6,
        cache_size: int = 256,
        warm: Sequence[str] = (),
    ) -> None:
        super().__init__()
        self.tts = tts
        self.cache_words, self.cache_size = cache_words, cache_size
        self._warm = list(warm)  # said soon for sure (her acknowledgements): ready at once
        #: Phrase -> its audio chunks; may be shared by successive pipelines of one session.
        self.cache: OrderedDict[str, list[tuple[bytes, int]]] = OrderedDict()
        self.cache_hits = 0  # chunks of answers said from the cache

    async def process(self, frame: Frame) -> None:
        await self.push(frame)
        if self._warm:
            phrases, self._warm = self._warm, []
            self.spawn(self._prepare(phrases))  # while the user is still talking
        if not isinstance(frame, ReplyText):
            return
        text = frame.text
        cached = self.cache.get(text)
        if cached is not None:
            self.cache.move_to_end(text)
            self.cache_hits += not frame.acknowledgement  # those are prepared to be hits
            for pcm, rate in cached:
                await self.push(AudioOut(pcm, rate, text, frame.reply_id, frame.index))
            return
        keep: list[tuple[bytes, int]] | None = [] if len(text.split()) <= self.cache_words else None
        stream = self.tts.synthesize(text)
        try:
            async for pcm, rate in stream:
                if keep is not None:
                    keep.append((pcm, rate))
                await self.push(AudioOut(pcm, rate, text, frame.reply_id, frame.index))
        finally:
            await close_stream(stream)
        if keep:  # only whole phrases: an interrupted one was cancelled before this line
            self._keep(text, keep)

    def _keep(self, text: str, audio: list[tuple[bytes, int]]) -> None:
        self.cache[text] = audio
        while len(self.cache) > self.cache_size:
            self.cache.popitem(last=False)

    async def _prepare(self, phrases: list[str]) -> None:
        for text in phrases:
            if text not in self.cache:
                stream = self.tts.synthesize(text)
                try:
                    self._keep(text, [chunk async for chunk in stream])
                finally:
                    await close_stream(stream)
