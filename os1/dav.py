"""WebDAV plumbing shared by the CardDAV and CalDAV clients: requests, answers, URLs.

Both clients are small and speak to the server with httpx. What they share lives
here: one error type with the HTTP status, splitting credentials off a URL (they are
never stored), the password command, reading Multi-Status answers, and walking a
collection: what changed since a sync token (RFC 6578), every member's ETag, and the
bodies of many members in one multiget REPORT.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from urllib.parse import quote, unquote, urljoin, urlsplit, urlunsplit
from xml.sax.saxutils import escape

import httpx

from . import passwords

DAV = "{DAV:}"
Props = dict[str, ET.Element]
MAX_PAGES = 100  # a truncated sync-collection answer is asked again, this many times


class DAVError(Exception):
    """The server cannot be reached, refuses us, or lacks what we asked for; the message says
    why and `status` is the HTTP status when there was one."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Response:
    """One member of a 207 Multi-Status answer."""

    href: str
    props: Props
    """The properties the server found (propstat 200)."""
    status: int | None = None
    """The member's own status when it has one (404: removed, in a sync-collection answer)."""


async def password_from_command(command: str) -> str:
    """The first line a command prints (`pass show dav/home`), run without a shell."""
    try:
        return await passwords.from_command(command)
    except passwords.PasswordError as e:
        raise DAVError(str(e)) from e


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """The URL without user:password@ (never stored), and the user and password it held."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DAVError(f"{url!r} is not an http(s) URL")
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    if ":" in parts.hostname:
        host = f"[{parts.hostname}]" + (f":{parts.port}" if parts.port else "")
    clean = urlunsplit((parts.scheme, host, parts.path or "/", parts.query, ""))
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    return clean, user, password


def key(base: str, href: str) -> str:
    """An absolute URL for `href`, spelled the same way whatever the server's encoding."""
    parts = urlsplit(urljoin(base, href))
    return urlunsplit((parts.scheme, parts.netloc, quote(unquote(parts.path)), "", ""))


def _status(text: str | None) -> int | None:
    words = (text or "").split()
    return int(words[1]) if len(words) > 1 and words[1].isdigit() else None


def multistatus(text: str) -> ET.Element:
    try:
        return ET.fromstring(text)
    except ET.ParseError as e:
        raise DAVError(f"the server's answer is not valid XML: {e}") from e


def responses(root: ET.Element) -> list[Response]:
    """Each member of a parsed 207 Multi-Status body."""
    found = []
    for response in root.iter(f"{DAV}response"):
        href = (response.findtext(f"{DAV}href") or "").strip()
        props: Props = {}
        for propstat in response.iter(f"{DAV}propstat"):
            if _status(propstat.findtext(f"{DAV}status")) in (200, None):
                for prop in propstat.iter(f"{DAV}prop"):
                    props.update({child.tag: child for child in prop})
        found.append(Response(href, props, _status(response.findtext(f"{DAV}status"))))
    return found


def href_of(props: Props, name: str) -> str | None:
    """The first href inside property `name` (a principal, a home set)."""
    prop = props.get(name)
    text = prop.findtext(f"{DAV}href") if prop is not None else None
    return text.strip() if text else None


def has_type(props: Props, tag: str) -> bool:
    """Whether the resourcetype names `tag` (a collection, a calendar, an address book)."""
    kind = props.get(f"{DAV}resourcetype")
    return kind is not None and kind.find(tag) is not None


def refused(url: str, reply: httpx.Response) -> DAVError:
    """The error for an answer we did not want, said plainly."""
    status = reply.status_code
    if status == 401:
        return DAVError(
            f"{url} refused the login (401): check --username and --password-command", 401
        )
    if status == 404:
        return DAVError(f"{url} does not exist on the server (404 Not Found)", 404)
    return DAVError(f"{reply.request.method} {url} answered {status} {reply.reason_phrase}", status)


async def send(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    content: bytes | None = None,
) -> httpx.Response:
    """One request; a network failure becomes a DAVError that says which server."""
    try:
        return await http.request(method, url, headers=headers, content=content)
    except httpx.HTTPError as e:
        raise DAVError(f"cannot reach {url}: {str(e) or type(e).__name__}") from e


async def request(http: httpx.AsyncClient, method: str, url: str, depth: str, body: str) -> str:
    """A PROPFIND or REPORT; the 207 Multi-Status text, or a DAVError."""
    headers = {"Depth": depth, "Content-Type": "application/xml; charset=utf-8"}
    reply = await send(http, method, url, headers=headers, content=body.encode())
    if reply.status_code != 207:
        raise refused(url, reply)
    return reply.text


@dataclass
class Changes:
    """What changed in a collection since a sync token (or everything, without one)."""

    listed: dict[str, str]
    """URL -> ETag of members new or changed."""
    gone: set[str]
    """URLs of members removed."""
    token: str | None
    """The token to start from next time (None: the server has no sync-collection)."""
    complete: bool
    """`listed` names every member: whatever it lacks is gone too."""


async def sync_collection(http: httpx.AsyncClient, url: str, token: str) -> Changes:
    """RFC 6578: the members changed since `token` ('' for all of them). A truncated answer
    (507 on the collection) is asked again from the token that came with it."""
    listed: dict[str, str] = {}
    gone: set[str] = set()
    home = key(url, url)
    start = token
    for _ in range(MAX_PAGES):
        body = (
            '<?xml version="1.0" encoding="utf-8"?><d:sync-collection xmlns:d="DAV:">'
            f"<d:sync-token>{escape(token)}</d:sync-token><d:sync-level>1</d:sync-level>"
            "<d:prop><d:getetag/></d:prop></d:sync-collection>"
        )
        root = multistatus(await request(http, "REPORT", url, "0", body))
        token = (root.findtext(f"{DAV}sync-token") or "").strip()
        truncated = False
        for r in responses(root):
            member = key(url, r.href)
            if member == home or member.endswith("/"):  # some servers list the collection
                truncated = truncated or r.status == 507
            elif r.status in (404, 410):
                gone.add(member)
                listed.pop(member, None)
            elif f"{DAV}getetag" in r.props:
                listed[member] = (r.props[f"{DAV}getetag"].text or "").strip()
                gone.discard(member)
        if not truncated or not token:
            break
    return Changes(listed, gone, token or None, start == "")


async def list_etags(http: httpx.AsyncClient, url: str) -> dict[str, str]:
    """Every member of a collection: URL -> ETag (one PROPFIND, Depth 1)."""
    body = (
        '<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:"><d:prop>'
        "<d:resourcetype/><d:getetag/></d:prop></d:propfind>"
    )
    listed = {}
    for r in responses(multistatus(await request(http, "PROPFIND", url, "1", body))):
        etag = r.props.get(f"{DAV}getetag")
        member = key(url, r.href)
        if (
            etag is not None
            and not has_type(r.props, f"{DAV}collection")
            and member != key(url, url)
        ):
            listed[member] = (etag.text or "").strip()
    return listed


async def get(http: httpx.AsyncClient, url: str) -> tuple[str, str] | None:
    """(ETag, text) of one resource, or None if it is not there."""
    reply = await send(http, "GET", url)
    if reply.status_code in (404, 410):
        return None
    if reply.status_code != 200:
        raise refused(url, reply)
    return reply.headers.get("ETag", ""), reply.text


async def multiget(
    http: httpx.AsyncClient, collection: str, urls: list[str], report: str, data: str, batch: int
) -> dict[str, tuple[str, str]]:
    """URL -> (ETag, text) of the members asked for that still exist, `batch` at a time in a
    multiget REPORT (`report` and its `data` property in Clark notation, e.g.
    {urn:ietf:params:xml:ns:caldav}calendar-multiget), or one GET each where it is missing."""
    ns, name = report[1:].split("}")
    fetched: dict[str, tuple[str, str]] = {}
    for start in range(0, len(urls), batch):
        some = urls[start : start + batch]
        hrefs = "".join(f"<d:href>{escape(urlsplit(u).path)}</d:href>" for u in some)
        body = (
            f'<?xml version="1.0" encoding="utf-8"?><x:{name} xmlns:d="DAV:" xmlns:x="{ns}">'
            f"<d:prop><d:getetag/><x:{data.split('}')[1]}/></d:prop>{hrefs}</x:{name}>"
        )
        try:
            answer = responses(multistatus(await request(http, "REPORT", collection, "1", body)))
        except DAVError as e:
            if e.status in (None, 401):
                raise
            for url in some:  # no multiget here
                if (one := await get(http, url)) is not None:
                    fetched[url] = one
            continue
        for r in answer:
            text, etag = r.props.get(data), r.props.get(f"{DAV}getetag")
            if text is not None and text.text:
                tag = (etag.text or "").strip() if etag is not None else ""
                fetched[key(collection, r.href)] = (tag, text.text)
    return fetched
