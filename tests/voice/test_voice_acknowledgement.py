"""A short acknowledgement when her answer takes a moment; never when it is ready at once."""

from __future__ import annotations

import asyncio

from voice_fakes import ToneSynthesiser

from os1.voice.frames import AudioOut, Interruption, ReplyDone, ReplyText, Transcript
from os1.voice.pipeline import Pipeline
from os1.voice.reply import ACKNOWLEDGEMENTS, Reply
from os1.voice.synthesis import Synthesis


def slow(seconds: float, text: str = "Paris is the capital of France."):
    async def reply(_heard: str):
        await asyncio.sleep(seconds)
        yield text

    return reply


def said(pipeline: Pipeline) -> list[tuple[str, int, bool]]:
    return [
        (f.text, f.index, f.acknowledgement) for f in pipeline.output if isinstance(f, ReplyText)
    ]


async def test_a_slow_answer_to_a_question_opens_with_a_thinking_sound():
    pipeline = Pipeline([Reply(slow(0.3), acknowledge_ms=50)])
    pipeline.put(Transcript("what is the capital of France"))
    await pipeline.idle()
    assert said(pipeline) == [("Hmm,", 0, True), ("Paris is the capital of France.", 1, False)]
    assert any(isinstance(f, ReplyDone) for f in pipeline.output)
    await pipeline.stop()


async def test_a_statement_gets_a_listening_sound_and_they_vary():
    reply = Reply(slow(0.2, "That sounds lovely."), acknowledge_ms=30)
    pipeline = Pipeline([reply])
    for text in ("I went for a walk.", "It was by the river.", "The sun was out."):
        pipeline.put(Transcript(text))
        await pipeline.idle()
    acks = [text for text, _, ack in said(pipeline) if ack]
    assert acks == ["I see.", "Mm,", "Oh,"]
    await pipeline.stop()


async def test_an_answer_ready_in_time_needs_none():
    pipeline = Pipeline([Reply(slow(0.0), acknowledge_ms=200)])
    pipeline.put(Transcript("what is the capital of France?"))
    await pipeline.idle()
    assert said(pipeline) == [("Paris is the capital of France.", 0, False)]
    await pipeline.stop()


async def test_off_means_silence_while_she_thinks():
    pipeline = Pipeline([Reply(slow(0.2), acknowledge_ms=None)])
    pipeline.put(Transcript("what is the capital of France?"))
    await pipeline.idle()
    assert [ack for _, _, ack in said(pipeline)] == [False]
    await pipeline.stop()


async def test_interrupted_while_thinking_the_answer_is_dropped():
    closed = asyncio.Event()

    async def reply(_heard: str):
        try:
            await asyncio.sleep(5)
            yield "never said"
        finally:
            closed.set()

    pipeline = Pipeline([Reply(reply, acknowledge_ms=20)])
    pipeline.put(Transcript("tell me a long story"))
    await asyncio.sleep(0.1)
    pipeline.put(Interruption())
    await pipeline.idle()
    assert closed.is_set()
    assert [text for text, _, _ in said(pipeline)] == ["Hmm,"]  # a request: she thinks
    await pipeline.stop()


async def test_the_acknowledgements_are_synthesised_before_they_are_needed():
    tts = ToneSynthesiser()
    synthesis = Synthesis(tts, warm=ACKNOWLEDGEMENTS)
    pipeline = Pipeline([synthesis])
    pipeline.put(Transcript("hello"))  # any frame starts the preparation
    await pipeline.idle()
    assert tts.spoken == list(ACKNOWLEDGEMENTS)
    pipeline.put(ReplyText("Hmm,", 1, 0, acknowledgement=True))
    await pipeline.idle()
    assert tts.spoken == list(ACKNOWLEDGEMENTS) and synthesis.cache_hits == 0
    assert any(isinstance(f, AudioOut) and f.text == "Hmm," for f in pipeline.output)
    await pipeline.stop()
