"""Parsing single messages: MIME, charsets, HTML, replies and signatures, broken input."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from os1.mail.parse import MailParseError, html_to_text, parse, split_reply


def _mail(**headers: str) -> EmailMessage:
    m = EmailMessage()
    m["From"] = headers.pop("From", "Amy Lee <Amy@Example.com>")
    m["To"] = headers.pop("To", "theo@example.com, Paul <paul@example.com>")
    for k, v in headers.items():
        m[k.replace("_", "-")] = v
    return m


def test_headers_and_plain_body() -> None:
    m = _mail(Subject="Dinner?", Date="Mon, 3 Mar 2025 10:00:00 +0100", Message_ID="<a@x>")
    m["In-Reply-To"] = "<z@x>"
    m["References"] = "<y@x> <z@x>"
    m.set_content("Are you coming?\n")
    p = parse(bytes(m))
    assert (p.from_name, p.from_addr) == ("Amy Lee", "amy@example.com")
    assert p.to == ("theo@example.com", "paul@example.com")
    assert p.subject == "Dinner?"
    assert p.date == "2025-03-03T09:00:00+00:00"
    assert (p.message_id, p.in_reply_to, p.references) == ("<a@x>", "<z@x>", ("<y@x>", "<z@x>"))
    assert p.body == "Are you coming?"


def test_encoded_words_and_charsets() -> None:
    raw = (
        b"From: =?utf-8?q?Am=C3=A9lie?= <amelie@example.com>\r\n"
        b"Subject: =?iso-8859-1?q?caf=E9?=\r\n"
        b"Content-Type: text/plain; charset=iso-8859-1\r\n\r\n"
    ) + "Ça va très bien.".encode("latin-1")
    p = parse(raw)
    assert p.from_name == "Amélie"
    assert p.subject == "café"
    assert p.body == "Ça va très bien."


@pytest.mark.parametrize("charset", ["utf-8", "x-unknown-charset", ""])
def test_wrong_or_missing_charset_still_reads(charset: str) -> None:
    declared = f"; charset={charset}" if charset else ""
    raw = (
        f"From: a@example.com\r\nSubject: x\r\nContent-Type: text/plain{declared}\r\n\r\n"
    ).encode() + "naïve café".encode("latin-1")
    p = parse(raw)  # latin-1 bytes declared as utf-8 (or unknown): decoded, not an error
    assert "caf" in p.body


def test_html_only_mail_becomes_text() -> None:
    m = _mail(Subject="News")
    m.set_content(
        "<html><head><style>p{color:red}</style></head><body><p>Hello&nbsp;Theo</p>"
        "<script>alert(1)</script><p>Second <b>para</b></p></body></html>",
        subtype="html",
    )
    p = parse(bytes(m))
    assert p.body == "Hello Theo\n\nSecond para"
    assert "alert" not in p.body and "color" not in p.body


def test_attachments_are_kept_with_their_names() -> None:
    m = _mail(Subject="Photos")
    m.set_content("See attached.")
    m.add_attachment(b"\x89PNG...", maintype="image", subtype="png", filename="café.png")
    p = parse(bytes(m))
    [a] = p.attachments
    assert (a.filename, a.content_type, a.data) == ("café.png", "image/png", b"\x89PNG...")
    assert p.body == "See attached."


def test_reply_quote_and_signature_are_separated() -> None:
    body, quoted, signature = split_reply(
        "Sure, see you then!\n\n-- \nAmy Lee\n555-1234\n\n"
        "On Mon, 3 Mar 2025, Theo wrote:\n> Dinner on Friday?\n> T."
    )
    assert body == "Sure, see you then!"
    assert signature == "Amy Lee\n555-1234"
    assert quoted.startswith("On Mon, 3 Mar 2025, Theo wrote:") and "> Dinner" in quoted


def test_wrote_line_without_quote_is_body() -> None:
    body, quoted, _ = split_reply("On Monday I wrote: a poem.\nIt was good.")
    assert quoted == "" and "a poem" in body


def test_html_to_text_survives_broken_markup() -> None:
    assert "words" in html_to_text("<p>words<div><<<>>")


@pytest.mark.parametrize("raw", [b"", b"   \n", b"\x00\x01\x02binary junk\xff\xfe", b"no headers"])
def test_not_a_message(raw: bytes) -> None:
    with pytest.raises(MailParseError):
        parse(raw)


def test_malformed_mime_is_parsed_as_far_as_it_goes() -> None:
    raw = (
        b"From: a@example.com\r\nSubject: broken\r\n"
        b'Content-Type: multipart/mixed; boundary="never-closed"\r\n\r\n'
        b"--never-closed\r\nContent-Type: text/plain\r\n\r\nthe text\r\n"
    )
    p = parse(raw)
    assert p.subject == "broken" and "the text" in p.body


def test_bad_date_and_addresses_do_not_fail() -> None:
    raw = b"From: <<<>>>\r\nTo: ,,,\r\nDate: yesterday-ish\r\nSubject: odd\r\n\r\nhi"
    p = parse(raw)
    assert p.date is None and p.to == () and p.body == "hi"
