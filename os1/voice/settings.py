"""Each user's say over her voice: expressiveness, earpiece or speaker, push-to-talk.

Stored per user as one JSON document, like the scheduler's settings: unknown keys and bad
values are refused with a clear message, and a damaged row falls back to the defaults
(it must never stop her from talking). Front doors read these once per session and may
override them for that session (`os1 voice --mode earpiece`).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any, Literal

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
        return asdict(self)


def _boolean(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("on", "yes", "true", "1"):
        return True
    if text in ("off", "no", "false", "0"):
        return False
    raise VoiceSettingsError(f"{name} must be on or off, not {value!r}")


def _typed(name: str, value: Any) -> Any:
    if name == "mode":
        text = str(value).strip().lower()
        if text not in MODES:
            raise VoiceSettingsError(f"mode must be {' or '.join(MODES)}, not {value!r}")
        return text
    return _boolean(name, value)


def from_dict(data: dict[str, Any]) -> VoiceSettings:
    known = {f.name for f in fields(VoiceSettings)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise VoiceSettingsError(
            f"unknown voice setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    return VoiceSettings(**{k: _typed(k, v) for k, v in data.items()})


def load(c: sqlite3.Connection, user: str) -> VoiceSettings:
    row = c.execute("SELECT settings FROM voice_settings WHERE user_id = ?", (user,)).fetchone()
    if row is None:
        return VoiceSettings()
    try:
        return from_dict(json.loads(row[0]))
    except (ValueError, TypeError):
        return VoiceSettings()  # a damaged row must not silence her


def change(c: sqlite3.Connection, user: str, **changes: Any) -> VoiceSettings:
    """Set some settings (validated), keep the others; returns the new settings."""
    current = load(c, user)
    checked = from_dict({**current.to_dict(), **changes})
    updated = replace(current, **{k: getattr(checked, k) for k in changes})
    now = datetime.now(UTC).isoformat()
    c.execute("INSERT OR IGNORE INTO users (id, created_at) VALUES (?, ?)", (user, now))
    c.execute(
        "INSERT INTO voice_settings (user_id, settings, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT(user_id) DO UPDATE SET settings = excluded.settings, "
        "updated_at = excluded.updated_at",
        (user, json.dumps(updated.to_dict()), now),
    )
    return updated
