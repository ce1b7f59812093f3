"""Reading and writing vCards (3.0 and 4.0): one broken card never stops the others.

A file is cut into its BEGIN:VCARD … END:VCARD blocks first, and each block is
parsed on its own with vobject. A block that cannot be read, a block that never
ends (a truncated file), or text that belongs to no card becomes a `Problem`
that carries its raw text, so the caller can keep it and tell the user; the
other cards are read as usual. Bytes are decoded line by line: UTF-8 where it
is UTF-8, Windows-1252 where an old export wasn't, with a note saying so.
"""

from __future__ import annotations

import codecs
import io
import quopri
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import vobject
import vobject.base

NOT_A_VCARD_KEEP = 64 * 1024  # of a file that isn't a vCard at all, this much is kept
_BEGIN = re.compile(r"^\s*BEGIN\s*:\s*VCARD\s*$", re.IGNORECASE)
_END = re.compile(r"^\s*END\s*:\s*VCARD\s*$", re.IGNORECASE)
_AGENT = re.compile(r"^\s*(?:[\w-]+\.)?AGENT\b[^:]*:\s*$", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_EMAIL = re.compile(r"^[^@\s<>,;:]+@[^@\s<>,;:]+$")


class VCardError(Exception):
    """A card cannot be read; the message says why."""


@dataclass(frozen=True)
class Card:
    """What OS1 keeps of one vCard: who it is and how to reach them, plus the card itself."""

    name: str
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    org: str = ""
    note: str = ""
    uid: str | None = None
    version: str = ""
    raw: str = ""


@dataclass(frozen=True)
class Problem:
    """A piece of the input that could not be read, kept whole so nothing is lost."""

    where: str
    error: str
    raw: str


@dataclass
class Parsed:
    cards: list[Card] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def decode(data: bytes) -> tuple[str, list[str]]:
    """Text from bytes, however an address book exported them, and notes on what was guessed."""
    for bom, codec in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16")):
        if data.startswith(bom):
            return data.decode(codec, errors="replace"), []
    if data.startswith(codecs.BOM_UTF16_BE):
        return data.decode("utf-16", errors="replace"), []
    if data[:2] == b"B\x00" or data[:2] == b"\x00B":  # UTF-16 without a byte-order mark
        return data.decode("utf-16-le" if data[0] else "utf-16-be", errors="replace"), []
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError:
        pass
    lines, guessed = [], 0
    for line in data.splitlines(keepends=True):
        try:
            lines.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            guessed += 1
            try:
                lines.append(line.decode("cp1252"))
            except UnicodeDecodeError:
                lines.append(line.decode("latin-1"))
    return "".join(lines), [
        f"{guessed} line{'s were' if guessed != 1 else ' was'} not UTF-8 and read as Windows-1252"
    ]


def parse(data: bytes | str) -> Parsed:
    """Every card in `data`; what cannot be read is returned as problems, with its raw text."""
    result = Parsed()
    if isinstance(data, bytes):
        text, result.notes = decode(data)
    else:
        text = data
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if not any(_BEGIN.match(line) for line in lines):
        if text.strip():
            kept = text if len(text) <= NOT_A_VCARD_KEEP else text[:NOT_A_VCARD_KEEP]
            cut = "" if kept is text else f" (the first {NOT_A_VCARD_KEEP // 1024} KB are kept)"
            result.problems.append(
                Problem("the whole input", f"this is not a vCard: no BEGIN:VCARD{cut}", kept)
            )
        return result
    for where, block, complete in _blocks(lines):
        raw = "\n".join(block) + "\n"
        if block and not _BEGIN.match(block[0]):
            result.problems.append(Problem(where, "text outside any vCard", raw))
        elif not complete:
            result.problems.append(Problem(where, "the card never ends (no END:VCARD)", raw))
        else:
            try:
                result.cards.append(parse_card(raw))
            except VCardError as e:
                result.problems.append(Problem(where, str(e), raw))
    return result


def _blocks(lines: Sequence[str]) -> Iterable[tuple[str, list[str], bool]]:
    """(where, lines, complete) for each card and each run of stray text, in order.

    A BEGIN:VCARD inside a card starts the next card (the first never ended), except
    right after AGENT:, where vCard 2.1 nests a card in a card.
    """
    block: list[str] = []
    start, number, depth = 0, 0, 0
    for i, line in enumerate(lines):
        if _BEGIN.match(line) and depth and block and _AGENT.match(block[-1]):
            depth += 1
            block.append(line)
        elif _BEGIN.match(line):
            if block and (depth or any(x.strip() for x in block)):
                yield _where(number, start, bool(depth)), block, False
            number += 1
            block, start, depth = [line], i, 1
        elif depth:
            block.append(line)
            if _END.match(line):
                depth -= 1
                if not depth:
                    yield _where(number, start, True), block, True
                    block = []
        elif line.strip():
            if not block:
                start = i
            block.append(line)
    if block and (depth or any(x.strip() for x in block)):
        yield _where(number, start, bool(depth)), block, False


def _where(number: int, start: int, inside: bool) -> str:
    return f"card {number} (line {start + 1})" if inside else f"line {start + 1}"


Props = dict[str, list[tuple[dict[str, list[str]], str]]]


def parse_card(text: str) -> Card:
    """One card from the text of one BEGIN:VCARD … END:VCARD block. Raises VCardError."""
    props = _properties(text)
    emails = _unique(_email(v) for v in _ordered(props, "EMAIL"))
    phones = _unique((_phone(v) for v in _ordered(props, "TEL")), digits=True)
    org = ", ".join(x for x in (_unescape(p) for p in _split(_first(props, "ORG"), ";")) if x)
    name = _unescape(_first(props, "FN")) or _from_n(_first(props, "N"))
    name = name or _unescape(_split(_first(props, "NICKNAME"), ",")[0]) or org
    name = name or (emails[0] if emails else "") or (phones[0] if phones else "")
    if not name:
        raise VCardError("the card has no name, email address or phone number")
    return Card(
        name=" ".join(name.split()),
        emails=emails,
        phones=phones,
        org=org,
        note=_unescape(_first(props, "NOTE")),
        uid=_unescape(_first(props, "UID")) or None,
        version=_unescape(_first(props, "VERSION")),
        raw=text,
    )


def _properties(text: str) -> Props:
    """The card's own properties (not those of a card nested in it), values still escaped.

    vobject reads the lines (unfolding, parameters, quoted-printable soft breaks), but its
    text decoding is not used: it keeps only what comes before an unescaped comma, and
    "NOTE:Met at college, likes jazz" would lose its end.
    """
    # Like radicale: control characters and blank lines break the parser and mean nothing.
    cleaned = _CONTROL.sub("", text)
    cleaned = "\n".join(line for line in cleaned.split("\n") if line.strip()) + "\n"
    props: Props = {}
    depth = 0
    try:
        for logical, number in vobject.base.getLogicalLines(io.StringIO(cleaned), allowQP=True):
            name, raw_params, value, _group = vobject.base.parseLine(logical, number)
            name = name.upper()
            if name in ("BEGIN", "END"):
                depth += 1 if name == "BEGIN" else -1
                continue
            if depth == 1:
                params = _params(raw_params)
                props.setdefault(name, []).append((params, _decoded(params, value)))
    except Exception as e:  # vobject raises many kinds; each means "this card is broken"
        raise VCardError(_reason(e)) from None
    return props


def _params(raw: list[list[str]]) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    for item in raw:
        # vCard 2.1 writes bare types: TEL;CELL;PREF:…
        key, values = (item[0].upper(), item[1:]) if len(item) > 1 else ("TYPE", item)
        for value in values:
            params.setdefault(key, []).extend(v.strip() for v in value.split(","))
    return params


def _decoded(params: dict[str, list[str]], value: str) -> str:
    if "QUOTED-PRINTABLE" not in [e.upper() for e in params.get("ENCODING", [])]:
        return value
    data = quopri.decodestring(value.encode("utf-8"))
    try:
        return data.decode((params.get("CHARSET") or ["utf-8"])[0], errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")


def _reason(error: Exception) -> str:
    message = " ".join(str(error).split()) or type(error).__name__
    return f"cannot be read: {message[:200]}"


def _first(props: Props, key: str) -> str:
    return props[key][0][1] if props.get(key) else ""


def _ordered(props: Props, key: str) -> list[str]:
    """Values of `key`, preferred first (TYPE=PREF in 3.0, PREF=1 in 4.0)."""

    def preferred(item: tuple[dict[str, list[str]], str]) -> bool:
        params = item[0]
        return "pref" in [t.lower() for t in params.get("TYPE", [])] or "1" in params.get(
            "PREF", []
        )

    return [
        _unescape(value) for _, value in sorted(props.get(key, []), key=lambda i: not preferred(i))
    ]


def _split(value: str, sep: str) -> list[str]:
    """`value` cut at each `sep` that is not escaped with a backslash."""
    parts, current, escaped = [], [], False
    for ch in value:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\":
            current.append(ch)
            escaped = True
        elif ch == sep:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    return [*parts, "".join(current)]


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value).strip()


def _from_n(value: str) -> str:
    parts = [" ".join(_unescape(x) for x in _split(p, ",")) for p in _split(value, ";")]
    parts += [""] * (5 - len(parts))
    family, given, additional, prefix, suffix = parts[:5]
    return " ".join(x for x in (prefix, given, additional, family, suffix) if x.strip())


def _email(value: str) -> str:
    text = value.strip().strip("<>")
    if text.lower().startswith("mailto:"):
        text = text[7:]
    return text.lower() if _EMAIL.match(text) else ""


def _phone(value: str) -> str:
    text = value.strip()
    return text[4:].strip() if text.lower().startswith("tel:") else text


def _unique(values: Iterable[str], digits: bool = False) -> tuple[str, ...]:
    """Values without repeats; phone numbers compare by their digits ("+1 555" = "+1-555")."""
    seen: dict[str, str] = {}
    for value in values:
        key = re.sub(r"[^\d+]", "", value) if digits else value
        if value and key not in seen:
            seen[key] = value
    return tuple(seen.values())


def to_vcard(
    name: str,
    emails: Sequence[str] = (),
    phones: Sequence[str] = (),
    *,
    org: str = "",
    note: str = "",
    uid: str | None = None,
) -> str:
    """One vCard 3.0 (what most address books read best) for a person."""
    card = vobject.vCard()
    card.add("version").value = "3.0"
    card.add("uid").value = uid or str(uuid.uuid4())
    card.add("fn").value = name
    words = name.split() if "@" not in name else []
    family, given = (words[-1], " ".join(words[:-1])) if words else ("", "")
    card.add("n").value = vobject.vcard.Name(family=family, given=given)
    for address in emails:
        line = card.add("email")
        line.value = address
        line.type_param = "INTERNET"
    for number in phones:
        card.add("tel").value = number
    if org:
        card.add("org").value = [org]
    if note:
        card.add("note").value = note
    return str(card.serialize())
