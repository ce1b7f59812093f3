"""Run a chain of processors, each with its own queue, where system frames jump the queue.

Each processor gets two workers: one for system frames, one for data frames. So an
interruption is handled at once, even while the processor is busy with a data frame
(synthesising a sentence, streaming a reply): that work is cancelled and the data frames
still queued are dropped. An `EndFrame` lets each processor finish its queued data first,
then stops it. The first exception in any processor stops the whole pipeline and is raised
from `Pipeline.run()` naming the processor and the frame.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine, Iterable, Sequence
from typing import Any

from .frames import EndFrame, Frame, Interruption


class PipelineError(RuntimeError):
    """A processor failed; the original exception is the cause."""


class Processor:
    """One step of the pipeline. Override `process`; call `push` to send frames downstream.

    The default `process` passes every frame on, so a processor only handles what it
    knows about and forwards the rest.
    """

    def __init__(self) -> None:
        self._downstream: Callable[[Frame], None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._fail: Callable[[Processor, Frame | None, BaseException], None] | None = None

    @property
    def name(self) -> str:
        return type(self).__name__

    async def process(self, frame: Frame) -> None:
        await self.push(frame)

    async def push(self, frame: Frame) -> None:
        if self._downstream is None:
            raise RuntimeError(f"{self.name} is not part of a running pipeline")
        self._downstream(frame)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run background work the pipeline knows about (it counts as busy, failures surface)."""
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) and self._fail:
            self._fail(self, None, exc)

    async def close(self) -> None:
        """Called once the pipeline stops: cancel background work."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks))


class _Slot:
    """A processor's two queues and their workers."""

    def __init__(self, proc: Processor, pipeline: Pipeline) -> None:
        self.proc, self.pipeline = proc, pipeline
        self.system: asyncio.Queue[Frame] = asyncio.Queue()
        self.data: asyncio.Queue[Frame] = asyncio.Queue()
        self.current: asyncio.Task[None] | None = None
        self.handling = False
        self.workers: list[asyncio.Task[None]] = []

    def put(self, frame: Frame) -> None:
        (self.system if frame.system else self.data).put_nowait(frame)

    def busy(self) -> bool:
        return bool(
            self.handling
            or self.current
            or self.proc._tasks
            or not self.system.empty()
            or not self.data.empty()
        )

    def start(self) -> None:
        self.workers = [
            asyncio.create_task(self._system_loop()),
            asyncio.create_task(self._data_loop()),
        ]

    async def _system_loop(self) -> None:
        while True:
            frame = await self.system.get()
            self.handling = True
            if isinstance(frame, Interruption):
                await self._drop_data()
            elif isinstance(frame, EndFrame):
                await self.data.join()
            try:
                await self.proc.process(frame)
            except Exception as exc:
                self.pipeline._failed(self.proc, frame, exc)
            self.handling = False
            if isinstance(frame, EndFrame):
                return

    async def _drop_data(self) -> None:
        while not self.data.empty():
            self.data.get_nowait()
            self.data.task_done()
        if (task := self.current) is not None:
            task.cancel()
            await asyncio.wait({task})

    async def _data_loop(self) -> None:
        while True:
            frame = await self.data.get()
            self.current = asyncio.create_task(self.proc.process(frame))
            try:
                await asyncio.wait({self.current})
            except asyncio.CancelledError:
                self.current.cancel()
                raise
            task, self.current = self.current, None
            if not task.cancelled() and (exc := task.exception()) is not None:
                self.pipeline._failed(self.proc, frame, exc)
            self.data.task_done()


class Pipeline:
    """Processors in order; frames put in go to the first, frames out of the last are kept.

    `output` collects what falls off the end (and `on_output` sees it as it happens).
    The pipeline is done when an `EndFrame` has passed through every processor.
    """

    def __init__(
        self, processors: Sequence[Processor], on_output: Callable[[Frame], None] | None = None
    ) -> None:
        if not processors:
            raise ValueError("a pipeline needs at least one processor")
        self.processors = list(processors)
        self.output: list[Frame] = []
        self._on_output = on_output
        self._slots = [_Slot(p, self) for p in self.processors]
        for proc, nxt in zip(self.processors, self._slots[1:], strict=False):
            proc._downstream = nxt.put
        self.processors[-1]._downstream = self._emit
        for proc in self.processors:
            proc._fail = self._failed
        self._done = asyncio.Event()
        self._error: PipelineError | None = None
        self._started = False

    def _emit(self, frame: Frame) -> None:
        self.output.append(frame)
        if self._on_output is not None:
            self._on_output(frame)
        if isinstance(frame, EndFrame):
            self._done.set()

    def _failed(self, proc: Processor, frame: Frame | None, exc: BaseException) -> None:
        if self._error is None:
            where = f" on {type(frame).__name__}" if frame is not None else ""
            self._error = PipelineError(f"{proc.name} failed{where}: {exc!r}")
            self._error.__cause__ = exc
        self._done.set()

    def start(self) -> None:
        if not self._started:
            self._started = True
            for slot in self._slots:
                slot.start()

    def put(self, frame: Frame) -> None:
        """Hand a frame to the first processor (starting the pipeline if needed)."""
        if self._error is not None:
            raise self._error
        self.start()
        self._slots[0].put(frame)

    def busy(self) -> bool:
        return any(slot.busy() for slot in self._slots)

    async def idle(self) -> None:
        """Wait until every queue is empty and no processor is working (or it failed)."""
        quiet = spins = 0
        while quiet < 2 and not self._done.is_set():
            # Two quiet checks a loop turn apart: a frame pushed by the last step is seen.
            quiet = 0 if self.busy() else quiet + 1
            spins += 1
            # Yield cheaply at first; then poll gently while an engine works in a thread.
            await asyncio.sleep(0 if spins < 100 else 0.001)
        if self._error is not None:
            raise self._error

    async def run(self, frames: Iterable[Frame] = ()) -> list[Frame]:
        """Put `frames`, then wait for the end (an `EndFrame`) or the first failure."""
        for frame in frames:
            self.put(frame)
        self.start()
        try:
            await self._done.wait()
        finally:
            await self.stop()
        if self._error is not None:
            raise self._error
        return self.output

    async def stop(self) -> None:
        """Stop at once: cancel every worker and background task."""
        for slot in self._slots:
            for worker in slot.workers:
                worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*slot.workers, return_exceptions=True)
            if slot.current is not None:
                slot.current.cancel()
            await slot.proc.close()
