"""Reading vCards 3.0 and 4.0 leniently (a broken card never stops the others), and writing them."""

from __future__ import annotations

import codecs
from pathlib import Path

from os1.contacts.vcard import decode, parse, parse_card, to_vcard

DATA = Path(__file__).parent / "data"

V3 = (
    "BEGIN:VCARD\r\n"
    "VERSION:3.0\r\n"
    "FN:Amy Smith\r\n"
    "N:Smith;Amy;;;\r\n"
    "EMAIL;TYPE=INTERNET,HOME:Amy@Example.com\r\n"
    "EMAIL;TYPE=INTERNET,WORK,PREF:amy@work.example\r\n"
    "TEL;TYPE=CELL:+1 555 0100\r\n"
    "TEL;TYPE=HOME:+1-555-0100\r\n"
    "TEL;TYPE=WORK:+1 555 0199\r\n"
    "ORG:Acme\\, Inc.;Letters\r\n"
    "NOTE:Met at college\\, likes jazz\\nand long walks that go on and on and on and\r\n"
    "  on\r\n"
    "UID:amy-1\r\n"
    "END:VCARD\r\n"
)
V4 = (
    "BEGIN:VCARD\n"
    "VERSION:4.0\n"
    "KIND:individual\n"
    "N:Diaz;Carla;;;\n"
    "EMAIL;TYPE=home:carla@home.example\n"
    "EMAIL;TYPE=work;PREF=1:mailto:carla@work.example\n"
    'TEL;VALUE=uri;TYPE="voice,cell":tel:+34-600-000-000\n'
    "UID:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1\n"
    "END:VCARD\n"
)


def test_vcard_3_fields_folded_lines_and_several_addresses() -> None:
    card = parse_card(V3)
    assert card.name == "Amy Smith"
    assert card.emails == ("amy@work.example", "amy@example.com")  # PREF first, lowercased
    assert card.phones == ("+1 555 0100", "+1 555 0199")  # the same number twice is one
    assert card.org == "Acme, Inc., Letters"
    assert card.note == "Met at college, likes jazz\nand long walks that go on and on and on and on"
    assert (card.uid, card.version) == ("amy-1", "3.0")
    assert card.raw == V3


def test_vcard_4_name_from_n_uri_values_and_pref() -> None:
    card = parse_card(V4)
    assert card.name == "Carla Diaz"  # no FN: built from N
    assert card.emails == ("carla@work.example", "carla@home.example")
    assert card.phones == ("+34-600-000-000",)
    assert card.uid == "urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1"
    assert card.version == "4.0"


def test_fn_wins_over_n_and_fallbacks_when_there_is_no_name() -> None:
    both = "BEGIN:VCARD\nVERSION:3.0\nN:Smith;Amelia;;;\nFN:Amy\nEND:VCARD\n"
    assert parse_card(both).name == "Amy"
    only_org = "BEGIN:VCARD\nVERSION:3.0\nFN:\nORG:The Bakery\nEND:VCARD\n"
    assert parse_card(only_org).name == "The Bakery"
    only_mail = "BEGIN:VCARD\nVERSION:3.0\nEMAIL:x@y.example\nEND:VCARD\n"
    assert parse_card(only_mail).name == "x@y.example"


def test_one_broken_card_and_a_truncated_end_do_not_stop_the_others() -> None:
    data = (DATA / "broken.vcf").read_bytes()
    result = parse(data)
    assert [c.name for c in result.cards] == ["Amy Smith", "Carla Diaz"]
    assert [p.where for p in result.problems] == ["card 2 (line 8)", "card 4 (line 20)"]
    broken, truncated = result.problems
    assert "EMAIL;TYPE=INTERNET" in broken.error and "Broken Bob" in broken.raw
    assert "+1 555 0102" in broken.raw  # kept whole, nothing lost
    assert "never ends" in truncated.error and truncated.raw.endswith("EMAIL:dan@exam\n")
    # Every line of the input is in a card or in a problem.
    kept = "".join(c.raw for c in result.cards) + "".join(p.raw for p in result.problems)
    for line in data.decode().splitlines():
        assert line in kept


def test_a_file_that_is_not_a_vcard_is_one_problem_with_its_text() -> None:
    result = parse(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR binary stuff")
    assert result.cards == []
    assert len(result.problems) == 1
    assert "not a vCard" in result.problems[0].error
    assert "IHDR" in result.problems[0].raw
    assert parse(b"").problems == [] and parse(b"").cards == []


def test_text_outside_cards_and_cards_with_nothing_in_them_are_reported() -> None:
    text = (
        "Exported by PhoneThing\n"
        "BEGIN:VCARD\nVERSION:3.0\nFN:\nEND:VCARD\n"
        "BEGIN:VCARD\nVERSION:3.0\nFN:Eve\nEND:VCARD\n"
    )
    result = parse(text)
    assert [c.name for c in result.cards] == ["Eve"]
    errors = [p.error for p in result.problems]
    assert errors == [
        "text outside any vCard",
        "the card has no name, email address or phone number",
    ]
    assert result.problems[0].raw == "Exported by PhoneThing\n"


def test_a_card_that_is_not_a_vcard_inside_begin_vcard_is_a_problem() -> None:
    text = "BEGIN:VCARD\nVERSION:3.0\nFN:Ok\nBEGIN:VCARD\nVERSION:3.0\nFN:Next\nEND:VCARD\n"
    result = parse(text)
    assert [c.name for c in result.cards] == ["Next"]
    assert "never ends" in result.problems[0].error and "FN:Ok" in result.problems[0].raw


def test_charsets_windows_1252_lines_utf8_and_utf16_with_bom() -> None:
    latin = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Jörg Müller\r\nEND:VCARD\r\n"
    mixed = latin.encode("cp1252") + V3.encode("utf-8").replace(b"Amy", "Zoë".encode())
    result = parse(mixed)
    assert [c.name for c in result.cards] == ["Jörg Müller", "Zoë Smith"]
    assert result.notes == ["1 line was not UTF-8 and read as Windows-1252"]
    for encoded in (
        codecs.BOM_UTF8 + latin.encode("utf-8"),
        latin.encode("utf-16"),  # with a byte-order mark
        latin.encode("utf-16-le"),  # without one
    ):
        assert [c.name for c in parse(encoded).cards] == ["Jörg Müller"], encoded[:8]
    assert decode("ü".encode())[1] == []


def test_vcard_2_1_quoted_printable_and_control_characters() -> None:
    text = (
        "BEGIN:VCARD\nVERSION:2.1\nN:M=C3=BCller;J=C3=B6rg\n"
        "FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:J=C3=B6rg M=C3=BCller\n"
        "NOTE:bell\x07here\n\nEND:VCARD\n"
    )
    card = parse_card(text)
    assert card.name == "Jörg Müller" and card.note == "bellhere"


def test_line_endings_of_every_kind() -> None:
    for ending in ("\r\n", "\n", "\r"):
        text = V3.replace("\r\n", ending)
        assert [c.name for c in parse(text).cards] == ["Amy Smith"], repr(ending)


def test_export_reads_back_the_same_person() -> None:
    text = to_vcard(
        "Zoë d'Arc",
        ["zoe@example.com", "z@work.example"],
        ["+33 1 23 45 67 89"],
        org="Atelier, Paris; Left Bank",
        note="Two lines,\nwith; punctuation",
        uid="zoe-1",
    )
    assert text.startswith("BEGIN:VCARD\r\nVERSION:3.0\r\n")
    card = parse_card(text)
    assert card.name == "Zoë d'Arc"
    assert card.emails == ("zoe@example.com", "z@work.example")
    assert card.phones == ("+33 1 23 45 67 89",)
    assert card.org == "Atelier, Paris; Left Bank"
    assert card.note == "Two lines,\nwith; punctuation"
    assert card.uid == "zoe-1"
    assert parse_card(to_vcard("only@mail.example")).uid  # a UID is made up when there is none


def test_unescaped_commas_lose_nothing_and_bare_21_types_count() -> None:
    # Many exporters forget to escape commas; a strict reader keeps only "Muller".
    text = (
        "BEGIN:VCARD\nVERSION:2.1\nFN:Muller, Jorg\nNOTE:Met at college, likes jazz\n"
        "TEL;HOME:+49 30 1\nTEL;CELL;PREF:+49 170 2\nNICKNAME:Jo,Jojo\nEND:VCARD\n"
    )
    card = parse_card(text)
    assert card.name == "Muller, Jorg"
    assert card.note == "Met at college, likes jazz"
    assert card.phones == ("+49 170 2", "+49 30 1")
    nick = parse_card("BEGIN:VCARD\nVERSION:3.0\nNICKNAME:Jo,Jojo\nEND:VCARD\n")
    assert nick.name == "Jo"


def test_a_nested_card_keeps_its_properties_to_itself() -> None:
    text = (
        "BEGIN:VCARD\nVERSION:2.1\nFN:Boss\nAGENT:\nBEGIN:VCARD\nVERSION:2.1\nFN:Assistant\n"
        "EMAIL:assistant@example.com\nEND:VCARD\nEMAIL:boss@example.com\nEND:VCARD\n"
    )
    card = parse_card(text)
    assert (card.name, card.emails) == ("Boss", ("boss@example.com",))
    result = parse(text + "BEGIN:VCARD\nVERSION:3.0\nFN:Next\nEND:VCARD\n")
    assert [c.name for c in result.cards] == ["Boss", "Next"] and result.problems == []
