"""Letters as PDF with typst: one letter on its own, or a book of letters with a contents page.

The typst source is fixed; the letters reach it only as JSON through `sys.inputs`
and are placed in the document as strings. A string in typst is text, never
markup or code, so a letter full of `#`, `*`, `$`, `=` or `<` prints exactly as
written and can never run anything. The PDF's creation date is the letters'
last change, so the same letters always give the same bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import typst

from .studio import Letter

MAX_BOOK = 1000
"""Letters in one book: enough for a lifetime's best, small enough to render in seconds."""


class RenderError(Exception):
    """typst could not make the PDF; the message says why."""


_COMMON = """
#let data = json(bytes(sys.inputs.at("os1-data")))
#let paragraphs(ps) = for p in ps { p.join(linebreak()); parbreak() }
#set document(title: data.title, author: data.author)
#set page(paper: "a5", margin: (x: 2cm, y: 2.2cm))
#set text(size: 11pt)
#set par(spacing: 1.1em)
"""

LETTER_SOURCE = (
    _COMMON
    + """
#set page(paper: "a4", margin: 2.5cm)
#align(right, text(style: "italic", data.date))
#v(1.5em)
#if data.show_title { block(below: 1.5em, text(weight: "bold", data.title)) }
#paragraphs(data.paragraphs)
"""
)

BOOK_SOURCE = (
    _COMMON
    + """
#set heading(numbering: none)
#show heading.where(level: 1): it => block(below: 0.4em, text(size: 16pt, it.body))
#page(numbering: none, align(center + horizon, {
  text(size: 24pt, data.title)
  if data.author != "" { v(1.2em); text(size: 13pt, style: "italic", data.author) }
}))
#page(numbering: none, outline(title: "Contents", depth: 1))
#set page(numbering: "1")
#counter(page).update(1)
#for l in data.letters {
  pagebreak(weak: true)
  heading(level: 1, l.heading)
  block(below: 1.5em, text(style: "italic", size: 10pt, l.date))
  paragraphs(l.paragraphs)
}
"""
)


def _text(value: str) -> str:
    """What typst is given: no control characters (fonts have no glyphs for them)."""
    return "".join(ch for ch in value if ch in "\n\t" or (ch >= " " and ch != "\x7f"))


def paragraphs(body: str) -> list[list[str]]:
    """The letter's paragraphs (split at blank lines), each as its lines."""
    return [
        [line.strip() for line in block.strip("\n").split("\n")]
        for block in re.split(r"\n[ \t]*\n", _text(body).strip())
        if block.strip()
    ]


def _date(iso: str) -> str:
    when = datetime.fromisoformat(iso)
    return f"{when.day} {when.strftime('%B %Y')}"


def _stamp(letters: Sequence[Letter]) -> int:
    return int(max(datetime.fromisoformat(x.updated_at) for x in letters).timestamp())


def _compile(source: str, data: dict[str, Any], stamp: int) -> bytes:
    try:
        pdf = typst.compile(
            source.encode(),
            format="pdf",
            sys_inputs={"os1-data": json.dumps(data, ensure_ascii=False)},
            timestamp=stamp,
        )
    except typst.TypstError as e:
        raise RenderError(f"typst could not make the PDF: {e.message}") from e
    except RuntimeError as e:  # older typst-py raises a bare RuntimeError
        raise RenderError(f"typst could not make the PDF: {e}") from e
    if not isinstance(pdf, bytes):
        raise RenderError("typst returned no PDF")
    return pdf


def letter_pdf(letter: Letter, *, author: str = "") -> bytes:
    """One letter as a PDF: its date, its title if it has one, and its text."""
    data = {
        "title": _text(letter.heading),
        "show_title": bool(letter.title),
        "author": _text(author or letter.written_for or ""),
        "date": _date(letter.created_at),
        "paragraphs": paragraphs(letter.body),
    }
    return _compile(LETTER_SOURCE, data, _stamp([letter]))


def book_pdf(letters: Sequence[Letter], *, title: str = "Letters", author: str = "") -> bytes:
    """A book: title page, contents, then one chapter per letter (its title and date)."""
    if not letters:
        raise RenderError("a book needs at least one letter")
    if len(letters) > MAX_BOOK:
        raise RenderError(f"a book holds at most {MAX_BOOK} letters; this has {len(letters)}")
    name = " ".join(title.split()) or "Letters"
    data = {
        "title": _text(name),
        "author": _text(author),
        "letters": [
            {
                "heading": _text(x.heading),
                "date": _date(x.created_at),
                "paragraphs": paragraphs(x.body),
            }
            for x in letters
        ],
    }
    return _compile(BOOK_SOURCE, data, _stamp(letters))


def filename(title: str, default: str = "letters") -> str:
    """A safe attachment or file name for a PDF called `title`."""
    slug = re.sub(r"[^\w]+", "-", title.casefold(), flags=re.UNICODE).strip("-_")[:60]
    return f"{slug or default}.pdf"
