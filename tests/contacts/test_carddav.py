"""CardDAV sync against a real radicale server on loopback: only what changed is fetched."""

from __future__ import annotations

import json
import sqlite3
import sys
from typing import Any

import httpx
import pytest
from radicale_server import Radicale

from os1.contacts import carddav
from os1.contacts import people as ps
from os1.store import Store


def vcf(uid: str, fn: str, *lines: str, version: str = "3.0") -> str:
    body = "".join(f"{line}\r\n" for line in lines)
    return f"BEGIN:VCARD\r\nVERSION:{version}\r\nUID:{uid}\r\nFN:{fn}\r\n{body}END:VCARD\r\n"


def put(server: Radicale, user: str, name: str, text: str) -> None:
    with server.client(user) as http:
        reply = http.put(
            f"/{user}/contacts/{name}.vcf", content=text, headers={"Content-Type": "text/vcard"}
        )
    assert reply.status_code in (201, 204), reply.text


async def sync(store: Store, server: Radicale, url: str | None = None) -> carddav.SyncReport:
    [report] = await carddav.sync(
        store, "theo", url or server.url, username="theo", password="s3cret"
    )
    return report


async def test_sync_fetches_only_what_changed_and_notices_removals(
    store: Store, radicale: Radicale
) -> None:
    book = radicale.make_addressbook("theo")
    put(radicale, "theo", "amy", vcf("amy", "Amy", "EMAIL:amy@example.com"))
    put(radicale, "theo", "bob", vcf("bob", "Bob", "TEL;VALUE=uri:tel:+1-555", version="4.0"))
    # Radicale accepts a card with an empty name and nothing else; there's no one in it.
    put(radicale, "theo", "empty", vcf("empty", ""))

    first = await sync(store, radicale)  # discovered from the server's root
    assert first.book == book
    assert (first.listed, first.fetched) == (3, 3)
    assert sorted(first.added) == ["Amy", "Bob"]
    [problem] = first.problems
    assert problem.where == f"{book}empty.vcf" and "no name" in problem.error
    assert "UID:empty" in problem.raw
    [kept] = await ps.problems(store, "theo")
    assert kept["source"] == f"{book}empty.vcf" and "UID:empty" in kept["raw"]

    second = await sync(store, radicale)
    assert (second.listed, second.fetched, second.added, second.updated) == (3, 0, [], [])
    assert second.problems == []  # reported once, kept, not fetched again

    put(radicale, "theo", "amy", vcf("amy", "Amy Smith", "EMAIL:amy@example.com", "NOTE:upstairs"))
    third = await sync(store, radicale)
    assert (third.fetched, third.updated, third.added) == (1, ["Amy Smith"], [])
    amy = (await ps.find(store, "theo", "amy@example.com"))[0]
    assert (amy.name, amy.note, amy.sources) == (
        "Amy Smith",
        "upstairs",
        (f"carddav:{book}amy.vcf",),
    )

    with radicale.client("theo") as http:
        assert http.delete("/theo/contacts/bob.vcf").status_code == 200
    fourth = await sync(store, radicale)
    assert (fourth.fetched, fourth.removed, fourth.removed_from) == (0, 1, ["Bob"])
    bob = (await ps.find(store, "theo", "Bob"))[0]
    assert bob.sources == () and bob.phones == ("+1-555",)  # the card is gone, Bob is not

    put(radicale, "theo", "empty", vcf("empty", "Eve"))
    fifth = await sync(store, radicale, book)  # the address book's own URL works too
    assert (fifth.fetched, fifth.added, fifth.problems) == (1, ["Eve"], [])
    assert await ps.problems(store, "theo") == []  # fixed on the server: nothing left to keep

    row = await store.query_one("SELECT * FROM contact_sources WHERE user_id = 'theo'")
    assert row is not None and row["url"] == book
    assert sorted(json.loads(row["etags"])) == [f"{book}amy.vcf", f"{book}empty.vcf"]


async def test_credentials_in_the_url_are_used_and_never_stored(
    store: Store, radicale: Radicale
) -> None:
    radicale.make_addressbook("theo")
    put(radicale, "theo", "amy", vcf("amy", "Amy"))
    url = radicale.url.replace("http://", "http://theo:s3cret@") + "theo/contacts/"
    [report] = await carddav.sync(store, "theo", url)
    assert report.added == ["Amy"] and "s3cret" not in report.book

    def dump(c: sqlite3.Connection) -> str:
        tables = [r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return "\n".join(str(tuple(row)) for t in tables for row in c.execute(f"SELECT * FROM {t}"))

    assert "s3cret" not in await store.read(dump)


async def test_refusals_and_missing_books_are_clear_errors(
    store: Store, radicale: Radicale
) -> None:
    radicale.make_addressbook("theo")
    with pytest.raises(carddav.CardDAVError, match="refused the login"):
        await carddav.sync(store, "theo", radicale.url, username="theo", password="wrong")
    with pytest.raises(carddav.CardDAVError, match="no address book"):
        await carddav.sync(store, "ana", radicale.url, username="ana", password="other")
    # Theo's book is not Ana's to read.
    with pytest.raises(carddav.CardDAVError, match="403"):
        await carddav.sync(store, "ana", f"{radicale.url}theo/contacts/", username="ana",
                           password="other")  # fmt: skip
    with pytest.raises(carddav.CardDAVError, match="cannot reach"):
        await carddav.sync(store, "theo", "http://127.0.0.1:9/", username="theo", password="x")
    with pytest.raises(carddav.CardDAVError, match="not an http"):
        await carddav.sync(store, "theo", "ftp://example.com/")
    assert await store.query("SELECT * FROM contact_sources") == []


async def test_each_os1_user_keeps_their_own_book(store: Store, radicale: Radicale) -> None:
    radicale.make_addressbook("theo")
    radicale.make_addressbook("ana")
    put(radicale, "theo", "amy", vcf("amy", "Amy"))
    put(radicale, "ana", "amy", vcf("amy", "Amy for Ana"))
    await sync(store, radicale)
    await carddav.sync(store, "ana", radicale.url, username="ana", password="other")
    assert [p.name for p in await ps.people(store, "theo")] == ["Amy"]
    assert [p.name for p in await ps.people(store, "ana")] == ["Amy for Ana"]
    assert await carddav.sources(store, "theo") == [f"{radicale.url}theo/contacts/"]


async def test_many_cards_in_batches_and_without_multiget(
    store: Store, radicale: Radicale, monkeypatch: pytest.MonkeyPatch
) -> None:
    radicale.make_addressbook("theo")
    for i in range(5):
        put(radicale, "theo", f"p{i}", vcf(f"p{i}", f"Person {i}", f"EMAIL:p{i}@example.com"))
    monkeypatch.setattr(carddav, "BATCH", 2)
    first = await sync(store, radicale)
    assert first.fetched == 5 and len(first.added) == 5

    # A server without addressbook-multiget: each changed card is fetched with GET.
    real_dav = carddav._dav

    async def no_report(http: httpx.AsyncClient, method: str, *args: Any) -> str:
        if method == "REPORT":
            raise carddav.CardDAVError("REPORT answered 501 Not Implemented", 501)
        return await real_dav(http, method, *args)

    monkeypatch.setattr(carddav, "_dav", no_report)
    put(radicale, "theo", "p3", vcf("p3", "Person Three", "EMAIL:p3@example.com"))
    second = await sync(store, radicale)
    assert (second.fetched, second.updated) == (1, ["Person Three"])


async def test_the_password_comes_from_a_command_run_without_a_shell() -> None:
    code = "import sys; print(sys.argv[1]); print('second line')"
    command = f"{sys.executable} -c \"{code}\" 'pa ss;$HOME'"
    assert await carddav.password_from_command(command) == "pa ss;$HOME"
    with pytest.raises(carddav.CardDAVError, match="exited 3"):
        await carddav.password_from_command(f"{sys.executable} -c 'raise SystemExit(3)'")
    with pytest.raises(carddav.CardDAVError, match="failed to start"):
        await carddav.password_from_command("/no/such/command")
    with pytest.raises(carddav.CardDAVError, match="cannot be read"):
        await carddav.password_from_command("echo 'unclosed")
