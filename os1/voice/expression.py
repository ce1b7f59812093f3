"""Between her reply and her voice: say the words, and laugh, sigh or pause where she wrote so.

`Expression` sits between `Reply` and `Synthesis`. Each `ReplyText` becomes speakable word
chunks (`ReplyText`, spoken by `Synthesis`) and non-verbal events rendered here as `AudioOut`
(which `Synthesis` passes through). With `expressive` off (the film's sigh argument: a user
may not want an operating system that breathes) the stage directions are removed and only
the words are spoken; nothing is ever read out as "asterisk laughs".

Honest rendering, where the engine can: a synthesiser with `expressions` and
`render_nonverbal(kind)` renders those itself. Otherwise a pause is silence, a sigh a
synthesised breath (Piper and espeak-ng cannot sigh), and a laugh is "Ha ha ha!" said by
the synthesiser, in her voice (or a procedural one when there is no synthesiser).

The record of what the user heard (`Heard`, from `Playback`) keeps a laugh or sigh as
"*laughs*" / "*sighs*", the way the model writes them, so a reply cut off by the user reads
in the history as it sounded; a pause leaves no text. The chunks of a reply are numbered
anew (`index`), since one chunk of text may become several pieces.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Collection
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit

from . import nonverbal
from .frames import AudioOut, Frame, ReplyText
from .interfaces import Synthesiser, close_stream
from .nonverbal import Nonverbal, parse
from .pipeline import Processor
from .sentences import speakable

#: For the system prompt of a spoken conversation, with expressiveness on.
EXPRESSIVE_HINT = (
    "You are speaking aloud: keep each reply short, two or three sentences, as people do "
    "when they talk. When you genuinely feel it, and only then, you may laugh "
    "(write *laughs*), sigh (*sighs*) or pause (...); use them sparingly, at most once or "
    "twice in a reply. They are heard as sounds. Write no other stage directions, and no "
    "markdown, lists or emoji."
)
#: For the system prompt of a spoken conversation, with expressiveness off.
PLAIN_HINT = (
    "You are speaking aloud: keep each reply short, two or three sentences, as people do "
    "when they talk. Write only the words to be said, with no stage directions "
    "such as *laughs* or *sighs*, and no markdown, lists or emoji."
)
#: What a synthesiser says for a laugh: Piper's joe voice says this one as a laugh.
LAUGH_TEXT = "Ha ha ha!"

_URL = re.compile(r"<?(?P<url>\b(?:https?://|www\.)[^\s<>]+)>?", re.IGNORECASE)
_URL_TRAIL = re.compile(r"[.,;:!?)\]>'\"]+$")
_ORPHAN_START = re.compile(r"^[\s,;:.!?]+")
# Left when a direction goes: "funny, ." "feels... ." "Yes! ." (and the space between).
_ORPHAN_MARK = re.compile(r"[,;:]+(?=[.!?,;:…])|(?<=\.\.\.)\.+|(?<=[!?…])\.+")


def hint(expressive: bool) -> str:
    """The system-prompt sentence for a spoken conversation."""
    return EXPRESSIVE_HINT if expressive else PLAIN_HINT


@runtime_checkable
class RendersNonverbal(Protocol):
    """A synthesiser that can laugh, sigh or pause itself (its `expressions` say which)."""

    expressions: Collection[str]

    def render_nonverbal(self, kind: str) -> AsyncIterator[tuple[bytes, int]]:
        """int16 mono PCM chunks and their rate for one "laugh", "sigh" or "pause"."""
        ...


def sayable_link(url: str) -> str:
    """A web address as it can be said: its site ("example dot com"), or "a link"."""
    host = urlsplit(url if "//" in url else f"http://{url}").hostname or ""
    host = host.removeprefix("www.")
    return host.replace(".", " dot ") if host else "a link"


def say(text: str) -> str:
    """`text` as words to speak: no markdown, emoji or raw links; no orphaned punctuation."""

    def link(m: re.Match[str]) -> str:
        url = m.group("url")
        trail = _URL_TRAIL.search(url)
        end = trail.group(0) if trail else ""
        return sayable_link(url[: len(url) - len(end)]) + end

    words = speakable(_URL.sub(link, text))
    words = _ORPHAN_MARK.sub("", _ORPHAN_START.sub("", words))
    return words if any(ch.isalnum() for ch in words) else ""


class Expression(Processor):
    """Words to `Synthesis`, her laughs, sighs and pauses as audio (see the module doc).

    `tts` is the synthesiser `Synthesis` uses: it says her laughs, and renders anything it
    lists in `expressions` itself. `sample_rate` is the rate of the sounds made here (the
    synthesiser's, if it has a `sample_rate`; Piper's joe and espeak-ng speak at 22050 Hz);
    a laugh said by `tts` updates it to the rate it really has. `expressive` may be changed
    while running: the next chunk follows it. `seed` makes every sigh reproducible.
    """

    def __init__(
        self,
        expressive: bool,
        tts: Synthesiser | None = None,
        *,
        sample_rate: int = 22050,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.expressive = expressive
        self.tts = tts
        rate = getattr(tts, "sample_rate", None)
        self.rate = rate if isinstance(rate, int) and rate > 0 else sample_rate
        self.seed = seed
        self.rendered = 0  # non-verbal sounds made so far (each sigh is a different breath)
        self._laugh: list[tuple[bytes, int]] | None = None
        self._reply: int | None = None
        self._next = 0

    def pieces(self, text: str) -> list[str | Nonverbal]:
        """What one chunk of reply text becomes: words to say and sounds to make, in order."""
        out: list[str | Nonverbal] = []
        for part in parse(text, self.expressive):
            if isinstance(part, Nonverbal):
                out.append(part)
            elif words := say(part):
                out.append(words)
        return out

    async def process(self, frame: Frame) -> None:
        if not isinstance(frame, ReplyText):
            await self.push(frame)
            return
        for part in self.pieces(frame.text):
            index = self._index(frame.reply_id)
            if isinstance(part, str):
                await self.push(ReplyText(part, frame.reply_id, index, frame.acknowledgement))
                continue
            sounds = self.render(part)
            try:
                async for pcm, rate in sounds:
                    await self.push(AudioOut(pcm, rate, part.heard, frame.reply_id, index))
            finally:
                await close_stream(sounds)  # an interruption stops a native render at once

    def _index(self, reply_id: int) -> int:
        if reply_id != self._reply:
            self._reply, self._next = reply_id, 0
        self._next += 1
        return self._next - 1

    async def render(self, event: Nonverbal) -> AsyncIterator[tuple[bytes, int]]:
        """The audio of one event: by the synthesiser if it can, else made here."""
        self.rendered += 1
        tts = self.tts
        if isinstance(tts, RendersNonverbal) and event.kind in tts.expressions:
            stream = tts.render_nonverbal(event.kind)
            try:
                async for chunk in stream:
                    yield chunk
            finally:
                await close_stream(stream)
        elif event.kind == "pause":
            yield nonverbal.silence(event.seconds, self.rate), self.rate
        elif event.kind == "sigh":
            yield nonverbal.sigh(self.rate, seed=self.seed + self.rendered), self.rate
        elif tts is None:
            yield nonverbal.laugh(self.rate, seed=self.seed + self.rendered), self.rate
        else:
            for chunk in await self._said_laugh(tts):
                yield chunk

    async def _said_laugh(self, tts: Synthesiser) -> list[tuple[bytes, int]]:
        # Said once, then replayed: a laugh costs no synthesis time after the first.
        if self._laugh is None:
            chunks: list[tuple[bytes, int]] = []
            stream = tts.synthesize(LAUGH_TEXT)
            try:
                async for chunk in stream:
                    chunks.append(chunk)
            finally:
                await close_stream(stream)
            self._laugh = chunks
            if chunks:
                self.rate = chunks[-1][1]
        return self._laugh
