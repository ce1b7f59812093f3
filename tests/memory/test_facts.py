"""The fact store keeps every value a slot has had, links them, and forgets only on request."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import pytest

from os1.memory import facts as fs
from os1.memory.facts import Fact
from os1.store import Store

T0 = "2023-01-05T10:00:00+00:00"
T1 = "2023-05-08T10:00:00+00:00"
T2 = "2023-06-01T10:00:00+00:00"


async def seed(store: Store, *users: str) -> dict[str, list[int]]:
    """Users, one conversation each, and five messages each; returns message ids per user."""

    def write(c: sqlite3.Connection) -> dict[str, list[int]]:
        ids: dict[str, list[int]] = {}
        for user in users:
            c.execute("INSERT INTO users (id, created_at) VALUES (?, ?)", (user, T0))
            conv = c.execute(
                "INSERT INTO conversations (user_id, started_at) VALUES (?, ?)", (user, T0)
            ).lastrowid
            ids[user] = [
                int(
                    c.execute(
                        "INSERT INTO messages (user_id, conversation_id, role, content, "
                        "created_at) VALUES (?, ?, 'user', ?, ?)",
                        (user, conv, f"message {i}", T0),
                    ).lastrowid
                    or 0
                )
                for i in range(5)
            ]
        return ids

    return await store.write(write)


def add(fact: Fact, sources: list[int], at: str = T1, **kw: Any) -> Callable[..., Any]:
    return lambda c: fs.add_fact(
        c, kw.pop("user", "theo"), fact, sources=sources, recorded_at=at, extractor="test", **kw
    )


def home(city: str, since: str | None = None, kind: str = "state") -> Fact:
    return Fact(kind, "home.city", f"Theo lives in {city}.", 0.6, 0.7, since)


async def test_supersession_keeps_and_links_the_old_value(store: Store) -> None:
    msgs = (await seed(store, "theo"))["theo"]
    first = await store.write(add(home("Boston"), [msgs[0]], T0))
    second = await store.write(add(home("LA", "2023-03-01T00:00:00+00:00"), [msgs[1]]))
    assert second.superseded == [first.id] and second.duplicate_of is None
    old = await store.read(lambda c: fs.get_fact(c, "theo", first.id))
    assert old is not None
    assert old.status == "superseded" and old.superseded_by == second.id
    assert old.valid_until == "2023-03-01T00:00:00+00:00"  # closed where the new one opened
    current = await store.read(lambda c: fs.facts(c, "theo"))
    assert [f.content for f in current] == ["Theo lives in LA."]
    assert current[0].sources == (msgs[1],)


async def test_the_story_of_a_slot(store: Store) -> None:
    msgs = (await seed(store, "theo"))["theo"]
    await store.write(add(home("Boston"), [msgs[0]], T0))
    await store.write(add(home("LA", "2023-03-01T00:00:00+00:00"), [msgs[1]]))
    history = await store.read(lambda c: fs.slot_history(c, "theo", "Home.City"))
    assert [f.content for f in history] == ["Theo lives in Boston.", "Theo lives in LA."]
    assert fs.story(history) == (
        "Until March 2023: Theo lives in Boston.\nSince March 2023: Theo lives in LA. (now)"
    )


async def test_a_late_told_older_state_becomes_history(store: Store) -> None:
    msgs = (await seed(store, "theo"))["theo"]
    la = await store.write(add(home("LA", "2023-03-01T00:00:00+00:00"), [msgs[0]]))
    old = await store.write(add(home("Boston", "2019-01-01T00:00:00+00:00"), [msgs[1]], T2))
    assert old.superseded == []
    boston = await store.read(lambda c: fs.get_fact(c, "theo", old.id))
    assert boston is not None and boston.status == "superseded" and boston.superseded_by == la.id
    current = await store.read(lambda c: fs.facts(c, "theo"))
    assert [f.id for f in current] == [la.id]
    history = await store.read(lambda c: fs.slot_history(c, "theo", "home.city"))
    assert [f.id for f in history] == [old.id, la.id]  # in world time, not telling order


async def test_duplicates_reinforce(store: Store) -> None:
    msgs = (await seed(store, "theo"))["theo"]
    sister = Fact("relationship", "sister.name", "Theo's sister is called Anna.", 0.5)
    first = await store.write(add(sister, [msgs[0]]))
    again = Fact("relationship", "sister.name", "theo's sister is named anna", 0.5)
    second = await store.write(add(again, [msgs[2]], T2))
    assert second.id == first.id and second.duplicate_of == first.id
    assert second.superseded == []
    kept = await store.read(lambda c: fs.facts(c, "theo"))
    assert len(kept) == 1
    assert kept[0].sources == (msgs[0], msgs[2])
    assert kept[0].confidence == pytest.approx(0.75)
    assert kept[0].content == "Theo's sister is called Anna."


async def test_preferences_coexist_but_opposites_replace(store: Store) -> None:
    msgs = (await seed(store, "theo"))["theo"]
    coffee = await store.write(add(Fact("preference", "likes:coffee", "Theo loves coffee."), []))
    await store.write(add(Fact("preference", "likes:tea", "Theo likes tea."), []))
    assert len(await store.read(lambda c: fs.facts(c, "theo"))) == 2
    hate = Fact("preference", "dislikes:coffee", "Theo can't stand coffee.")
    result = await store.write(add(hate, [msgs[0]], T2))
    assert result.superseded == [coffee.id]
    now = await store.read(lambda c: fs.facts(c, "theo", kinds=("preference",)))
    assert sorted(f.content for f in now) == ["Theo can't stand coffee.", "Theo likes tea."]


async def test_events_at_other_times_both_stand(store: Store) -> None:
    await seed(store, "theo")
    ev = Fact("event", "went:beach", "Theo went to the beach.", valid_from="2023-05-06")
    other = Fact("event", "went:beach", "Theo went to the beach.", valid_from="2023-04-01")
    a = await store.write(add(ev, []))
    b = await store.write(add(other, []))
    assert a.id != b.id and b.duplicate_of is None and b.superseded == []
    assert len(await store.read(lambda c: fs.facts(c, "theo", kinds=("event",)))) == 2


async def test_pending_never_supersedes_until_confirmed(store: Store) -> None:
    msgs = (await seed(store, "theo"))["theo"]
    boston = await store.write(add(home("Boston"), [msgs[0]], T0))
    doc = await store.write(add(home("Paris"), [msgs[1]], origin="document", status="pending"))
    assert doc.superseded == []
    active = await store.read(lambda c: fs.facts(c, "theo"))
    assert [f.id for f in active] == [boston.id]
    pending = await store.read(lambda c: fs.facts(c, "theo", statuses=("pending",)))
    assert [f.id for f in pending] == [doc.id]
    assert await store.read(lambda c: fs.slot_history(c, "theo", "home.city")) == active
    closed = await store.write(lambda c: fs.confirm_fact(c, "theo", doc.id))
    assert closed == [boston.id]
    now = await store.read(lambda c: fs.facts(c, "theo"))
    assert [(f.id, f.origin) for f in now] == [(doc.id, "document")]


async def test_the_user_saying_a_pending_fact_confirms_it(store: Store) -> None:
    msgs = (await seed(store, "theo"))["theo"]
    old = await store.write(add(home("Boston"), [msgs[0]], T0))
    doc = await store.write(add(home("Paris"), [], origin="mail", status="pending"))
    said = await store.write(add(home("Paris"), [msgs[3]], T2))
    assert said.duplicate_of == doc.id and said.superseded == [old.id]
    fact = await store.read(lambda c: fs.get_fact(c, "theo", doc.id))
    assert fact is not None and fact.status == "active" and fact.sources == (msgs[3],)


async def test_correction(store: Store) -> None:
    msgs = (await seed(store, "theo"))["theo"]
    wrong = await store.write(
        add(Fact("relationship", "sister.name", "Theo's sister is called Anne.", 0.6), [msgs[0]])
    )
    new_id = await store.write(
        lambda c: fs.correct_fact(
            c, "theo", wrong.id, "Theo's sister is called Anna.", message_id=msgs[1], at=T2
        )
    )
    new = await store.read(lambda c: fs.get_fact(c, "theo", new_id))
    old = await store.read(lambda c: fs.get_fact(c, "theo", wrong.id))
    assert new is not None and old is not None
    assert (new.origin, new.confidence, new.slot, new.sources) == (
        "user",
        1.0,
        "sister.name",
        (msgs[1],),
    )
    assert old.status == "superseded" and old.superseded_by == new_id
    history = await store.read(lambda c: fs.slot_history(c, "theo", "sister.name"))
    assert "you corrected it" in fs.story(history).splitlines()[0]
    assert "Anna" in fs.story(history).splitlines()[1]


async def test_forget_fact_deletes_row_sources_and_vector(store: Store) -> None:
    msgs = (await seed(store, "theo"))["theo"]
    boston = await store.write(add(home("Boston"), [msgs[0]], T0))
    la = await store.write(add(home("LA"), [msgs[1]]))

    def vector(c: sqlite3.Connection) -> None:
        c.execute(
            "INSERT INTO vectors (kind, item_id, user_id, model, vector) "
            "VALUES ('memory', ?, 'theo', 'e5', x'00')",
            (la.id,),
        )

    await store.write(vector)
    await store.write(lambda c: fs.forget_fact(c, "theo", la.id))

    def left(c: sqlite3.Connection) -> tuple[int, int, int]:
        return (
            c.execute("SELECT count(*) FROM memories WHERE id = ?", (la.id,)).fetchone()[0],
            c.execute(
                "SELECT count(*) FROM memory_sources WHERE memory_id = ?", (la.id,)
            ).fetchone()[0],
            c.execute("SELECT count(*) FROM vectors WHERE item_id = ?", (la.id,)).fetchone()[0],
        )

    assert await store.read(left) == (0, 0, 0)
    old = await store.read(lambda c: fs.get_fact(c, "theo", boston.id))
    assert old is not None and old.status == "superseded" and old.superseded_by is None
    with pytest.raises(fs.FactNotFound):
        await store.write(lambda c: fs.forget_fact(c, "theo", la.id))


async def test_forget_messages_cascades(store: Store) -> None:
    msgs = (await seed(store, "theo"))["theo"]
    only = await store.write(add(Fact("identity", "age", "Theo is 42."), [msgs[0]]))
    both = await store.write(add(Fact("state", "job", "Theo writes letters."), msgs[0:2]))
    other = await store.write(add(Fact("plan", "trip", "Theo will fly."), [msgs[2]]))
    assert await store.write(lambda c: fs.forget_messages(c, "theo", [msgs[0], msgs[4]])) == 1
    assert await store.read(lambda c: fs.get_fact(c, "theo", only.id)) is None
    kept = await store.read(lambda c: fs.get_fact(c, "theo", both.id))
    assert kept is not None and kept.sources == (msgs[1],)
    untouched = await store.read(lambda c: fs.get_fact(c, "theo", other.id))
    assert untouched is not None and untouched.sources == (msgs[2],)


async def test_users_are_isolated(store: Store) -> None:
    msgs = await seed(store, "theo", "amy")
    theo = await store.write(add(home("Boston"), [msgs["theo"][0]]))
    # Amy's facts in the same slot neither supersede nor duplicate Theo's.
    amy = await store.write(add(home("Boston"), [msgs["amy"][0]], user="amy"))
    assert amy.id != theo.id and amy.superseded == [] and amy.duplicate_of is None
    await store.write(add(home("LA"), [msgs["amy"][1]], T2, user="amy"))
    assert await store.read(lambda c: fs.get_fact(c, "amy", theo.id)) is None
    assert [f.id for f in await store.read(lambda c: fs.facts(c, "theo"))] == [theo.id]
    assert len(await store.read(lambda c: fs.slot_history(c, "amy", "home.city"))) == 2
    for attempt in (
        lambda c: fs.forget_fact(c, "amy", theo.id),
        lambda c: fs.correct_fact(c, "amy", theo.id, "Theo lives in Rome."),
        lambda c: fs.confirm_fact(c, "amy", theo.id),
    ):
        with pytest.raises(fs.FactNotFound):
            await store.write(attempt)
    # Amy can't cite Theo's messages as her sources, nor cascade-delete his facts.
    with pytest.raises(ValueError):
        await store.write(add(home("Oslo"), [msgs["theo"][1]], user="amy"))
    assert await store.write(lambda c: fs.forget_messages(c, "amy", msgs["theo"])) == 0
    fact = await store.read(lambda c: fs.get_fact(c, "theo", theo.id))
    assert fact is not None and fact.status == "active" and fact.sources == (msgs["theo"][0],)


async def test_bad_input_is_refused(store: Store) -> None:
    await seed(store, "theo")
    with pytest.raises(ValueError):
        await store.write(add(Fact("gossip", None, "Theo is nice."), []))
    with pytest.raises(ValueError):
        await store.write(add(Fact("state", None, "   "), []))
    with pytest.raises(ValueError):
        await store.write(add(Fact("state", None, "x", valid_from="last year"), []))
