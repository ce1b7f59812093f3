"""A real CalDAV server for tests: radicale on loopback (tests/contacts/radicale_server.py),
calendars made with MKCALENDAR, and a second client ("the phone") that edits them."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from xml.sax.saxutils import escape

sys.path.insert(0, str(Path(__file__).parent.parent / "contacts"))

from radicale_server import Radicale, radicale_server

__all__ = ["Phone", "Radicale", "make_calendar", "radicale_server", "shared_server"]


def make_calendar(
    server: Radicale,
    user: str,
    slug: str = "personal",
    *,
    name: str | None = None,
    components: tuple[str, ...] = ("VEVENT", "VTODO"),
    color: str | None = None,
) -> str:
    """Create a calendar for `user` (MKCALENDAR, RFC 4791 5.3.1) and return its URL."""
    comps = "".join(f'<C:comp name="{c}"/>' for c in components)
    color_prop = f"<I:calendar-color>{escape(color)}</I:calendar-color>" if color else ""
    body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" '
        'xmlns:I="http://apple.com/ns/ical/"><D:set><D:prop>'
        f"<D:displayname>{escape(name or slug)}</D:displayname>{color_prop}"
        f"<C:supported-calendar-component-set>{comps}</C:supported-calendar-component-set>"
        "</D:prop></D:set></C:mkcalendar>"
    )
    with server.client(user) as http:
        reply = http.request("MKCALENDAR", f"/{user}/{slug}/", content=body)
    if reply.status_code != 201:
        raise RuntimeError(f"MKCALENDAR failed: {reply.status_code} {reply.text[:300]}")
    return f"{server.url}{user}/{slug}/"


class Phone:
    """Another CalDAV client of the same account: plain HTTP, as a phone would do it.
    Paths are relative to the server's root."""

    def __init__(self, server: Radicale, user: str) -> None:
        self.server, self.user = server, user

    def put(self, path: str, text: str) -> str:
        """Store an object; its new ETag."""
        with self.server.client(self.user) as http:
            reply = http.put(
                path, content=text, headers={"Content-Type": "text/calendar; charset=utf-8"}
            )
        assert reply.status_code in (201, 204), (reply.status_code, reply.text)
        return reply.headers["ETag"]

    def get(self, path: str) -> str | None:
        with self.server.client(self.user) as http:
            reply = http.get(path)
        if reply.status_code == 404:
            return None
        assert reply.status_code == 200, (reply.status_code, reply.text)
        return reply.text

    def delete(self, path: str) -> None:
        with self.server.client(self.user) as http:
            assert http.delete(path).status_code in (200, 204)

    def names(self, calendar: str) -> list[str]:
        """The objects in a calendar (file names), from the server's own storage."""
        folder = self.server.folder / "collection-root" / self.user / calendar
        return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


@contextmanager
def shared_server(tmp: Path, users: dict[str, str]) -> Iterator[Radicale]:
    """radicale where every user may read everyone's calendars but write only their own
    (rights `owner_write`): a calendar shared read-only."""
    with radicale_server(tmp, users, rights="owner_write") as server:
        yield server
