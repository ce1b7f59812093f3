"""Speech engines for many users' conversations at once: heavy models load once, per voice.

A server that talks with several people gives each conversation its own set of engines in
that user's persona voice. Loading Whisper or starting a Piper process per conversation
would cost seconds, so the engines that keep nothing of a conversation are shared between
all conversations (checked in their code): the recogniser by everyone, the synthesiser by
the users whose persona chose the same voice.

- `WhisperRecogniser`: the model and a lock; each utterance is decoded alone
  (`condition_on_previous_text=False`), so no words pass from one user to the next.
- `PiperSynthesiser`: one worker process; each sentence request has its own id and its own
  reply queue, and a cancel names its id, so one user's barge-in stops only their reply.
  (Requests from different conversations take turns in the one process.)
- `EspeakSynthesiser`: a new espeak-ng process per sentence.

Everything else is made fresh for each conversation: a VAD follows one audio stream
(Silero keeps its recurrent state between frames), and pocketsphinx adapts to the audio it
has heard (cepstral mean), so it is not shared either.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..companion import Companion
from .engines import (
    Engines,
    EspeakSynthesiser,
    KokoroSynthesiser,
    PiperSynthesiser,
    SmartTurn,
    WhisperRecogniser,
    default_engines,
)

#: Engines that keep no state between utterances or sentences (see the module docstring).
SHAREABLE: tuple[type, ...] = (
    WhisperRecogniser,
    PiperSynthesiser,
    EspeakSynthesiser,
    KokoroSynthesiser,
    SmartTurn,
)


class Borrowed:
    """A shared engine lent to one conversation: it works as the engine, but closing the
    conversation (`VoiceSession.close`) does not close it for everyone else."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def __getattr__(self, name: str) -> Any:
        if name in ("close", "aclose"):
            raise AttributeError(name)
        return getattr(self.engine, name)


class SharedEngines:
    """`await shared(user)`: a set of engines for one of `user`'s conversations.

    `choose(voice)` picks the engines for a persona voice ("female", "male", "neutral"),
    loading nothing yet (`default_engines` by default). The first conversation keeps its
    shareable recogniser for all, and the first in each voice its shareable synthesiser
    for that voice; `aclose` stops them.
    """

    def __init__(
        self, companion: Companion, choose: Callable[[str], Engines] = default_engines
    ) -> None:
        self.companion, self.choose = companion, choose
        self._by_voice: dict[str, Engines] = {}
        self._recogniser: Any = None  # what the user said does not depend on her voice

    async def voice_of(self, user: str) -> str:
        found = await self.companion.persona(user)
        return found[0].voice if found else "neutral"

    async def __call__(self, user: str) -> Engines:
        voice = await self.voice_of(user)
        fresh = self.choose(voice)  # cheap: engines load on first use
        kept = self._by_voice.setdefault(voice, fresh)
        if self._recogniser is None:
            self._recogniser = fresh.recogniser

        def pick(mine: Any, theirs: Any) -> Any:
            return Borrowed(theirs) if isinstance(theirs, SHAREABLE) else mine

        return Engines(
            fresh.vad,
            pick(fresh.recogniser, self._recogniser),
            pick(fresh.synthesiser, kept.synthesiser),
            list(fresh.notes),
            end_of_turn=pick(fresh.end_of_turn, kept.end_of_turn),
        )

    @property
    def voices(self) -> list[str]:
        """The voices whose engines are loaded or lent now."""
        return sorted(self._by_voice)

    async def aclose(self) -> None:
        kept = [self._recogniser, *(e.synthesiser for e in self._by_voice.values())]
        self._by_voice, self._recogniser = {}, None
        for engine in kept:
            # The others belong to the conversation they were made for, which closes them.
            aclose = getattr(engine, "aclose", None) if isinstance(engine, SHAREABLE) else None
            if aclose is not None:
                await aclose()
