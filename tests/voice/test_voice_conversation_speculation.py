"""Speculative recognition: start on the turn at a short pause; use it if the turn ends there."""

from __future__ import annotations

import asyncio

from voice_fakes import FRAME, RATE, AmplitudeVAD, ScriptedRecogniser, speech

from os1.voice.audio import to_pcm
from os1.voice.conversation import Recognition
from os1.voice.frames import (
    AudioIn,
    EndFrame,
    ReplyText,
    SpeechPaused,
    SpeechResumed,
    SpeechStarted,
    SpeechStopped,
    Transcript,
)
from os1.voice.pipeline import Pipeline
from os1.voice.reply import Reply
from os1.voice.turns import TurnDetector

TALK = AudioIn(to_pcm(speech(("talk", FRAME / RATE))))
QUIET = AudioIn(bytes(FRAME * 2))


class GatedRecogniser:
    """Each call is noted at once, then waits until the test releases it."""

    def __init__(self, *texts: str) -> None:
        self.texts = list(texts)
        self.calls: list[bytes] = []
        self.release = asyncio.Event()

    async def transcribe(self, pcm: bytes, sample_rate: int) -> str:
        self.calls.append(pcm)
        text = self.texts.pop(0)
        await self.release.wait()
        return text


def transcripts(pipeline: Pipeline) -> list[str]:
    return [f.text for f in pipeline.output if isinstance(f, Transcript) and f.final]


async def test_a_pause_starts_recognition_and_the_end_of_turn_uses_that_result():
    stt = GatedRecogniser("the early one", "never asked")
    pipeline = Pipeline([Recognition(stt)])
    for frame in [SpeechStarted(), TALK, TALK, QUIET, SpeechPaused()]:
        pipeline.put(frame)
    async with asyncio.timeout(2):
        while not stt.calls:  # noqa: ASYNC110
            await asyncio.sleep(0.001)
    # Called at the pause, with the turn so far, before the turn has ended.
    assert len(stt.calls) == 1 and len(stt.calls[0]) == 3 * FRAME * 2
    assert not any(isinstance(f, SpeechStopped) for f in pipeline.output)
    for frame in [QUIET, QUIET, SpeechStopped()]:
        pipeline.put(frame)
    stt.release.set()
    await pipeline.idle()
    assert transcripts(pipeline) == ["the early one"]
    assert len(stt.calls) == 1  # not transcribed again at the end of the turn
    await pipeline.stop()


async def test_speech_after_the_pause_discards_the_early_transcript():
    stt = GatedRecogniser("stale", "the whole turn")
    pipeline = Pipeline([Recognition(stt)])
    for frame in [SpeechStarted(), TALK, QUIET, SpeechPaused()]:
        pipeline.put(frame)
    async with asyncio.timeout(2):
        while not stt.calls:  # noqa: ASYNC110 (the early transcript is under way)
            await asyncio.sleep(0.001)
    for frame in [TALK, SpeechResumed(), TALK, QUIET, SpeechStopped()]:
        pipeline.put(frame)
    stt.release.set()
    await pipeline.idle()
    assert transcripts(pipeline) == ["the whole turn"]  # the stale one never comes out
    assert len(stt.calls) == 2 and len(stt.calls[1]) == 5 * FRAME * 2
    await pipeline.stop()


async def test_through_the_turn_detector_one_utterance_is_recognised_once_at_the_pause():
    stt = ScriptedRecogniser(["hello there"])
    audio = speech(("quiet", 0.512), ("talk", 1.024), ("quiet", 1.0))
    pcm = to_pcm(audio)
    frames = [AudioIn(pcm[i : i + FRAME * 2]) for i in range(0, len(pcm), FRAME * 2)]
    recognition = Recognition(stt)
    out = await Pipeline([TurnDetector(AmplitudeVAD()), recognition]).run([*frames, EndFrame()])
    said = [(f.text, f.final) for f in out if isinstance(f, Transcript)]
    assert said == [("hello there", False), ("hello there", True)]
    assert len(stt.heard) == 1 and recognition.speculative_hits == 1
    # The audio ends at the pause (speech + 200 ms, with the lead), not after the hangover.
    seconds = len(stt.heard[0]) / 2 / RATE
    assert 1.024 + 0.2 <= seconds <= 1.024 + 0.2 + 0.15 + 0.07


class Prefetches:
    """Notes each early transcript the Reply step hands on; answers finals with a fixed text."""

    def __init__(self) -> None:
        self.early: list[str] = []
        self.answered: list[str] = []

    async def prefetch(self, text: str) -> None:
        self.early.append(text)

    async def reply(self, text: str):
        self.answered.append(text)
        yield "Fine, thanks."


async def test_an_early_transcript_at_a_pause_lets_the_reply_get_ready():
    seen = Prefetches()
    reply = Reply(seen.reply, prefetch=seen.prefetch)
    frames = [SpeechStarted(), SpeechPaused(), Transcript("how are you", final=False)]
    pipeline = Pipeline([reply])
    for frame in frames:
        pipeline.put(frame)
    await pipeline.idle()
    assert seen.early == ["how are you"] and seen.answered == []  # ready, not answered
    pipeline.put(SpeechStopped())
    pipeline.put(Transcript("how are you"))
    await pipeline.idle()
    assert seen.answered == ["how are you"]
    assert [f.text for f in pipeline.output if isinstance(f, ReplyText)] == ["Fine, thanks."]
    await pipeline.stop()


async def test_talking_on_after_the_pause_drops_the_guess():
    seen = Prefetches()
    pipeline = Pipeline([Reply(seen.reply, prefetch=seen.prefetch)])
    for frame in [SpeechStarted(), SpeechPaused(), Transcript("what should I", final=False)]:
        pipeline.put(frame)
    await pipeline.idle()
    pipeline.put(SpeechResumed())
    await pipeline.idle()
    # A late early transcript (it was on its way when the user went on) is not used.
    pipeline.put(Transcript("what should", final=False))
    await pipeline.idle()
    assert seen.early == ["what should I", ""]
    await pipeline.stop()
