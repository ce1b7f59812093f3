"""Fixtures for the model backends: the bundled GGUF, and a real llama.cpp server on loopback."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from os1.models import ToolSpec, bundled_model_path
from os1.schema import SchemaError, validate

WEATHER = ToolSpec(
    "get_weather",
    "Get the current weather for a city.",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
TIMER = ToolSpec(
    "set_timer",
    "Start a countdown timer.",
    {
        "type": "object",
        "properties": {
            "minutes": {"type": "integer"},
            "label": {"type": "string", "enum": ["tea", "pasta", "other"]},
        },
        "required": ["minutes", "label"],
    },
)
MOOD_SCHEMA = {
    "type": "object",
    "properties": {
        "mood": {"type": "string", "enum": ["happy", "sad", "neutral"]},
        "intensity": {"type": "integer"},
    },
    "required": ["mood", "intensity"],
}


def check_schema(value: Any, schema: dict[str, Any], where: str = "$") -> None:
    """Assert `value` fits `schema` (with OS1's own validator, which tool arguments go through)."""
    try:
        validate(value, schema, where)
    except SchemaError as e:
        raise AssertionError(str(e)) from e


@pytest.fixture
def tools() -> tuple[ToolSpec, ToolSpec]:
    return WEATHER, TIMER


@pytest.fixture
def mood_schema() -> dict[str, Any]:
    return MOOD_SCHEMA


@pytest.fixture(name="check_schema")
def check_schema_fixture() -> Any:
    return check_schema


@pytest.fixture(scope="session")
def gguf() -> Path:
    path = bundled_model_path()
    assert path.is_file(), f"the bundled model is missing: {path}"
    return path


@pytest.fixture(scope="session")
def probe_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache dir for the whole session, so the build probe runs once."""
    return tmp_path_factory.mktemp("model-cache")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base_url: str
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)


def start_server(model: Path, log: Path, timeout: float = 60.0) -> Server:
    """Start llama-cpp-python's OpenAI-compatible server and wait until it answers."""
    port = free_port()
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(model),
           "--model_alias", "smollm2", "--host", "127.0.0.1", "--port", str(port),
           "--n_ctx", "2048", "--n_threads", "1"]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    server = Server(process, f"http://127.0.0.1:{port}/v1", log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"llama_cpp.server exited: {log.read_text(errors='replace')}")
        try:
            if httpx.get(f"{server.base_url}/models", timeout=1.0).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"llama_cpp.server did not answer in {timeout}s: {log.read_text()}")


@pytest.fixture(scope="session")
def llama_server(gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_server(gguf, tmp_path_factory.mktemp("server") / "server.log")
    yield server
    server.stop()


@pytest.fixture
def server_factory() -> Any:
    """`start_server`, for tests that need a server of their own (to kill it, say)."""
    return start_server


@pytest.fixture
def closed_url() -> str:
    """An OpenAI-style URL on loopback where nothing listens."""
    return f"http://127.0.0.1:{free_port()}/v1"
