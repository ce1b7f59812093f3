import json
from typing import Any

import pytest

from os1 import archive
from os1.companion import Companion
from os1.config import load_config
from os1.testing import ScriptedModel


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
