"""Each user's say over her voice: expressiveness, earpiece or speaker, push-to-talk.

Stored per user as one JSON document, like the scheduler's settings: unknown keys and bad
values are refused with a clear message, and a damaged row falls back to the defaults
(it must never stop her from talking). Front doors read these once per session and may
override them for that session (`os1 voice --mode earpiece`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ..user_settings import SettingsDocument, switch

Mode = Literal["speaker", "earpiece"]
MODES: tuple[Mode, ...] = ("speaker", "earpiece")


class VoiceSettingsError(ValueError):
    """A voice setting has a value that cannot be used; the message says which."""


@dataclass(frozen=True)
class VoiceSettings:
    expressive: bool = True
    """Laughs, sighs and pauses where the engine can render them; off: words only."""
    mode: Mode = "speaker"
    """"speaker": the microphone hears her too (a laptop), so only speech clearly louder
    than her own echo interrupts her; "earpiece": headphones, any speech can barge in."""
    push_to_talk: bool = False
    """Listen only while the talk key is held (or between two presses); off: open mic."""
    acknowledge: bool = True
    """A short "Hmm," or "I see." when her answer takes a moment to come; off: silence."""
    smart_turn: bool = False
    """A model (Smart Turn) judges at your first pause whether you have finished: a finished
    turn ends there, one left hanging waits up to 1.2 s. Off: 0.5 s of silence ends it. Off
    by default: on synthesised speech it took 5 of 12 finished statements for unfinished."""

    def to_dict(self) -> dict[str, Any]:
        return DOCUMENT.to_dict(self)


def _typed(name: str, value: Any) -> Any:
    if name == "mode":
        text = str(value).strip().lower()
        if text not in MODES:
            raise VoiceSettingsError(f"mode must be {' or '.join(MODES)}, not {value!r}")
        return text
    return switch(name, value, VoiceSettingsError)


DOCUMENT = SettingsDocument(
    VoiceSettings, "voice_settings", _typed, VoiceSettingsError, "voice setting"
)
from_dict = DOCUMENT.from_dict
load = DOCUMENT.load  # a damaged row reads as the defaults: it must not silence her
change = DOCUMENT.change
