"""The letter studio's store: letters per recipient, edits kept as versions, drafts from notes."""

from __future__ import annotations

import pytest

from os1.letters import studio
from os1.letters.studio import LetterError
from os1.store import Store
from os1.testing import ScriptedModel


async def test_letters_are_kept_per_recipient_and_per_user(store: Store) -> None:
    first = await studio.new_letter(store, "theo", "Catherine", "Dear Catherine,\n\nHello.")
    await studio.new_letter(store, "theo", "Roger", "Dear Roger,", written_for="Loretta")
    later = await studio.new_letter(
        store, "theo", "  catherine ", "Dear Cat,\r\n\r\nAgain.  ", title=" Sorry  again "
    )
    await studio.new_letter(store, "amy", "Catherine", "Amy's own letter.")

    assert later.recipient == "catherine" and later.title == "Sorry again"
    assert later.body == "Dear Cat,\n\nAgain."  # Unix newlines, no trailing blanks
    history = await studio.history(store, "theo", "CATHERINE")
    assert [x.id for x in history] == [first.id, later.id]
    assert [x.recipient for x in await studio.list_letters(store, "theo")] == [
        "Catherine", "Roger", "catherine",
    ]  # fmt: skip
    clients = await studio.list_letters(store, "theo", written_for="loretta")
    assert [(x.recipient, x.written_for) for x in clients] == [("Roger", "Loretta")]
    assert [x.body for x in await studio.history(store, "amy", "Catherine")] == [
        "Amy's own letter."
    ]
    with pytest.raises(LetterError, match=f"no letter #{first.id}"):
        await studio.get_letter(store, "amy", first.id)  # one user never sees another's


async def test_names_match_in_any_script(store: Store) -> None:
    await studio.new_letter(store, "theo", "Émile", "Cher Émile,")
    assert len(await studio.history(store, "theo", "ÉMILE")) == 1
    assert await studio.history(store, "theo", "Emile") == []


async def test_every_edit_keeps_the_text_it_replaces(store: Store) -> None:
    letter = await studio.new_letter(store, "theo", "Catherine", "First text.")
    await studio.edit_letter(store, "theo", letter.id, body="Second text.")
    same = await studio.edit_letter(store, "theo", letter.id, body="Second text.")
    assert same.versions == 1  # saving the same text again is not a new version
    renamed = await studio.edit_letter(store, "theo", letter.id, title="Us", status="final")
    assert (renamed.title, renamed.status, renamed.versions) == ("Us", "final", 1)
    third = await studio.edit_letter(store, "theo", letter.id, body="Third text.")
    assert third.versions == 2
    kept = await studio.versions(store, "theo", letter.id)
    assert [v.body for v in kept] == ["First text.", "Second text."]

    back = await studio.revert(store, "theo", letter.id)
    assert back.body == "Second text."
    assert back.versions == 3  # the text it replaced is kept too: nothing is lost
    oldest = await studio.revert(store, "theo", letter.id, kept[0].id)
    assert oldest.body == "First text."
    bodies = [v.body for v in await studio.versions(store, "theo", letter.id)]
    assert "Third text." in bodies and "Second text." in bodies


async def test_revert_without_edits_and_unknown_versions_are_clear_errors(store: Store) -> None:
    letter = await studio.new_letter(store, "theo", "Catherine", "Only text.")
    with pytest.raises(LetterError, match="no earlier text"):
        await studio.revert(store, "theo", letter.id)
    await studio.edit_letter(store, "theo", letter.id, body="New text.")
    with pytest.raises(LetterError, match="no version #999"):
        await studio.revert(store, "theo", letter.id, 999)


async def test_who_it_is_written_for_can_be_set_and_cleared(store: Store) -> None:
    letter = await studio.new_letter(store, "theo", "Roger", "Dear Roger,")
    assert letter.written_for is None
    set_ = await studio.edit_letter(store, "theo", letter.id, written_for="Loretta")
    assert set_.written_for == "Loretta"
    cleared = await studio.edit_letter(store, "theo", letter.id, clear_written_for=True)
    assert cleared.written_for is None


async def test_deleting_takes_the_versions_and_restoring_brings_all_back(store: Store) -> None:
    letter = await studio.new_letter(store, "theo", "Catherine", "One.", written_for="Paul")
    await studio.edit_letter(store, "theo", letter.id, body="Two.")
    snapshot = await studio.delete_letter(store, "theo", letter.id)
    assert await studio.list_letters(store, "theo") == []
    assert await store.query("SELECT * FROM letter_versions") == []
    with pytest.raises(LetterError, match="someone else"):
        await studio.restore_letter(store, "amy", snapshot)
    back = await studio.restore_letter(store, "theo", snapshot)
    assert (back.id, back.body, back.written_for, back.versions) == (letter.id, "Two.", "Paul", 1)
    assert [v.body for v in await studio.versions(store, "theo", back.id)] == ["One."]


async def test_a_letter_to_someone_in_the_address_book_is_linked_to_them(store: Store) -> None:
    await studio.new_letter(store, "theo", "Someone", "Creates the user row.")
    person = await store.execute_write(
        "INSERT INTO people (user_id, name, created_at, updated_at) VALUES (?, ?, ?, ?)",
        ("theo", "Amy Axelrod", "2025-01-01", "2025-01-01"),
    )
    letter = await studio.new_letter(store, "theo", "amy axelrod", "Dear Amy,")
    row = await store.query_one("SELECT person_id FROM letters WHERE id = ?", (letter.id,))
    assert row is not None and row["person_id"] == person


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"body": ""}, "empty"),
        ({"body": " \n\t\n "}, "empty"),
        ({"body": "x" * 1_000_000}, "1,000,000 characters"),
        ({"body": "PDF\x00\x01binary"}, "binary"),
        ({"recipient": "  "}, "recipient needs a name"),
        ({"title": "t" * 500}, "title is longer"),
        ({"written_for": "c" * 500}, "client's name is longer"),
    ],
)
async def test_bad_input_is_refused_and_nothing_is_saved(
    store: Store, kwargs: dict[str, str], message: str
) -> None:
    args = {"recipient": "Catherine", "body": "Dear Catherine,", **kwargs}
    recipient, body = args.pop("recipient"), args.pop("body")
    with pytest.raises(LetterError, match=message):
        await studio.new_letter(store, "theo", recipient, body, **args)
    assert await studio.list_letters(store, "theo") == []


async def test_bad_edits_leave_the_letter_as_it_was(store: Store) -> None:
    letter = await studio.new_letter(store, "theo", "Catherine", "Dear Catherine,")
    for bad in ("", "y" * (studio.MAX_BODY + 1)):
        with pytest.raises(LetterError):
            await studio.edit_letter(store, "theo", letter.id, body=bad)
    with pytest.raises(LetterError, match="'draft' or 'final'"):
        await studio.edit_letter(store, "theo", letter.id, status="sent")
    with pytest.raises(LetterError, match="no letter #4242"):
        await studio.edit_letter(store, "theo", 4242, body="Hello")
    with pytest.raises(LetterError, match="at least one"):
        await studio.get_letters(store, "theo", [])
    with pytest.raises(LetterError, match="no letter #4242"):
        await studio.get_letters(store, "theo", [letter.id, 4242])
    same = await studio.get_letter(store, "theo", letter.id)
    assert (same.body, same.versions) == ("Dear Catherine,", 0)


async def test_the_small_model_gives_an_honest_skeleton_and_is_not_asked() -> None:
    model = ScriptedModel(["Something invented."], small=True)
    draft = await studio.draft(
        model, "Roger", ["remember the lake", "thank you for fifty years!"], written_for="Loretta"
    )
    assert draft.skeleton
    assert draft.body == (
        "Dear Roger,\n\nRemember the lake.\n\nThank you for fifty years!\n\nWith love,\nLoretta"
    )
    assert model.prompts == []


async def test_a_capable_model_writes_the_letter_from_the_notes() -> None:
    model = ScriptedModel(["Dear Roger, fifty years and I still see the lake."])
    streamed: list[str] = []
    draft = await studio.draft(
        model, "Roger", ["the lake", "fifty years"], written_for="Loretta", on_text=streamed.append
    )
    assert not draft.skeleton
    assert draft.body == "Dear Roger, fifty years and I still see the lake."
    assert "".join(streamed) == draft.body
    prompt = model.prompts[0][-1].content
    assert "Roger" in prompt and "Loretta" in prompt
    assert "- the lake" in prompt and "- fifty years" in prompt


async def test_an_empty_model_reply_falls_back_to_the_skeleton() -> None:
    draft = await studio.draft(ScriptedModel([" "]), "Roger", ["the lake"], signed="Theodore")
    assert draft.skeleton and draft.body.endswith("With love,\nTheodore")


async def test_drafting_needs_notes() -> None:
    with pytest.raises(LetterError, match="notes"):
        await studio.draft(ScriptedModel(), "Roger", ["", "   "])
