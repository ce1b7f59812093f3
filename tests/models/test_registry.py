"""Choosing a model from the configuration, and finding the models this machine can use."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from os1.config import Config
from os1.models import (
    ModelError,
    ModelUnavailable,
    bundled_model_path,
    get_model,
    list_models,
)
from os1.models.embedded import EmbeddedModel
from os1.models.openai_compat import OpenAICompatModel


@pytest.fixture
def cfg(tmp_path: Path, closed_url: str) -> Config:
    # Ollama's URL points where nothing listens, so a real local Ollama can't change results.
    return Config(home=tmp_path, ollama_url=closed_url.removesuffix("/v1"))


def resolve(cfg: Config, **changes: Any) -> Any:
    return get_model(cfg.with_(**changes), cache_dir=cfg.home / "cache")


def test_default_is_the_bundled_model(cfg: Config) -> None:
    model = resolve(cfg)
    assert isinstance(model, EmbeddedModel)
    assert model.model_id == "smollm2" and model.info.local
    assert model.path == bundled_model_path() and model.path.is_file()


@pytest.mark.parametrize("spec", ["gguf:/models/tiny.gguf", "/models/tiny.gguf"])
def test_gguf_paths_are_embedded(cfg: Config, spec: str) -> None:
    model = resolve(cfg, model=spec, context_length=1024)
    assert isinstance(model, EmbeddedModel)
    assert model.path == Path("/models/tiny.gguf")
    assert model.model_id == "gguf:/models/tiny.gguf"
    assert model.context_length == 1024  # the file is missing: what would be asked for


def test_openai_needs_a_key_for_api_openai_com(cfg: Config) -> None:
    with pytest.raises(ModelUnavailable, match="API key"):
        resolve(cfg, model="openai:gpt-4o-mini")
    model = resolve(cfg, model="openai:gpt-4o-mini", openai_api_key="sk-test")
    assert isinstance(model, OpenAICompatModel)
    assert model.info.location == "https://api.openai.com/v1" and not model.info.local
    assert model.context_length == 8192


def test_openai_with_a_local_base_url(cfg: Config) -> None:
    model = resolve(cfg, model="openai:qwen", openai_base_url="http://127.0.0.1:8080")
    assert isinstance(model, OpenAICompatModel)
    assert model.info.location == "http://127.0.0.1:8080/v1" and model.info.local
    assert model.model == "qwen" and model.model_id == "openai:qwen"


def test_ollama_is_openai_compatible_under_v1(cfg: Config) -> None:
    model = resolve(cfg, model="ollama:llama3.2:1b", ollama_url="http://localhost:11434/")
    assert isinstance(model, OpenAICompatModel)
    assert model.info.location == "http://localhost:11434/v1"
    assert model.model == "llama3.2:1b" and model.info.local


@pytest.mark.parametrize("spec", ["gpt-4o", "llamafile:x", "openai:", "ollama:", "gguf:"])
def test_bad_names_list_the_forms(cfg: Config, spec: str) -> None:
    with pytest.raises(ModelError) as caught:
        resolve(cfg, model=spec, openai_api_key="sk-test")
    assert "smollm2" in str(caught.value) and "ollama:<model name>" in str(caught.value)


async def test_list_models_without_servers_is_quiet_and_quick(cfg: Config) -> None:
    start = time.monotonic()
    found = await list_models(cfg)
    assert time.monotonic() - start < 2
    assert [m.model_id for m in found] == ["smollm2"]
    assert found[0].backend == "embedded" and found[0].location == str(bundled_model_path())


async def test_list_models_includes_the_configured_model(cfg: Config) -> None:
    found = await list_models(cfg.with_(model="gguf:/models/tiny.gguf"))
    assert [m.model_id for m in found] == ["smollm2", "gguf:/models/tiny.gguf"]


async def test_list_models_asks_the_openai_server(cfg: Config, llama_server: Any) -> None:
    found = await list_models(cfg.with_(openai_base_url=llama_server.base_url))
    served = [m for m in found if m.model_id == "openai:smollm2"]
    assert served and served[0].location == llama_server.base_url and served[0].local


@pytest.fixture
def fake_ollama() -> Iterator[str]:
    """A stand-in answering Ollama's /api/tags, since no real Ollama runs in tests."""

    class Tags(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"models": [{"name": "llama3.2:1b"}, {"name": "qwen3:4b"}]})
            self.send_response(200 if self.path == "/api/tags" else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Tags)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


async def test_list_models_finds_ollama_models(cfg: Config, fake_ollama: str) -> None:
    found = await list_models(cfg.with_(ollama_url=fake_ollama))
    ollama = [m for m in found if m.model_id.startswith("ollama:")]
    assert [m.model_id for m in ollama] == ["ollama:llama3.2:1b", "ollama:qwen3:4b"]
    assert all(m.location == f"{fake_ollama}/v1" and m.backend == "openai" for m in ollama)
