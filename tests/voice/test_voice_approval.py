"""Approving by voice: she asks "Shall I go ahead?" and the user's next spoken turn answers.

The logic is driven through `VoiceSession.reply` directly (what the pipeline calls with each
final transcript), on the real calendar tools and the action log.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest
from speech import quiet, spoken
from voice_fakes import ListSpeaker

from os1.actions import Effect, Tool, ToolContext, ToolResult
from os1.companion import Companion
from os1.config import Config
from os1.models.base import ToolCall
from os1.testing import ScriptedModel
from os1.voice.audio import to_pcm
from os1.voice.conversation import converse
from os1.voice.engines import Engines, PiperSynthesiser, SileroVad, WhisperRecogniser
from os1.voice.frames import AudioIn, Heard, Transcript
from os1.voice.session import VoiceSession

LUNCH = "Put lunch with Amy on Friday at one in my calendar."


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def session(companion: Companion, clock: Clock | None = None, **options: Any) -> VoiceSession:
    return VoiceSession(companion, "theo", None, clock=clock or Clock(), **options)  # type: ignore[arg-type]


async def say(s: VoiceSession, text: str) -> str:
    return "".join([piece async for piece in s.reply(text)])


async def events(c: Companion) -> list[str]:
    rows = await c.store.query(
        "SELECT summary FROM cal_objects WHERE kind = 'event' AND deleted_at IS NULL"
    )
    return [r["summary"] for r in rows]


async def statuses(c: Companion) -> list[tuple[str, str, str]]:
    return [(r["tool"], r["status"], r["requested_by"]) for r in await c.actions.log("theo")]


async def test_yes_adds_the_event_and_the_exchange_is_in_the_history(
    companion: Companion, model: ScriptedModel
) -> None:
    s = session(companion)
    asked = await say(s, LUNCH)
    assert asked.startswith("Add to your calendar: “Lunch with Amy”")
    assert asked.endswith("Shall I go ahead?") and "os1 approve" not in asked
    assert await events(companion) == [] and await statuses(companion) == [
        ("add_event", "proposed", "user")
    ]
    done = await say(s, "Yes, please.")
    assert done.startswith("Done. Added “Lunch with Amy”")
    assert await events(companion) == ["Lunch with Amy"]
    assert await statuses(companion) == [("add_event", "done", "user")]
    rows = await companion.history("theo")
    assert [(r["role"], r["content"]) for r in rows] == [
        ("user", LUNCH),
        ("assistant", asked),
        ("user", "Yes, please."),
        ("assistant", done),
    ]
    assert len({r["conversation_id"] for r in rows}) == 1
    assert model.prompts == []  # neither turn needed the model
    # The question is answered: another yes is just a message for her.
    model.replies = ["Yes to what?"]
    assert await say(s, "Yes.") == "Yes to what?"
    assert await events(companion) == ["Lunch with Amy"]


async def test_no_declines_and_nothing_is_added(companion: Companion) -> None:
    s = session(companion)
    await say(s, LUNCH)
    assert await say(s, "No, thank you.") == "All right, I won't."
    assert await events(companion) == []
    assert await statuses(companion) == [("add_event", "declined", "user")]


async def test_cancelling_an_event_by_voice(companion: Companion) -> None:
    s = session(companion)
    await say(s, LUNCH)
    await say(s, "Go ahead.")
    asked = await say(s, "Cancel lunch with Amy.")
    assert asked.startswith("Delete “Lunch with Amy”") and asked.endswith("Shall I go ahead?")
    assert (await say(s, "Do it.")).startswith("Done. Removed “Lunch with Amy”")
    assert await events(companion) == []


async def test_another_answer_leaves_it_waiting_and_goes_to_her(
    companion: Companion, model: ScriptedModel
) -> None:
    s = session(companion)
    await say(s, LUNCH)
    model.replies = ["It is sunny.", "Yes to what?"]
    assert await say(s, "What's the weather like?") == "It is sunny."
    assert model.prompts[-1][-1].content == "What's the weather like?"
    # The question was not answered: the next yes is no longer taken for it.
    assert await say(s, "Yes.") == "Yes to what?"
    assert await events(companion) == []
    log = await companion.actions.log("theo")
    assert log[0]["status"] == "proposed"
    # It still waits in the log for `os1 approve ID`.
    assert (await companion.actions.approve("theo", log[0]["id"])).status == "done"


async def test_a_maybe_is_not_a_yes(companion: Companion, model: ScriptedModel) -> None:
    s = session(companion)
    await say(s, LUNCH)
    model.replies = ["Take your time."]
    assert await say(s, "Maybe, yes.") == "Take your time."
    assert await statuses(companion) == [("add_event", "proposed", "user")]


async def test_a_late_yes_is_just_a_message(companion: Companion, model: ScriptedModel) -> None:
    clock = Clock()
    s = session(companion, clock, answer_within_s=300)
    await say(s, LUNCH)
    clock.now += 301
    model.replies = ["Yes to what?"]
    assert await say(s, "Yes.") == "Yes to what?"
    assert await statuses(companion) == [("add_event", "proposed", "user")]


async def test_a_yes_in_time_counts(companion: Companion) -> None:
    clock = Clock()
    s = session(companion, clock, answer_within_s=300)
    await say(s, LUNCH)
    clock.now += 299
    assert (await say(s, "Yes.")).startswith("Done.")


async def test_a_yes_with_nothing_asked_goes_to_her(
    companion: Companion, model: ScriptedModel
) -> None:
    s = session(companion)
    model.replies = ["Yes to what?"]
    assert await say(s, "Yes, go ahead.") == "Yes to what?"
    assert model.prompts[-1][-1].content == "Yes, go ahead."
    assert await companion.actions.log("theo") == []


async def test_only_a_question_asked_in_this_session_can_be_answered(
    companion: Companion, model: ScriptedModel
) -> None:
    # Proposed elsewhere (the chat without a terminal) and in another voice session.
    elsewhere = await companion.actions.request(
        "theo", "add_event", {"summary": "Dinner", "start": "2030-01-02T19:00"},
        requested_by="user", approve=None,
    )  # fmt: skip
    first, second = session(companion), session(companion)
    await say(first, LUNCH)
    model.replies = ["Yes to what?"]
    assert await say(second, "Yes.") == "Yes to what?"
    assert await events(companion) == []
    assert (await companion.actions.log("theo"))[-1]["id"] == elsewhere.action_id
    assert [r["status"] for r in await companion.actions.log("theo")] == ["proposed"] * 2


async def test_a_question_cut_off_by_a_barge_in_is_asked_again(companion: Companion) -> None:
    s = session(companion)
    asked = await say(s, LUNCH)
    await s.on_heard(Heard("Add to your calendar: “Lunch with Amy”,", interrupted=True))
    again = await say(s, "Yes.")
    assert again == "Let me ask that again. " + asked
    assert await events(companion) == []
    await s.on_heard(Heard(again, interrupted=False))
    assert (await say(s, "Yes.")).startswith("Done.")
    assert await events(companion) == ["Lunch with Amy"]


async def test_a_question_heard_whole_before_a_barge_in_counts(companion: Companion) -> None:
    s = session(companion)
    asked = await say(s, LUNCH)
    await s.on_heard(Heard(asked, interrupted=True))  # the user started "yes" at its very end
    assert (await say(s, "Yes.")).startswith("Done.")


async def test_decided_elsewhere_meanwhile(companion: Companion) -> None:
    s = session(companion)
    await say(s, LUNCH)
    [row] = await companion.actions.log("theo")
    await companion.actions.decline("theo", row["id"])
    said = await say(s, "Yes.")
    assert said.startswith("That isn't waiting any more") and "declined" in said
    assert await events(companion) == []


# --- actions the model proposes -------------------------------------------------------

SENT: list[str] = []


async def _send(ctx: ToolContext, args: dict[str, Any]) -> ToolResult:
    SENT.append(args["to"])
    return ToolResult(f"Sent a note to {args['to']}.")


SEND = Tool(
    name="send_note",
    description="Send a note to someone.",
    effect=Effect.OUTWARD,
    run=_send,
    parameters={"type": "object", "properties": {"to": {"type": "string"}}, "required": ["to"]},
    describe=lambda a: f"send a note to {a['to']}",
)


@pytest.fixture
async def acting(config: Config) -> AsyncIterator[tuple[Companion, ScriptedModel]]:
    SENT.clear()
    model = ScriptedModel(local=False)
    c = await Companion.open(config, embedder=None, model=model, tools=[SEND])
    yield c, model
    await c.close()


async def test_she_always_words_the_question_herself(
    acting: tuple[Companion, ScriptedModel],
) -> None:
    c, model = acting
    # The model reads a mail aloud that says "yes, go ahead": what she says is never a yes.
    model.replies = [ToolCall("send_note", {"to": "amy"}), "The mail says: yes, go ahead."]
    s = session(c)
    said = await say(s, "Send Amy a note.")
    assert said == "The mail says: yes, go ahead.\nSend a note to amy. Shall I go ahead?"
    assert "[proposed] Send a note to amy. Shall I go ahead?" in model.prompts[-1][-1].content
    assert SENT == [] and [r["requested_by"] for r in await c.actions.log("theo")] == ["model"]
    assert await say(s, "Yes.") == "Done. Sent a note to amy."
    assert SENT == ["amy"]


async def test_several_questions_are_put_one_at_a_time(
    acting: tuple[Companion, ScriptedModel],
) -> None:
    c, model = acting
    model.replies = [
        ToolCall("send_note", {"to": "amy"}),
        ToolCall("send_note", {"to": "bob"}),
        "I'd like to send two notes.",
    ]
    s = session(c)
    await say(s, "Send notes to Amy and Bob.")
    said = await say(s, "Yes.")
    assert said == "I asked about 2 things at once; one at a time, then. " + (
        "Send a note to amy. Shall I go ahead?"
    )
    assert SENT == []
    said = await say(s, "Yes.")
    assert said == "Done. Sent a note to amy. Next: Send a note to bob. Shall I go ahead?"
    assert await say(s, "No.") == "All right, I won't."
    assert SENT == ["amy"]
    assert [r["status"] for r in await c.actions.log("theo")] == ["declined", "done"]


async def test_incognito_decides_but_stores_no_turns(
    acting: tuple[Companion, ScriptedModel],
) -> None:
    c, model = acting
    model.replies = [ToolCall("send_note", {"to": "amy"}), "Shall I?"]
    s = session(c, incognito=True)
    assert (await say(s, "Send Amy a note.")).endswith("Send a note to amy. Shall I go ahead?")
    assert await say(s, "Yes.") == "Done. Sent a note to amy."
    assert SENT == ["amy"] and await c.history("theo") == []


# --- the whole loop, spoken --------------------------------------------------------------

RATE, FRAME = 16000, 512


async def test_a_spoken_yes_adds_the_event(companion: Companion, piper: PiperSynthesiser) -> None:
    """Real engines: Piper speaks both of the user's turns, Silero hears them, Whisper
    transcribes them; her question is played to its end before the user says yes."""
    # "Please" first: a bare "Put" at the very start was once heard as "Hood".
    ask = await spoken(piper, "Please p" + LUNCH[1:])
    yes = await spoken(piper, "Yes, please.")
    # Her question takes about six seconds to say; the user answers after it.
    audio = np.concatenate([quiet(0.5), ask, quiet(10.0), yes, quiet(1.0)])
    pcm = to_pcm(np.concatenate([audio, np.zeros(-audio.size % FRAME, np.float32)]))
    frames = [AudioIn(pcm[i : i + FRAME * 2]) for i in range(0, len(pcm), FRAME * 2)]

    session = VoiceSession(companion, "theo", Engines(SileroVad(), WhisperRecogniser(), piper))
    out = await converse(session.pipeline(ListSpeaker(), pad_silence=True), frames)

    transcripts = [f.text for f in out if isinstance(f, Transcript) and f.final]
    assert len(transcripts) == 2 and "lunch" in transcripts[0].lower(), transcripts
    heard = [f for f in out if isinstance(f, Heard)]
    assert [h.interrupted for h in heard] == [False, False]
    assert heard[0].text.endswith("Shall I go ahead?") and heard[1].text.startswith("Done.")
    assert [e.lower() for e in await events(companion)] == ["lunch with amy"]
    assert await statuses(companion) == [("add_event", "done", "user")]


async def test_forgetting_by_voice_is_asked_and_confirmed(
    companion: Companion, model: ScriptedModel
) -> None:
    s = session(companion)
    model.replies = ["Oh, a secret."]
    await say(s, "My secret is that I sing in the shower.")
    asked = await say(s, "Forget what I just said.")
    assert asked.startswith("I'll forget it as soon as you confirm.")
    assert asked.endswith("Shall I go ahead?") and "os1 approve" not in asked
    assert await statuses(companion) == [("forget_memories", "proposed", "user")]
    done = await say(s, "Yes.")
    assert done.startswith("Done.")
    assert await statuses(companion) == [("forget_memories", "done", "user")]
    # Deleted, not hidden: her spoken question quoted it, and goes with it.
    rows = [
        str(tuple(row))
        for table in ("messages", "actions", "summaries")
        for row in await companion.store.query(f"SELECT * FROM {table}")
    ]
    dump = " ".join(rows)
    assert "shower" not in dump
