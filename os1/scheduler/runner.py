"""The scheduler's loop: fire what is due for every user, once, and deliver it.

A due row of the `schedule` queue becomes a notification in one transaction with the
row's re-planning; the notification's UNIQUE key is what makes a reminder arrive never
twice, even after kill -9 between any two steps. Occurrences missed while the computer
was off or asleep become one late notification that says how many were missed; what a
due row says is decided in `firing.py`.

Quiet hours: a reminder set for a time inside them rings then (the user chose it). A
late delivery that would land in them is stored `held` and shown, and sent to the other
channels, when they end — unless it was itself set inside the quiet hours and is less
than an hour late. Her own initiative (briefing, check-ins) is not composed at all
during quiet hours; it waits, and is said afterwards if it is still timely.

Channels other than the terminal go through an outbox (`notification_sends`): 'sending'
is committed before each attempt, so a send cut short by a crash is reported as such
("may not have arrived") and never repeated; errors that certainly delivered nothing
are retried a few times, then left failed, with a note in the inbox.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections import OrderedDict
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from functools import partial
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from ..calendar import ical
from ..store import Store
from . import settings as schedsettings
from .channels import (
    RETRY_DELAYS,
    Channel,
    EmailChannel,
    Notification,
    Outbox,
    from_row,
    queue_sends,
)
from .clock import Clock
from .firing import LATE_AFTER, Fire, Note, broken, plan_row, utc
from .settings import SchedulerSettings

if TYPE_CHECKING:
    from .initiative import Initiative

log = logging.getLogger("os1.scheduler")

BATCH = 500
MAX_BATCHES = 400
IDLE = timedelta(hours=1)
CHECKIN_RECHECK = timedelta(minutes=15)
PREFETCH = timedelta(seconds=90)

Users = dict[str, tuple[SchedulerSettings, ZoneInfo]]


class Scheduler:
    """Fires reminders and alarms for every user of this home, and says her own things."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Clock,
        default_tz: str,
        channels: Mapping[str, Channel],
        compose: Initiative | None,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
    ) -> None:
        self.store = store
        self.clock = clock
        self.default_tz = default_tz
        self.channels = dict(channels)
        self.compose = compose
        for channel in self.channels.values():
            if isinstance(channel, EmailChannel) and channel.store is None:
                channel.store = store
        self.outbox = Outbox(store, self.channels, clock.now, retry_delays)
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._started = False
        self._held_users: set[str] = set()
        self._parsed: OrderedDict[tuple[int, str], ical.Resource] = OrderedDict()
        self._briefed: set[tuple[str, date]] = set()
        self._checkin_idle: dict[str, datetime] = {}
        self._users: Users = {}

    # --- the loop -------------------------------------------------------------------------

    def wake(self) -> None:
        """Look at the queue again now (a reminder was added in this process)."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Tick, sleep until the next thing is due (or `wake()`), until `stop` is set.

        Her initiative is composed beside the loop, not in it: a model taking its time over
        the briefing never makes a reminder late."""
        relay = asyncio.ensure_future(self._relay(stop))
        speaking: asyncio.Task[None] | None = None
        try:
            while not stop.is_set():
                self._wake.clear()
                try:
                    await self._fire_round()
                    await self.outbox.launch()
                    if self.compose is not None and (speaking is None or speaking.done()):
                        speaking = asyncio.ensure_future(self._speak())
                    until = await self.next_wake()
                    await self.store.read(self._prefetch)
                except Exception:  # a bad round must not end reminders; try again shortly
                    log.exception("scheduler tick failed")
                    until = self.clock.now() + timedelta(seconds=5)
                if stop.is_set():
                    break
                await self.clock.sleep_until(until, self._wake)
        finally:
            relay.cancel()
            if speaking is not None:
                speaking.cancel()
            await self.drain(within=5)

    async def _relay(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self._wake.set()

    async def _speak(self) -> None:
        try:
            if await self._initiative(self.clock.now()):
                await self.outbox.launch()
        except Exception:
            log.exception("her initiative failed")

    async def tick(self) -> list[Notification]:
        """Fire everything due for every user, and say what she has to say; returns what
        arrived in the inboxes now."""
        delivered = await self._fire_round()
        delivered += await self._initiative(self.clock.now())
        await self.outbox.launch()
        return delivered

    async def _fire_round(self) -> list[Notification]:
        async with self._lock:
            now = self.clock.now()
            self._users = await self.store.read(self._load_users)
            delivered: list[Notification] = []
            if not self._started:
                delivered += await self._recover()
                self._started = True
            delivered += await self._fire_due(now)
            delivered += await self._release_held(now)
            return delivered

    def _load_users(self, c: sqlite3.Connection) -> Users:
        found: Users = {}
        for (user,) in c.execute("SELECT id FROM users ORDER BY id").fetchall():
            s = schedsettings.load(c, user)
            try:
                tz = s.zone(self.default_tz)
            except Exception:
                tz = ZoneInfo("UTC")  # a broken zone setting must not stop reminders
            found[user] = (s, tz)
        return found

    def _user(self, user: str) -> tuple[SchedulerSettings, ZoneInfo]:
        if user not in self._users:
            self._users[user] = (SchedulerSettings(), ZoneInfo(self.default_tz))
        return self._users[user]

    async def next_wake(self) -> datetime:
        """When the next thing is due: a queued alarm, a briefing, a check-in slot, the end of
        quiet hours for what waits on it."""
        now = self.clock.now()
        row = await self.store.query_one("SELECT min(due_at) FROM schedule")
        found: list[datetime] = []
        if row is not None and row[0]:
            found.append(datetime.fromisoformat(row[0]))
        for user, (s, tz) in self._users.items():
            local = now.astimezone(tz)
            if user in self._held_users:
                found.append(s.quiet_ends(local))
            if self.compose is None or not s.initiative:
                continue
            if s.quiet(local):
                found.append(s.quiet_ends(local))
                continue
            if (at := s.briefing_time(local.date(), tz)) is not None:
                found.append(at if at > local else at + timedelta(days=1))
            if s.checkins_per_day > 0:
                later = [t for t in s.checkin_slots(local)[1] if t > local]
                found.append(later[0] if later else s.quiet_ends(local))
        return max(now, min(found)) if found else now + IDLE

    # --- firing the queue -----------------------------------------------------------------

    async def _fire_due(self, now: datetime) -> list[Notification]:
        delivered: list[Notification] = []
        for _ in range(MAX_BATCHES):
            fires, count = await self.store.read(lambda c: self._plan_batch(c, now))
            if count == 0:
                break
            out, held = await self.store.write(partial(self._apply, fires=fires))
            delivered += out
            self._held_users |= held
            if count < BATCH:
                break
        return delivered

    def _plan_batch(self, c: sqlite3.Connection, now: datetime) -> tuple[list[Fire], int]:
        rows = c.execute(
            "SELECT s.id, s.user_id, s.object_id, s.alarm, s.due_at, s.occurrence, "
            "o.id AS oid, o.kind, o.summary, o.location, o.all_day, o.recurring, o.ics, o.uid, "
            "o.updated_at FROM schedule s LEFT JOIN cal_objects o ON o.id = s.object_id "
            "AND o.user_id = s.user_id AND o.deleted_at IS NULL "
            "WHERE s.due_at <= ? ORDER BY s.due_at LIMIT ?",
            (utc(now), BATCH),
        ).fetchall()
        fires = []
        for row in rows:
            try:
                fires.append(plan_row(row, now, *self._user(row["user_id"]), self._resource))
            except Exception as e:  # never drop it: ring with what the row says, then stop
                log.warning("reminder %s: %s", row["object_id"], e)
                fires.append(broken(row, now, self._user(row["user_id"])[1], e))
        return fires, len(rows)

    def _prefetch(self, c: sqlite3.Connection) -> None:
        """Parse repeating objects due soon while idle, so firing them costs no parsing."""
        soon = utc(self.clock.now() + PREFETCH)
        for row in c.execute(
            "SELECT o.id AS oid, o.ics, o.uid, o.updated_at FROM schedule s JOIN cal_objects o "
            "ON o.id = s.object_id WHERE s.due_at <= ? AND o.recurring = 1 "
            "ORDER BY s.due_at LIMIT ?",
            (soon, BATCH),
        ):
            try:
                self._resource(row)
            except ical.CalendarError:
                pass  # firing it will say so

    def _resource(self, row: sqlite3.Row) -> ical.Resource:
        key = (int(row["oid"]), str(row["updated_at"]))
        found = self._parsed.get(key)
        if found is None:
            source = f"calendar object {key[0]}"
            parsed = [r for r in ical.parse(row["ics"], source).resources if r.uid == row["uid"]]
            if not parsed:
                raise ical.CalendarError(f"{source} no longer parses")
            found = self._parsed[key] = parsed[0]
            if len(self._parsed) > 2000:
                self._parsed.popitem(last=False)
        return found

    def _apply(
        self, c: sqlite3.Connection, fires: list[Fire]
    ) -> tuple[list[Notification], set[str]]:
        fired_at = self.clock.now()
        delivered: list[Notification] = []
        held: set[str] = set()
        for f in fires:
            current = c.execute("SELECT due_at FROM schedule WHERE id = ?", (f.schedule_id,))
            row = current.fetchone()
            if row is None or row[0] != f.expected_due:
                continue  # re-planned meanwhile (the object was edited): the next round sees it
            if f.note is not None:
                made = self._insert(c, f.user, f.note, fired_at)
                if made is not None:
                    delivered.append(made)
                elif f.note.held:
                    held.add(f.user)
            if f.next_due is None:
                c.execute("DELETE FROM schedule WHERE id = ?", (f.schedule_id,))
            else:
                c.execute(
                    "UPDATE schedule SET due_at = ?, occurrence = ? WHERE id = ?",
                    (f.next_due, f.next_occurrence, f.schedule_id),
                )
        return delivered, held

    def _insert(
        self, c: sqlite3.Connection, user: str, n: Note, fired_at: datetime
    ) -> Notification | None:
        """Record a notification once (its key decides); queue its sends unless it is held.
        Returns it when it is new and shown now."""
        cur = c.execute(
            "INSERT OR IGNORE INTO notifications (user_id, kind, key, object_id, title, body, "
            "due_at, fired_at, late, held) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (user, n.kind, n.key, n.object_id, n.title, n.body, n.due_at, utc(fired_at),
             int(n.late), int(n.held)),
        )  # fmt: skip
        if cur.rowcount != 1 or n.held:
            return None
        nid = int(cur.lastrowid or 0)
        queue_sends(c, nid, user, self._user(user)[0].channels, fired_at)
        due = datetime.fromisoformat(n.due_at) if n.due_at else None
        return Notification(nid, user, n.kind, n.title, n.body, due, fired_at, n.late)

    async def _release_held(self, now: datetime) -> list[Notification]:
        """Late deliveries that waited for quiet hours to end."""
        delivered: list[Notification] = []
        for user in sorted(self._held_users):
            s, tz = self._user(user)
            if s.quiet(now.astimezone(tz)):
                continue

            def release(
                c: sqlite3.Connection, user: str = user, s: SchedulerSettings = s
            ) -> list[Notification]:
                rows = c.execute(
                    "UPDATE notifications SET held = 0 WHERE user_id = ? AND held = 1 RETURNING *",
                    (user,),
                ).fetchall()
                for r in rows:
                    queue_sends(c, int(r["id"]), user, s.channels, now)
                return [from_row(r) for r in rows]

            delivered += await self.store.write(release)
            self._held_users.discard(user)
        return delivered

    # --- her own initiative ---------------------------------------------------------------

    async def _initiative(self, now: datetime) -> list[Notification]:
        if self.compose is None:
            return []
        said: list[Notification] = []
        for user, (s, tz) in list(self._users.items()):
            local = now.astimezone(tz)
            if not s.initiative or s.quiet(local):
                continue
            try:
                for made in (
                    await self._brief(user, s, local),
                    await self._checkin(user, s, local),
                ):
                    if made is not None:
                        said.append(made)
            except Exception:  # one user's briefing failing must not stop the others'
                log.exception("initiative for %s failed", user)
        return said

    async def _brief(self, user: str, s: SchedulerSettings, local: datetime) -> Notification | None:
        tz = local.tzinfo
        assert isinstance(tz, ZoneInfo)
        day = local.date()
        at = s.briefing_time(day, tz)
        if at is None or self.compose is None:
            return None
        # Missed (the computer was off)? Still said that morning, once; after noon, not at all.
        noon = datetime.combine(day, time(12), tzinfo=tz)
        until = noon if at.time() < time(12) else at + timedelta(hours=2)
        if not at <= local < until or (user, day) in self._briefed:
            return None
        key = day.isoformat()
        if await self.store.query_one(
            "SELECT 1 FROM notifications WHERE user_id = ? AND kind = 'briefing' AND key = ?",
            (user, key),
        ):
            self._briefed.add((user, day))
            return None
        text = await self.compose.briefing(user, day, tz)
        self._briefed.add((user, day))
        if not text:
            return None
        meant = s.quiet_ends(at) if s.quiet(at) else at  # waiting for quiet hours is not late
        note = Note("briefing", key, None, "Good morning", text, utc(at),
                     local - meant > LATE_AFTER, False)  # fmt: skip
        return await self._say(user, note)

    async def _checkin(
        self, user: str, s: SchedulerSettings, local: datetime
    ) -> Notification | None:
        if s.checkins_per_day <= 0 or self.compose is None:
            return None
        if self._checkin_idle.get(user, local) > local:
            return None
        start, slots = s.checkin_slots(local)
        passed = [t for t in slots if t <= local]
        if not passed:
            return None
        row = await self.store.query_one(
            "SELECT count(*), max(fired_at) FROM notifications WHERE user_id = ? "
            "AND kind = 'checkin' AND fired_at >= ?",
            (user, utc(start)),
        )
        asked, last = (int(row[0]), row[1]) if row else (0, None)
        # One per slot, and a missed slot is made up once, not all at once.
        if asked >= len(passed) or (last and datetime.fromisoformat(last) >= passed[-1]):
            return None
        tz = local.tzinfo
        assert isinstance(tz, ZoneInfo)
        found = await self.compose.next_checkin(user, local, tz)
        if found is None:
            self._checkin_idle[user] = local + CHECKIN_RECHECK
            return None
        note = Note("checkin", str(found.fact_id), None, "Checking in", found.text, None,
                     False, False)  # fmt: skip
        return await self._say(user, note)

    async def _say(self, user: str, note: Note) -> Notification | None:
        return await self.store.write(lambda c: self._insert(c, user, note, self.clock.now()))

    # --- the outbox -----------------------------------------------------------------------

    async def _recover(self) -> list[Notification]:
        """Sends cut short by a crash are reported, and held notifications found again."""

        def fix(c: sqlite3.Connection) -> tuple[list[Notification], set[str]]:
            notes = self.outbox.recover(c)
            held = c.execute("SELECT DISTINCT user_id FROM notifications WHERE held = 1")
            return notes, {r[0] for r in held}

        notes, held = await self.store.write(fix)
        self._held_users |= held
        return notes

    async def drain(self, within: float | None = None) -> None:
        """Wait for sends in flight (tests, shutdown); see `Outbox.drain`."""
        await self.outbox.drain(within)
