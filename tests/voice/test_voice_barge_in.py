"""Barge-in with real engines and a real Companion: she stops, and history keeps what was heard.

Piper asks for a story; the Companion (a scripted model) answers at length; Piper speaks it.
Three seconds into her answer the user talks over her in another voice (espeak-ng). Her
playback must stop within a moment, and the stored reply must be only the words played.
"""

from __future__ import annotations

import numpy as np
from speech import rms, spoken

from os1.companion import Companion
from os1.config import Config
from os1.testing import ScriptedModel
from os1.voice.audio import to_pcm
from os1.voice.conversation import converse
from os1.voice.engines import (
    Engines,
    EspeakSynthesiser,
    PiperSynthesiser,
    SileroVad,
    WhisperRecogniser,
)
from os1.voice.frames import AudioIn, Heard, Transcript
from os1.voice.session import VoiceSession

RATE, OUT_RATE, FRAME = 16000, 22050, 512
STORY = (
    "Once upon a time, a lighthouse keeper lived alone by the sea. Every night she climbed "
    "the stairs and lit the lamp for the ships. One stormy night a small boat came close to "
    "the rocks, and she rang the bell as loud as she could. The sailors heard it and turned "
    "away just in time. In the morning they came to thank her with bread and fish."
)


class RecordingSpeaker:
    """Keeps everything played (a timeline, with silence padded) and counts barge-in clears."""

    def __init__(self) -> None:
        self.pcm = bytearray()
        self.clears = 0

    async def play(self, pcm: bytes, sample_rate: int) -> None:
        assert sample_rate == OUT_RATE
        self.pcm += pcm

    async def clear(self) -> None:
        self.clears += 1

    def seconds(self, start: float, end: float) -> np.ndarray:
        samples = np.frombuffer(bytes(self.pcm), dtype="<i2").astype(np.float32) / 32768
        return samples[int(start * OUT_RATE) : int(end * OUT_RATE)]


async def test_barge_in_stops_her_and_history_keeps_only_what_was_heard(
    config: Config, piper: PiperSynthesiser
) -> None:
    model = ScriptedModel([STORY, "Of course, I'm listening."])
    companion = await Companion.open(config, embedder=None, model=model)
    try:
        question = await spoken(piper, "Could you tell me a story about the sea?")
        interruption = await spoken(EspeakSynthesiser("female"), "Wait, wait, stop please.")
        quiet = np.zeros(RATE // 2, np.float32)
        # Her turn ends 0.5 s after the question; she speaks at once (processing takes no
        # simulated time), so 3 s later the user talks over her.
        talk_at = (quiet.size + question.size) / RATE + 3.5
        audio = np.concatenate(
            [quiet, question, np.zeros(int(3.5 * RATE), np.float32), interruption,
             np.zeros(RATE, np.float32)]
        )  # fmt: skip
        audio = np.concatenate([audio, np.zeros(-audio.size % FRAME, np.float32)])
        pcm = to_pcm(audio)
        frames = [AudioIn(pcm[i : i + FRAME * 2]) for i in range(0, len(pcm), FRAME * 2)]

        session = VoiceSession(companion, "theo", Engines(SileroVad(), WhisperRecogniser(), piper))
        speaker = RecordingSpeaker()
        pipeline = session.pipeline(speaker, pad_silence=True, output_rate=OUT_RATE)
        out = await converse(pipeline, frames)

        transcripts = [f.text for f in out if isinstance(f, Transcript) and f.final]
        assert len(transcripts) == 2 and "story" in transcripts[0].lower(), transcripts
        assert "stop" in transcripts[1].lower(), transcripts
        first, second = [f for f in out if isinstance(f, Heard)]
        assert first.interrupted and not second.interrupted

        # She was speaking when the user began, and was silent soon after (the barge-in
        # needs 200 ms of the user's speech, the VAD a little more to notice it).
        assert rms(speaker.seconds(talk_at - 1.0, talk_at)) > 0.01
        assert speaker.clears == 1
        user_end = talk_at + interruption.size / RATE
        assert np.all(speaker.seconds(talk_at + 0.6, user_end) == 0)

        # What was heard: about 3.5 s of a story told at two to three words a second.
        heard_words = first.text.split()
        assert 5 <= len(heard_words) <= 14, first.text
        assert STORY.split()[: len(heard_words)] == heard_words

        rows = [(r["role"], r["content"], r["status"]) for r in await companion.history("theo")]
        assert [r[0] for r in rows] == ["user", "assistant", "user", "assistant"]
        assert rows[1] == ("assistant", first.text, "interrupted")
        assert rows[3] == ("assistant", "Of course, I'm listening.", "complete")
        conversation = await companion.store.query_one(
            "SELECT front_door FROM conversations ORDER BY id DESC LIMIT 1"
        )
        assert conversation is not None and conversation["front_door"] == "voice"
        # Her next prompt holds the heard part only.
        prompt = "\n".join(m.content for m in model.prompts[-1])
        assert first.text in prompt and "bread and fish" not in prompt
    finally:
        await companion.close()
