"""Shared fixtures: every test gets its own OS1 home; nothing touches the real one."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import servers
from servers import SMTPServer

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


@pytest.fixture
def smtp_server() -> Iterator[SMTPServer]:
    """A real SMTP server on loopback (aiosmtpd); what it receives is in `.received`."""
    with servers.smtp_server() as server:
        yield server
