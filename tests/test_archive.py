import base64
import hashlib
import json
import sqlite3
from dataclasses import asdict
from email.message import EmailMessage
from typing import Any

import pytest

from os1 import archive
from os1 import archive_records as records
from os1.companion import Companion
from os1.config import load_config
from os1.contacts import carddav
from os1.contacts import people as ps
from os1.contacts.tools import merge
from os1.letters import studio
from os1.mail import compose
from os1.mail.accounts import Account, get_account, save_account
from os1.mail.export import export_mbox
from os1.mail.importer import import_path
from os1.mail.learn import learn_from_mail, mail_sources
from os1.mail.parse import Attachment
from os1.mail.store import add_message
from os1.mail.store import blob as mailblob
from os1.memory import control
from os1.memory import facts as factstore
from os1.testing import ScriptedModel

ACCOUNT = Account("work", "theo@example.com", "Theo", smtp_host="smtp.example.com",
                  smtp_port=587, secret={"command": "pass show mail/work"})  # fmt: skip
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 8


async def test_round_trip_into_an_empty_home(companion: Companion, tmp_path: Any) -> None:
    from os1.persona import Persona, Profile

    persona = Persona.from_dict({"name": "Samantha", "name_reason": "I liked it."})
    await companion.save_persona("theo", persona, Profile.from_dict({"call_me": "Theo"}))
    for text in ("hello", "how are you"):
        _ = [p async for p in companion.reply("theo", text)]
    await companion.actions.request("theo", "current_time", {}, requested_by="user", approve=None)
    data = json.loads(json.dumps(await archive.export_user(companion.store, "theo")))
    assert data["format"] == "os1-export" and data["version"] == archive.VERSION
    assert data["persona"]["name"] == "Samantha"

    other = load_config(env={"OS1_HOME": str(tmp_path / "new"), "OS1_USER": "theo"})
    fresh = await Companion.open(other, embedder=None, model=ScriptedModel())
    try:
        counts = await archive.import_user(fresh.store, data)
        assert counts["messages"] == 4 and counts["actions"] == 1
        again = await archive.export_user(fresh.store, "theo")
        strip = lambda d: [  # noqa: E731
            [(m["role"], m["content"], m["status"]) for m in c["messages"]]
            for c in d["conversations"]
        ]
        assert strip(again) == strip(data)
        assert again["persona"] == data["persona"]
        with pytest.raises(archive.ArchiveError, match="empty home"):
            await archive.import_user(fresh.store, data)
    finally:
        await fresh.close()


@pytest.mark.parametrize(
    "data, fragment",
    [
        ({"hello": 1}, "not an OS1 export"),
        ([1, 2], "not an OS1 export"),
        ({"format": "os1-export", "version": 99}, "version 99"),
        ({"format": "os1-export", "version": 1, "user": "x"}, "no 'conversations'"),
    ],
)
async def test_bad_files_are_refused(companion: Companion, data: Any, fragment: str) -> None:
    with pytest.raises(archive.ArchiveError, match=fragment):
        await archive.import_user(companion.store, data)


async def test_malformed_import_writes_nothing(companion: Companion) -> None:
    data = {
        "format": "os1-export",
        "version": 1,
        "user": "theo",
        "summaries": [],
        "actions": [],
        "conversations": [{"started_at": "now", "messages": [{"id": 1, "role": "user"}]}],
    }
    with pytest.raises(archive.ArchiveError):
        await archive.import_user(companion.store, data)
    assert await companion.store.query("SELECT * FROM conversations") == []


async def test_memories_travel_with_the_export(config: Any, tmp_path: Any) -> None:
    small = await Companion.open(config, embedder=None, model=ScriptedModel(small=True))
    try:
        for text in ("My sister is called Anna.", "My sister is called Annie."):
            _ = [p async for p in small.reply("theo", text)]
        await small.memory.work()
        data = json.loads(json.dumps(await archive.export_user(small.store, "theo")))
    finally:
        await small.close()
    assert {m["status"] for m in data["memories"]} == {"active", "superseded"}

    other = load_config(env={"OS1_HOME": str(tmp_path / "new"), "OS1_USER": "theo"})
    fresh = await Companion.open(other, embedder=None, model=ScriptedModel(small=True))
    try:
        counts = await archive.import_user(fresh.store, data)
        assert counts["memories"] == 2
        everything = await fresh.memory.facts("theo", include_superseded=True)
        by_status = {f.status: f for f in everything}
        assert "Annie" in by_status["active"].content
        assert by_status["superseded"].superseded_by == by_status["active"].id
        for fact in everything:  # provenance points at the imported messages
            rows = await fresh.store.query(
                "SELECT content FROM messages WHERE id = ? AND user_id = 'theo'",
                (fact.sources[0],),
            )
            assert rows and "sister" in rows[0][0]
        jobs = await fresh.store.query("SELECT kind FROM memory_jobs WHERE user_id = 'theo'")
        assert jobs and {j[0] for j in jobs} == {"embed"}  # vectors are made again
    finally:
        await fresh.close()


async def test_version_1_exports_still_import(companion: Companion) -> None:
    data = {"format": "os1-export", "version": 1, "user": "theo", "persona": None,
            "conversations": [], "summaries": [], "actions": []}  # fmt: skip
    assert (await archive.import_user(companion.store, data))["memories"] == 0


# --- version 3: people, letters, mail drafts and accounts --------------------------------


async def _a_life(c: Companion) -> int:
    """Theo's address book, letters and mail; returns the id of the mail a draft answers."""
    store = c.store
    await c.ensure_user("theo")
    dinner = EmailMessage()
    dinner["From"], dinner["To"] = "Amy Pond <amy@example.com>", "theo@example.com"
    dinner["Subject"], dinner["Message-ID"] = "Dinner on Friday?", "<dinner@example.com>"
    dinner.set_content("Are you free?")

    def fill(conn: sqlite3.Connection) -> int:
        mail = add_message(conn, "theo", bytes(dinner)).id
        amy = ps.save(
            conn,
            "theo",
            ps.Person(
                0,
                "Amy Pond",
                ("amy@example.com",),
                ("+44 1",),
                sources=("carddav:/a/1.vcf",),
                uid="u-amy",
                vcard="BEGIN:VCARD…",
            ),
            new=True,
        )
        also = ps.save(conn, "theo", ps.Person(0, "A. Pond", ("amy@work.example",),
                       sources=("mail",)), new=True)  # fmt: skip
        ps.save(conn, "theo", ps.Person(0, "Rory", ("rory@example.com",)), new=True)
        merge(conn, "theo", amy, also)
        ps.keep_problems(conn, "theo", "cards.vcf", [ps.Problem("card 3", "no FN", "BROKEN")])
        conn.execute(
            "INSERT INTO contact_sources (user_id, url, etags, synced_at) VALUES (?, ?, ?, ?)",
            ("theo", "http://dav.example/theo/", json.dumps({"/a/1.vcf": "e1"}), "now"),
        )
        return mail

    mail = await store.write(fill)
    letter = await studio.new_letter(store, "theo", "Amy Pond", "Dear Amy, first.")
    await studio.edit_letter(store, "theo", letter.id, body="Dear Amy, second.", status="final")
    await studio.new_letter(store, "theo", "Mr Stranger", "Hello.", written_for="Paul")
    await save_account(store, "theo", ACCOUNT)
    menu = Attachment("menu.pdf", "application/pdf", PDF)
    await compose.new_draft(
        store, "theo", to=["amy@example.com"], subject="Re: Dinner", body="Yes!",
        account="work", reply_to=mail, attachments=[menu],
    )  # fmt: skip
    sent = await compose.new_draft(store, "theo", to=["rory@example.com"], body="Done.")
    await store.execute_write(
        "UPDATE mail_drafts SET status = 'sent', sent_at = 'then' WHERE id = ?", (sent,)
    )
    return mail


async def _someone_else_first(c: Companion) -> None:
    """Another user's rows, so that ids in the new home differ from those in the file."""

    def fill(conn: sqlite3.Connection) -> None:
        ps.ensure_user(conn, "anna")
        for i in range(5):
            ps.save(conn, "anna", ps.Person(0, f"Friend {i}", (f"f{i}@example.com",)), new=True)

    await c.store.write(fill)
    for i in range(3):
        await studio.new_letter(c.store, "anna", f"Friend {i}", "Hi.")


async def test_version_3_carries_people_letters_and_mail_drafts(
    companion: Companion, tmp_path: Any
) -> None:
    await _a_life(companion)
    data = json.loads(json.dumps(await archive.export_user(companion.store, "theo")))
    assert data["version"] == 3
    people = {p["name"]: p for p in data["people"]}
    assert people["Amy Pond"]["emails"] == ["amy@example.com", "amy@work.example"]
    assert people["A. Pond"]["merged_into"] == people["Amy Pond"]["id"]
    first = data["letters"][0]
    assert first["person_id"] == people["Amy Pond"]["id"] and first["status"] == "final"
    assert [v["body"] for v in first["versions"]] == ["Dear Amy, first."]
    [account] = data["mail_accounts"]
    assert account["secret"] == {"command": "pass show mail/work"}  # how, never the password
    reply, sent = data["mail_drafts"]
    assert reply["reply_to"] == {
        "message_id": "<dinner@example.com>",
        "subject": "Dinner on Friday?",
    }
    assert base64.b64decode(reply["attachments"][0]["data"]) == PDF
    assert (sent["status"], sent["reply_to"]) == ("sent", None)
    assert data["contact_problems"][0]["raw"] == "BROKEN"
    assert data["mail"]["messages"] == 1 and "os1 mail export" in data["mail"]["export_with"]

    other = load_config(env={"OS1_HOME": str(tmp_path / "new"), "OS1_USER": "theo"})
    fresh = await Companion.open(other, embedder=None, model=ScriptedModel())
    try:
        await _someone_else_first(fresh)
        counts = await archive.import_user(fresh.store, data)
        assert (counts["people"], counts["letters"], counts["mail drafts"]) == (3, 2, 2)
        store = fresh.store
        new = {p.name: p for p in await ps.people(store, "theo")}
        assert set(new) == {"Amy Pond", "Rory"} and new["Amy Pond"].id != people["Amy Pond"]["id"]
        merged = await store.query_one("SELECT merged_into FROM people WHERE name = 'A. Pond'")
        assert merged is not None and merged[0] == new["Amy Pond"].id
        owners = await store.query(
            "SELECT email, person_id FROM people_emails WHERE user_id = 'theo' ORDER BY email"
        )
        amy, rory = new["Amy Pond"].id, new["Rory"].id
        assert [tuple(r) for r in owners] == [
            ("amy@example.com", amy), ("amy@work.example", amy), ("rory@example.com", rory)
        ]  # fmt: skip
        letters = await store.query("SELECT id, person_id, written_for FROM letters "
                                    "WHERE user_id = 'theo' ORDER BY id")  # fmt: skip
        assert [(r[1], r[2]) for r in letters] == [(amy, None), (None, "Paul")]
        earlier = await studio.versions(store, "theo", letters[0][0])
        assert [v.body for v in earlier] == ["Dear Amy, first."]
        assert await get_account(store, "theo", "work") == ACCOUNT
        drafts = await compose.list_drafts(store, "theo", status=None)
        reply_draft = next(d for d in drafts if d.subject == "Re: Dinner")
        assert reply_draft.reply_to is None  # its mail is not here yet
        blob = await store.read(
            lambda conn: mailblob(conn, "theo", reply_draft.attachments[0].hash)
        )
        assert blob == PDF
        assert len(await ps.problems(store, "theo")) == 1
        assert await carddav.sources(store, "theo") == ["http://dav.example/theo/"]
        assert len(await ps.people(store, "anna")) == 5  # nobody else's rows moved

        # Then the mail comes, as an mbox: the draft finds the mail it answers.
        mbox = tmp_path / "theo.mbox"
        assert await export_mbox(companion.store, "theo", mbox) == 1
        await import_path(store, "theo", mbox, workers=1)
        relinked = await compose.get_draft(store, "theo", reply_draft.id)
        original = await store.query_one(
            "SELECT id FROM mail_messages WHERE message_id = '<dinner@example.com>'"
        )
        assert original is not None and relinked.reply_to == original["id"]

        again = await archive.export_user(store, "theo")
        assert again["mail_drafts"][0]["reply_to"] == data["mail_drafts"][0]["reply_to"]
        for key in ("people", "letters", "mail_drafts", "contact_problems"):
            assert _without_ids(again[key]) == _without_ids(data[key]), key
        assert again["mail_accounts"] == data["mail_accounts"]
    finally:
        await fresh.close()


def _without_ids(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    drop = {"id", "person_id", "merged_into"}
    return [{k: v for k, v in r.items() if k not in drop} for r in rows]


@pytest.mark.parametrize("what", ["people", "letters", "mail", "mail accounts"])
async def test_import_refuses_a_user_who_already_has_records(
    companion: Companion, what: str
) -> None:
    store = companion.store
    await companion.ensure_user("theo")
    if what == "people":
        await store.write(lambda c: ps.save(c, "theo", ps.Person(0, "Amy"), new=True))
    elif what == "letters":
        await studio.new_letter(store, "theo", "Amy", "Dear Amy.")
    elif what == "mail":
        await store.write(lambda c: add_message(c, "theo", b"Subject: hi\n\nhello\n"))
    else:
        await save_account(store, "theo", ACCOUNT)
    with pytest.raises(archive.ArchiveError, match=f"theo already has {what} in this home"):
        await archive.import_user(store, _v3())
    assert (await archive.import_user(store, _v3(), "anna"))["people"] == 2  # as someone else


def _v3() -> dict[str, Any]:
    """A small, complete version-3 file, written by hand."""
    attachment = {"filename": "a.txt", "content_type": "text/plain", "size": 2,
                  "hash": hashlib.sha256(b"hi").hexdigest(), "data": "aGk="}  # fmt: skip
    person = {"id": 7, "name": "Amy", "emails": ["amy@example.com"], "phones": [], "org": "",
              "note": "", "relation": "friend", "sources": [], "uid": None, "vcard": None,
              "merged_into": None, "created_at": "t", "updated_at": "t"}  # fmt: skip
    return {
        "format": "os1-export", "version": 3, "user": "theo", "persona": None,
        "profile": None, "summaries": [], "actions": [], "memories": [],
        "conversations": [{"id": 1, "started_at": "t", "messages": [
            {"id": 1, "role": "user", "content": "hi", "created_at": "t"}]}],
        "people": [person, {**person, "id": 9, "name": "A.", "merged_into": 7}],
        "letters": [{"id": 3, "recipient": "Amy", "person_id": 7, "written_for": None,
                     "title": "", "body": "Dear Amy.", "status": "draft", "created_at": "t",
                     "updated_at": "t", "versions": [{"body": "Dear A.", "created_at": "t"}]}],
        "mail_accounts": [{**asdict(ACCOUNT), "folders": ["INBOX"], "created_at": "t"}],
        "mail_drafts": [{"id": 4, "account": "work", "reply_to": None, "to_addrs": [],
                         "cc_addrs": [], "subject": "S", "body": "B",
                         "attachments": [attachment], "status": "draft", "created_at": "t",
                         "updated_at": "t", "sent_at": None}],
        "contact_problems": [{"source": "x.vcf", "raw": "BAD", "error": "e", "created_at": "t"}],
        "contact_sources": [],
        "mail": {"messages": 0},
    }  # fmt: skip


def _set(path: str, value: Any) -> Any:
    def change(data: dict[str, Any]) -> None:
        *where, last = path.split(".")
        for step in where:
            data = data[int(step)] if step.isdigit() else data[step]  # type: ignore[index]
        if value is DELETE:
            del data[last]
        elif isinstance(data, list):
            data[int(last)] = value
        else:
            data[last] = value

    return change


DELETE = object()


@pytest.mark.parametrize(
    "change, fragment",
    [
        (_set("letters.0.person_id", 99), r"letters\[0\] is to person 99, who is not in the file"),
        (_set("people.0.emails", "amy@example.com"), r"people\[0\]\.emails should be a list"),
        (_set("people.1.merged_into", 1), r"people\[1\] was merged into person 1"),
        (_set("people.1.id", 7), "repeats id 7"),
        (_set("mail_drafts.0.subject", DELETE), r"mail_drafts\[0\] has no 'subject'"),
        (_set("mail_drafts.0.attachments.0.data", "!!"), "is not base64"),
        (_set("mail_drafts.0.attachments.0.data", "aG8="), "damaged"),
        (_set("mail_drafts.0.reply_to", {"subject": 1}), r"reply_to has no 'message_id'"),
        (_set("letters.0.status", "sent"), "should be one of draft, final"),
        (_set("letters.0.versions.0", "old text"), r"versions\[0\] should be an object"),
        (_set("mail_accounts.0.imap_security", "tls"), "security must be one of"),
        (_set("mail_accounts.0.imap_port", "993"), "should be a whole number or null"),
        (lambda d: d["mail_accounts"].append(d["mail_accounts"][0]), "does not fit together"),
        (_set("contact_sources", DELETE), "no 'contact_sources'"),
        (_set("people", {}), "'people' should be a list"),
        (_set("conversations.0.messages.0.content", 5), "content should be text"),
        (_set("version", "3"), "no valid version"),
    ],
)
async def test_a_malformed_version_3_file_imports_nothing(
    companion: Companion, change: Any, fragment: str
) -> None:
    data = _v3()
    change(data)
    with pytest.raises(archive.ArchiveError, match=fragment):
        await archive.import_user(companion.store, data)
    for table in ("conversations", "people", "letters", "mail_drafts", "mail_accounts",
                  "mail_blobs", "contact_problems"):  # fmt: skip
        assert await companion.store.query(f"SELECT 1 FROM {table}") == [], table


async def test_the_hand_written_file_imports(companion: Companion) -> None:
    counts = await archive.import_user(companion.store, _v3())
    assert counts == {"conversations": 1, "memories": 0, "messages": 1, "summaries": 0,
                      "actions": 0, "people": 2, "letters": 1, "mail drafts": 1,
                      "mail accounts": 1, "unreadable cards": 1, "calendars": 0,
                      "calendar entries": 0}  # fmt: skip


async def test_imported_actions_are_history_not_undo(companion: Companion, tmp_path: Any) -> None:
    from os1.actions import ActionError
    from os1.persona import Persona, Profile

    persona = Persona.from_dict({"name": "Samantha", "name_reason": "I liked it."})
    await companion.save_persona("theo", persona, Profile.from_dict({}))
    done = await companion.actions.request(
        "theo", "rename_companion", {"name": "Sam"}, requested_by="user", approve=None
    )
    assert done.status == "done"
    data = json.loads(json.dumps(await archive.export_user(companion.store, "theo")))
    assert data["actions"][0]["undo"] is not None  # the file keeps all of it

    other = load_config(env={"OS1_HOME": str(tmp_path / "new"), "OS1_USER": "theo"})
    fresh = await Companion.open(other, embedder=None, model=ScriptedModel())
    try:
        await archive.import_user(fresh.store, data)
        [logged] = await fresh.actions.log("theo")
        assert (logged["tool"], logged["status"]) == ("rename_companion", "done")
        with pytest.raises(ActionError, match="nothing to undo"):
            await fresh.actions.undo("theo")
    finally:
        await fresh.close()


# --- what was learned from mail: it travels with the file, the mail in the mbox -----------

ME = "theo@example.com"


def _sent(body: str, mid: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = ME, "amy@example.com", "Big news"
    msg["Date"], msg["Message-ID"] = "Sun, 03 Mar 2024 09:30:00 +0000", mid
    msg.set_content(body)
    return bytes(msg).replace(b"\n", b"\r\n")  # as IMAP gives it; the mbox has LF


async def _yes(proposal: Any) -> bool:
    return True


async def _forget(c: Companion, fact_id: int) -> None:
    outcome = await c.actions.request(
        "theo", "forget_memories", {"fact_ids": [fact_id], "what": "that"},
        requested_by="user", approve=_yes,
    )  # fmt: skip
    assert outcome.status == "done", outcome.output


async def _facts(c: Companion, user: str = "theo") -> list[factstore.StoredFact]:
    return await c.store.read(lambda conn: factstore.facts(conn, user))


async def _count(c: Companion, table: str, user: str = "theo") -> int:
    row = await c.store.query_one(f"SELECT count(*) FROM {table} WHERE user_id = ?", (user,))
    assert row is not None
    return int(row[0])


async def _learned_and_exported(config: Any, tmp_path: Any) -> tuple[dict[str, Any], Any]:
    """Theo's sent mail teaches two facts, he forgets one; the JSON file and the mbox."""
    old = await Companion.open(config, embedder=None, model=ScriptedModel(small=True))
    try:
        await old.ensure_user("theo")
        for raw in (_sent("I moved to Lisbon last month. My sister is called Eve.", "<a@x>"),
                    _sent("Hi Amy,\n\nMy sister is called Eve, as I said.", "<b@x>")):  # fmt: skip
            await old.store.write(
                lambda c, raw=raw: add_message(c, "theo", raw, folder="Sent", me=frozenset({ME}))
            )
        await learn_from_mail(old.store, "theo", name="Theo")
        eve = next(f for f in await _facts(old) if "Eve" in f.content)
        assert len(eve.mail_sources) == 2  # both mails say it
        await _forget(old, eve.id)
        assert [f.content for f in await _facts(old)] == ["Theo lives in Lisbon."]
        data = json.loads(json.dumps(await archive.export_user(old.store, "theo")))
        assert await export_mbox(old.store, "theo", tmp_path / "mail.mbox") == 2
        hashes = await old.store.query("SELECT raw_hash FROM mail_messages ORDER BY id")
    finally:
        await old.close()
    markers = data["mail_learned"]
    assert [m["raw_hash"] for m in markers] == [h[0] for h in hashes]
    assert [m["message_id"] for m in markers] == ["<a@x>", "<b@x>"]
    assert all(m["forgotten"] == ["sister.name"] and m["learned_at"] for m in markers)
    [lisbon] = data["memories"]
    assert lisbon["mail_sources"] == ["<a@x>"]
    assert lisbon["mail_source_keys"] == [{"raw_hash": hashes[0][0], "message_id": "<a@x>"}]
    return data, tmp_path / "mail.mbox"


async def _fresh(tmp_path: Any) -> Companion:
    other = load_config(env={"OS1_HOME": str(tmp_path / "new"), "OS1_USER": "theo"})
    return await Companion.open(other, embedder=None, model=ScriptedModel(small=True))


async def test_a_forgotten_fact_stays_forgotten_on_a_new_machine(
    config: Any, tmp_path: Any
) -> None:
    data, mbox = await _learned_and_exported(config, tmp_path)
    new = await _fresh(tmp_path)
    try:
        await archive.import_user(new.store, data)
        [lisbon] = await _facts(new)
        assert lisbon.mail_sources == ()  # its mail is not here yet
        assert await _count(new, "memory_mail_learned_pending") == 2
        # Exported again before the mail came, nothing is lost on the way.
        again = await archive.export_user(new.store, "theo")
        assert again["mail_learned"] == data["mail_learned"]
        assert again["memories"][0]["mail_source_keys"] == data["memories"][0]["mail_source_keys"]
        # Another user's copy of the same mail is not Theo's: his markers stay his.
        await import_path(new.store, "anna", mbox, me=frozenset({ME}), workers=1)
        assert await _count(new, "memory_mail_learned", "anna") == 0
        assert await learn_from_mail(new.store, "anna", name="Anna") == 2  # her own mail

        report = await import_path(new.store, "theo", mbox, me=frozenset({ME}), workers=1)
        assert report.added == 2
        assert await learn_from_mail(new.store, "theo", name="Theo") == 0
        [kept] = await _facts(new)
        assert (kept.id, kept.content) == (lisbon.id, "Theo lives in Lisbon.")  # not twice
        [first, second] = [
            r[0] for r in await new.store.query(
                "SELECT id FROM mail_messages WHERE user_id = 'theo' ORDER BY id")
        ]  # fmt: skip
        assert kept.mail_sources == (first,)
        [source] = await mail_sources(new.store, "theo", kept.mail_sources)
        assert source.describe() == 'your email to amy@example.com on 3 March 2024 ("Big news")'
        assert source.passage(kept.content) == "I moved to Lisbon last month."
        marks = await new.store.query(
            "SELECT mail_id, learned_at, forgotten FROM memory_mail_learned "
            "WHERE user_id = 'theo' ORDER BY mail_id"
        )
        assert [(m[0], json.loads(m[2])) for m in marks] == [
            (first, ["sister.name"]), (second, ["sister.name"])]  # fmt: skip
        assert all(m[1] for m in marks)
        # The raw hash survived the mbox: every marker found its exact mail.
        assert await _count(new, "memory_mail_learned_pending") == 0
        assert await _count(new, "memory_mail_sources_pending") == 0
        # Not even a rebuild, which reads all the mail again, brings Eve back.
        await control.rebuild(new.memory, "theo")
        [rebuilt] = await _facts(new)
        assert rebuilt.content == "The user lives in Lisbon." and rebuilt.mail_sources == (first,)
    finally:
        await new.close()


async def test_forgetting_before_the_mail_arrives_holds_when_it_does(
    config: Any, tmp_path: Any
) -> None:
    data, mbox = await _learned_and_exported(config, tmp_path)
    new = await _fresh(tmp_path)
    try:
        await archive.import_user(new.store, data)
        [lisbon] = await _facts(new)
        await _forget(new, lisbon.id)  # its mail is still only in the mbox
        await import_path(new.store, "theo", mbox, me=frozenset({ME}), workers=1)
        assert await learn_from_mail(new.store, "theo", name="Theo") == 0
        assert await _facts(new) == []
        await control.rebuild(new.memory, "theo")
        assert await _facts(new) == []
        marks = await new.store.query("SELECT forgotten FROM memory_mail_learned ORDER BY mail_id")
        assert [sorted(json.loads(m[0])) for m in marks] == [
            ["home.city", "sister.name"], ["sister.name"]]  # fmt: skip
    finally:
        await new.close()


async def test_files_with_message_ids_only_still_link_their_mail(
    config: Any, tmp_path: Any
) -> None:
    data, mbox = await _learned_and_exported(config, tmp_path)
    del data["mail_learned"], data["memories"][0]["mail_source_keys"]  # an older version 3
    new = await _fresh(tmp_path)
    try:
        await archive.import_user(new.store, data)
        await import_path(new.store, "theo", mbox, me=frozenset({ME}), workers=1)
        [lisbon] = [f for f in await _facts(new) if "Lisbon" in f.content]
        row = await new.store.query_one(
            "SELECT id FROM mail_messages WHERE message_id = '<a@x>' AND user_id = 'theo'"
        )
        assert row is not None and lisbon.mail_sources == (row[0],)
    finally:
        await new.close()


async def test_mail_already_here_is_marked_at_once(config: Any, tmp_path: Any) -> None:
    data, mbox = await _learned_and_exported(config, tmp_path)
    new = await _fresh(tmp_path)
    try:
        await import_path(new.store, "theo", mbox, me=frozenset({ME}), workers=1)

        def restore(c: sqlite3.Connection) -> int:
            fact = c.execute(
                "INSERT INTO memories (user_id, kind, slot, content, origin, status, "
                "recorded_at) VALUES ('theo', 'state', 'home.city', 'Theo lives in Lisbon.', "
                "'mail', 'active', '2024-03-03')"
            ).lastrowid
            assert fact is not None
            records.import_mail_links(c, "theo", data, {data["memories"][0]["id"]: fact})
            return fact

        fact = await new.store.write(restore)
        assert await _count(new, "memory_mail_learned_pending") == 0
        assert await _count(new, "memory_mail_sources_pending") == 0
        assert await learn_from_mail(new.store, "theo", name="Theo") == 0
        [kept] = await _facts(new)
        assert kept.id == fact and len(kept.mail_sources) == 1
    finally:
        await new.close()


_NOBODY = {"raw_hash": None, "message_id": None, "learned_at": None, "forgotten": []}
_FACT = {"id": 1, "kind": "state", "content": "x", "recorded_at": "t"}


@pytest.mark.parametrize(
    "change, fragment",
    [
        (_set("mail_learned", [_NOBODY]), r"mail_learned\[0\] names no mail"),
        (
            _set("mail_learned", [{**_NOBODY, "raw_hash": "h", "forgotten": "sister.name"}]),
            r"mail_learned\[0\]\.forgotten should be a list of texts",
        ),
        (
            _set(
                "memories", [{**_FACT, "mail_source_keys": [{"raw_hash": 5, "message_id": None}]}]
            ),
            r"memories\[0\]\.mail_source_keys\[0\]\.raw_hash should be text",
        ),
    ],
)
async def test_malformed_mail_markers_import_nothing(
    companion: Companion, change: Any, fragment: str
) -> None:
    data = _v3()
    change(data)
    with pytest.raises(archive.ArchiveError, match=fragment):
        await archive.import_user(companion.store, data)
    assert await companion.store.query("SELECT 1 FROM conversations") == []
