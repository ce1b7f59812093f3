"""The pipeline: system frames jump the queue, interruptions drop work in flight, clean ends."""

from __future__ import annotations

import asyncio

import pytest

from os1.voice.frames import AudioIn, EndFrame, Frame, Interruption, Transcript
from os1.voice.pipeline import Pipeline, PipelineError, Processor


class Blocking(Processor):
    """Holds each transcript until released; records what it started, finished, cancelled."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()
        self.started: list[str] = []
        self.cancelled: list[str] = []

    async def process(self, frame: Frame) -> None:
        if isinstance(frame, Transcript):
            self.started.append(frame.text)
            try:
                await self.release.wait()
            except asyncio.CancelledError:
                self.cancelled.append(frame.text)
                raise
        await self.push(frame)


async def wait_for(condition) -> None:
    async with asyncio.timeout(2.0):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.001)


async def test_interruption_jumps_the_queue_and_drops_data_in_flight():
    blocking = Blocking()
    pipeline = Pipeline([blocking, Processor()])
    for text in ("a", "b", "c"):
        pipeline.put(Transcript(text))
    await wait_for(lambda: blocking.started == ["a"])
    pipeline.put(AudioIn(b"\0\0" * 4))  # a system frame: passes the blocked transcript
    await wait_for(lambda: len(pipeline.output) == 1)
    assert isinstance(pipeline.output[0], AudioIn)

    pipeline.put(Interruption())
    await wait_for(lambda: len(pipeline.output) == 2)
    assert isinstance(pipeline.output[1], Interruption)
    assert blocking.cancelled == ["a"]  # the frame being processed was cancelled
    assert blocking.started == ["a"]  # "b" and "c" were dropped unprocessed

    blocking.release.set()
    out = await pipeline.run([Transcript("d"), EndFrame()])
    assert [type(f).__name__ for f in out] == ["AudioIn", "Interruption", "Transcript", "EndFrame"]
    assert out[2] == Transcript("d")


async def test_end_frame_lets_queued_data_finish_first():
    blocking = Blocking()
    blocking.release.set()
    pipeline = Pipeline([blocking, Processor(), Processor()])
    out = await pipeline.run([Transcript("a"), Transcript("b"), EndFrame()])
    assert out == [Transcript("a"), Transcript("b"), EndFrame()]


async def test_a_failing_processor_stops_the_pipeline_and_says_which():
    class Broken(Processor):
        async def process(self, frame: Frame) -> None:
            if isinstance(frame, Transcript):
                raise ValueError("engine exploded")
            await self.push(frame)

    pipeline = Pipeline([Processor(), Broken()])
    with pytest.raises(PipelineError, match=r"Broken failed on Transcript.*engine exploded"):
        await pipeline.run([Transcript("x")])
    with pytest.raises(PipelineError):
        pipeline.put(Transcript("y"))


async def test_failure_in_background_work_surfaces_too():
    class Spawner(Processor):
        async def process(self, frame: Frame) -> None:
            self.spawn(self.fail())

        async def fail(self) -> None:
            raise RuntimeError("background boom")

    with pytest.raises(PipelineError, match="Spawner failed: RuntimeError"):
        await Pipeline([Spawner()]).run([Transcript("x")])


async def test_idle_waits_for_every_queue_and_task():
    class Slow(Processor):
        async def process(self, frame: Frame) -> None:
            await asyncio.sleep(0.02)
            await self.push(frame)

    pipeline = Pipeline([Slow(), Slow()])
    pipeline.put(Transcript("x"))
    await pipeline.idle()
    assert pipeline.output == [Transcript("x")]
    await pipeline.stop()
