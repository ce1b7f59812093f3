"""Checks on a reply while it streams: a reply going in circles, a false claim to be human.

Small models loop and, having read so much human text, may say they are human. The
companion stops the first and corrects the second the moment either shows up.
"""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+")
_HUMAN_CLAIM = re.compile(
    r"\b(i am|i'm|im)\s+(not an? (ai|bot|machine|program|computer)|(just |only |also )?"
    r"(an? )?(real |actual )?(human( being)?|person|man|woman|girl|boy|alive))\b"
    r"|\bi have a (body|heartbeat)\b",
    re.IGNORECASE,
)


class _Sentences:
    """Collects streamed text and hands out each sentence once it is complete."""

    def __init__(self) -> None:
        self._text = ""
        self._done = 0

    def add(self, piece: str) -> list[str]:
        self._text += piece
        parts = _SENTENCE_END.split(self._text)[:-1]  # the last part may still be growing
        new = parts[self._done :]
        self._done = len(parts)
        return new


class RepetitionGuard:
    """A sentence said a third time (a long one a second time) means the reply is looping.

    The user gets the part that made sense instead of the same line until the token limit.
    """

    def __init__(self) -> None:
        self._sentences = _Sentences()
        self._seen: dict[str, int] = {}

    def looping(self, piece: str) -> bool:
        for sentence in self._sentences.add(piece):
            key = " ".join(sentence.lower().split())
            if len(key) < 8:
                continue
            self._seen[key] = self._seen.get(key, 0) + 1
            if self._seen[key] >= (2 if len(key) >= 40 else 3):
                return True
        return False


class HonestyGuard:
    """Notices her saying she is human (or not an AI), which she never is."""

    CORRECTION = (
        "\n\n(Correction: that isn't true. I'm an AI, not a person — I won't pretend otherwise.)"
    )

    def __init__(self) -> None:
        self._text = ""

    def claims_to_be_human(self, piece: str) -> bool:
        # Checked on the running text, not per sentence: the claim is corrected as soon as
        # it is complete, before the model can build on it.
        self._text = (self._text + piece)[-200:]
        return bool(_HUMAN_CLAIM.search(self._text))
