"""Push-to-talk with the real engines, through `talk`: only what is said with the key held
is heard and answered, and pressing the key while she speaks stops her at once.

Piper speaks the user's words (espeak-ng the remark said without the key), Whisper hears
them, a real Companion with a scripted model answers, and Piper speaks her answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
from speech import quiet, spoken, words

from os1.companion import Companion
from os1.config import Config
from os1.testing import ScriptedModel
from os1.voice.audio import to_pcm
from os1.voice.engines import (
    Engines,
    EspeakSynthesiser,
    PiperSynthesiser,
    SileroVad,
    WhisperRecogniser,
)
from os1.voice.frames import AudioIn, Heard, TalkKeyPressed, TalkKeyReleased
from os1.voice.session import VoiceSession
from os1.voice.transport import InputFrame, talk
from os1.voice.turns import TurnSettings
from os1.voice.wavfile import WavSpeaker, read_wav

RATE, FRAME = 16000, 512
ANSWER = "The sea is very deep, and whales sing long songs to each other in the dark water."
STORY = (
    "Once upon a time, a lighthouse keeper lived alone by the sea. Every night she climbed "
    "the stairs and lit the lamp for the ships. One stormy night a small boat came close to "
    "the rocks, and she rang the bell as loud as she could."
)


class KeyedFile:
    """A `Transport` like `FileTransport`: recorded audio with talk-key presses in it."""

    live = False
    output_rate: int | None = None

    def __init__(self, parts: list[np.ndarray | InputFrame], out_path: Path) -> None:
        self.parts, self.speaker = parts, WavSpeaker(out_path)
        self.events: list[dict[str, Any]] = []

    async def frames(self) -> AsyncIterator[InputFrame]:
        for part in self.parts:
            if not isinstance(part, np.ndarray):
                yield part
                continue
            pcm = to_pcm(np.concatenate([part, np.zeros(-part.size % FRAME, np.float32)]))
            for i in range(0, len(pcm), FRAME * 2):
                yield AudioIn(pcm[i : i + FRAME * 2])

    def event(self, event: dict[str, Any]) -> None:
        self.events.append(event)

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == kind and e.get("final", True)]


async def test_a_question_asked_with_the_key_held_is_answered_and_the_rest_ignored(
    config: Config, piper: PiperSynthesiser, tmp_path: Path
) -> None:
    model = ScriptedModel([ANSWER])
    companion = await Companion.open(config, embedder=None, model=model)
    try:
        aside = await spoken(EspeakSynthesiser("female"), "The weather is terrible today.")
        question = await spoken(piper, "Can you tell me a little about the sea?")
        transport = KeyedFile(
            [quiet(0.3), aside, quiet(0.6), TalkKeyPressed(), quiet(0.2), question,
             quiet(0.2), TalkKeyReleased(), quiet(0.3), aside, quiet(0.5)],
            tmp_path / "answer.wav",
        )  # fmt: skip
        session = VoiceSession(companion, "theo", Engines(SileroVad(), WhisperRecogniser(), piper))
        try:
            await talk(session, transport, turns=TurnSettings(push_to_talk=True))
        finally:
            transport.speaker.close()

        (transcript,) = transport.of("transcript")
        heard = set(words(transcript["text"]))
        # (Piper's voice varies a little each time: "sea" has been heard as "seat".)
        assert {"tell", "me", "about"} <= heard and any(w.startswith("sea") for w in heard), (
            transcript
        )
        assert not heard & {"weather", "terrible", "today"}, transcript
        assert words(" ".join(e["text"] for e in transport.of("reply"))) == words(ANSWER)
        (said,) = transport.of("heard")
        assert not said["interrupted"] and words(said["text"]) == words(ANSWER)
        samples, rate = read_wav(tmp_path / "answer.wav")
        assert samples.size / rate > 2.0 and float(abs(samples).max()) > 0.05
        rows = [(r["role"], r["status"]) for r in await companion.history("theo")]
        assert rows == [("user", "complete"), ("assistant", "complete")]
        assert "weather" not in model.prompts[-1][-1].content.lower()
    finally:
        await companion.close()


async def test_the_key_stops_her_mid_story_and_history_keeps_what_was_heard(
    config: Config, piper: PiperSynthesiser, tmp_path: Path
) -> None:
    model = ScriptedModel([STORY, "Of course, I'm listening."])
    companion = await Companion.open(config, embedder=None, model=model)
    try:
        question = await spoken(piper, "Could you tell me a story about the sea?")
        stop = await spoken(EspeakSynthesiser("female"), "Wait, stop please.")
        # Played frame by frame, she speaks while the file goes on: 3 s of her story, then
        # the key. (A file is fed as fast as the pipeline works: her audio is clocked by it.)
        transport = KeyedFile(
            [quiet(0.3), TalkKeyPressed(), question, quiet(0.2), TalkKeyReleased(),
             quiet(3.0), TalkKeyPressed(), stop, quiet(0.2), TalkKeyReleased()],
            tmp_path / "answer.wav",
        )  # fmt: skip
        session = VoiceSession(companion, "theo", Engines(SileroVad(), WhisperRecogniser(), piper))
        try:
            out = await talk(session, transport, turns=TurnSettings(push_to_talk=True))
        finally:
            transport.speaker.close()

        first, second = [f for f in out if isinstance(f, Heard)]
        assert first.interrupted and not second.interrupted
        heard_words = first.text.split()
        assert 3 <= len(heard_words) <= 14, first.text  # about 3 s of the story
        assert STORY.split()[: len(heard_words)] == heard_words
        transcripts = [e["text"].lower() for e in transport.of("transcript")]
        assert len(transcripts) == 2 and "stop" in transcripts[1], transcripts
        rows = [(r["role"], r["content"], r["status"]) for r in await companion.history("theo")]
        assert rows[1] == ("assistant", first.text, "interrupted")
        assert rows[3] == ("assistant", "Of course, I'm listening.", "complete")
    finally:
        await companion.close()
