"""People from cards and mail, duplicates as proposals, merges only with a yes, and memory links."""

from __future__ import annotations

import itertools
import json
import sqlite3
from typing import Any

from os1.actions import Proposal
from os1.companion import Companion
from os1.contacts import people as ps
from os1.contacts.correspondents import people_from_mail
from os1.contacts.duplicates import duplicates
from os1.contacts.links import describe
from os1.contacts.vcard import Problem, parse_card
from os1.store import Store

_ids = itertools.count()


def card(name: str, *emails: str, uid: str | None = None, **extra: str) -> Any:
    lines = ["BEGIN:VCARD", "VERSION:3.0", f"FN:{name}"]
    lines += [f"EMAIL:{e}" for e in emails]
    lines += [f"UID:{uid}"] if uid else []
    lines += [f"{k.upper()}:{v}" for k, v in extra.items()]
    return parse_card("\n".join([*lines, "END:VCARD"]) + "\n")


async def upsert(store: Store, user: str, *cards: Any, source: str = "file:/a.vcf") -> ps.Changes:
    changes = ps.Changes()
    await store.write(lambda c: ps.upsert_cards(c, user, [(x, source) for x in cards], changes))
    return changes


async def mail(store: Store, user: str, **row: Any) -> None:
    row = {
        "user_id": user,
        "raw_hash": f"h{next(_ids)}",
        "imported_at": "2026-01-01T00:00:00+00:00",
        **row,
    }
    for key in ("to_addrs", "cc_addrs", "headers"):
        if key in row and not isinstance(row[key], str):
            row[key] = json.dumps(row[key])

    def write(c: sqlite3.Connection) -> None:
        ps.ensure_user(c, user)
        c.execute(
            f"INSERT INTO mail_messages ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
            tuple(row.values()),
        )

    await store.write(write)


async def remember(store: Store, user: str, content: str, status: str = "active") -> None:
    def write(c: sqlite3.Connection) -> None:
        ps.ensure_user(c, user)
        c.execute(
            "INSERT INTO memories (user_id, kind, content, status, recorded_at) "
            "VALUES (?, 'relationship', ?, ?, '2026-01-01T00:00:00+00:00')",
            (user, content, status),
        )

    await store.write(write)


async def test_a_card_joins_by_uid_then_by_address(store: Store) -> None:
    first = await upsert(store, "theo", card("Amy", "amy@example.com", uid="amy-1"))
    assert first.added == ["Amy"]
    # The same card, edited: same person, new name and note.
    edited = card("Amy Smith", "amy@example.com", uid="amy-1", note="upstairs")
    assert (await upsert(store, "theo", edited)).updated == ["Amy Smith"]
    # Another book without a UID but with her address: still her; phones and addresses add up.
    other = card("A. Smith", "AMY@example.com", "amy@work.example", tel="+1 555")
    assert (await upsert(store, "theo", other, source="file:/b.vcf")).updated == ["A. Smith"]
    [amy] = await ps.people(store, "theo")
    assert amy.name == "Amy Smith"  # a card merged into someone doesn't rename them
    assert amy.emails == ("amy@example.com", "amy@work.example")
    assert amy.phones == ("+1 555",)
    assert amy.note == "upstairs"
    assert amy.sources == ("file:/a.vcf", "file:/b.vcf")
    assert (await upsert(store, "theo", other, source="file:/b.vcf")).unchanged == 1
    # Another user's identical card is their own person.
    await upsert(store, "ana", card("Amy", "amy@example.com", uid="amy-1"))
    assert [p.name for p in await ps.people(store, "ana")] == ["Amy"]
    assert [p.name for p in await ps.people(store, "theo")] == ["Amy Smith"]
    assert await ps.find(store, "ana", "amy smith") == []


async def test_duplicates_are_only_proposed(store: Store) -> None:
    await upsert(
        store,
        "theo",
        card("Amy Smith", "amy@example.com", uid="a1"),
        card("Amy S.", "amy@example.com", uid="a2", tel="+1 555"),  # same address, own UID
        card("Jörg Müller", "jm@example.com"),
        card("Muller, Jorg", "jorg@example.com"),
        card("Paul", "paul@example.com"),
    )
    everyone = await ps.people(store, "theo")
    assert len(everyone) == 5  # nothing merged by itself
    proposals = duplicates(everyone)
    pairs = {(p.keep.name, p.other.name, p.reason) for p in proposals}
    assert pairs == {
        ("Amy S.", "Amy Smith", "both have amy@example.com"),
        ("Jörg Müller", "Muller, Jorg", "same name"),
    }
    amy = next(p for p in proposals if p.other.name == "Amy Smith")
    skip = {frozenset((amy.keep.id, amy.other.id))}
    assert [p.other.name for p in duplicates(everyone, skip)] == ["Muller, Jorg"]


async def test_people_from_mail_are_those_the_user_writes_to_or_hears_from(store: Store) -> None:
    me = "theo@example.com"
    await mail(store, "theo", from_addr=me, from_me=1, to_addrs=["amy@example.com", me],
               cc_addrs=["bob@example.com", "Eli Roe <eli@example.com>"])  # fmt: skip
    await mail(store, "theo", from_name="Amy Smith", from_addr="amy@example.com", to_addrs=[me],
               category="personal")  # fmt: skip
    await mail(store, "theo", from_name='"Carla Diaz"', from_addr="Carla@Example.com")
    await mail(store, "theo", from_name="Shop", from_addr="news@shop.example",
               headers={"list-unsubscribe": "<mailto:x@shop.example>"})  # fmt: skip
    await mail(store, "theo", from_name="Bank", from_addr="no-reply@bank.example")
    await mail(store, "theo", from_name="Spam", from_addr="win@spam.example", category="junk")
    await mail(store, "theo", from_name="Robot", from_addr="cron@host.example",
               headers={"auto-submitted": "auto-generated"})  # fmt: skip
    await mail(store, "theo", from_addr="", status="unparsed")
    await mail(store, "ana", from_name="Dora", from_addr="dora@example.com")
    changes = ps.Changes()
    await store.write(lambda c: people_from_mail(c, "theo", changes))
    names = {p.name: p.emails for p in await ps.people(store, "theo")}
    assert names == {
        "Amy Smith": ("amy@example.com",),
        "bob@example.com": ("bob@example.com",),  # only an address in To/Cc: no name yet
        "Carla Diaz": ("carla@example.com",),
        "Eli Roe": ("eli@example.com",),  # a name in the address list is used
    }
    again = ps.Changes()
    await store.write(lambda c: people_from_mail(c, "theo", again))
    assert (again.added, again.updated, again.unchanged) == ([], [], 4)
    # The address book knows Bob's name: the card joins him by address and names him.
    await upsert(store, "theo", card("Bob Builder", "bob@example.com", uid="bob"))
    bob = (await ps.find(store, "theo", "bob@example.com"))[0]
    assert bob.name == "Bob Builder" and bob.sources == ("mail", "file:/a.vcf")
    assert await ps.people(store, "ana") == []  # theo's mail made no one for ana
    await store.write(lambda c: people_from_mail(c, "ana", ps.Changes()))
    assert [p.name for p in await ps.people(store, "ana")] == ["Dora"]  # hers, from her mail


async def test_merge_needs_a_yes_and_undo_gives_both_back(contacts_companion: Companion) -> None:
    c, store = contacts_companion, contacts_companion.store
    await upsert(
        store,
        "theo",
        card("Amy Smith", "amy@example.com", uid="a1", note="college"),
        card("Amy S.", "amy@example.com", "amy@work.example", uid="a2", tel="+1 555"),
    )
    before = {p.id: p for p in await ps.people(store, "theo")}
    [proposal] = duplicates(list(before.values()))
    args = {"keep": proposal.keep.id, "other": proposal.other.id, "what": proposal.reason}

    # Without anyone to ask, it waits; asked and told no, nothing happens.
    waiting = await c.actions.request("theo", "merge_people", args, requested_by="model",
                                      approve=None)  # fmt: skip
    assert waiting.status == "proposed"
    assert len(await ps.people(store, "theo")) == 2

    async def no(p: Proposal) -> bool:
        assert "Merge person" in p.summary and p.effect.value == "destructive"
        return False

    declined = await c.actions.request("theo", "merge_people", args, requested_by="user",
                                       approve=no)  # fmt: skip
    assert declined.status == "declined" and len(await ps.people(store, "theo")) == 2

    done = await c.actions.approve("theo", waiting.action_id)
    assert done.status == "done", done.output
    [merged] = await ps.people(store, "theo")
    assert merged.id == proposal.keep.id
    assert set(merged.emails) == {"amy@example.com", "amy@work.example"}
    assert merged.phones == ("+1 555",) and "college" in merged.note
    gone = await ps.get(store, "theo", proposal.other.id)
    assert gone is not None and gone.merged_into == merged.id
    # Cards of the merged-away person now update the one kept.
    await upsert(store, "theo", card("Amy S.", "amy@new.example", uid=proposal.other.uid))
    assert "amy@new.example" in (await ps.people(store, "theo"))[0].emails

    message = await c.actions.undo("theo")
    assert "two people again" in message
    after = {p.id: p for p in await ps.people(store, "theo")}
    assert after.keys() == before.keys()
    assert after[proposal.other.id] == before[proposal.other.id]
    kept = after[proposal.keep.id]
    assert kept.note == before[proposal.keep.id].note
    assert set(kept.emails) == set(before[proposal.keep.id].emails) | {"amy@new.example"}
    owners = await store.query("SELECT email, person_id FROM people_emails ORDER BY email")
    owner = {r["email"]: r["person_id"] for r in owners}
    assert owner["amy@example.com"] == proposal.other.id  # hers first, and again hers
    assert owner["amy@work.example"] == proposal.keep.id


async def test_merging_someone_twice_or_of_another_user_fails(
    contacts_companion: Companion,
) -> None:
    c, store = contacts_companion, contacts_companion.store
    await upsert(store, "theo", card("A", "a@x.example"), card("B", "b@x.example"))
    await upsert(store, "ana", card("C", "c@x.example"))
    ids = {p.name: p.id for who in ("theo", "ana") for p in await ps.people(store, who)}

    async def yes(p: Proposal) -> bool:
        return True

    cross = await c.actions.request("theo", "merge_people", {"keep": ids["A"], "other": ids["C"]},
                                    requested_by="user", approve=yes)  # fmt: skip
    assert cross.status == "failed" and f"no person #{ids['C']}" in cross.output
    ok = await c.actions.request("theo", "merge_people", {"keep": ids["A"], "other": ids["B"]},
                                 requested_by="user", approve=yes)  # fmt: skip
    assert ok.status == "done"
    again = await c.actions.request("theo", "merge_people", {"keep": ids["A"], "other": ids["B"]},
                                    requested_by="user", approve=yes)  # fmt: skip
    assert again.status == "failed" and "already merged" in again.output
    assert [p.name for p in await ps.people(store, "ana")] == ["C"]


async def test_describe_links_a_person_to_what_she_remembers(store: Store) -> None:
    await upsert(store, "theo", card("Amy Smith", "amy@example.com"), card("Paul", "p@x.example"))
    await remember(store, "theo", "Amy is Theo's college friend.")
    await remember(store, "theo", "Amy lives upstairs.")
    await remember(store, "theo", "Amy moved to Rome.", status="superseded")
    await remember(store, "theo", "Theo's brother is called Paul.")
    await remember(store, "ana", "Amy owes Ana money.")  # another user's memory
    amy, paul = await ps.find(store, "theo", "Amy Smith"), await ps.find(store, "theo", "Paul")
    assert await describe(store, "theo", amy[0]) == "Amy Smith — college friend, lives upstairs"
    assert await describe(store, "theo", paul[0]) == "Paul — brother"
    # Two Amys: "Amy" alone no longer says which one; the full name still does.
    await upsert(store, "theo", card("Amy Jones", "aj@example.com"))
    await remember(store, "theo", "Amy Jones is Theo's dentist.")
    jones = (await ps.find(store, "theo", "Amy Jones"))[0]
    assert await describe(store, "theo", jones) == "Amy Jones — dentist"
    assert await describe(store, "theo", amy[0]) == "Amy Smith — amy@example.com"


async def test_describe_is_safe_with_any_name(store: Store) -> None:
    await upsert(store, "theo", card('Amy "NEAR* (x) OR', "q@x.example"), card("Bo", "b@x.example"))
    await remember(store, "theo", "Bo plays the cello.")
    for person in await ps.people(store, "theo"):
        line = await describe(store, "theo", person)
        assert line.startswith(person.name)
    assert await describe(store, "theo", (await ps.find(store, "theo", "Bo"))[0]) == (
        "Bo — plays the cello"
    )


async def test_problems_are_kept_once_per_source(store: Store) -> None:
    bad = [Problem("card 2", "cannot be read", "BEGIN:VCARD\nFN:x\n")]
    assert await store.write(lambda c: ps.keep_problems(c, "theo", "file:/a.vcf", bad)) == 1
    assert await store.write(lambda c: ps.keep_problems(c, "theo", "file:/a.vcf", bad)) == 0
    [kept] = await ps.problems(store, "theo")
    assert kept["raw"] == "BEGIN:VCARD\nFN:x\n" and "card 2" in kept["error"]
    assert await ps.problems(store, "ana") == []


async def test_find_person_tool_reads_without_asking(contacts_companion: Companion) -> None:
    c = contacts_companion
    await upsert(c.store, "theo", card("Amy Smith", "amy@example.com", tel="+1 555"))
    await remember(c.store, "theo", "Amy lives upstairs.")
    found = await c.actions.request("theo", "find_person", {"name": "amy"}, requested_by="model",
                                    approve=None)  # fmt: skip
    assert found.status == "done"
    assert "Amy Smith — lives upstairs (amy@example.com, +1 555)" in found.output
    nobody = await c.actions.request("theo", "find_person", {"name": "Zed"}, requested_by="model",
                                     approve=None)  # fmt: skip
    assert "No one called 'Zed'" in nobody.output


async def test_importing_the_same_cards_again_makes_no_one_twice(store: Store) -> None:
    cards = [
        card("Paul", tel="+1 555 0100"),  # no UID, no address: only a name and a number
        card("Paul", tel="+1 555 0199"),  # another Paul, another number
        card("Nameless Org", org="Bakery"),
    ]
    assert len((await upsert(store, "theo", *cards)).added) == 3
    again = await upsert(store, "theo", *cards)
    assert (again.added, again.updated, again.unchanged) == ([], [], 3)
    moved = card("Paul", tel="+1-555-0100", note="new flat")  # same name and number
    assert (await upsert(store, "theo", moved)).updated == ["Paul"]
    assert len(await ps.people(store, "theo")) == 3
