"""Each user's say over her initiative: time zone, quiet hours, briefing, check-ins, channels.

Stored per user as one JSON document; unknown keys are refused with a clear message,
so a typo never silently turns a setting off. The settings also say what they mean on
the clock: when quiet hours end, when the briefing is due, when the check-ins fall.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ..config import _valid_zone
from ..user_settings import SettingsDocument, switch


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
        return DOCUMENT.to_dict(self)


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
        return switch(name, value, SettingsError)
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


DOCUMENT = SettingsDocument(SchedulerSettings, "scheduler_settings", _typed, SettingsError)
from_dict = DOCUMENT.from_dict
load = DOCUMENT.load  # a damaged row reads as the defaults: it never stops reminders
save = DOCUMENT.save
change = DOCUMENT.change
