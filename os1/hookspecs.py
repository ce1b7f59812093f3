"""Every extension point of OS1, in one place. Plugins implement these with `@hookimpl`.

OS1's own built-in tools arrive through the same hooks, so the mechanism is used every day.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("os1")
hookimpl = pluggy.HookimplMarker("os1")


@hookspec
def register_tools(register: Callable[[Any], None]) -> None:
    """Add tools she can use: call `register(tool)` with an `os1.Tool` for each."""


@hookspec
def register_models(register: Callable[[str, Callable[..., Any]], None]) -> None:
    """Add a kind of model: `register(prefix, factory)`; `factory(config, name, cache_dir)`
    returns an `os1.models.Model` for `model = "<prefix>:<name>"`."""


@hookspec
def register_channels(register: Callable[[Any], None]) -> None:
    """Add ways for her to reach the user (a push service, a chat app): call `register(channel)`
    with an `os1.scheduler.channels.Channel` for each. Users turn channels on by name."""
