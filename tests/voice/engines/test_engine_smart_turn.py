"""Smart Turn for real (the model inside the pipecat-ai wheel), on speech Piper synthesises.

Piper reads every text with a sentence's closing fall, so a fragment often sounds finished
to a model that listens to prosody: these utterances are ones it judges the same way every
time (Piper's voice varies a little from run to run).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from os1.voice.audio import pcm_at, to_pcm
from os1.voice.engines import EngineUnavailable, PiperSynthesiser, SileroVad
from os1.voice.engines.smart_turn import SmartTurn, bundled_model_path
from os1.voice.frames import AudioIn, EndFrame, SpeechStopped
from os1.voice.pipeline import Pipeline
from os1.voice.turns import TurnDetector, TurnSettings

RATE = 16000
FINISHED = "Can you remind me to call my sister tomorrow morning?"
UNFINISHED = "I was thinking that maybe we could"


@pytest.fixture(scope="module")
def smart_turn() -> SmartTurn:
    return SmartTurn()


async def say(piper: PiperSynthesiser, text: str) -> np.ndarray:
    """Piper's speech at 16 kHz, with its own short trailing silence."""
    chunks, rate = [], 0
    async for pcm, chunk_rate in piper.synthesize(text):
        chunks.append(pcm)
        rate = chunk_rate
    return pcm_at(b"".join(chunks), rate, RATE)


def with_silence(audio: np.ndarray, before: float, after: float) -> bytes:
    quiet = np.zeros(int(before * RATE), np.float32), np.zeros(int(after * RATE), np.float32)
    return to_pcm(np.concatenate([quiet[0], audio, quiet[1]]))


def test_engine_smart_turn_model_ships_in_the_pipecat_wheel() -> None:
    path = bundled_model_path()
    assert path is not None and path.name.startswith("smart-turn-v3")
    assert 1_000_000 < path.stat().st_size < 50_000_000


def test_engine_smart_turn_without_its_model_says_so(tmp_path: Path) -> None:
    with pytest.raises(EngineUnavailable, match="not a Smart Turn ONNX file"):
        SmartTurn(tmp_path / "missing.onnx")


async def test_engine_smart_turn_tells_a_finished_question_from_a_fragment(
    piper, smart_turn
) -> None:
    finished = with_silence(await say(piper, FINISHED), 0.2, 0.1)
    unfinished = with_silence(await say(piper, UNFINISHED), 0.2, 0.1)
    done = await smart_turn.complete(finished, RATE)
    not_done = await smart_turn.complete(unfinished, RATE)
    assert done > 0.8, done  # 0.97-0.98 over five syntheses
    assert not_done < 0.2, not_done  # 0.01-0.02
    assert await smart_turn.complete(b"", RATE) == 0.0


async def test_engine_smart_turn_reads_any_sample_rate(piper, smart_turn) -> None:
    audio = await say(piper, FINISHED)
    at_16k = await smart_turn.complete(with_silence(audio, 0.2, 0.1), RATE)
    at_48k = await smart_turn.complete(
        to_pcm(pcm_at(with_silence(audio, 0.2, 0.1), RATE, 48000)), 48000
    )
    assert abs(at_16k - at_48k) < 0.1


async def stop_after(piper, smart_turn, text: str, settings: TurnSettings) -> float:
    """Seconds from the end of Piper's speech to `SpeechStopped`, the silence after it
    arriving in real time (32 ms frames) as from a microphone."""
    speech = to_pcm(np.concatenate([np.zeros(RATE // 4, np.float32), await say(piper, text)]))
    detector = TurnDetector(SileroVad(), settings, end_of_turn=smart_turn)
    pipeline = Pipeline([detector])
    pipeline.put(AudioIn(speech))
    frame = bytes(1024)
    silence = 0
    while not any(isinstance(f, SpeechStopped) for f in pipeline.output) and silence < 2 * RATE:
        pipeline.put(AudioIn(frame))
        silence += 512
        await asyncio.sleep(0.032)
    await pipeline.run([EndFrame()])
    heard, stopped = 0, None
    for f in pipeline.output:
        if isinstance(f, AudioIn):
            heard += f.samples
        elif isinstance(f, SpeechStopped) and stopped is None:
            stopped = heard
    assert stopped is not None
    return (stopped - len(speech) // 2) / RATE


async def test_engine_smart_turn_ends_a_finished_turn_early_and_waits_out_a_fragment(
    piper, smart_turn
) -> None:
    await smart_turn.load()
    settings = TurnSettings(hangover_ms=800, max_hangover_ms=1500)
    early = await stop_after(piper, smart_turn, FINISHED, settings)
    late = await stop_after(piper, smart_turn, UNFINISHED, settings)
    assert early < 0.6, early  # at the pause, well before the 0.8 s hangover
    assert late > 1.2, late  # past the hangover, to the longest wait
