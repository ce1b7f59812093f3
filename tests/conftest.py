"""Shared fixtures: every test gets its own OS1 home; nothing touches the real one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from os1.companion import Companion
from os1.config import Config, load_config
from os1.store import Store
from os1.testing import ScriptedModel


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def config(home: Path) -> Config:
    return load_config(env={"OS1_HOME": str(home), "OS1_USER": "theo"})


@pytest.fixture
def model() -> ScriptedModel:
    return ScriptedModel()


@pytest.fixture
async def companion(config: Config, model: ScriptedModel) -> AsyncIterator[Companion]:
    c = await Companion.open(config, embedder=None, model=model)
    yield c
    await c.close()


@pytest.fixture
async def store(home: Path) -> AsyncIterator[Store]:
    s = await Store.open(home / "os1.db")
    yield s
    await s.close()
