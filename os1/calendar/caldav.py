"""Two-way CalDAV sync (RFC 4791): each remote calendar mirrored in `cal_objects`, both ways.

Calendars are found and added by `accounts.py`. A sync first sends what changed here
(PUT with If-Match, or If-None-Match: * for a new object; DELETE with If-Match), then
takes what changed there: a sync-collection REPORT (RFC 6578) from the stored token, or
a PROPFIND of every ETag where the server lacks it, and the bodies of what changed in
calendar-multiget REPORTs. The server's precondition check is the only judge of a
conflict; the version that loses is kept in `cal_problems`, so nothing is lost. The
password comes from a command run at sync time and is never stored.
"""

from __future__ import annotations

import hashlib
import inspect
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from .. import dav
from ..store import Store
from . import accounts, ical
from . import store as calstore
from .accounts import CAL, CalDAVError

BATCH = 100  # objects per calendar-multiget request


@dataclass
class SyncReport:
    """What one sync of one calendar did; lists hold the summaries of the objects."""

    calendar: str
    pulled_added: list[str] = field(default_factory=list)
    pulled_updated: list[str] = field(default_factory=list)
    pulled_removed: list[str] = field(default_factory=list)
    pushed: list[str] = field(default_factory=list)
    deleted_remote: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    problems: list[ical.Problem] = field(default_factory=list)
    fetched: int = 0
    """Objects downloaded."""
    read_only: bool = False
    error: str | None = None
    """Why this calendar was not synced (sync_all goes on with the others)."""

    def summary(self) -> str:
        if self.error:
            return f"{self.calendar}: not synced: {self.error}"

        def n(items: list[Any], what: str) -> str:
            return f"{len(items)} {what}" if items else ""

        pulled = [
            n(self.pulled_added, "new"),
            n(self.pulled_updated, "changed"),
            n(self.pulled_removed, "removed"),
        ]
        pushed = [n(self.pushed, "sent"), n(self.deleted_remote, "deleted there")]
        parts = []
        if any(pulled):
            parts.append(", ".join(p for p in pulled if p) + " from the server")
        if any(pushed):
            parts.append(", ".join(p for p in pushed if p))
        if self.conflicts:
            c = len(self.conflicts)
            parts.append(f"{c} conflict{'s' * (c != 1)}: " + "; ".join(self.conflicts))
        if self.problems:
            p = len(self.problems)
            parts.append(f"{p} problem{'s' * (p != 1)} kept (os1 calendar problems)")
        if self.read_only:
            parts.append("read-only on the server")
        return f"{self.calendar}: " + ("; ".join(parts) if parts else "up to date")


async def sync(
    store: Store, user: str, calendar_id: int, *, tz: ZoneInfo, password: str | None = None
) -> SyncReport:
    """Send this calendar's local changes to its server, then take the server's."""
    row = await store.query_one(
        "SELECT * FROM calendars WHERE user_id = ? AND id = ?", (user, calendar_id)
    )
    if row is None:
        raise CalDAVError(f"there is no calendar {calendar_id}")
    if not row["url"]:
        raise CalDAVError(f"calendar {row['name']!r} is local: it has no server to sync with")
    if password is None and row["password_command"]:
        password = await dav.password_from_command(row["password_command"])
    async with accounts.client(row["username"], password) as http:
        run = _Sync(store, user, row, http, tz)
        # Push first: the server's If-Match is then the one place a conflict is decided,
        # atomically, and the pull that follows brings back the server's state including
        # what was just sent, so one sync leaves both sides equal.
        await run.push()
        await run.pull()
        return run.report


async def sync_all(
    store: Store,
    user: str,
    *,
    tz: ZoneInfo,
    on_report: Callable[[SyncReport], Any] | None = None,
) -> list[SyncReport]:
    """Sync every calendar that has a server; one that fails is reported and the rest go on."""
    rows = await store.query(
        "SELECT id, name, password_command FROM calendars WHERE user_id = ? AND url IS NOT NULL "
        "ORDER BY id",
        (user,),
    )
    passwords: dict[str, str] = {}  # one account's calendars share a command: run it once
    reports = []
    for row in rows:
        try:
            command = row["password_command"]
            if command and command not in passwords:
                passwords[command] = await dav.password_from_command(command)
            report = await sync(
                store, user, row["id"], tz=tz, password=passwords.get(command or "")
            )
        except CalDAVError as e:
            report = SyncReport(row["name"], error=str(e))
        reports.append(report)
        if on_report is not None:
            result = on_report(report)
            if inspect.isawaitable(result):
                await result
    return reports


def object_href(calendar_url: str, uid: str) -> str:
    """Where a new object is PUT: its UID as the file name when that is safe in a URL."""
    name = uid if re.fullmatch(r"[A-Za-z0-9_.@-]{1,100}", uid) else None
    name = name or hashlib.sha256(uid.encode()).hexdigest()[:40]
    return dav.key(calendar_url, name + ".ics")


class _Sync:
    """One sync of one calendar: its HTTP client, what it knows, and what it did."""

    def __init__(
        self, store: Store, user: str, row: sqlite3.Row, http: httpx.AsyncClient, tz: ZoneInfo
    ) -> None:
        self.store, self.user, self.http, self.tz = store, user, http, tz
        self.id, self.url, self.name = int(row["id"]), str(row["url"]), str(row["name"])
        self.token: str | None = row["sync_token"]
        self.read_only = bool(row["read_only"])
        self.report = SyncReport(self.name, read_only=self.read_only)

    # --- push -----------------------------------------------------------------------------

    async def push(self) -> None:
        # Never on the server (no href) counts as changed, even if whoever put it here
        # forgot to say so (an import into a synced calendar).
        rows = await self.store.query(
            "SELECT * FROM cal_objects WHERE user_id = ? AND calendar_id = ? "
            "AND (dirty = 1 OR href IS NULL) ORDER BY id",
            (self.user, self.id),
        )
        for row in rows:
            if row["deleted_at"]:
                await self._delete(row)
            else:
                await self._put(row)

    async def _send(
        self, method: str, url: str, etag: str | None, text: str | None = None
    ) -> httpx.Response:
        headers = {"If-Match": etag} if etag else {}
        if text is not None:
            headers["Content-Type"] = "text/calendar; charset=utf-8"
            if not etag:
                headers["If-None-Match"] = "*"  # new: never over someone else's object
        content = text.encode() if text is not None else None
        return await dav.send(self.http, method, url, headers=headers, content=content)

    async def _put(self, row: sqlite3.Row) -> None:
        what = row["summary"] or row["uid"]
        if self.read_only:
            return await self._refused(row, "the calendar is read-only on the server")
        href = row["href"] or object_href(self.url, row["uid"])
        etag = row["etag"] if row["href"] else None
        reply = await self._send("PUT", href, etag, row["ics"])
        if reply.status_code == 412:
            current = await dav.get(self.http, href)
            if current is not None:
                return await self._lost(row, current, href, "change to")
            # Deleted there while changed here: ours goes back as a new object.
            self.report.conflicts.append(
                f"{what!r} was deleted on the server but changed here: sent again"
            )
            reply = await self._send("PUT", href, None, row["ics"])
        if reply.is_success:
            return await self._sent(row, href, reply.headers.get("ETag"))
        if reply.status_code in (403, 405):
            await self._became_read_only()
            return await self._refused(row, "the calendar is read-only on the server")
        if reply.status_code == 401 or reply.status_code >= 500:
            raise dav.refused(href, reply)  # try again at the next sync: nothing changed here
        await self._refused(row, f"the server refused it ({reply.status_code} "
                                 f"{reply.reason_phrase})")  # fmt: skip

    async def _sent(self, row: sqlite3.Row, href: str, etag: str | None) -> None:
        self.report.pushed.append(row["summary"] or row["uid"])
        if not etag:
            # No ETag: the server changed what it stored (RFC 4791 5.3.4); take its version.
            current = await dav.get(self.http, href)
            if current is not None:
                await self.store.write(lambda c: self._apply(c, href, *current, force=True))
                return

        def write(c: sqlite3.Connection) -> None:
            # Edited again while it was on its way: stays dirty, sent at the next sync.
            c.execute(
                "UPDATE cal_objects SET href = ?, etag = ?, dirty = (ics != ?) "
                "WHERE user_id = ? AND id = ?",
                (href, etag, row["ics"], self.user, row["id"]),
            )

        await self.store.write(write)

    async def _delete(self, row: sqlite3.Row) -> None:
        what = row["summary"] or row["uid"]
        if row["href"] is None:  # never reached the server
            return await self._forget(row)
        if self.read_only:
            return await self._refused(row, "the calendar is read-only on the server", "deletion")
        reply = await self._send("DELETE", row["href"], row["etag"])
        if reply.status_code == 412:
            current = await dav.get(self.http, row["href"])
            if current is not None:
                return await self._lost(row, current, row["href"], "deletion of")
        elif reply.status_code in (403, 405):
            await self._became_read_only()
            return await self._refused(row, "the calendar is read-only on the server", "deletion")
        elif not reply.is_success and reply.status_code not in (404, 410):
            raise dav.refused(row["href"], reply)
        if reply.is_success:
            self.report.deleted_remote.append(what)
        await self._forget(row)

    async def _forget(self, row: sqlite3.Row) -> None:
        await self.store.write(
            lambda c: calstore.delete(c, self.user, row["id"], keep_tombstone=False)
        )

    async def _lost(
        self, row: sqlite3.Row, current: tuple[str, str], href: str, change: str
    ) -> None:
        """It changed on the server meanwhile: the server's version wins here, ours is kept."""
        what = row["summary"] or row["uid"]
        same = change == "change to" and _same(current[1], row)

        def write(c: sqlite3.Connection) -> None:
            c.execute("UPDATE cal_objects SET dirty = 0 WHERE id = ?", (row["id"],))
            if not same:
                message = (
                    f"conflict: your {change} {what!r} was not sent because it changed on the "
                    "server; your version is kept here"
                )
                calstore.add_problem(
                    c, self.user, ical.Problem(f"{self.name} (CalDAV)", message, row["ics"])
                )
                self.report.conflicts.append(f"{what!r} changed on the server: its version won")
            self._apply(c, href, *current, force=True)

        await self.store.write(write)

    async def _refused(self, row: sqlite3.Row, why: str, change: str = "change") -> None:
        """The server will not take it: the user's version is kept as a problem, the
        calendar shows what the server has."""
        what = row["summary"] or row["uid"]
        current = await dav.get(self.http, row["href"]) if row["href"] else None
        message = f"your {change} of {what!r} was not sent: {why}; your version is kept here"
        problem = ical.Problem(f"{self.name} (CalDAV)", message, row["ics"])

        def write(c: sqlite3.Connection) -> None:
            c.execute("UPDATE cal_objects SET dirty = 0 WHERE id = ?", (row["id"],))
            calstore.add_problem(c, self.user, problem)
            self.report.problems.append(problem)
            if current is not None and row["href"]:
                self._apply(c, row["href"], *current, force=True)
            else:
                calstore.delete(c, self.user, row["id"], keep_tombstone=False)

        await self.store.write(write)

    async def _became_read_only(self) -> None:
        self.read_only = self.report.read_only = True
        await self.store.execute_write(
            "UPDATE calendars SET read_only = 1 WHERE user_id = ? AND id = ?", (self.user, self.id)
        )

    # --- pull -----------------------------------------------------------------------------

    async def pull(self) -> None:
        changes = await self._changes()
        listed, gone = changes.listed, changes.gone
        local = {
            r["href"]: r
            for r in await self.store.query(
                "SELECT id, uid, href, etag, dirty, deleted_at, summary FROM cal_objects "
                "WHERE user_id = ? AND calendar_id = ? AND href IS NOT NULL",
                (self.user, self.id),
            )
        }
        if changes.complete:
            gone = {href for href in local if href not in listed}
        wanted = [u for u, etag in listed.items() if u not in local or local[u]["etag"] != etag]
        fetched = await dav.multiget(
            self.http, self.url, wanted, f"{CAL}calendar-multiget", f"{CAL}calendar-data", BATCH
        )
        self.report.fetched = len(fetched)

        def write(c: sqlite3.Connection) -> None:
            for href, (etag, text) in fetched.items():
                self._apply(c, href, etag or listed.get(href, ""), text)
            for href in gone:
                self._gone(c, href)
            c.execute(
                "UPDATE calendars SET sync_token = ?, synced_at = ? WHERE user_id = ? AND id = ?",
                (changes.token, datetime.now(UTC).isoformat(), self.user, self.id),
            )

        await self.store.write(write)

    async def _changes(self) -> dav.Changes:
        for token in [self.token, ""] if self.token else [""]:
            try:
                return await dav.sync_collection(self.http, self.url, token)
            except CalDAVError as e:
                if e.status in (None, 401):  # unreachable or refused: not a missing feature
                    raise
                # An expired token (403/409 valid-sync-token): start over; else no RFC 6578.
        return dav.Changes(await dav.list_etags(self.http, self.url), set(), None, True)

    def _apply(
        self, c: sqlite3.Connection, href: str, etag: str, text: str, *, force: bool = False
    ) -> None:
        """Store the server's version of one object. A local change not yet sent is left
        alone (the next push decides, with If-Match) unless `force`: the server won."""
        try:
            parsed = ical.parse(text, href)
        except ical.CalendarError as e:
            parsed = ical.Parsed([], [ical.Problem(href, str(e), text)])
        # Problems and notes (parts OS1 does not keep, such as journals) are kept raw.
        kept = parsed.problems + parsed.notes
        problems = [ical.Problem(href, p.error, p.raw) for p in kept]
        problems += [
            ical.Problem(href, f"a second object (UID {r.uid}) in one resource", r.to_ical())
            for r in parsed.resources[1:]
        ]
        if not parsed.resources and not problems:
            problems = [ical.Problem(href, "the server sent no event or to-do", text)]
        known = {
            (r["error"], r["raw"])
            for r in c.execute(
                "SELECT error, raw FROM cal_problems WHERE user_id = ? AND source = ?",
                (self.user, href),
            )
        }
        c.execute("DELETE FROM cal_problems WHERE user_id = ? AND source = ?", (self.user, href))
        for problem in problems:
            calstore.add_problem(c, self.user, problem)
            if (problem.error, problem.raw) not in known:  # reported once, kept until fixed
                self.report.problems.append(problem)
        if not parsed.resources:
            return  # nothing usable: what we had stays
        resource = parsed.resources[0]
        old = c.execute(
            "SELECT id, uid, dirty FROM cal_objects WHERE user_id = ? AND calendar_id = ? "
            "AND href = ?",
            (self.user, self.id, href),
        ).fetchone()
        if old is not None and old["uid"] != resource.uid and (force or not old["dirty"]):
            calstore.delete(c, self.user, old["id"], keep_tombstone=False)  # replaced there
        mine = c.execute(
            "SELECT id, dirty FROM cal_objects WHERE user_id = ? AND calendar_id = ? AND uid = ?",
            (self.user, self.id, resource.uid),
        ).fetchone()
        if mine is not None and mine["dirty"]:
            if not force:
                return
            c.execute("UPDATE cal_objects SET dirty = 0 WHERE id = ?", (mine["id"],))
        put = calstore.put_resource(
            c, self.user, self.id, resource, origin="caldav", tz=self.tz, href=href, etag=etag
        )
        if not force and put.change == "added":
            self.report.pulled_added.append(resource.summary or resource.uid)
        elif not force and put.change == "updated":
            self.report.pulled_updated.append(resource.summary or resource.uid)

    def _gone(self, c: sqlite3.Connection, href: str) -> None:
        c.execute("DELETE FROM cal_problems WHERE user_id = ? AND source = ?", (self.user, href))
        row = c.execute(
            "SELECT id, uid, summary, dirty, deleted_at FROM cal_objects WHERE user_id = ? "
            "AND calendar_id = ? AND href = ?",
            (self.user, self.id, href),
        ).fetchone()
        if row is None:
            return
        what = row["summary"] or row["uid"]
        if row["dirty"] and not row["deleted_at"]:
            # Deleted there, changed here: ours stays and goes back as a new object.
            c.execute("UPDATE cal_objects SET href = NULL, etag = NULL WHERE id = ?", (row["id"],))
            self.report.conflicts.append(
                f"{what!r} was deleted on the server but changed here: kept, sent at the next sync"
            )
            return
        calstore.delete(c, self.user, row["id"], keep_tombstone=False)
        if not row["deleted_at"]:
            self.report.pulled_removed.append(what)


def _same(text: str, row: sqlite3.Row) -> bool:
    """Whether the server's text is the very object this row holds (both sides made the
    same change, or our PUT landed before a crash)."""
    try:
        parsed = ical.parse(text, "server")
    except ical.CalendarError:
        return False
    return any(r.uid == row["uid"] and r.to_ical() == row["ics"] for r in parsed.resources)
