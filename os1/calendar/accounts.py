"""CalDAV accounts: the calendars found at a URL become `calendars` rows to sync.

Discovery follows RFC 4791/6764: the URL itself if it is a calendar, else the
principal's calendar-home-set, else /.well-known/caldav. Only calendars that hold events
or to-dos are kept, read-only where the server grants no write privilege. The password
comes from a command run when it is needed (`password_command`) and is never stored.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import unquote, urljoin, urlsplit

import httpx

from .. import dav
from ..store import Store

DAV, CAL, APPLE = dav.DAV, "{urn:ietf:params:xml:ns:caldav}", "{http://apple.com/ns/ical/}"
KINDS = frozenset({"VEVENT", "VTODO"})
_NS = 'xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:i="http://apple.com/ns/ical/"'
_XML = '<?xml version="1.0" encoding="utf-8"?>'
_CALENDAR = (
    "<d:resourcetype/><d:displayname/><i:calendar-color/>"
    "<c:supported-calendar-component-set/><d:current-user-privilege-set/>"
)
_DISCOVER = _CALENDAR + "<d:current-user-principal/><c:calendar-home-set/>"
_WRITE = {f"{DAV}write", f"{DAV}write-content", f"{DAV}all"}

# One error for both DAV clients (os1/dav.py): CalDAVError(message, status).
CalDAVError = dav.DAVError


@dataclass(frozen=True)
class RemoteCalendar:
    """A calendar collection on a server."""

    url: str
    name: str
    color: str | None
    components: set[str]
    """Which of VEVENT and VTODO it holds."""
    read_only: bool = False


def client(username: str | None, password: str | None) -> httpx.AsyncClient:
    """An HTTP client for the account's server (a sync uses one too)."""
    auth = httpx.BasicAuth(username, password or "") if username else None
    return httpx.AsyncClient(auth=auth, timeout=30, follow_redirects=True)


async def _propfind(
    http: httpx.AsyncClient, url: str, depth: str, props: str
) -> list[dav.Response]:
    body = f"{_XML}<d:propfind {_NS}><d:prop>{props}</d:prop></d:propfind>"
    return dav.responses(dav.multistatus(await dav.request(http, "PROPFIND", url, depth, body)))


def _text(props: dav.Props, name: str) -> str:
    prop = props.get(name)
    return (prop.text or "").strip() if prop is not None else ""


def _remote(url: str, props: dav.Props) -> RemoteCalendar | None:
    """The calendar these properties describe, or None if they are not one we can use."""
    if not dav.has_type(props, f"{CAL}calendar"):
        return None
    supported = props.get(f"{CAL}supported-calendar-component-set")
    components = set(KINDS)  # absent: any component (RFC 4791 5.2.3)
    if supported is not None:
        components &= {str(c.get("name", "")).upper() for c in supported.iter(f"{CAL}comp")}
    if not components:
        return None  # journals or free-busy only
    name = _text(props, f"{DAV}displayname")
    name = name or unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]) or "Calendar"
    color = _text(props, f"{APPLE}calendar-color") or None
    privileges = props.get(f"{DAV}current-user-privilege-set")
    read_only = privileges is not None and not any(
        child.tag in _WRITE for p in privileges.iter(f"{DAV}privilege") for child in p
    )
    return RemoteCalendar(url, name, color, components, read_only)


async def _discover(http: httpx.AsyncClient, url: str) -> list[RemoteCalendar]:
    try:
        found = await _propfind(http, url, "0", _DISCOVER)
    except CalDAVError as e:
        # Some servers answer only below their DAV root, which /.well-known/ points to.
        if e.status in (None, 401) or urlsplit(url).path not in ("", "/"):
            raise
        url = urljoin(url, "/.well-known/caldav")
        found = await _propfind(http, url, "0", _DISCOVER)
    props = found[0].props if found else {}
    if dav.has_type(props, f"{CAL}calendar"):
        itself = _remote(dav.key(url, found[0].href or url), props)
        if itself is None:
            raise CalDAVError(f"{url} is a calendar without events or to-dos")
        return [itself]
    home = dav.href_of(props, f"{CAL}calendar-home-set")
    principal = dav.href_of(props, f"{DAV}current-user-principal")
    if home is None and principal is not None:
        answer = await _propfind(http, urljoin(url, principal), "0", _DISCOVER)
        home = dav.href_of(answer[0].props, f"{CAL}calendar-home-set") if answer else None
    for place in dict.fromkeys([urljoin(url, home) if home else url, url]):
        listing = await _propfind(http, place, "1", _CALENDAR)
        calendars = [_remote(dav.key(place, r.href), r.props) for r in listing]
        if found_here := [c for c in calendars if c is not None]:
            return found_here
    raise CalDAVError(f"no calendar found at {url} (it is not a CalDAV calendar or home)", 404)


async def discover(
    url: str, username: str | None = None, password: str | None = None
) -> list[RemoteCalendar]:
    """The calendars at `url`: itself if it is one, else those in the user's calendar home."""
    url, url_user, url_password = dav.split_credentials(url)
    async with client(username or url_user, password or url_password) as http:
        return await _discover(http, url)


async def add_account(
    store: Store,
    user: str,
    url: str,
    *,
    username: str | None = None,
    password_command: str | None = None,
    password: str | None = None,
) -> list[sqlite3.Row]:
    """One `calendars` row per calendar found at `url` (again: the rows are refreshed). The
    password is never stored: `password_command` is run at each sync."""
    url, url_user, url_password = dav.split_credentials(url)
    if url_password and not password_command and password is None:
        raise CalDAVError(
            "a password in the URL is never stored: give a password command "
            "(e.g. `pass show dav`) so that later syncs can log in"
        )
    username = username or url_user
    if password is None and password_command:
        password = await dav.password_from_command(password_command)
    found = await discover(url, username, password or url_password)
    now = datetime.now(UTC).isoformat()

    def write(c: sqlite3.Connection) -> list[sqlite3.Row]:
        c.execute("INSERT OR IGNORE INTO users (id, created_at) VALUES (?, ?)", (user, now))
        ids = []
        for remote in found:
            row = c.execute(
                "SELECT id FROM calendars WHERE user_id = ? AND url = ?", (user, remote.url)
            ).fetchone()
            if row is not None:
                c.execute(
                    "UPDATE calendars SET username = ?, password_command = ?, color = ?, "
                    "read_only = ? WHERE id = ?",
                    (username, password_command, remote.color, int(remote.read_only), row[0]),
                )
                ids.append(int(row[0]))
                continue
            name, n = remote.name, 1
            while c.execute(
                "SELECT 1 FROM calendars WHERE user_id = ? AND name = ?", (user, name)
            ).fetchone():
                n += 1
                name = f"{remote.name} ({n})"
            cur = c.execute(
                "INSERT INTO calendars (user_id, name, url, username, password_command, color, "
                "read_only, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (user, name, remote.url, username, password_command, remote.color,
                 int(remote.read_only), now),
            )  # fmt: skip
            ids.append(int(cur.lastrowid or 0))
        marks = ", ".join("?" for _ in ids)
        return c.execute(
            f"SELECT * FROM calendars WHERE user_id = ? AND id IN ({marks}) ORDER BY id",
            (user, *ids),
        ).fetchall()

    return await store.write(write)
