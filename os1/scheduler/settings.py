"""Each user's say over her initiative: time zone, quiet hours, briefing, check-ins, channels.

Stored per user as one JSON document; unknown keys are refused with a clear message,
so a typo never silently turns a setting off. The settings also say what they mean on
the clock: when quiet hours end, when the briefing is due, when the check-ins fall.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ..config import ConfigError, _valid_zone


class SettingsError(ValueError):
    """A scheduler setting has a value that cannot be used; the message says which."""


@dataclass(frozen=True)
class SchedulerSettings:
    timezone: str | None = None
    """None: the configured zone (`os1 config`), which defaults to this computer's."""
    quiet_start: str = "22:00"
    quiet_end: str = "08:00"
    """Quiet hours: her own initiative and late deliveries wait; reminders set for a
    time inside them still ring (the user chose that time)."""
    initiative: bool = True
    """Off: no briefing and no check-ins; reminders the user set still arrive."""
    briefing_at: str | None = "08:00"
    """Local time of the morning briefing; None: no briefing."""
    checkins_per_day: int = 1
    channels: tuple[str, ...] = ("terminal",)
    """Where what she says goes: terminal, desktop, email, ntfy, or a plug-in's channel."""
    email_to: str | None = None
    ntfy_url: str | None = None

    def zone(self, default: str) -> ZoneInfo:
        return ZoneInfo(self.timezone or default)

    def quiet(self, local: datetime) -> bool:
        """Whether `local` (a time in the user's zone) falls in quiet hours."""
        start, end, now = _hhmm(self.quiet_start), _hhmm(self.quiet_end), local.time()
        if start == end:
            return False
        if start < end:
            return start <= now < end
        return now >= start or now < end

    def quiet_ends(self, local: datetime) -> datetime:
        """The next moment after `local` at which quiet hours end (local wall-clock time)."""
        tz = local.tzinfo
        assert isinstance(tz, ZoneInfo)
        end = _at(local.date(), _hhmm(self.quiet_end), tz)
        return (
            end if end > local else _at(local.date() + timedelta(days=1), _hhmm(self.quiet_end), tz)
        )

    def briefing_time(self, day: date, tz: ZoneInfo) -> datetime | None:
        """When the briefing is due on `day`; None: there is no briefing."""
        return _at(day, _hhmm(self.briefing_at), tz) if self.briefing_at else None

    def checkin_slots(self, local: datetime) -> tuple[datetime, list[datetime]]:
        """The waking day `local` falls in (from the end of quiet hours to their start), and
        the check-in times spread over it."""
        tz = local.tzinfo
        assert isinstance(tz, ZoneInfo)
        begin, end = _hhmm(self.quiet_end), _hhmm(self.quiet_start)
        if begin == end:
            start, span = _at(local.date(), time(0), tz), timedelta(days=1)
        else:
            start = _at(local.date(), begin, tz)
            if start > local:
                start = _at(local.date() - timedelta(days=1), begin, tz)
            stop = _at(start.date(), end, tz)
            if stop <= start:
                stop = _at(start.date() + timedelta(days=1), end, tz)
            span = stop - start
        n = max(1, self.checkins_per_day)
        return start, [start + span * (k + 0.5) / n for k in range(n)]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["channels"] = list(self.channels)
        return data


def _hhmm(text: str) -> time:
    try:
        hours, minutes = text.split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise SettingsError(f"{text!r} is not a time of day like 22:00") from None


def _at(day: date, clock_time: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, clock_time, tzinfo=tz)


def _typed(name: str, value: Any) -> Any:
    if name in ("quiet_start", "quiet_end"):
        _hhmm(str(value))
        return str(value)
    if name == "briefing_at":
        if value in (None, "", "off", "none"):
            return None
        _hhmm(str(value))
        return str(value)
    if name == "initiative":
        if isinstance(value, bool):
            return value
        text = str(value).lower()
        if text in ("on", "yes", "true", "1"):
            return True
        if text in ("off", "no", "false", "0"):
            return False
        raise SettingsError(f"initiative must be on or off, not {value!r}")
    if name == "checkins_per_day":
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise SettingsError(f"checkins_per_day must be a number, not {value!r}") from None
        if not 0 <= number <= 24:
            raise SettingsError("checkins_per_day must be between 0 and 24")
        return number
    if name == "channels":
        items = value if isinstance(value, list | tuple) else str(value).split(",")
        return tuple(dict.fromkeys(str(i).strip() for i in items if str(i).strip()))
    if name == "timezone":
        if value in (None, ""):
            return None
        if not _valid_zone(str(value)):
            raise SettingsError(
                f"{value!r} is not a time zone (try an IANA name like Europe/Paris)"
            )
        return str(value)
    return None if value in (None, "") else str(value)


def from_dict(data: dict[str, Any]) -> SchedulerSettings:
    known = {f.name for f in fields(SchedulerSettings)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise SettingsError(
            f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    return SchedulerSettings(**{k: _typed(k, v) for k, v in data.items()})


def load(c: sqlite3.Connection, user: str) -> SchedulerSettings:
    row = c.execute("SELECT settings FROM scheduler_settings WHERE user_id = ?", (user,)).fetchone()
    if row is None:
        return SchedulerSettings()
    try:
        return from_dict(json.loads(row[0]))
    except (ValueError, ConfigError):
        return SchedulerSettings()  # never let a damaged row stop reminders


def save(c: sqlite3.Connection, user: str, settings: SchedulerSettings) -> None:
    now = datetime.now(UTC).isoformat()
    c.execute("INSERT OR IGNORE INTO users (id, created_at) VALUES (?, ?)", (user, now))
    c.execute(
        "INSERT INTO scheduler_settings (user_id, settings, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT(user_id) DO UPDATE SET settings = excluded.settings, "
        "updated_at = excluded.updated_at",
        (user, json.dumps(settings.to_dict()), now),
    )


def change(c: sqlite3.Connection, user: str, **changes: Any) -> SchedulerSettings:
    """Set some settings (validated), keep the others; returns the new settings."""
    current = load(c, user)
    checked = from_dict({**current.to_dict(), **changes})
    updated = replace(current, **{k: getattr(checked, k) for k in changes})
    save(c, user, updated)
    return updated
