"""Letters and books as real PDFs, read back page by page (no PDF library is installed,
so `pdf_pages` reads the text the way a viewer does: through each font's ToUnicode map)."""

from __future__ import annotations

import re
import zlib

import pytest

from os1.letters.render import RenderError, book_pdf, filename, letter_pdf, paragraphs
from os1.letters.studio import Letter

HOSTILE = (
    'Dear Chris,\n\n= not a heading\n- not a list\n+ nor this\n/ term: no\n#panic("boom") '
    '#read("/etc/passwd") @ref <label> `code` \\ [a] _it_ *bold* $x^2$ // not a comment'
    "\n\nLove, Theo"
)


def _objects(pdf: bytes) -> dict[int, bytes]:
    return {
        int(m.group(1)): m.group(2) for m in re.finditer(rb"(\d+) 0 obj\n(.*?)\nendobj", pdf, re.S)
    }


def _stream(obj: bytes) -> bytes:
    head, _, rest = obj.partition(b"stream\n")
    data = rest.rsplit(b"endstream", 1)[0]
    return zlib.decompress(data) if b"/FlateDecode" in head else data


def _ref(obj: bytes, key: bytes) -> int:
    found = re.search(rb"/" + key + rb" (\d+) 0 R", obj)
    assert found, f"no /{key.decode()} in {obj[:200]!r}"
    return int(found.group(1))


def _cmap(text: bytes) -> dict[int, str]:
    mapping: dict[int, str] = {}

    def uni(hexa: bytes) -> str:
        return bytes.fromhex(hexa.decode()).decode("utf-16-be")

    for block in re.findall(rb"beginbfchar(.*?)endbfchar", text, re.S):
        for src, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            mapping[int(src, 16)] = uni(dst)
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", text, re.S):
        for lo, hi, dst in re.findall(rb"<(\w+)>\s*<(\w+)>\s*<(\w+)>", block):
            start = ord(uni(dst))
            for i, code in enumerate(range(int(lo, 16), int(hi, 16) + 1)):
                mapping[code] = chr(start + i)
    return mapping


def _strings(block: bytes) -> bytes:
    """The bytes of every literal string in a content block, in order (they may nest)."""
    out, depth, i = bytearray(), 0, 0
    escapes = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("f"): 12}
    while i < len(block):
        c = block[i]
        if depth and c == 0x5C:  # a backslash escape: octal or one character
            octal = re.match(rb"[0-7]{1,3}", block[i + 1 : i + 4])
            if octal:
                out.append(int(octal.group(0), 8))
                i += 1 + len(octal.group(0))
                continue
            out.append(escapes.get(block[i + 1], block[i + 1]))
            i += 2
            continue
        if c == 0x28:
            if depth:
                out.append(c)
            depth += 1
        elif c == 0x29 and depth:
            depth -= 1
            if depth:
                out.append(c)
        elif depth:
            out.append(c)
        i += 1
    return bytes(out)


def pdf_pages(pdf: bytes) -> list[str]:
    """The text of each page, one line per text object."""
    assert pdf.startswith(b"%PDF-")
    objs = _objects(pdf)
    root = next(o for o in objs.values() if b"/Type/Pages" in o)
    kids = [int(k) for k in re.findall(rb"(\d+) 0 R", root.split(b"/Kids", 1)[1])]
    pages = []
    for kid in kids:
        page = objs[kid]
        resources = objs[_ref(page, b"Resources")]
        fonts = {
            name.decode(): _cmap(_stream(objs[_ref(objs[int(ref)], b"ToUnicode")]))
            for name, ref in re.findall(rb"/(f\d+) (\d+) 0 R", resources)
        }
        content = _stream(objs[_ref(page, b"Contents")])
        lines = []
        for block in re.findall(rb"BT(.*?)ET", content, re.S):
            cmap = fonts[re.search(rb"/(f\d+) [\d.]+ Tf", block).group(1).decode()]  # type: ignore[union-attr]
            codes = _strings(block)
            lines.append(
                "".join(cmap.get(int.from_bytes(codes[i : i + 2], "big"), "?")
                        for i in range(0, len(codes), 2))
            )  # fmt: skip
        pages.append("\n".join(lines))
    return pages


def letter(i: int, title: str, body: str = "Dear you,\n\nHello.", **kw: str) -> Letter:
    when = f"2025-02-{10 + i:02d}T10:00:00+00:00"
    return Letter(i, kw.get("recipient", "Chris"), kw.get("written_for"), title, body,
                  "draft", when, when)  # fmt: skip


def test_a_letter_prints_typst_markup_literally_and_runs_none_of_it() -> None:
    text = "\n".join(pdf_pages(letter_pdf(letter(1, "For #Chris $1", HOSTILE))))
    pieces = ["For #Chris $1", "= not a heading", "- not a list", "+ nor this", '#panic("boom")',
              '#read("/etc/passwd")', "@ref <label> `code` \\ [a]", "_it_ *bold* $x^2$ // not a",
              "Love, Theo", "11 February 2025"]  # fmt: skip
    for piece in pieces:
        assert piece in text, piece
    assert "root:" not in text  # nothing was read from the disk


def test_a_book_has_a_title_page_contents_and_a_page_per_letter() -> None:
    letters = [
        letter(1, "The lake"),
        letter(2, "", recipient="Roger", written_for="Loretta"),
        letter(3, "Fifty *years* #1", body=HOSTILE),
    ]
    pages = pdf_pages(book_pdf(letters, title="Letters from the #studio", author="Theodore"))
    assert len(pages) == 2 + len(letters)
    assert "Letters from the #studio" in pages[0] and "Theodore" in pages[0]
    contents = pages[1]
    assert "Contents" in contents
    for i, heading in enumerate(["The lake", "To Roger", "Fifty *years* #1"], start=1):
        assert heading in contents
        assert heading in pages[1 + i]  # each chapter opens with its heading …
        assert f"1{i} February 2025" in pages[1 + i]  # … and its date
    assert contents.index("The lake") < contents.index("To Roger") < contents.index("Fifty")
    assert '#panic("boom")' in pages[4]


def test_a_long_letter_runs_over_several_pages_and_the_contents_says_where() -> None:
    long = "Dear Chris,\n\n" + "\n\n".join(f"Paragraph {i} " + "words " * 60 for i in range(40))
    pages = pdf_pages(book_pdf([letter(1, "Long"), letter(2, "Short")]))
    assert len(pages) == 4
    pages = pdf_pages(book_pdf([letter(1, "Long", long), letter(2, "Short")]))
    assert len(pages) > 5
    short_page = next(i for i, p in enumerate(pages) if p.startswith("Short"))
    # Numbering starts at the first letter: the contents gives Short's printed page number.
    assert re.search(rf"Short[\s.]*{short_page - 1}\b", pages[1])


def test_the_same_letters_give_the_same_bytes() -> None:
    letters = [letter(1, "One"), letter(2, "Two")]
    assert book_pdf(letters, title="T") == book_pdf(letters, title="T")
    assert letter_pdf(letters[0]) == letter_pdf(letters[0])
    changed = [letter(1, "One", "Dear you,\n\nHello again."), letter(2, "Two")]
    assert book_pdf(changed, title="T") != book_pdf(letters, title="T")


def test_paragraphs_keep_line_breaks_and_drop_control_characters() -> None:
    assert paragraphs("Dear A,\n\n\nline one\nline two\x07\n  \nBye") == [
        ["Dear A,"],
        ["line one", "line two"],
        ["Bye"],
    ]


def test_an_empty_book_is_refused() -> None:
    with pytest.raises(RenderError, match="at least one letter"):
        book_pdf([])


def test_file_names_are_safe() -> None:
    assert filename("Letters from the #studio!") == "letters-from-the-studio.pdf"
    assert filename("../../etc/passwd") == "etc-passwd.pdf"
    assert filename("***") == "letters.pdf"
