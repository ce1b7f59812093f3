from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from os1 import plugins
from os1.actions import Effect, Tool, ToolContext, ToolResult
from os1.companion import Companion
from os1.config import Config
from os1.hookspecs import hookimpl
from os1.models import get_model
from os1.testing import ScriptedModel


async def _wave(ctx: ToolContext, args: dict[str, Any]) -> ToolResult:
    return ToolResult(f"waved at {ctx.user}")


class WavePlugin:
    @hookimpl
    def register_tools(self, register: Callable[[Tool], None]) -> None:
        register(Tool("wave", "Wave.", Effect.READ, _wave))

    @hookimpl
    def register_models(self, register: Callable[..., None]) -> None:
        register("scripted", lambda config, name, cache_dir: ScriptedModel([name]))


@pytest.fixture
def wave() -> Iterator[None]:
    plugins.pm.register(WavePlugin(), "wave")
    yield
    plugins.pm.unregister(name="wave")


def test_built_in_tools_come_through_the_hooks() -> None:
    names = {t.name for t in plugins.tools()}
    assert {"current_time", "rename_companion", "start_over"} <= names


async def test_a_plugins_tool_reaches_the_companion(config: Config, wave: None) -> None:
    c = await Companion.open(config, embedder=None, model=ScriptedModel())
    try:
        out = await c.actions.request("theo", "wave", {}, requested_by="user", approve=None)
        assert out.output == "waved at theo"
    finally:
        await c.close()


def test_a_plugins_model_kind_resolves(config: Config, wave: None, tmp_path: Path) -> None:
    model = get_model(config.with_(model="scripted:hello"), cache_dir=tmp_path)
    assert isinstance(model, ScriptedModel) and model.replies == ["hello"]
