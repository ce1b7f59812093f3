"""Lexical ranking: a user's words as a safe FTS5 query, ranked by BM25 within their data.

User text never reaches FTS5 syntax: every word is double-quoted, so NEAR, *, -,
parentheses and column filters are only words. Stop words are dropped, because with
OR'ed terms they would match nearly everything and only cost time. `expansion` picks
words shared by the best hits for a second pass (pseudo-relevance feedback), and
`content_words` counts what a text says beyond stop words.
"""

from __future__ import annotations

import re
import sqlite3

_TABLES = {"message": "messages", "memory": "memories"}
COMMON = 5_000  # a term in this many rows (all users') is left out of the query
WIDEN = 4  # how many more matches than asked for are read before keeping the user's
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
STOP_WORDS = frozenset(
    """a about above after again all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into
    is it its itself just me more most my myself no nor not of off on once only or other
    our ours ourselves out over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up
    very was we were what when where which while who whom why will with would you your
    yours yourself yourselves s t don't i'm it's ever kind sort thing things does did get
    got like also really much many""".split()
)


def fts_query(text: str) -> str | None:
    """The words of `text` as an FTS5 query of OR'ed quoted terms, or None if none are left.

    Each term is double-quoted (inner quotes doubled), so NEAR, *, -, parentheses and
    column filters in user text are only words. Stop words are dropped unless nothing
    else is left.
    """
    # "sister's" is indexed as "sister" + "s": search for "sister", or the possessive
    # would never match "Theo's sister is called Anna".
    words = [w.lower() for w in _WORD.findall(text)]
    words = [w if w in STOP_WORDS else w.split("'")[0] for w in words]
    kept = [w for w in words if w not in STOP_WORDS and len(w) > 1] or words
    terms = list(dict.fromkeys(kept))[:32]
    if not terms:
        return None
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)


def _rare_enough(conn: sqlite3.Connection, table: str, match: str) -> str:
    """`match` without the terms found in COMMON or more rows, unless all of them are.

    BM25 over OR'ed terms scores every row that holds any of them: a word in 50,000 of a
    million messages would cost more than the whole rest of a search and, with its low
    IDF, barely change the ranking. Counting stops at COMMON, so the check stays cheap.
    """
    terms = match.split(" OR ")
    if len(terms) < 2:
        return match
    kept = [
        term
        for term in terms
        if conn.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM {table}_fts WHERE {table}_fts MATCH ? LIMIT ?)",
            (term, COMMON),
        ).fetchone()[0]
        < COMMON
    ]
    return " OR ".join(kept) if kept else match


def lexical_ranking(
    conn: sqlite3.Connection, user: str, kind: str, query: str, limit: int
) -> list[int]:
    """Ids of `user`'s messages or memories matching `query`, best BM25 first."""
    match = fts_query(query)
    if match is None:
        return []
    table = _TABLES[kind]
    match = _rare_enough(conn, table, match)
    # The best matches over the whole table first, then only the user's kept: FTS5 alone
    # is ~2x cheaper than joining every match to its row to check the owner. When at least
    # `limit` of them are the user's (or these were all the matches), they are exactly the
    # user's best `limit`: BM25 is computed over the whole table either way.
    wide = limit * WIDEN
    ids = [
        row[0]
        for row in conn.execute(
            f"SELECT rowid FROM {table}_fts WHERE {table}_fts MATCH ? "
            f"ORDER BY bm25({table}_fts) LIMIT ?",
            (match, wide),
        )
    ]
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    mine = {
        row[0]
        for row in conn.execute(
            f"SELECT id FROM {table} WHERE user_id = ? AND id IN ({marks})", (user, *ids)
        )
    }
    ranked = [id_ for id_ in ids if id_ in mine]
    if len(ranked) >= limit or len(ids) < wide:
        return ranked[:limit]
    rows = conn.execute(
        f"SELECT t.id FROM {table}_fts JOIN {table} t ON t.id = {table}_fts.rowid "
        f"WHERE {table}_fts MATCH ? AND t.user_id = ? ORDER BY bm25({table}_fts) LIMIT ?",
        (match, user, limit),
    ).fetchall()
    return [row[0] for row in rows]


def content_words(text: str) -> int:
    """How many words of `text` are not stop words: "Thanks, see you!" has one."""
    return sum(w.lower() not in STOP_WORDS for w in _WORD.findall(text))


def expansion(query: str, docs: list[str], n: int, min_docs: int = 2) -> list[str]:
    """Up to `n` words not in `query` found in at least `min_docs` of `docs` (best first).

    Pseudo-relevance feedback: the best hits of a first pass tend to share the words an
    answer is written in ("painted" for "art", "sunset" for "painting"). Words are ranked
    by the reciprocal ranks of the hits holding them; stop words, numbers and words under
    three letters are left out, and terms common in the whole table are dropped later
    by `_rare_enough` as for any query.
    """
    asked = {w.lower().split("'")[0] for w in _WORD.findall(query)}
    weight: dict[str, float] = {}
    held: dict[str, int] = {}
    for rank, doc in enumerate(docs, 1):
        for w in {w.lower().split("'")[0] for w in _WORD.findall(doc)}:
            if len(w) < 3 or w in STOP_WORDS or w in asked or w.isdigit():
                continue
            held[w] = held.get(w, 0) + 1
            weight[w] = weight.get(w, 0.0) + 1 / rank
    kept = sorted((w for w in weight if held[w] >= min_docs), key=lambda w: (-weight[w], w))
    return kept[:n]
