"""Invitations found in mail, turned into proposals the user says yes or no to.

An invitation (METHOD:REQUEST), a cancellation (METHOD:CANCEL) or a plain .ics file
(PUBLISH) travels as a text/calendar part. The mail parser keeps a part with a file
name as an attachment, but an inline text/calendar part — the usual invitation, next
to text/plain and text/html in a multipart/alternative — ends up in the body text; so
each candidate message is read again from its raw bytes and every calendar part taken
from there. Mail is untrusted: what it carries can only *propose* `add_event` or
`delete_event`, which wait for the user's yes; it never changes the calendar itself.
Each (mail, UID) is recorded in `cal_invitations`, so a scan proposes it once; a later
mail with a higher SEQUENCE proposes the update. A mail with nothing to propose is
recorded with an empty UID, so it is not read again.
"""

from __future__ import annotations

import email
import email.policy
import sqlite3
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from ..actions import ActionError
from ..mail import store as mailstore
from . import ical, importer, recurrence
from . import store as calstore

if TYPE_CHECKING:
    from ..companion import Companion

CALENDAR_TYPES = ("text/calendar", "application/ics", "text/x-vcalendar", "application/x-ics")
ADDS = ("REQUEST", "PUBLISH", "ADD")
MAX_PER_MAIL = 10
"""More events than this in one mail is a calendar to import, not an invitation."""
_NOTICED = (
    *("DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "RECURRENCE-ID"),
    *("SUMMARY", "LOCATION", "STATUS"),
)
_FREQ = {"DAILY": "day", "WEEKLY": "week", "MONTHLY": "month", "YEARLY": "year"}


@dataclass(frozen=True)
class Invitation:
    """A proposal made from calendar data in a mail."""

    mail_id: int
    uid: str
    summary: str
    start: date | datetime | None
    method: str
    action_id: int | None


def calendar_parts(raw: bytes) -> list[tuple[str, bytes]]:
    """(METHOD of the Content-Type, data) of every calendar part in a raw message."""
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    found = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        name = (part.get_filename() or "").lower()
        if part.get_content_type() in CALENDAR_TYPES or name.endswith((".ics", ".vcs")):
            data = part.get_payload(decode=True)
            if isinstance(data, bytes) and data.strip():
                found.append((str(part.get_param("method") or "").upper(), data))
    return found


def _organizer(component: Any) -> str:
    text = ical.text_of(component.get("ORGANIZER"))
    return text[7:] if text.lower().startswith("mailto:") else text


def describe_invitation(resource: ical.Resource, tz: ZoneInfo) -> str:
    """“Project sync — Thu 3 Dec 15:00–16:00, from paul@example.com” for the approval prompt."""
    main = resource.main
    text = resource.summary or "(no title)"
    try:
        start = main.decoded("DTSTART")
        if "DTEND" in main:
            end = main.decoded("DTEND")
        else:
            end = start + main.decoded("DURATION") if "DURATION" in main else None
    except (KeyError, ValueError, TypeError):
        start = end = None
    try:
        zone = ZoneInfo(resource.default_tz) if resource.default_tz else tz
    except (ValueError, KeyError):  # a zone name this computer does not know
        zone = tz
    this_year = datetime.now(tz).year

    def day(d: date) -> str:
        return f"{d:%a} {d.day} {d:%b}" + (f" {d.year}" if d.year != this_year else "")

    if isinstance(start, datetime):
        s = recurrence.as_aware(start, zone).astimezone(tz)
        text += f" — {day(s.date())} {s:%H:%M}"
        if isinstance(end, datetime):
            e = recurrence.as_aware(end, zone).astimezone(tz)
            text += f"–{e:%H:%M}" if e.date() == s.date() else f" – {day(e.date())} {e:%H:%M}"
    elif isinstance(start, date):
        last = end - timedelta(days=1) if isinstance(end, date) and end > start else start
        text += f" — {day(start)}" + (f" – {day(last)}" if last != start else "") + " (all day)"
    location = ical.text_of(main.get("LOCATION"))
    if location:
        text += f" ({location})"
    rule = main.get("RRULE")
    if rule is not None and not isinstance(rule, list):
        freq = _FREQ.get(str((rule.get("FREQ") or [""])[0]).upper())
        n = int((rule.get("INTERVAL") or [1])[0])
        if freq:
            text += f", every {freq}" if n == 1 else f", every {n} {freq}s"
    organizer = _organizer(main)
    return text + (f", from {organizer}" if organizer else "")


def _candidates(c: sqlite3.Connection, user: str) -> list[sqlite3.Row]:
    """Mails not read for invitations yet that may carry calendar data."""
    types = ", ".join("?" for _ in CALENDAR_TYPES)
    return c.execute(
        "SELECT m.id, m.raw_hash, m.subject, m.from_me FROM mail_messages m "
        "WHERE m.user_id = ? AND m.status = 'ok' AND NOT EXISTS (SELECT 1 FROM "
        "cal_invitations i WHERE i.user_id = m.user_id AND i.mail_id = m.id) AND ("
        "EXISTS (SELECT 1 FROM mail_attachments a WHERE a.user_id = m.user_id AND "
        f"a.message_id = m.id AND (lower(a.content_type) IN ({types}) OR "
        "lower(a.filename) LIKE '%.ics' OR lower(a.filename) LIKE '%.vcs')) "
        # An inline text/calendar part is in the body (see the module docstring).
        "OR m.id IN (SELECT rowid FROM mail_fts WHERE mail_fts MATCH 'body:vcalendar')) "
        "ORDER BY m.id",
        (user, *CALENDAR_TYPES),
    ).fetchall()


def _value(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, list):
        return "|".join(_value(x) for x in v)
    try:
        return bytes(v.to_ical()).decode("utf-8", "replace")
    except Exception:
        return str(v)


def _essentials(r: ical.Resource) -> list[tuple[str, ...]]:
    """What the user would notice changing: when, what, where."""
    return sorted(tuple(_value(c.get(p)) for p in _NOTICED) for c in r.components)


@dataclass(frozen=True)
class _Stored:
    object_id: int
    calendar: str
    resource: ical.Resource


def _stored(c: sqlite3.Connection, user: str, uid: str) -> _Stored | None:
    row = c.execute(
        "SELECT o.*, k.name AS calendar FROM cal_objects o JOIN calendars k ON "
        "k.id = o.calendar_id WHERE o.user_id = ? AND o.uid = ? AND o.deleted_at IS NULL "
        "ORDER BY o.id LIMIT 1",
        (user, uid),
    ).fetchone()
    if row is None:
        return None
    try:
        return _Stored(int(row["id"]), row["calendar"], calstore.load(row))
    except ical.CalendarError:
        return None


def _proposed_before(c: sqlite3.Connection, user: str, uid: str, methods: tuple[str, ...]) -> int:
    """The highest SEQUENCE already proposed for this UID (-1: none)."""
    marks = ", ".join("?" for _ in methods)
    (found,) = c.execute(
        "SELECT max(sequence) FROM cal_invitations WHERE user_id = ? AND uid = ? "
        f"AND action_id IS NOT NULL AND method IN ({marks})",
        (user, uid, *methods),
    ).fetchone()
    return -1 if found is None else int(found)


def _plan(
    c: sqlite3.Connection, user: str, mail_id: int, method: str, r: ical.Resource, now: datetime
) -> tuple[str, dict[str, Any]] | None:
    """The tool and arguments to propose for one object in a mail, or None."""
    sequence = importer.version(r)[0]
    stored = _stored(c, user, r.uid)
    known = importer.version(stored.resource)[0] if stored else -1
    if method in ADDS:
        if r.kind != "event" or _proposed_before(c, user, r.uid, ADDS) >= sequence:
            return None
        if stored is not None and (
            sequence < known
            or (sequence == known and _essentials(r) == _essentials(stored.resource))
        ):
            return None  # in the calendar as it is already
        try:
            last = recurrence.bounds(r, ZoneInfo("UTC"))[1]
        except Exception:
            last = None  # cannot tell: let the user decide
        if last is not None and last < now:
            return None  # over already (an old mail)
        args: dict[str, Any] = {"ics": r.to_ical(), "mail_id": mail_id}
        if stored is not None:
            args["calendar"] = stored.calendar  # an update replaces it where it is
        return "add_event", args
    if method != "CANCEL" or stored is None or sequence < known:
        return None
    if _proposed_before(c, user, r.uid, ("CANCEL",)) >= sequence:
        return None
    called_off = [x.decoded("RECURRENCE-ID") for x in r.components if "RECURRENCE-ID" in x]
    if len(called_off) < len(r.components):
        return "delete_event", {"object_id": stored.object_id}
    # Single occurrences called off: the series stays, without them.
    series = stored.resource
    if series.master is None:
        return None
    for moment in called_off:
        series.master.add("EXDATE", moment)
    series.components = [
        x
        for x in series.components
        if "RECURRENCE-ID" not in x or x.decoded("RECURRENCE-ID") not in called_off
    ]
    ics = series.to_ical()
    return "add_event", {"ics": ics, "mail_id": mail_id, "calendar": stored.calendar}


def _read(
    raw: bytes, mail_id: int, subject: str
) -> tuple[list[tuple[str, ical.Resource]], list[ical.Problem]]:
    source = f"mail {mail_id}" + (f" ({subject})" if subject else "")
    found: dict[str, tuple[str, ical.Resource]] = {}
    problems: list[ical.Problem] = []
    for method, data in calendar_parts(raw):
        try:
            parsed = ical.parse(data, source)
        except ical.CalendarError as e:
            problems.append(ical.Problem(source, str(e), ical.decode_text(data)))
            continue
        problems += parsed.problems
        if len(parsed.resources) > MAX_PER_MAIL:
            why = (
                f"a calendar of {len(parsed.resources)} events, not an invitation: "
                "save the attachment and import it"
            )
            problems.append(ical.Problem(source, why, ical.decode_text(data)))
            continue
        for r in parsed.resources:
            seen = found.get(r.uid)
            # The same invitation inline and as invite.ics (Google): the newer copy counts.
            if seen is None or importer.newer(r, seen[1]):
                found[r.uid] = (parsed.method or method or "PUBLISH", r)
    return list(found.values()), problems


async def scan(companion: Companion, user: str, *, now: datetime | None = None) -> list[Invitation]:
    """Propose what the user's mail carries that was not read for invitations yet; returns
    the proposals made."""
    actions = companion.actions
    for name in ("add_event", "delete_event"):
        tool = actions.tools.get(name)
        if tool is None or not tool.effect.needs_approval:
            # Mail may only ever propose: a tool that would act at once is not used.
            raise ActionError(f"the {name} tool is missing or does not ask first")
    store = companion.store
    moment = now or datetime.now(UTC)
    made: list[Invitation] = []
    for mail in await store.read(partial(_candidates, user=user)):
        mail_id = int(mail["id"])
        raw = await store.read(partial(mailstore.blob, user=user, hash_=mail["raw_hash"]))
        items, problems = _read(raw or b"", mail_id, mail["subject"])
        rows: list[tuple[str, str, int, int | None]] = []
        for method, r in items:
            plan = None
            if not mail["from_me"]:  # one's own invitations are in one's calendar already
                plan = await store.read(partial(_plan, user=user, mail_id=mail_id,
                                                method=method, r=r, now=moment))  # fmt: skip
            action_id = None
            if plan is not None:
                try:
                    outcome = await actions.request(
                        user, plan[0], plan[1], requested_by="mail", approve=None
                    )
                except ActionError as e:
                    source = f"mail {mail_id}"
                    problems.append(ical.Problem(source, f"cannot propose it: {e}", r.to_ical()))
                else:
                    action_id = outcome.action_id
                    start = r.main.decoded("DTSTART") if "DTSTART" in r.main else None
                    made.append(Invitation(mail_id, r.uid, r.summary, start, method, action_id))
            rows.append((r.uid, method, importer.version(r)[0], action_id))
        await store.write(
            partial(_record, user=user, mail_id=mail_id, rows=rows, problems=problems)
        )
    return made


def _record(
    c: sqlite3.Connection,
    user: str,
    mail_id: int,
    rows: list[tuple[str, str, int, int | None]],
    problems: list[ical.Problem],
) -> None:
    stamp = datetime.now(UTC).isoformat()
    for uid, method, sequence, action_id in rows or [("", "", 0, None)]:
        c.execute(
            "INSERT OR IGNORE INTO cal_invitations (user_id, mail_id, uid, method, sequence, "
            "action_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (user, mail_id, uid, method, sequence, action_id, stamp),
        )
    importer.keep_problems(c, user, problems)
