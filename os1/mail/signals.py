"""What triage looks at: sender history, and the features and word lists of one message."""

from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..store import Store
from .accounts import my_addresses

Row = sqlite3.Row | Mapping[str, Any]
FREEMAIL = frozenset(
    "gmail.com googlemail.com yahoo.com ymail.com outlook.com hotmail.com live.com msn.com "
    "icloud.com me.com mac.com aol.com proton.me protonmail.com gmx.com gmx.de gmx.net web.de "
    "fastmail.com fastmail.fm mail.com zoho.com yandex.com yandex.ru hey.com tutanota.com".split()
)


def _words(pattern: str) -> re.Pattern[str]:
    return re.compile(rf"\b(?:{pattern})\b", re.IGNORECASE)


NOREPLY = re.compile(r"no[-_.]?reply|do[-_.]?not[-_.]?reply|mailer-daemon|bounce", re.I)
ROLE = _words(
    r"notifications?|alerts?|billing|invoices?|receipts?|orders?|shipping|shipment[-\w]*|"
    r"accounts?|security|support|service|statements?|payments?|bookings?|reservations?|"
    r"automated|calendar[-\w]*|jira|github|tickets?|frontdesk|office|pharmacy|auto[-\w]*|"
    r"payroll|hr|helpdesk|it-?support|admin|postmaster"
)
BULK_ROLE = _words(r"news|newsletters?|hello|team|info|marketing|updates?|digest|events|editors?")
TXN = {
    "security": _words(r"sign[- ]?in|log[- ]?in attempt|security (?:alert|notice|code)|2fa|"
                       r"password|verification code|verify your (?:email|identity)|one-time"),
    "order": _words(r"order (?:#|no\.?|number)?\s*\w*\d|your order|has shipped|shipped|"
                    r"out for delivery|delivered|tracking|track your (?:package|order)"),
    "payment": _words(r"receipt|invoice|amount due|payment|charged|refund|statement|"
                      r"balance|billing|subscription|renews?"),
    "booking": _words(r"reservation|booking|itinerary|check-in|confirmation (?:code|number)|"
                      r"appointment|prescription|ticket"),
}  # fmt: skip
TXN_NAMES = {
    "security": "A security or password notice", "order": "Order or delivery news",
    "payment": "A receipt, bill or statement", "booking": "A booking or appointment",
}  # fmt: skip
NEWS = _words(
    r"newsletter|digest|view (?:this email )?in (?:your )?browser|read more|this week|"
    r"issue #?\d+|edition|manage (?:your )?(?:email )?preferences|update your preferences|"
    r"opt[- ]out|subscribe|you(?:'re| are) (?:on this list|receiving this)|weekly|sale"
)
UNSUB = _words(r"unsubscribe|opt[- ]out|manage (?:your )?(?:email )?preferences")
SPAM = _words(
    r"lottery|winner|you have won|claim your (?:prize|reward)|prize|inheritance|beneficiary|"
    r"next of kin|million (?:dollars|usd)|\$\d{1,3}(?:,\d{3}){2,}|"
    r"wire (?:the )?(?:payment|transfer)|"
    r"bank details|v[i1]agra|c[i1]alis|no prescription|pharmacy online|bitcoin|crypto|"
    r"guaranteed (?:profit|returns?)|risk[- ]free|act now|limited (?:time|spots)|click here|"
    r"hot singles|weird trick|lose \d+ ?lbs|100% (?:free|natural)|account (?:has been|will be) "
    r"(?:suspended|closed)|unusual activity|verify your (?:identity|account) here|"
    r"seo|first page (?:of google)?|more traffic|came across your (?:website|profile)|"
    r"business proposal"
)
INJECTION = re.compile(
    r"ignore (?:all |any )?(?:the )?(?:previous|prior|above) (?:instructions|prompts?)|"
    r"(?:ai|language model|llm|assistant)s?\b.{0,40}\b(?:reading this|instructions?)|"
    r"mark (?:this|it) (?:email |message )?as important|archive everything|system prompt",
    re.IGNORECASE,
)
WORK = _words(
    r"meeting|deadline|project|review|roadmap|deck|slides|client|proposal|contract|budget|"
    r"sprint|standup|agenda|launch|migration|hiring|candidate|interview|metrics|quarter|q[1-4]|"
    r"offsite|onboarding|sign off|fyi|staging|release|deploy|legal|finance|team"
)
PERSONAL = _words(
    r"love|mom|dad|mum|grandma|kids?|dinner|lunch|weekend|birthday|wedding|party|picnic|"
    r"hugs?|miss you|family|photos?|trip|holiday|vacation|xx+"
)
ACTION = _words(
    r"new sign-in|security alert|reset your password|password reset|unusual activity|"
    r"appointment|reminder|ready for pickup|amount due|payment due|payable|overdue|past due|"
    r"action required|expires? (?:soon|today|tomorrow)"
)
DEADLINE = _words(
    r"(?:by|before|until|due|no later than) (?:(?:this |next )?(?:mon|tues|wednes|thurs|fri|"
    r"satur|sun)day|tomorrow|tonight|today|noon|end of (?:the )?(?:day|week|month)|eod|eow|"
    r"the \d{1,2}(?:st|nd|rd|th)?)|deadline|asap|due (?:on|date)|expires? (?:in|on|today)"
)
QUESTION = re.compile(
    r"\?|\b(?:can|could|would|will) you\b|\bplease (?:send|review|confirm|let me know|call)",
    re.IGNORECASE,
)


@dataclass
class History:
    """What the user's mail says about senders: computed once per triage run."""

    mine: set[str]
    my_domains: set[str]
    received: Counter[str]
    wrote_to: Counter[str]
    """Sent messages addressed to (or replying to) each address."""
    book: set[str]
    answered_threads: set[int]


async def load_history(store: Store, user: str) -> History:
    mine = await my_addresses(store, user)

    def read(c: sqlite3.Connection) -> History:
        def q(sql: str) -> sqlite3.Cursor:
            return c.execute(f"SELECT {sql}", (user,))

        where = "FROM mail_messages WHERE user_id = ?"
        me = mine | {a for (a,) in q(f"DISTINCT lower(from_addr) {where} AND from_me = 1") if a}
        received = Counter(
            dict(q(f"lower(from_addr), count(*) {where} AND from_me = 0 GROUP BY 1"))
        )
        wrote: Counter[str] = Counter()
        threads: set[int] = set()
        for to, cc, replied, thread in q(
            "s.to_addrs, s.cc_addrs, lower(o.from_addr), s.thread_id FROM mail_messages s "
            "LEFT JOIN mail_messages o ON o.user_id = s.user_id AND o.message_id = s.in_reply_to "
            "AND s.in_reply_to IS NOT NULL WHERE s.user_id = ? AND s.from_me = 1"
        ):
            addresses = {*json.loads(to or "[]"), *json.loads(cc or "[]"), replied} - {None}
            wrote.update(a.lower() for a in addresses - me)
            if thread is not None:
                threads.add(int(thread))
        answered = f"DISTINCT thread_id {where} AND flags LIKE '%\\Answered%'"
        threads.update(t for (t,) in q(answered) if t is not None)
        try:
            book = {e.lower() for (e,) in q("email FROM people_emails WHERE user_id = ?")}
        except sqlite3.OperationalError:  # no address book in this database
            book = set()
        domains = {a.rsplit("@", 1)[-1] for a in me if "@" in a} - FREEMAIL
        return History(me, domains, received, wrote, book, threads)

    return await store.read(read)


def _domain_root(domain: str) -> str:
    return ".".join(domain.split(".")[-2:])


def _person_like(name: str, local: str) -> bool:
    """A person's name that their address repeats ("Amy Chen" <amy.chen@…>, <achen@…>).

    Brands use names too ("Morning Brew" <crew@…>); a person's address nearly always
    carries their first or last name, a brand's rarely does.
    """
    words = [w.lower() for w in re.findall(r"[A-Za-z]+", name)]
    if not 1 <= len(words) <= 3 or ROLE.search(name) or BULK_ROLE.search(name):
        return bool(re.fullmatch(r"[a-z]+[._][a-z]+\d{0,3}", local)) and not ROLE.search(local)
    letters = re.sub(r"[^a-z]", "", local)
    return any(len(w) > 1 and w in letters for w in words) or (
        len(words) > 1 and letters.startswith(words[0][0]) and words[-1] in letters
    )


def features(row: Row, history: History) -> dict[str, Any]:
    """Everything the rules look at, from one mail_messages row and the sender history."""
    headers = json.loads(row["headers"] or "{}")
    sender = (row["from_addr"] or "").lower()
    local, _, domain = sender.rpartition("@")
    name = (row["from_name"] or "").strip()
    to = [a.lower() for a in json.loads(row["to_addrs"] or "[]")]
    cc = [a.lower() for a in json.loads(row["cc_addrs"] or "[]")]
    subject, body = row["subject"] or "", (row["body"] or "")[:4000]
    text = f"{subject}\n{body}"
    spam_status = headers.get("x-spam-status", "").lower()
    reply_to = headers.get("reply-to", "").lower().rsplit("@", 1)[-1].strip("> ")
    priority = headers.get("importance", "").lower() == "high" or headers.get(
        "x-priority", ""
    ).strip()[:1] in ("1", "2")
    flags = row["flags"] or ""
    mine = history.mine
    addressed = "to" if mine & set(to) else ("cc" if mine & set(cc) else "other")
    return {
        "sender": sender,
        "name": name,
        "domain": domain,
        "list": bool(headers.get("list-id")),
        "unsubscribe_header": bool(headers.get("list-unsubscribe")),
        "bulk": headers.get("precedence", "").lower() in ("bulk", "list", "junk"),
        "auto": headers.get("auto-submitted", "no").lower() not in ("", "no"),
        "spam_flag": headers.get("x-spam-flag", "").lower().startswith("yes")
        or spam_status.startswith("yes"),
        "noreply": bool(NOREPLY.search(local)),
        "role": bool(ROLE.search(local)),
        "bulk_role": bool(BULK_ROLE.search(local)),
        "priority": priority,
        "reply_elsewhere": bool(reply_to) and _domain_root(reply_to) != _domain_root(domain),
        "received": history.received[sender],
        "wrote_to": history.wrote_to[sender],
        "in_book": sender in history.book,
        "colleague": domain in history.my_domains,
        "freemail": domain in FREEMAIL,
        "person": _person_like(name, local),
        "answered": "\\Answered" in flags or row["thread_id"] in history.answered_threads,
        "flagged": "\\Flagged" in flags,
        "addressed": addressed,
        "question": bool(QUESTION.search(body)),
        "deadline": bool(DEADLINE.search(text)),
        "txn": [k for k, rx in TXN.items() if rx.search(text)],
        "action": bool(ACTION.search(text)),
        "news": len(set(m.lower() for m in NEWS.findall(text))),
        "unsubscribe_text": bool(UNSUB.search(body)),
        "spam": sorted({m.lower() for m in SPAM.findall(text)}),
        "injection": bool(INJECTION.search(text)),
        "work": len({m.lower() for m in WORK.findall(text)}),
        "personal": len({m.lower() for m in PERSONAL.findall(text)}),
    }
