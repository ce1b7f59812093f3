"""Keep the user's turn audio and ask an end-of-turn model, at a pause, whether it is over.

The turn detector (turns.py) decides what the answer means; this module only holds the
last `KEEP_S` seconds of audio (bounded memory, however long she talks), cuts out the
current turn (with `PRE_ROLL_MS` before its onset, as Smart Turn was trained) and runs the
model in the background. A model that fails is logged and answers nothing: the silence
hangover then ends the turn as it would without one.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Protocol

import numpy as np

from .audio import to_pcm

log = logging.getLogger(__name__)

KEEP_S = 8  # Smart Turn reads the last 8 s of a turn
PRE_ROLL_MS = 500  # audio kept from before the onset (pipecat's pre_speech_ms)
PATIENCE_S = 1.0  # the longest the detector waits at the hangover for a model's answer


class EndOfTurnModel(Protocol):
    """Says whether a turn (int16 mono PCM, up to its latest audio) is finished."""

    async def complete(self, pcm: bytes, sample_rate: int) -> float:
        """The probability (0..1) that the speaker has finished her turn."""
        ...


class TurnAudio:
    """The recent audio at `rate`, and how much of it belongs to the current turn."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.capacity = KEEP_S * rate
        self.turn = 0  # samples since the current turn's onset (0: no turn)
        self._windows: deque[np.ndarray] = deque()
        self._size = 0

    def hear(self, window: np.ndarray) -> None:
        self._windows.append(window)
        self._size += window.size
        while self._windows and self._size - self._windows[0].size >= self.capacity:
            self._size -= self._windows.popleft().size

    def current(self) -> np.ndarray:
        """The current turn's audio (with its pre-roll), at most the last `KEEP_S` seconds."""
        n = min(self.turn + PRE_ROLL_MS * self.rate // 1000, self.capacity, self._size)
        if not n:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(list(self._windows))[-n:]


async def ask(model: EndOfTurnModel, audio: np.ndarray, rate: int) -> float | None:
    """The model's probability that the turn is complete; None when it failed."""
    try:
        return float(await model.complete(to_pcm(audio), rate))
    except Exception:  # a broken model must not end the conversation: the hangover decides
        log.warning("the end-of-turn model failed; using the silence hangover", exc_info=True)
        return None
