"""The Piper worker process: death mid-reply, recovery, barge-in cancellation, no telemetry."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest

from os1.voice.engines import EngineUnavailable, PiperSynthesiser, SynthesisError

LONG = (
    "Well, I was thinking about what you said this morning about your sister and the trip. "
    "It sounds like the two of you have a lot to talk about before the weekend comes around. "
    "Maybe you could call her tonight, after dinner, when neither of you is in a hurry. "
    "I could remind you at eight o'clock, if you would like that, or a little later on. "
    "And if it goes badly, we can talk it through together afterwards, for as long as you want."
)


async def collect(synth: PiperSynthesiser, text: str) -> list[bytes]:
    return [pcm async for pcm, _ in synth.synthesize(text)]


async def test_engine_piper_worker_killed_mid_reply_fails_clearly_then_recovers(piper) -> None:
    await piper.start()
    first_pid = piper.pid
    assert first_pid is not None
    got = []
    with pytest.raises(SynthesisError, match=r"killed by signal 9.*cut off"):
        async for pcm, _ in piper.synthesize(LONG):
            got.append(pcm)
            if len(got) == 1:
                os.kill(first_pid, signal.SIGKILL)
    assert len(got) < 5
    assert len(await collect(piper, "I'm back. Where were we?")) == 2
    assert piper.pid not in (None, first_pid)


async def test_engine_piper_worker_dead_while_idle_restarts_transparently(piper) -> None:
    await piper.start()
    pid = piper.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    await asyncio.sleep(0.2)
    assert len(await collect(piper, "Still here.")) == 1
    assert piper.pid not in (None, pid)


async def test_engine_piper_cancel_mid_reply_stops_promptly(piper) -> None:
    await piper.start()
    t = time.perf_counter()
    assert len(await collect(piper, LONG)) == 5
    whole = time.perf_counter() - t

    first = asyncio.Event()

    async def speak() -> None:
        async for _ in piper.synthesize(LONG):
            first.set()

    task = asyncio.create_task(speak())
    await first.wait()
    t = time.perf_counter()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.perf_counter() - t < 0.05

    # The worker dropped the rest of the long reply: a short one comes back well before the
    # long one could have finished.
    t = time.perf_counter()
    assert len(await collect(piper, "Okay.")) == 1
    assert time.perf_counter() - t < whole * 0.6


async def test_engine_piper_worker_sends_no_onnxruntime_telemetry(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("ORT_DISABLE_TELEMETRY", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    synth = PiperSynthesiser()
    try:
        assert len(await collect(synth, "Hello.")) == 1
    finally:
        synth.close()
    assert not (tmp_path / ".cache").exists()


def test_engine_piper_wants_a_real_voice(tmp_path: Path) -> None:
    with pytest.raises(EngineUnavailable, match="not a Piper voice"):
        PiperSynthesiser(tmp_path / "nobody.onnx")
