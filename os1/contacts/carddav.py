"""A CardDAV client: find the address books behind a URL and sync their cards into people.

Discovery follows RFC 6352 (the URL itself if it is an address book, else the
principal's addressbook-home-set, else /.well-known/carddav). A sync lists every
card with its ETag in one PROPFIND, fetches only new and changed cards with an
addressbook-multiget REPORT (GET one by one where a server lacks it), and
remembers the ETags in `contact_sources`, so the next sync fetches nothing that
did not change and notices cards that were removed. The password comes from a
command run when it is needed (`pass show dav`) and is never stored.
"""

from __future__ import annotations

import json
import sqlite3
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit
from xml.sax.saxutils import escape

import httpx

from .. import dav
from ..store import Store
from . import people as peoplestore
from .vcard import Problem, decode, parse

DAV, CARD = dav.DAV, "{urn:ietf:params:xml:ns:carddav}"
BATCH = 100  # cards per multiget request
_PROPFIND = (
    '<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:" '
    'xmlns:card="urn:ietf:params:xml:ns:carddav"><d:prop>{}</d:prop></d:propfind>'
)
_DISCOVER = "<d:resourcetype/><d:current-user-principal/><card:addressbook-home-set/>"

# One error for both DAV clients (os1/dav.py); the name stays for callers.
CardDAVError = dav.DAVError
password_from_command = dav.password_from_command
split_credentials = dav.split_credentials
_key, _href = dav.key, dav.href_of


@dataclass
class SyncReport:
    """What one sync of one address book did."""

    book: str
    listed: int = 0
    fetched: int = 0
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: int = 0
    """Cards gone from the server since the last sync."""
    removed_from: list[str] = field(default_factory=list)
    """The people those cards belonged to (they stay: only the card is gone)."""
    problems: list[Problem] = field(default_factory=list)


def _responses(text: str) -> list[tuple[str, dict[str, ET.Element]]]:
    """(href, properties found) for each response of a 207 Multi-Status body."""
    return [(r.href, r.props) for r in dav.responses(dav.multistatus(text))]


def _is_book(props: dict[str, ET.Element]) -> bool:
    return dav.has_type(props, f"{CARD}addressbook")


async def _dav(http: httpx.AsyncClient, method: str, url: str, depth: str, body: str) -> str:
    return await dav.request(http, method, url, depth, body)


async def _propfind(
    http: httpx.AsyncClient, url: str, depth: str, props: str
) -> list[tuple[str, dict[str, ET.Element]]]:
    return _responses(await _dav(http, "PROPFIND", url, depth, _PROPFIND.format(props)))


async def discover(http: httpx.AsyncClient, url: str) -> list[str]:
    """The address books at `url`: itself if it is one, else those in the user's home."""
    try:
        found = await _propfind(http, url, "0", _DISCOVER)
    except CardDAVError as e:
        # Some servers answer only below their DAV root, which /.well-known/ points to.
        if e.status in (None, 401) or urlsplit(url).path not in ("", "/"):
            raise
        well_known = urljoin(url, "/.well-known/carddav")
        found = await _propfind(http, well_known, "0", _DISCOVER)
        url = well_known
    props = found[0][1] if found else {}
    if _is_book(props):
        return [_key(url, found[0][0] or url)]
    home = _href(props, f"{CARD}addressbook-home-set")
    principal = _href(props, f"{DAV}current-user-principal")
    if home is None and principal is not None:
        answer = await _propfind(http, urljoin(url, principal), "0", _DISCOVER)
        home = _href(answer[0][1], f"{CARD}addressbook-home-set") if answer else None
    books: list[str] = []
    for place in dict.fromkeys([urljoin(url, home) if home else url, url]):
        listing = await _propfind(http, place, "1", "<d:resourcetype/>")
        books = [_key(place, href) for href, p in listing if _is_book(p)]
        if books:
            return books
    raise CardDAVError(f"no address book found at {url}")


async def list_cards(http: httpx.AsyncClient, book: str) -> dict[str, str]:
    """Every card in the address book: URL -> ETag."""
    listing = await _propfind(http, book, "1", "<d:resourcetype/><d:getetag/>")
    cards = {}
    for href, props in listing:
        kind = props.get(f"{DAV}resourcetype")
        is_collection = kind is not None and kind.find(f"{DAV}collection") is not None
        etag = props.get(f"{DAV}getetag")
        if not is_collection and etag is not None and _key(book, href) != _key(book, book):
            cards[_key(book, href)] = (etag.text or "").strip()
    return cards


async def fetch_cards(
    http: httpx.AsyncClient, book: str, urls: list[str]
) -> dict[str, tuple[str, str]]:
    """URL -> (ETag, vCard text) for the cards asked for that still exist."""
    fetched: dict[str, tuple[str, str]] = {}
    for start in range(0, len(urls), BATCH):
        batch = urls[start : start + BATCH]
        hrefs = "".join(f"<d:href>{escape(urlsplit(u).path)}</d:href>" for u in batch)
        body = (
            '<?xml version="1.0" encoding="utf-8"?><card:addressbook-multiget xmlns:d="DAV:" '
            'xmlns:card="urn:ietf:params:xml:ns:carddav"><d:prop><d:getetag/>'
            f"<card:address-data/></d:prop>{hrefs}</card:addressbook-multiget>"
        )
        try:
            answer = _responses(await _dav(http, "REPORT", book, "1", body))
        except CardDAVError:
            answer = None
        if answer is None:  # no multiget here: one GET per card
            for url in batch:
                try:
                    reply = await http.get(url)
                except httpx.HTTPError as e:
                    raise CardDAVError(f"cannot fetch {url}: {str(e) or type(e).__name__}") from e
                if reply.status_code == 200:
                    fetched[url] = (reply.headers.get("etag", ""), decode(reply.content)[0])
            continue
        for href, props in answer:
            data, etag = props.get(f"{CARD}address-data"), props.get(f"{DAV}getetag")
            if data is not None and data.text:
                fetched[_key(book, href)] = (
                    (etag.text or "") if etag is not None else "",
                    data.text,
                )
    return fetched


async def sync(
    store: Store, user: str, url: str, *, username: str | None = None, password: str | None = None
) -> list[SyncReport]:
    """Sync every address book at `url` into the user's people; one report per book."""
    url, url_user, url_password = split_credentials(url)
    username, password = username or url_user, password or url_password
    auth = httpx.BasicAuth(username, password or "") if username else None
    async with httpx.AsyncClient(auth=auth, timeout=30, follow_redirects=True) as http:
        return [await _sync_book(store, user, http, book) for book in await discover(http, url)]


async def _sync_book(store: Store, user: str, http: httpx.AsyncClient, book: str) -> SyncReport:
    row = await store.query_one(
        "SELECT etags FROM contact_sources WHERE user_id = ? AND url = ?", (user, book)
    )
    known: dict[str, str] = json.loads(row["etags"]) if row else {}
    listed = await list_cards(http, book)
    wanted = [u for u, etag in listed.items() if known.get(u) != etag]
    fetched = await fetch_cards(http, book, wanted)
    report = SyncReport(book, listed=len(listed), fetched=len(fetched))
    gone = [u for u in known if u not in listed]

    def write(c: sqlite3.Connection) -> None:
        peoplestore.ensure_user(c, user)
        etags = {u: e for u, e in known.items() if u in listed}
        changes = peoplestore.Changes()
        for card_url, (etag, text) in fetched.items():
            etags[card_url] = etag or listed.get(card_url, "")
            parsed = parse(text)
            good, bad = (
                parsed.cards[:1],
                parsed.problems
                + [
                    Problem(f"card {i + 2}", "more than one card at one URL", card.raw)
                    for i, card in enumerate(parsed.cards[1:])
                ],
            )
            problems = [Problem(card_url, p.error, p.raw) for p in bad]
            if not good and not bad:
                problems = [Problem(card_url, "the server sent an empty card", text)]
            peoplestore.clear_problems(c, user, card_url)
            peoplestore.keep_problems(c, user, card_url, problems)
            report.problems += problems
            peoplestore.upsert_cards(
                c, user, [(card, f"carddav:{card_url}") for card in good], changes
            )
        for card_url in gone:
            peoplestore.clear_problems(c, user, card_url)
            report.removed_from += _forget_source(c, user, f"carddav:{card_url}")
        report.removed = len(gone)
        report.added, report.updated = changes.added, changes.updated
        c.execute(
            "INSERT INTO contact_sources (user_id, url, etags, synced_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(user_id, url) DO UPDATE SET etags = excluded.etags, "
            "synced_at = excluded.synced_at",
            (user, book, json.dumps(etags), datetime.now(UTC).isoformat()),
        )

    await store.write(write)
    return report


def _forget_source(c: sqlite3.Connection, user: str, source: str) -> list[str]:
    """Drop a removed card from the people it came from (they stay: only the card is gone)."""
    rows = c.execute(
        "SELECT * FROM people WHERE user_id = ? AND EXISTS "
        "(SELECT 1 FROM json_each(people.sources) WHERE value = ?)",
        (user, source),
    ).fetchall()
    names = []
    for row in rows:
        person = peoplestore.person_from_row(row)
        sources = tuple(s for s in person.sources if s != source)
        peoplestore.save(c, user, replace(person, sources=sources))
        names.append(person.name)
    return names


async def sources(store: Store, user: str) -> list[str]:
    """The address books this user has synced before."""
    rows = await store.query(
        "SELECT url FROM contact_sources WHERE user_id = ? ORDER BY url", (user,)
    )
    return [r["url"] for r in rows]
