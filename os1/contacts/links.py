"""Who someone is to the user: a person linked to what she remembers about them."""

from __future__ import annotations

import re
import sqlite3

from ..memory.lexical import fts_query
from ..store import Store
from .people import Person


def _phrase(content: str, name: str) -> str:
    """ "Amy is Theo's college friend." -> "college friend"; "Amy lives upstairs." -> the rest."""
    text = content.strip().rstrip(".!")
    n = re.escape(name)
    owner = r"(?:[\w'’-]+['’]s |the user's |my |his |her |their )?"
    for pattern in (
        rf"^{n} is (?:a |an |the )?{owner}(.+)$",
        rf"^[\w'’-]+['’]s (.+?) is (?:called |named )?{n}$",
        rf"^[\w'’-]+['’]s (.+?),? {n},? (.+)$",
        rf"^{n}(?:['’]s)? (.+)$",
    ):
        m = re.match(pattern, text, flags=re.IGNORECASE)
        if m:
            return ", ".join(g.strip() for g in m.groups() if g and g.strip())
    return text


def remembered(c: sqlite3.Connection, user: str, person: Person, limit: int = 4) -> list[str]:
    """What active memories say about `person`, each as a short phrase."""
    first = person.name.split()[0] if person.name.split() else ""
    if not first or "@" in person.name:
        return []
    names = [person.name]
    # A first name alone counts only if no one else the user knows has it.
    shared = c.execute(
        "SELECT count(*) FROM people WHERE user_id = ? AND merged_into IS NULL AND id != ? "
        "AND (name = ? COLLATE NOCASE OR name LIKE ? ESCAPE '\\')",
        (user, person.id, first, first.replace("\\", "\\\\").replace("%", "\\%")
         .replace("_", "\\_") + " %"),
    ).fetchone()[0]  # fmt: skip
    if not shared and first != person.name:
        names.append(first)
    match = fts_query(first)
    if match is None:
        return []
    rows = c.execute(
        "SELECT m.content FROM memories_fts JOIN memories m ON m.id = memories_fts.rowid "
        "WHERE memories_fts MATCH ? AND m.user_id = ? AND m.status = 'active' "
        "ORDER BY m.importance DESC, m.recorded_at DESC LIMIT 200",
        (match, user),
    ).fetchall()
    phrases: list[str] = []
    for (content,) in rows:
        for name in names:
            if re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", content, re.IGNORECASE):
                phrase = _phrase(content, name)
                if phrase and phrase not in phrases:
                    phrases.append(phrase)
                break
        if len(phrases) >= limit:
            break
    return phrases


async def describe(store: Store, user: str, person: Person) -> str:
    """One line: who this is to the user, e.g. "Amy — college friend, lives upstairs"."""
    phrases = [person.relation] if person.relation else []
    phrases += await store.read(lambda c: remembered(c, user, person))
    if not phrases:
        phrases = [x for x in (person.org, person.emails[0] if person.emails else "") if x][:1]
    return f"{person.name} — {', '.join(phrases)}" if phrases else person.name
