"""Tell the user's voice from her own echo when the microphone hears the loudspeaker.

Without echo cancellation, a microphone next to a loudspeaker hears her voice too, and the
VAD rightly calls it speech: on an open microphone she would interrupt herself. Frameworks
either cancel the echo (WebRTC's AEC, a browser's `echoCancellation`) or stop listening
while the bot speaks (half-duplex: Pipecat's mute strategies, LiveKit's
`allow_interruptions=False`). This sits in between, measuring the microphone only: while
she speaks it learns how loud her echo is (a high percentile of the level of recent
microphone windows, so her loud syllables are covered), and only speech `margin` times
louder than that counts as the user. Until it has heard enough of her it is half-duplex
(nothing but the talk key interrupts her); if her echo is louder than the user can
manage, it stays in effect half-duplex. What it has learnt is kept across her replies:
the room and her volume rarely change within a conversation.
"""

from __future__ import annotations

from collections import deque

import numpy as np


def level(window: np.ndarray) -> float:
    """The RMS level of float audio in [-1, 1]."""
    return float(np.sqrt(np.mean(np.square(window)))) if window.size else 0.0


class EchoGate:
    """Learns her echo's level from windows heard while she speaks; says what is louder.

    `learn` is how many windows it needs before it lets any voice through, `keep` how
    many recent ones it remembers, `share` the percentile (0-1) taken as her echo's level.
    """

    def __init__(
        self, margin: float = 2.0, learn: int = 16, keep: int = 94, share: float = 0.9
    ) -> None:
        if margin <= 0 or not 0 < share <= 1 or learn < 1 or keep < learn:
            raise ValueError("an echo gate needs margin > 0, 0 < share <= 1, 1 <= learn <= keep")
        self.margin, self.learn, self.share = margin, learn, share
        self._levels: deque[float] = deque(maxlen=keep)

    def hear(self, echo_level: float) -> None:
        """A window heard while she spoke, with no sign of the user in it."""
        self._levels.append(echo_level)

    @property
    def ready(self) -> bool:
        return len(self._levels) >= self.learn

    def threshold(self) -> float:
        """The level the user's voice must reach to be heard over her (inf while learning)."""
        if not self.ready:
            return float("inf")
        return self.margin * float(np.quantile(np.fromiter(self._levels, float), self.share))

    def louder(self, window_level: float) -> bool:
        return window_level >= self.threshold()
