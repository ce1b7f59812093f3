"""The user's agenda: what happens between two moments, and how to say it.

The index in `cal_objects` narrows the objects to those that may fall in the window;
expanding their rules decides. Parsed resources are cached by row and version, so
asking about next week again does not parse the calendar again.
"""

from __future__ import annotations

import sqlite3
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from ..store import Store
from . import ical, recurrence
from . import store as calstore

CACHE_SIZE = 20_000


@dataclass(frozen=True)
class Item:
    """One occurrence on the agenda, with the object it came from."""

    object_id: int
    calendar: str
    occurrence: recurrence.Occurrence

    @property
    def start(self) -> datetime:
        return self.occurrence.start


_cache: OrderedDict[tuple[str, int, str], ical.Resource] = OrderedDict()


def resource_of(row: sqlite3.Row) -> ical.Resource:
    """The parsed resource of a row, from the cache when the row has not changed."""
    key = (row["user_id"], int(row["id"]), row["updated_at"])
    found = _cache.get(key)
    if found is None:
        found = calstore.load(row)
        _cache[key] = found
        if len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    else:
        _cache.move_to_end(key)
    return found


def items_in(
    c: sqlite3.Connection,
    user: str,
    start: datetime,
    end: datetime,
    tz: ZoneInfo,
    kinds: tuple[str, ...] = ("event", "todo"),
) -> list[Item]:
    """Every occurrence in [start, end), in time order (a sync read: use inside Store.read)."""
    names = {
        r["id"]: r["name"]
        for r in c.execute("SELECT id, name FROM calendars WHERE user_id = ?", (user,))
    }
    found: list[Item] = []
    for row in calstore.in_window(c, user, start, end, kinds):
        try:
            resource = resource_of(row)
        except ical.CalendarError:
            continue  # kept raw in the row; `os1 calendar problems` shows it
        for occ in recurrence.occurrences(resource, start, end, tz):
            if occ.status == "CANCELLED" or (occ.kind == "todo" and occ.status == "COMPLETED"):
                continue
            found.append(Item(int(row["id"]), names.get(row["calendar_id"], ""), occ))
    found.sort(key=lambda i: (i.start, not i.occurrence.all_day, i.occurrence.summary))
    return found


async def items(
    store: Store, user: str, start: datetime, end: datetime, tz: ZoneInfo, **kw: tuple[str, ...]
) -> list[Item]:
    return await store.read(lambda c: items_in(c, user, start, end, tz, **kw))


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    nxt = day + timedelta(days=1)
    return start, datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz)


def spoken_day(day: date, today: date) -> str:
    if day == today:
        return "Today"
    if day == today + timedelta(days=1):
        return "Tomorrow"
    if day == today - timedelta(days=1):
        return "Yesterday"
    return f"{day:%A} {day.day} {day:%B}" + (f" {day.year}" if day.year != today.year else "")


def describe_item(item: Item, tz: ZoneInfo, day: date | None = None) -> str:
    """'09:00–10:00 Dentist (Rue Cler)'; all-day items say so; multi-day ones their span."""
    occ = item.occurrence
    what = occ.summary or "(no title)"
    if occ.location:
        what += f" ({occ.location})"
    if occ.kind == "todo":
        what = "Reminder: " + what
    if occ.all_day:
        days = max(1, (occ.end.date() - occ.start.date()).days)
        return f"all day: {what}" + (f" ({days} days)" if days > 1 else "")
    start, end = occ.start.astimezone(tz), occ.end.astimezone(tz)
    when = f"{start:%H:%M}"
    if end > start:
        when += f"–{end:%H:%M}" if end.date() == start.date() else f" until {end:%a %d %b %H:%M}"
    if day is not None and start.date() < day:
        when = f"until {end:%H:%M}" if end.date() == day else "all day"
    return f"{when} {what}"


def describe(items_: list[Item], start: date, end: date, tz: ZoneInfo, today: date) -> str:
    """The agenda from `start` to `end` (inclusive dates), day by day, in plain text."""
    lines: list[str] = []
    day = start
    while day <= end:
        lo, hi = day_bounds(day, tz)
        todays = [i for i in items_ if i.start < hi and (i.occurrence.end > lo or i.start >= lo)]
        if todays:
            lines.append(f"{spoken_day(day, today)}:")
            lines += [f"  {describe_item(i, tz, day)}" for i in todays]
        day += timedelta(days=1)
    return "\n".join(lines)
