"""The typed frames that flow through the voice pipeline, and which of them are system frames.

System frames jump every queue and are never dropped: the user's audio and turn events
(losing them would lose what the user said, and the microphone's audio is also the
playback clock), interruptions, and the end. Data frames are the work in flight
(transcripts, her reply, her audio); an interruption drops the ones still queued.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class Frame:
    """Anything that flows through the pipeline."""

    system: ClassVar[bool] = False


@dataclass(frozen=True)
class SystemFrame(Frame):
    """Jumps the queue; survives interruptions."""

    system: ClassVar[bool] = True


@dataclass(frozen=True)
class DataFrame(Frame):
    """Processed in order; dropped if still queued when an interruption arrives."""


@dataclass(frozen=True)
class AudioIn(SystemFrame):
    """A block of microphone audio: int16 little-endian mono PCM."""

    pcm: bytes
    sample_rate: int = 16000

    @property
    def samples(self) -> int:
        return len(self.pcm) // 2


@dataclass(frozen=True)
class SpeechStarted(SystemFrame):
    """The user's speech is confirmed; `lead_samples` of it came before this frame."""

    lead_samples: int = 0


@dataclass(frozen=True)
class SpeechStopped(SystemFrame):
    """The user's turn ended (speech followed by the silence hangover)."""


@dataclass(frozen=True)
class SpeechPaused(SystemFrame):
    """Inside a turn, a short silence (`speculate_ms`): the turn may be over, so the
    recogniser can start on what was said so far."""


@dataclass(frozen=True)
class SpeechResumed(SystemFrame):
    """The user spoke again after `SpeechPaused`, within the same turn."""


@dataclass(frozen=True)
class TalkKeyPressed(SystemFrame):
    """Push-to-talk: the user pressed (or toggled on) the talk key; listen from now."""


@dataclass(frozen=True)
class TalkKeyReleased(SystemFrame):
    """Push-to-talk: the user let go of the talk key; their turn is over."""


@dataclass(frozen=True)
class Duck(SystemFrame):
    """The user may be talking over her (not yet confirmed): play her at `gain` from now
    on; `gain=1.0` restores her volume (it was only a backchannel or a noise)."""

    gain: float = 1.0


@dataclass(frozen=True)
class Interruption(SystemFrame):
    """The user talks: drop queued work, cancel generation, stop playback."""


@dataclass(frozen=True)
class EndFrame(SystemFrame):
    """Shut down: each processor finishes its queued data frames, then stops."""


@dataclass(frozen=True)
class Transcript(DataFrame):
    """What the user said; `final` transcripts are answered, an early (speculative) one
    (`final=False`, the turn so far at a pause) only lets the reply start preparing."""

    text: str
    final: bool = True


@dataclass(frozen=True)
class ReplyText(DataFrame):
    """One speakable chunk (a clause or a sentence) of her reply `reply_id`.

    An `acknowledgement` ("Hmm,", "I see.") is said while the answer is still being
    thought of; it is not part of the answer the Companion stored."""

    text: str
    reply_id: int = 0
    index: int = 0
    acknowledgement: bool = False


@dataclass(frozen=True)
class ReplyDone(DataFrame):
    """Her reply `reply_id` has no more chunks."""

    reply_id: int = 0


@dataclass(frozen=True)
class AudioOut(DataFrame):
    """Her speech: int16 mono PCM speaking (part of) the chunk `text`."""

    pcm: bytes
    sample_rate: int
    text: str = ""
    reply_id: int = 0
    index: int = 0

    @property
    def samples(self) -> int:
        return len(self.pcm) // 2


@dataclass(frozen=True)
class Heard(SystemFrame):
    """What the user actually heard of reply `reply_id` (all of it unless `interrupted`).

    A system frame so that the record of what was heard is never dropped.
    """

    text: str
    reply_id: int = 0
    interrupted: bool = False
