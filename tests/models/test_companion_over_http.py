"""The companion and the `os1` command on a real OpenAI-compatible server (llama.cpp's)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from os1.companion import Companion
from os1.config import load_config
from os1.models import get_model


def _env(home: Path, server: Any) -> dict[str, str]:
    return {
        **os.environ,
        "OS1_HOME": str(home),
        "OS1_USER": "theo",
        "OS1_MODEL": "openai:smollm2",
        "OPENAI_BASE_URL": server.base_url,
        "OS1_MAX_REPLY_TOKENS": "24",
    }


async def test_companion_streams_and_stores_over_http(llama_server: Any, tmp_path: Path) -> None:
    config = load_config(env=_env(tmp_path, llama_server))
    model = get_model(config, cache_dir=tmp_path / "cache")
    companion = await Companion.open(config, model=model)
    try:
        pieces = [p async for p in companion.reply("theo", "Say hello to me.")]
        assert len(pieces) > 1 and "".join(pieces).strip()  # streamed, not one block
        rows = await companion.history("theo")
        assert [r["role"] for r in rows] == ["user", "assistant"]
        assert rows[1]["model"] == "openai:smollm2" and rows[1]["status"] == "complete"
        how = "".join([p async for p in companion.reply("theo", "How do you work?")])
        assert llama_server.base_url in how and "Nothing leaves this computer" in how
    finally:
        await companion.close()


def test_os1_chat_and_models_over_http(llama_server: Any, tmp_path: Path) -> None:
    env = _env(tmp_path, llama_server)
    run = [sys.executable, "-m", "os1"]
    chat = subprocess.run([*run, "chat", "-m", "Hi!"], env=env, capture_output=True, text=True,
                          timeout=120, start_new_session=True)  # fmt: skip
    assert chat.returncode == 0, chat.stderr
    assert chat.stdout.strip()
    models = subprocess.run([*run, "models"], env=env, capture_output=True, text=True, timeout=60)
    assert models.returncode == 0 and "openai:smollm2" in models.stdout
