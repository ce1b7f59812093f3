"""The rows behind ranked candidates, and the turns beside the best ones.

Search ranks ids; this loads what they are (only rows that still exist and belong to
the user, with their provenance) and lends part of a strong turn's score to the turns
just before and after it in its conversation, where the answer often is. It also runs
the second, feedback-expanded lexical pass over the words of the best candidates.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any, Literal

from .lexical import expansion, lexical_ranking

if TYPE_CHECKING:
    from .search import Tuning

Kind = Literal["message", "memory"]
REACH = 1_000  # how many ids away a neighbouring turn is looked for


def load(
    conn: sqlite3.Connection, user: str, scores: dict[tuple[Kind, int], dict[str, float]]
) -> dict[tuple[Kind, int], dict[str, Any]]:
    """Rows of the candidates that still exist and belong to `user`."""
    items: dict[tuple[Kind, int], dict[str, Any]] = {}
    kind: Kind
    for kind in ("message", "memory"):
        ids = [id_ for k, id_ in scores if k == kind]
        for a in range(0, len(ids), 500):
            chunk = ids[a : a + 500]
            marks = ",".join("?" * len(chunk))
            if kind == "message":
                sql = (
                    "SELECT id, content, created_at AS time, conversation_id, 0.5 AS importance, "
                    f"'active' AS status FROM messages WHERE user_id = ? AND id IN ({marks})"
                )
            else:
                sql = (
                    "SELECT id, content, recorded_at AS time, NULL AS conversation_id, "
                    f"importance, status FROM memories WHERE user_id = ? AND id IN ({marks})"
                )
            for row in conn.execute(sql, (user, *chunk)):
                item = dict(row)
                item["sources"] = (row["id"],) if kind == "message" else ()
                items[(kind, row["id"])] = item
        if kind == "memory" and ids:
            for key, item in items.items():
                if key[0] == "memory":
                    item["sources"] = tuple(
                        r[0]
                        for r in conn.execute(
                            "SELECT message_id FROM memory_sources WHERE user_id = ? "
                            "AND memory_id = ? ORDER BY message_id",
                            (user, key[1]),
                        )
                    )
    return items


def lend_to_neighbours(
    conn: sqlite3.Connection,
    user: str,
    items: dict[tuple[Kind, int], dict[str, Any]],
    scores: dict[tuple[Kind, int], dict[str, float]],
    t: Tuning,
) -> None:
    """Give the turns just before and after each of the best turns a share of its score."""
    best = sorted(
        (key for key in items if key[0] == "message"), key=lambda key: -scores[key]["rrf"]
    )[: t.neighbour_from]
    lent: dict[int, float] = {}
    for key in best:
        item = items[key]
        # Bounded: the first turn of a conversation has no previous one, and an unbounded
        # search for it would walk back through every older message of the user.
        for low, high, order in (
            (key[1] - REACH, key[1] - 1, "DESC"),
            (key[1] + 1, key[1] + REACH, "ASC"),
        ):
            row = conn.execute(
                "SELECT id FROM messages WHERE user_id = ? AND conversation_id = ? "
                f"AND id BETWEEN ? AND ? ORDER BY id {order} LIMIT 1",
                (user, item["conversation_id"], low, high),
            ).fetchone()
            if row is not None:
                share = t.neighbour * scores[key]["rrf"]
                lent[row[0]] = max(lent.get(row[0], 0.0), share)
    new: dict[tuple[Kind, int], dict[str, float]] = {
        ("message", id_): {"rrf": 0.0} for id_ in lent if ("message", id_) not in scores
    }
    scores.update(new)
    items.update(load(conn, user, new))
    for id_, share in lent.items():
        signals = scores[("message", id_)]
        signals["neighbour"] = share
        signals["rrf"] += share


def feed_back(
    conn: sqlite3.Connection,
    user: str,
    query: str,
    kinds: tuple[Kind, ...],
    items: dict[tuple[Kind, int], dict[str, Any]],
    scores: dict[tuple[Kind, int], dict[str, float]],
    t: Tuning,
) -> bool:
    """Rank again with the query plus words shared by the best candidates (`feedback_rank`).

    Returns whether a second pass ran; candidates it adds are loaded into `items`.
    """
    best = sorted(items, key=lambda key: -scores[key]["rrf"])[: t.feedback_docs]
    extra = expansion(query, [items[key]["content"] for key in best], t.feedback_terms)
    if not extra:
        return False
    wider = f"{query} {' '.join(extra)}"
    for kind in kinds:
        for rank, id_ in enumerate(lexical_ranking(conn, user, kind, wider, t.depth), 1):
            scores.setdefault((kind, id_), {"rrf": 0.0})["feedback_rank"] = rank
    items.update(load(conn, user, {key: s for key, s in scores.items() if key not in items}))
    return True
