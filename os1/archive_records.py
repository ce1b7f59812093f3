"""The export's checks, and its records since version 3: people, letters, mail drafts and
accounts, address-book state, and what was learned from mail (kept by the mail's key).

Every row read from a file is checked before anything is written (a wrong type, a
missing key, a link to a row the file lacks: `ArchiveError`, naming where), and ids
in the file only link rows *within* the file: import gives every row a new id and
the importing user. Mail itself is not here (it can be gigabytes): the export says
how much there is, and `os1 mail export FILE.mbox` carries it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import sqlite3
from collections.abc import Callable
from typing import Any

from .mail import store as mailstore
from .mail.accounts import Account, AccountError


class ArchiveError(Exception):
    """The file cannot be imported (wrong format, newer version, home not empty)."""


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


# A field's kind: "str", "int", "num", "dict", "list", "any", "[str]" (a list of texts),
# "[int]", "{str}" (an object whose values are texts), or "a|b" (one of these texts).
# "?" after it: may be null. "~" before it: may be missing (older files).
_CHECKS: dict[str, Callable[[Any], bool]] = {
    "str": lambda v: isinstance(v, str),
    "int": _is_int,
    "num": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "dict": lambda v: isinstance(v, dict),
    "list": lambda v: isinstance(v, list),
    "any": lambda v: True,
    "[str]": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
    "[int]": lambda v: isinstance(v, list) and all(_is_int(x) for x in v),
    "{str}": lambda v: isinstance(v, dict) and all(isinstance(x, str) for x in v.values()),
}
_WORDS = {
    "str": "text", "int": "a whole number", "num": "a number", "dict": "an object",
    "list": "a list", "[str]": "a list of texts", "[int]": "a list of whole numbers",
    "{str}": "an object of texts",
}  # fmt: skip

CONVERSATION = {"started_at": "str", "front_door": "~str", "messages": "~list"}
MESSAGE = {"id": "int", "role": "str", "content": "str", "status": "~str", "model": "~str?",
           "created_at": "str"}  # fmt: skip
SUMMARY = {"through_message_id": "int", "content": "str", "model": "~str?", "created_at": "str"}
ACTION = {
    "tool": "str", "effect": "str", "arguments": "any", "summary": "str", "status": "str",
    "requested_by": "str", "result": "~str?", "undo": "~any", "error": "~str?",
    "created_at": "str", "decided_at": "~str?", "done_at": "~str?", "undone_at": "~str?",
}  # fmt: skip
MEMORY = {
    "id": "int", "kind": "str", "slot": "~str?", "content": "str", "confidence": "~num",
    "importance": "~num", "origin": "~str", "status": "~str", "recorded_at": "str",
    "valid_from": "~str?", "valid_until": "~str?", "superseded_by": "~int?",
    "extractor": "~str?", "sources": "~[int]", "mail_sources": "~[str]",
    "mail_source_keys": "~list",
}  # fmt: skip
MAIL_KEY = {"raw_hash": "str?", "message_id": "str?"}
LEARNED = {**MAIL_KEY, "learned_at": "str?", "forgotten": "[str]"}
PERSON = {
    "id": "int", "name": "str", "emails": "[str]", "phones": "[str]", "org": "str",
    "note": "str", "relation": "str", "sources": "[str]", "uid": "str?", "vcard": "str?",
    "merged_into": "int?", "created_at": "str", "updated_at": "str",
}  # fmt: skip
LETTER = {
    "id": "int", "recipient": "str", "person_id": "int?", "written_for": "str?",
    "title": "str", "body": "str", "status": "draft|final", "created_at": "str",
    "updated_at": "str", "versions": "list",
}  # fmt: skip
VERSION = {"body": "str", "created_at": "str"}
DRAFT = {
    "id": "int", "account": "str?", "reply_to": "dict?", "to_addrs": "[str]",
    "cc_addrs": "[str]", "subject": "str", "body": "str", "attachments": "list",
    "status": "draft|sent|discarded", "created_at": "str", "updated_at": "str",
    "sent_at": "str?",
}  # fmt: skip
REPLY = {"message_id": "str?", "subject": "str"}
ATTACHMENT = {"filename": "str", "content_type": "str", "size": "int", "hash": "str",
              "data": "str"}  # fmt: skip
ACCOUNT = {
    "name": "str", "address": "str", "display_name": "str", "imap_host": "str?",
    "imap_port": "int?", "imap_security": "str", "imap_username": "str?", "smtp_host": "str?",
    "smtp_port": "int?", "smtp_security": "str", "smtp_username": "str?", "secret": "{str}",
    "folders": "[str]", "archive_folder": "str", "created_at": "str",
}  # fmt: skip
PROBLEM = {"source": "str", "raw_hash": "~str", "raw": "str", "error": "str", "created_at": "str"}
SOURCE = {"url": "str", "sync_token": "str?", "etags": "{str}", "synced_at": "str?"}
RECORDS = ("people", "letters", "mail_accounts", "mail_drafts", "contact_problems",
           "contact_sources")  # fmt: skip
MBOX_HINT = "os1 mail export FILE.mbox"


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 40 else text[:37] + "…"


def _fits(kind: str, value: Any) -> bool:
    if kind.endswith("?"):
        if value is None:
            return True
        kind = kind[:-1]
    if "|" in kind:
        return value in kind.split("|")
    return bool(_CHECKS[kind](value))


def check_row(row: Any, where: str, spec: dict[str, str]) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise ArchiveError(f"{where} should be an object, not {_show(row)}")
    for key, kind in spec.items():
        if key not in row:
            if kind.startswith("~"):
                continue
            raise ArchiveError(f"{where} has no {key!r}")
        kind = kind.lstrip("~")
        if not _fits(kind, row[key]):
            base = kind.rstrip("?")
            wanted = (
                "one of " + ", ".join(base.split("|")) if "|" in base else _WORDS.get(base, base)
            )
            null = " or null" if kind.endswith("?") else ""
            raise ArchiveError(f"{where}.{key} should be {wanted}{null}, not {_show(row[key])}")
    return row


def check_rows(rows: Any, where: str, spec: dict[str, str]) -> list[dict[str, Any]]:
    if not isinstance(rows, list):
        raise ArchiveError(f"{where!r} should be a list, not {_show(rows)}")
    return [check_row(row, f"{where}[{i}]", spec) for i, row in enumerate(rows)]


def _unique_ids(rows: list[dict[str, Any]], where: str) -> set[int]:
    ids: set[int] = set()
    for i, row in enumerate(rows):
        if row["id"] in ids:
            raise ArchiveError(f"{where}[{i}] repeats id {row['id']}")
        ids.add(row["id"])
    return ids


def check_records(data: dict[str, Any]) -> None:
    """Check the version-3 sections, and the links between them, before anything is written."""
    for key in RECORDS:
        if key not in data:
            raise ArchiveError(f"the export has no {key!r}")
    people = check_rows(data["people"], "people", PERSON)
    person_ids = _unique_ids(people, "people")
    merged = {p["id"]: p["merged_into"] for p in people}
    for i, p in enumerate(people):
        seen, at = {p["id"]}, p["merged_into"]
        while at is not None:  # merged into someone in the file, and never back into itself
            if at not in person_ids:
                raise ArchiveError(f"people[{i}] was merged into person {at}, not in the file")
            if at in seen:
                raise ArchiveError(f"people[{i}] is merged into itself (through {at})")
            seen.add(at)
            at = merged[at]
    letters = check_rows(data["letters"], "letters", LETTER)
    for i, letter in enumerate(letters):
        if letter["person_id"] is not None and letter["person_id"] not in person_ids:
            raise ArchiveError(
                f"letters[{i}] is to person {letter['person_id']}, who is not in the file"
            )
        check_rows(letter["versions"], f"letters[{i}].versions", VERSION)
    for i, draft in enumerate(check_rows(data["mail_drafts"], "mail_drafts", DRAFT)):
        if draft["reply_to"] is not None:
            check_row(draft["reply_to"], f"mail_drafts[{i}].reply_to", REPLY)
        check_rows(draft["attachments"], f"mail_drafts[{i}].attachments", ATTACHMENT)
    for i, row in enumerate(check_rows(data["mail_accounts"], "mail_accounts", ACCOUNT)):
        _account(row, f"mail_accounts[{i}]")
    check_rows(data["contact_problems"], "contact_problems", PROBLEM)
    check_rows(data["contact_sources"], "contact_sources", SOURCE)
    if not isinstance(data.get("mail", {}), dict):
        raise ArchiveError(f'"mail" should be an object, not {_show(data["mail"])}')


def _account(row: dict[str, Any], where: str) -> Account:
    fields = {k: row[k] for k in ACCOUNT if k != "created_at"}
    try:
        return Account(**{**fields, "folders": tuple(row["folders"])})
    except AccountError as e:
        raise ArchiveError(f"{where}: {e}") from e


# --- export ----------------------------------------------------------------------------------


def _rows(c: sqlite3.Connection, sql: str, *params: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in c.execute(sql, params).fetchall()]


def _decode(row: dict[str, Any], *keys: str) -> dict[str, Any]:
    for key in keys:
        row[key] = json.loads(row[key])
    return row


def export_records(c: sqlite3.Connection, user: str) -> dict[str, Any]:
    """The version-3 sections for `user` (see docs/export-format.md)."""
    people = [
        _decode(p, "emails", "phones", "sources")
        for p in _rows(
            c,
            "SELECT id, name, emails, phones, org, note, relation, sources, uid, vcard, "
            "merged_into, created_at, updated_at FROM people WHERE user_id = ? ORDER BY id",
            user,
        )
    ]
    known = {p["id"] for p in people}
    letters = _rows(
        c,
        "SELECT id, recipient, person_id, written_for, title, body, status, created_at, "
        "updated_at FROM letters WHERE user_id = ? ORDER BY id",
        user,
    )
    versions: dict[int, list[dict[str, Any]]] = {}
    for v in _rows(
        c,
        "SELECT letter_id, body, created_at FROM letter_versions WHERE user_id = ? ORDER BY id",
        user,
    ):
        versions.setdefault(v.pop("letter_id"), []).append(v)
    for letter in letters:
        letter["person_id"] = letter["person_id"] if letter["person_id"] in known else None
        letter["versions"] = versions.get(letter["id"], [])
    accounts = [
        _decode(a, "secret", "folders")
        for a in _rows(
            c,
            "SELECT name, address, display_name, imap_host, imap_port, imap_security, "
            "imap_username, smtp_host, smtp_port, smtp_security, smtp_username, secret, "
            "folders, archive_folder, created_at FROM mail_accounts WHERE user_id = ? "
            "ORDER BY id",
            user,
        )
    ]
    sources = [
        _decode(s, "etags")
        for s in _rows(
            c,
            "SELECT url, sync_token, etags, synced_at FROM contact_sources WHERE user_id = ? "
            "ORDER BY url",
            user,
        )
    ]
    return {
        "people": people,
        "letters": letters,
        "mail_accounts": accounts,
        "mail_drafts": _export_drafts(c, user),
        "contact_problems": _rows(
            c,
            "SELECT source, raw_hash, raw, error, created_at FROM contact_problems "
            "WHERE user_id = ? ORDER BY id",
            user,
        ),
        "contact_sources": sources,
        "mail": _mail_summary(c, user),
    }


def _export_drafts(c: sqlite3.Connection, user: str) -> list[dict[str, Any]]:
    drafts = _rows(
        c,
        "SELECT d.id, d.account, d.reply_to, d.reply_to_message_id, m.message_id AS reply_mid, "
        "m.subject AS reply_subject, d.to_addrs, d.cc_addrs, d.subject, d.body, d.attachments, "
        "d.status, d.created_at, d.updated_at, d.sent_at FROM mail_drafts d "
        "LEFT JOIN mail_messages m ON m.id = d.reply_to AND m.user_id = d.user_id "
        "WHERE d.user_id = ? ORDER BY d.id",
        user,
    )
    for d in drafts:
        mid, subject, pending = (
            d.pop("reply_mid"),
            d.pop("reply_subject"),
            d.pop("reply_to_message_id"),
        )
        if d["reply_to"] is not None and subject is not None:
            d["reply_to"] = {"message_id": mid, "subject": subject}
        else:  # still waiting for the mail it answers (itself imported), or none
            d["reply_to"] = {"message_id": pending, "subject": ""} if pending else None
        _decode(d, "to_addrs", "cc_addrs", "attachments")
        kept = []
        for a in d["attachments"]:
            data = mailstore.blob(c, user, a["hash"])
            if data is not None:  # blobs are never deleted; a missing one was never usable
                kept.append({**a, "data": base64.b64encode(data).decode("ascii")})
        d["attachments"] = kept
    return drafts


def _mail_summary(c: sqlite3.Connection, user: str) -> dict[str, Any]:
    folders = {
        r[0]: r[1]
        for r in c.execute(
            "SELECT folder, count(*) FROM mail_messages WHERE user_id = ? GROUP BY folder "
            "ORDER BY folder",
            (user,),
        )
    }
    unparsed = c.execute(
        "SELECT count(*) FROM mail_messages WHERE user_id = ? AND status = 'unparsed'", (user,)
    ).fetchone()[0]
    return {
        "messages": sum(folders.values()),
        "unparsed": unparsed,
        "folders": folders,
        "in_this_file": False,
        "export_with": MBOX_HINT,
    }


# --- import ----------------------------------------------------------------------------------


def import_records(c: sqlite3.Connection, user: str, data: dict[str, Any]) -> dict[str, int]:
    """Write checked version-3 sections for `user`, inside the caller's transaction."""
    people = _import_people(c, user, data.get("people", []))
    letters = data.get("letters", [])
    for letter in letters:
        person = letter["person_id"]
        letter_id = c.execute(
            "INSERT INTO letters (user_id, recipient, person_id, written_for, title, body, "
            "status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (user, letter["recipient"], None if person is None else people[person],
             letter["written_for"], letter["title"], letter["body"], letter["status"],
             letter["created_at"], letter["updated_at"]),
        ).lastrowid  # fmt: skip
        c.executemany(
            "INSERT INTO letter_versions (user_id, letter_id, body, created_at) "
            "VALUES (?, ?, ?, ?)",
            [(user, letter_id, v["body"], v["created_at"]) for v in letter["versions"]],
        )
    accounts = data.get("mail_accounts", [])
    for a in accounts:  # checked by `check_records`, as everything here
        c.execute(
            "INSERT INTO mail_accounts (user_id, name, address, display_name, imap_host, "
            "imap_port, imap_security, imap_username, smtp_host, smtp_port, smtp_security, "
            "smtp_username, secret, folders, archive_folder, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (user, a["name"], a["address"], a["display_name"], a["imap_host"], a["imap_port"],
             a["imap_security"], a["imap_username"], a["smtp_host"], a["smtp_port"],
             a["smtp_security"], a["smtp_username"], json.dumps(a["secret"]),
             json.dumps(a["folders"]), a["archive_folder"], a["created_at"]),
        )  # fmt: skip
    drafts = data.get("mail_drafts", [])
    for i, d in enumerate(drafts):
        _import_draft(c, user, d, f"mail_drafts[{i}]")
    problems = data.get("contact_problems", [])
    for p in problems:
        digest = hashlib.sha256(p["raw"].encode("utf-8", "surrogatepass")).hexdigest()
        c.execute(
            "INSERT OR IGNORE INTO contact_problems (user_id, source, raw_hash, raw, error, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (user, p["source"], digest, p["raw"], p["error"], p["created_at"]),
        )
    c.executemany(
        "INSERT INTO contact_sources (user_id, url, sync_token, etags, synced_at) "
        "VALUES (?, ?, ?, ?, ?)",
        [(user, s["url"], s["sync_token"], json.dumps(s["etags"]), s["synced_at"])
         for s in data.get("contact_sources", [])],
    )  # fmt: skip
    return {
        "people": len(people),
        "letters": len(letters),
        "mail drafts": len(drafts),
        "mail accounts": len(accounts),
        "unreadable cards": len(problems),
    }


def _import_people(
    c: sqlite3.Connection, user: str, people: list[dict[str, Any]]
) -> dict[int, int]:
    """Insert people, then their merges (by new id), then who owns each address."""
    new: dict[int, int] = {}
    for p in people:
        new[p["id"]] = int(
            c.execute(
                "INSERT INTO people (user_id, name, emails, phones, org, note, relation, "
                "sources, uid, vcard, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (user, p["name"], json.dumps(p["emails"]), json.dumps(p["phones"]), p["org"],
                 p["note"], p["relation"], json.dumps(p["sources"]), p["uid"], p["vcard"],
                 p["created_at"], p["updated_at"]),
            ).lastrowid or 0
        )  # fmt: skip
    for p in people:
        if p["merged_into"] is not None:
            c.execute(
                "UPDATE people SET merged_into = ? WHERE id = ?",
                (new[p["merged_into"]], new[p["id"]]),
            )
    # As `people.save` does: each address belongs to the first live person who has it
    # (a merged person's addresses were folded into the one they were merged into).
    c.executemany(
        "INSERT OR IGNORE INTO people_emails (user_id, email, person_id) VALUES (?, ?, ?)",
        [(user, email, new[p["id"]]) for p in people if p["merged_into"] is None
         for email in p["emails"]],
    )  # fmt: skip
    return new


def _import_draft(c: sqlite3.Connection, user: str, d: dict[str, Any], where: str) -> None:
    attachments = []
    for j, a in enumerate(d["attachments"]):
        try:
            data = base64.b64decode(a["data"], validate=True)
        except (binascii.Error, ValueError) as e:
            raise ArchiveError(f"{where}.attachments[{j}].data is not base64: {e}") from e
        hash_ = mailstore.put_blob(c, user, data)
        if hash_ != a["hash"]:
            raise ArchiveError(
                f"{where}.attachments[{j}] ({a['filename']!r}) is damaged: "
                "its data does not match its hash"
            )
        attachments.append({"filename": a["filename"], "content_type": a["content_type"],
                            "size": len(data), "hash": hash_})  # fmt: skip
    reply = d["reply_to"] or {}
    # The mail it answers comes later (an mbox, a sync); a trigger links it when it does.
    c.execute(
        "INSERT INTO mail_drafts (user_id, account, reply_to, reply_to_message_id, to_addrs, "
        "cc_addrs, subject, body, attachments, status, created_at, updated_at, sent_at) "
        "VALUES (?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (user, d["account"], reply.get("message_id"), json.dumps(d["to_addrs"]),
         json.dumps(d["cc_addrs"]), d["subject"], d["body"], json.dumps(attachments),
         d["status"], d["created_at"], d["updated_at"], d["sent_at"]),
    )  # fmt: skip


# --- what was learned from mail --------------------------------------------------------------
# Mail is not in the file, so the facts' links to it and its learned markers (with what the
# user told her to forget from it) name each mail by its raw hash (`mail.store.message_key`,
# which the mbox keeps) and its Message-ID. They must travel: without them, importing the
# mbox lets that mail teach the forgotten facts again.


def check_mail_links(data: dict[str, Any]) -> None:
    """Check `mail_learned` and each memory's `mail_source_keys` (both optional)."""
    for i, m in enumerate(data.get("memories") or []):
        keys = check_rows(m.get("mail_source_keys", []), f"memories[{i}].mail_source_keys",
                          MAIL_KEY)  # fmt: skip
        for j, key in enumerate(keys):
            _named(key, f"memories[{i}].mail_source_keys[{j}]")
    for i, marker in enumerate(check_rows(data.get("mail_learned", []), "mail_learned", LEARNED)):
        _named(marker, f"mail_learned[{i}]")


def _named(key: dict[str, Any], where: str) -> None:
    if key["raw_hash"] is None and key["message_id"] is None:
        raise ArchiveError(f"{where} names no mail (neither raw_hash nor message_id)")


MailKey = tuple[str | None, str | None]  # (raw hash, Message-ID)


def memory_mail_keys(c: sqlite3.Connection, user: str) -> dict[int, list[MailKey]]:
    """Fact id -> the mail it was learned from, stored or still awaited, by key."""
    keys: dict[int, list[MailKey]] = {}
    stored = c.execute(
        "SELECT s.memory_id, m.raw_hash, m.message_id FROM memory_mail_sources s "
        "JOIN mail_messages m ON m.id = s.mail_id AND m.user_id = s.user_id "
        "WHERE s.user_id = ? ORDER BY m.id",
        (user,),
    ).fetchall()
    awaited = c.execute(
        "SELECT memory_id, raw_hash, message_id FROM memory_mail_sources_pending "
        "WHERE user_id = ? ORDER BY id",
        (user,),
    ).fetchall()
    for memory_id, raw_hash, message_id in stored + awaited:
        found = keys.setdefault(memory_id, [])
        if (raw_hash, message_id) not in found:
            found.append((raw_hash, message_id))
    return keys


def export_mail_learned(c: sqlite3.Connection, user: str) -> list[dict[str, Any]]:
    """Each mail learned from, or with facts to forget, by key: stored mail and awaited."""
    stored = c.execute(
        "SELECT m.raw_hash, m.message_id, l.learned_at, l.forgotten FROM memory_mail_learned l "
        "JOIN mail_messages m ON m.id = l.mail_id AND m.user_id = l.user_id WHERE l.user_id = ? "
        "AND (l.learned_at IS NOT NULL OR json_array_length(l.forgotten) > 0) ORDER BY m.id",
        (user,),
    ).fetchall()
    awaited = c.execute(
        "SELECT raw_hash, message_id, learned_at, forgotten FROM memory_mail_learned_pending "
        "WHERE user_id = ? ORDER BY id",
        (user,),
    ).fetchall()
    markers: dict[MailKey, dict[str, Any]] = {}
    for raw_hash, message_id, learned_at, forgotten in stored + awaited:
        marker = markers.setdefault(
            (raw_hash, message_id),
            {"raw_hash": raw_hash, "message_id": message_id, "learned_at": None, "forgotten": []},
        )
        marker["learned_at"] = max(filter(None, (marker["learned_at"], learned_at)), default=None)
        marker["forgotten"] += [f for f in json.loads(forgotten) if f not in marker["forgotten"]]
    return list(markers.values())


def import_mail_links(
    c: sqlite3.Connection, user: str, data: dict[str, Any], fact_ids: dict[int, int]
) -> None:
    """Restore learned markers and facts' mail links: on the mail if it is stored, and
    pending (applied by a trigger, migration m013) for mail that comes later."""
    for marker in data.get("mail_learned", []):
        key = (marker["raw_hash"], marker["message_id"])
        mail_ids, exact = _stored(c, user, key)
        for mail_id in mail_ids:
            _mark(c, user, mail_id, marker["learned_at"], marker["forgotten"])
        if not exact:
            c.execute(
                "INSERT INTO memory_mail_learned_pending (user_id, raw_hash, message_id, "
                "learned_at, forgotten) VALUES (?, ?, ?, ?, ?)",
                (user, *key, marker["learned_at"], json.dumps(marker["forgotten"])),
            )
    for m in data.get("memories") or []:
        if "mail_source_keys" in m:
            keys = [(k["raw_hash"], k["message_id"]) for k in m["mail_source_keys"]]
        else:  # files before the keys: Message-IDs only
            keys = [(None, mid) for mid in m.get("mail_sources", [])]
        for key in keys:
            mail_ids, exact = _stored(c, user, key)
            c.executemany(
                "INSERT OR IGNORE INTO memory_mail_sources (memory_id, mail_id, user_id) "
                "VALUES (?, ?, ?)",
                [(fact_ids[m["id"]], mail_id, user) for mail_id in mail_ids],
            )
            if not exact:
                c.execute(
                    "INSERT INTO memory_mail_sources_pending (memory_id, user_id, raw_hash, "
                    "message_id) VALUES (?, ?, ?, ?)",
                    (fact_ids[m["id"]], user, *key),
                )


def _stored(c: sqlite3.Connection, user: str, key: MailKey) -> tuple[list[int], bool]:
    """The user's stored mail with this hash or Message-ID, and whether the exact one is."""
    rows = c.execute(
        "SELECT id, raw_hash FROM mail_messages WHERE user_id = ? "
        "AND (raw_hash = ? OR message_id = ?) ORDER BY id",
        (user, *key),
    ).fetchall()
    return [r[0] for r in rows], any(r[1] == key[0] for r in rows)


def _mark(
    c: sqlite3.Connection, user: str, mail_id: int, learned_at: str | None, forgotten: list[str]
) -> None:
    row = c.execute(
        "SELECT learned_at, forgotten FROM memory_mail_learned WHERE mail_id = ? AND user_id = ?",
        (mail_id, user),
    ).fetchone()
    if row is not None:
        learned_at = row[0] or learned_at
        had = json.loads(row[1])
        forgotten = had + [f for f in forgotten if f not in had]
    c.execute(
        "INSERT INTO memory_mail_learned (mail_id, user_id, learned_at, forgotten) "
        "VALUES (?, ?, ?, ?) ON CONFLICT(mail_id) DO UPDATE SET learned_at = excluded.learned_at, "
        "forgotten = excluded.forgotten",
        (mail_id, user, learned_at, json.dumps(forgotten)),
    )
