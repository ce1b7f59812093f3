"""Fixtures for contacts: a real radicale CardDAV server, and a companion with the contact tools."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from radicale_server import Radicale, radicale_server

from os1 import plugins
from os1.companion import Companion
from os1.config import Config
from os1.contacts.tools import TOOLS
from os1.testing import ScriptedModel


@pytest.fixture
def radicale(tmp_path: Path) -> Iterator[Radicale]:
    """radicale on loopback, with users theo (s3cret) and ana (other)."""
    with radicale_server(tmp_path / "radicale", {"theo": "s3cret", "ana": "other"}) as server:
        yield server


@pytest.fixture
async def contacts_companion(config: Config, model: ScriptedModel) -> AsyncIterator[Companion]:
    """A companion whose tools include merge_people and find_person, wired in or not."""
    tools = {t.name: t for t in [*plugins.tools(), *TOOLS]}
    c = await Companion.open(config, embedder=None, model=model, tools=list(tools.values()))
    yield c
    await c.close()
