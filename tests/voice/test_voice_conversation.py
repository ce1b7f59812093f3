"""Whole exchanges through the voice pipeline with fake engines: files, early audio, barge-in."""

from __future__ import annotations

import asyncio
import wave

import numpy as np
from voice_fakes import (
    FRAME,
    RATE,
    WORD,
    AmplitudeVAD,
    ListSpeaker,
    ScriptedRecogniser,
    ToneSynthesiser,
    scripted_replies,
    speech,
)

from os1.voice.audio import to_pcm
from os1.voice.conversation import build_pipeline, converse, converse_files
from os1.voice.frames import AudioIn, Heard, Interruption, ReplyText, Transcript
from os1.voice.pipeline import Pipeline, Processor
from os1.voice.reply import Reply
from os1.voice.wavfile import write_wav

LONG = "Oh, I see what you mean. Let me think about that for a while. It is a lovely question."


def frames_of(audio: np.ndarray) -> list[AudioIn]:
    pcm = to_pcm(np.concatenate([audio, np.zeros(-audio.size % FRAME, np.float32)]))
    return [AudioIn(pcm[i : i + FRAME * 2]) for i in range(0, len(pcm), FRAME * 2)]


def heard(out) -> list[Heard]:
    return [f for f in out if isinstance(f, Heard)]


async def test_a_whole_exchange_from_one_wav_file_to_another(tmp_path):
    question = speech(("quiet", 0.3), ("talk", 1.0), ("quiet", 0.3), ("talk", 0.6), ("quiet", 0.8))
    stereo_44k = np.repeat(np.interp(np.arange(0, question.size, 16000 / 44100), np.arange(
        question.size), question)[:, None], 2, axis=1)  # fmt: skip
    with wave.open(str(tmp_path / "q.wav"), "wb") as f:
        f.setnchannels(2)
        f.setsampwidth(2)
        f.setframerate(44100)
        f.writeframes(to_pcm(stereo_44k.ravel()))
    # The 0.3 s pause starts a speculative transcript, discarded when the talk resumes.
    stt, tts = ScriptedRecogniser(["how", "how are you"]), ToneSynthesiser(rate=22050)
    reply = scripted_replies("I'm well, thank you for asking. And you?")
    out = await converse_files(tmp_path / "q.wav", tmp_path / "a.wav", reply, AmplitudeVAD(),
                               stt, tts)  # fmt: skip

    # Early transcripts are told at each pause (not final, so not answered), then the turn.
    said = [(f.text, f.final) for f in out if isinstance(f, Transcript)]
    assert said == [("how", False), ("how are you", False), ("how are you", True)]
    # One turn despite the short pause; it holds the speech from its onset (with a lead).
    assert len(stt.heard) == 2 and stt.heard[1].startswith(stt.heard[0])
    assert 1.9 <= len(stt.heard[1]) / 2 / RATE <= 1.9 + 0.15 + 0.5 + 0.07
    assert tts.spoken == ["I'm well, thank you for asking.", "And you?"]
    assert heard(out) == [Heard("I'm well, thank you for asking. And you?", 1, False)]
    with wave.open(str(tmp_path / "a.wav")) as f:
        assert (f.getframerate(), f.getnchannels()) == (22050, 1)
        assert f.getnframes() == 8 * WORD * 22050 // RATE  # all eight words, nothing more


async def test_the_first_chunk_goes_out_before_the_reply_is_finished():
    finish = asyncio.Event()

    async def reply(text):
        yield "Oh, I see what "
        yield "you mean, and "
        await finish.wait()
        yield "I agree."

    pipeline = Pipeline([Reply(reply), Processor()])
    pipeline.put(Transcript("hello"))
    async with asyncio.timeout(2):
        while not any(isinstance(f, ReplyText) for f in pipeline.output):  # noqa: ASYNC110
            await asyncio.sleep(0.001)
    assert not finish.is_set()
    assert [f.text for f in pipeline.output if isinstance(f, ReplyText)] == [
        "Oh,",
        "I see what you mean,",
    ]
    finish.set()
    await pipeline.idle()
    assert [f.text for f in pipeline.output if isinstance(f, ReplyText)][2:] == ["and I agree."]
    await pipeline.stop()


async def test_an_interruption_cancels_the_reply_being_generated():
    closed = asyncio.Event()

    async def reply(text):
        try:
            yield "First sentence here. "
            await asyncio.Event().wait()  # the model is still generating
        finally:
            closed.set()

    pipeline = Pipeline([Reply(reply), Processor()])
    pipeline.put(Transcript("hello"))
    async with asyncio.timeout(2):
        while not any(isinstance(f, ReplyText) for f in pipeline.output):  # noqa: ASYNC110
            await asyncio.sleep(0.001)
    pipeline.put(Interruption())
    async with asyncio.timeout(2):
        await closed.wait()
    await pipeline.idle()
    assert isinstance(pipeline.output[-1], Interruption)
    await pipeline.stop()


async def barge_in(talk_seconds: float):
    """She answers a question at length; 1.5 s into her reply the user talks over her."""
    stt = ScriptedRecogniser(["tell me something", "wait a moment"])
    speaker = ListSpeaker()
    reply = scripted_replies(LONG, "Of course.")
    pipeline = build_pipeline(reply, AmplitudeVAD(), stt, ToneSynthesiser(), speaker,
                              pad_silence=True, output_rate=RATE)  # fmt: skip
    # The question ends at 1.024 s; her turn ends 0.5 s later: she speaks from ~1.5 s.
    # The user talks again at 3.072 s, on a frame boundary so the timing is exact.
    audio = speech(("talk", 1.024), ("quiet", 2.048), ("talk", talk_seconds), ("quiet", 1.0))
    out = await converse(pipeline, frames_of(audio))
    return out, speaker, stt


async def test_barge_in_stops_her_within_a_frame_and_keeps_only_what_was_heard():
    out, speaker, stt = await barge_in(talk_seconds=0.6)
    first, second = heard(out)
    assert first.interrupted and first.reply_id == 1
    assert second == Heard("Of course.", 2, False)  # she answered the interruption

    played = speaker.samples()
    assert speaker.rate == RATE and played.size % FRAME == 0  # the output is a timeline
    loud = np.flatnonzero(played)
    her_first_reply = loud[loud < 3.5 * RATE]
    confirmed = 3.072 * RATE + 0.2 * RATE  # the user's onset + 200 ms of speech
    stopped = her_first_reply[-1] + 1
    # The frame that confirms the speech is not played: she stops within a frame.
    assert confirmed - FRAME <= stopped <= confirmed
    # She was talking without a break until then, from the end of the question's turn.
    assert her_first_reply.size == stopped - her_first_reply[0]
    # What was heard is exactly the played share of her words, a prefix of the reply.
    words = round(her_first_reply.size / WORD)
    assert first.text == " ".join(LONG.split()[:words])
    assert speaker.clears == 1
    assert len(stt.heard) == 2


async def test_a_short_backchannel_does_not_stop_her():
    out, speaker, stt = await barge_in(talk_seconds=0.15)
    assert heard(out) == [Heard(LONG, 1, False)]
    assert np.count_nonzero(speaker.samples()) == len(LONG.split()) * WORD
    assert speaker.clears == 0
    assert len(stt.heard) == 1


async def test_the_output_can_be_written_even_when_she_says_nothing(tmp_path):
    write_wav(tmp_path / "q.wav", to_pcm(speech(("quiet", 0.5))), RATE)
    engines = AmplitudeVAD(), ScriptedRecogniser([]), ToneSynthesiser()
    out = await converse_files(tmp_path / "q.wav", tmp_path / "a.wav", scripted_replies(), *engines)
    assert heard(out) == []
    with wave.open(str(tmp_path / "a.wav")) as f:
        assert f.getnframes() == 0
