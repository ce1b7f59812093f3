"""The Synthesis step keeps short phrases she has said, so saying one again costs nothing."""

from __future__ import annotations

import asyncio

from voice_fakes import ToneSynthesiser

from os1.voice.frames import AudioOut, Interruption, ReplyText
from os1.voice.pipeline import Pipeline
from os1.voice.synthesis import Synthesis


def audio(pipeline: Pipeline, text: str) -> bytes:
    return b"".join(f.pcm for f in pipeline.output if isinstance(f, AudioOut) and f.text == text)


async def test_a_short_phrase_is_synthesised_once_and_replayed_identically():
    tts = ToneSynthesiser()
    synthesis = Synthesis(tts)
    pipeline = Pipeline([synthesis])
    pipeline.put(ReplyText("I'm here.", 1, 0))
    await pipeline.idle()
    first = audio(pipeline, "I'm here.")
    pipeline.put(ReplyText("I'm here.", 2, 0))
    await pipeline.idle()
    assert tts.spoken == ["I'm here."] and synthesis.cache_hits == 1
    assert audio(pipeline, "I'm here.") == first * 2
    replayed = [f for f in pipeline.output if isinstance(f, AudioOut) and f.reply_id == 2]
    assert replayed and all(f.index == 0 for f in replayed)  # labelled for the new reply
    await pipeline.stop()


async def test_long_sentences_are_not_kept():
    tts = ToneSynthesiser()
    pipeline = Pipeline([Synthesis(tts, cache_words=6)])
    sentence = "This sentence has more than six words in it."
    for reply_id in (1, 2):
        pipeline.put(ReplyText(sentence, reply_id, 0))
        await pipeline.idle()
    assert tts.spoken == [sentence, sentence]
    await pipeline.stop()


async def test_a_phrase_cut_off_mid_synthesis_is_not_kept():
    class Slow(ToneSynthesiser):
        async def synthesize(self, text: str):
            async for chunk in super().synthesize(text):
                yield chunk
                await asyncio.sleep(0.05)

    tts = Slow()
    pipeline = Pipeline([Synthesis(tts)])
    pipeline.put(ReplyText("Well, let me think.", 1, 0))
    await asyncio.sleep(0.02)
    pipeline.put(Interruption())
    await pipeline.idle()
    pipeline.put(ReplyText("Well, let me think.", 2, 0))
    await pipeline.idle()
    assert tts.spoken == ["Well, let me think.", "Well, let me think."]
    await pipeline.stop()


async def test_the_oldest_phrase_makes_room():
    tts = ToneSynthesiser()
    pipeline = Pipeline([Synthesis(tts, cache_size=2)])
    for text in ("One.", "Two.", "Three.", "One."):
        pipeline.put(ReplyText(text, 1, 0))
        await pipeline.idle()
    assert tts.spoken == ["One.", "Two.", "Three.", "One."]
    await pipeline.stop()
