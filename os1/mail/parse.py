"""Turning one raw message into what OS1 keeps: headers, readable text, attachments.

The standard library's email package does the MIME work (multipart, transfer
encodings, RFC 2047 words, RFC 2231 file names). It parses with the compat32
policy and decodes the few headers OS1 needs itself: the modern policy builds an
object for every header and runs at about 600 messages/s here against 5,000+,
and an archive import must reach thousands per second. What the library leaves
is handled here: a charset that is wrong or missing falls back to UTF-8 then
Latin-1, never an exception; HTML becomes text;
the new part of a reply is separated from the quoted part and the signature. A
message that cannot be read at all raises `MailParseError`; the importer keeps
its raw bytes and reports it, so nothing is lost.
"""

from __future__ import annotations

import email
import email.policy
import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from html.parser import HTMLParser

# Headers triage reads without a model; kept as a small JSON object per message.
TRIAGE_HEADERS = (
    "list-id",
    "list-unsubscribe",
    "precedence",
    "auto-submitted",
    "x-spam-flag",
    "x-spam-status",
    "reply-to",
    "return-path",
    "x-mailer",
    "importance",
    "x-priority",
)
_BLOCKS = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "hr"}
_SKIP = {"script", "style", "head", "title"}
_QUOTE_HEAD = re.compile(
    r"^(On .{1,200}wrote:|Am .{1,200}schrieb.*:|Le .{1,200}a écrit\s*:|"
    r"-{2,}\s*Original Message\s*-{2,}|From: .+)$",
    re.IGNORECASE,
)


class MailParseError(ValueError):
    """The bytes are not a mail message OS1 can read; the raw bytes are kept anyway."""


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class ParsedMail:
    """What one message says, ready to store and search."""

    message_id: str | None
    in_reply_to: str | None
    references: tuple[str, ...]
    subject: str
    from_name: str
    from_addr: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    date: str | None  # UTC, ISO 8601
    body: str  # the new text of this message
    quoted: str  # the earlier messages it quotes
    signature: str
    headers: dict[str, str] = field(default_factory=dict)
    attachments: tuple[Attachment, ...] = ()
    defects: tuple[str, ...] = ()


class _TextOfHTML(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skip += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """Readable text of an HTML mail part: scripts and styles dropped, blocks on new lines."""
    parser = _TextOfHTML()
    try:
        parser.feed(markup)
        parser.close()
    except Exception:  # a broken document still has words in it
        return re.sub(r"<[^>]*>", " ", html.unescape(markup))
    text = "".join(parser.parts)
    lines = [re.sub(r"[ \t\xa0]+", " ", line).strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def split_reply(text: str) -> tuple[str, str, str]:
    """(new text, quoted text, signature) of a message body."""
    lines = text.splitlines()
    body: list[str] = []
    quoted: list[str] = []
    signature: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.rstrip("\r") in ("-- ", "--") and not quoted:
            # RFC 3676's signature separator: what follows until a quote is the signature.
            j = i + 1
            while j < len(lines) and j - i <= 12 and not _quote_starts(lines, j):
                j += 1
            signature = lines[i + 1 : j]
            i = j
            continue
        if _quote_starts(lines, i):
            quoted.extend(lines[i:])
            break
        body.append(line)
        i += 1
    return "\n".join(body).strip(), "\n".join(quoted).strip(), "\n".join(signature).strip()


def _quote_starts(lines: list[str], i: int) -> bool:
    stripped = lines[i].strip()
    return stripped.startswith(">") or bool(
        _QUOTE_HEAD.match(stripped) and _quote_follows(lines, i)
    )


def _quote_follows(lines: list[str], i: int) -> bool:
    """A line like "On Monday, Amy wrote:" starts a quote only if quoted lines follow it."""
    if lines[i].strip().lower().startswith(("-----", "from:")):
        return True
    rest = [line for line in lines[i + 1 : i + 4] if line.strip()]
    return bool(rest) and rest[0].lstrip().startswith(">")


def _decode(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return str(part.get_payload() or "")
    charset = part.get_content_charset() or "utf-8"
    # A declared charset that is wrong is common; a missing one usually means UTF-8 or ASCII.
    for candidate in (charset, "utf-8"):
        try:
            return payload.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("latin-1")


def decode_words(value: str) -> str:
    """A header's text with RFC 2047 encoded words decoded; raw text if they are broken."""
    if "=?" not in value:
        return value
    try:
        return str(make_header(decode_header(value)))
    except (LookupError, UnicodeError, HeaderParseError, ValueError):
        return value


def _header(msg: Message, name: str) -> str:
    value = msg.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):  # undecodable bytes in a header come back as Header objects
        value = str(value)
    return re.sub(r"\s+", " ", decode_words(value)).strip()


def _ids(value: str) -> tuple[str, ...]:
    return tuple(re.findall(r"<[^<>\s]+>", value))


def _addresses(msg: Message, name: str) -> tuple[str, ...]:
    raw = _header(msg, name)
    if not raw:
        return ()
    return tuple(a.lower() for _, a in getaddresses([raw]) if "@" in a)


def _date(msg: Message) -> str | None:
    raw = _header(msg, "date")
    if not raw:
        return None
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).isoformat()


DATA_TEXT = ("text/calendar", "text/x-vcalendar", "text/vcard", "text/x-vcard")


def _text_and_attachments(msg: Message) -> tuple[str, list[Attachment]]:
    plain: list[str] = []
    markup: list[str] = []
    attachments: list[Attachment] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        disposition = (part.get_content_disposition() or "").lower()
        filename = decode_words(part.get_filename() or "")
        # Calendar and card parts are data, not prose: an inline invitation is an attachment
        # (found by the calendar), never body text a model reads or search indexes.
        if (
            disposition == "attachment"
            or filename
            or not ctype.startswith("text/")
            or ctype in DATA_TEXT
        ):
            data = part.get_payload(decode=True)
            if isinstance(data, bytes) and data:
                attachments.append(Attachment(filename, ctype, data))
            continue
        if ctype == "text/html":
            markup.append(_decode(part))
        else:
            plain.append(_decode(part))
    if plain:
        return "\n\n".join(p.strip() for p in plain), attachments
    return "\n\n".join(html_to_text(m) for m in markup), attachments


def parse(raw: bytes) -> ParsedMail:
    """Parse one message; raises MailParseError if there is no message in these bytes."""
    if not raw.strip():
        raise MailParseError("empty message")
    head = raw[:4096]
    if b":" not in head.split(b"\n\n", 1)[0] or b"\x00" in head:
        raise MailParseError("no mail headers found")
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    if not msg.keys():
        raise MailParseError("no mail headers found")
    name, addr = parseaddr(_header(msg, "from"))
    text, attachments = _text_and_attachments(msg)
    body, quoted, signature = split_reply(text.replace("\r\n", "\n"))
    headers = {h: _header(msg, h) for h in TRIAGE_HEADERS if msg.get(h) is not None}
    defects = tuple(type(d).__name__ for d in msg.defects)
    in_reply_to = _ids(_header(msg, "in-reply-to"))
    return ParsedMail(
        message_id=(_ids(_header(msg, "message-id")) or (None,))[0],
        in_reply_to=in_reply_to[0] if in_reply_to else None,
        references=_ids(_header(msg, "references")),
        subject=_header(msg, "subject"),
        from_name=name.strip().strip('"'),
        from_addr=addr.lower(),
        to=_addresses(msg, "to"),
        cc=_addresses(msg, "cc"),
        date=_date(msg),
        body=body,
        quoted=quoted,
        signature=signature,
        headers=headers,
        attachments=tuple(attachments),
        defects=defects,
    )


def now_iso() -> str:
    return datetime.now(UTC).isoformat()
