"""The plugin manager: built-in plugins always, installed ones when the front door asks.

Installed plugins are packages with an entry point in the "os1" group. They are loaded
by `load_installed()`, which the CLI calls at start-up and tests do not: a test run
never picks up whatever happens to be installed.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import Any

import pluggy

from . import hookspecs

DEFAULT_PLUGINS = (
    "os1.builtin_tools",
    "os1.memory.tools",
    "os1.mail.tools",
    "os1.mail.triage",
    "os1.mail.cleanup",
    "os1.mail.send",
    "os1.contacts.tools",
    "os1.letters.tools",
    "os1.calendar.tools",
)

pm = pluggy.PluginManager("os1")
pm.add_hookspecs(hookspecs)
for _name in DEFAULT_PLUGINS:
    pm.register(importlib.import_module(_name), _name)


def load_installed(only: Iterable[str] | None = None) -> None:
    """Load plugins installed as "os1" entry points (all, or just those named in `only`)."""
    if only is None:
        pm.load_setuptools_entrypoints("os1")
        return
    from importlib.metadata import entry_points

    wanted = set(only)
    for ep in entry_points(group="os1"):
        if ep.name in wanted and not pm.has_plugin(ep.name):
            pm.register(ep.load(), ep.name)


def tools() -> list[Any]:
    """Every tool the registered plugins offer."""
    found: list[Any] = []
    pm.hook.register_tools(register=found.append)
    return found


def model_factories() -> dict[str, Callable[..., Any]]:
    """Model kinds added by plugins, by prefix."""
    found: dict[str, Callable[..., Any]] = {}
    pm.hook.register_models(register=lambda prefix, factory: found.__setitem__(prefix, factory))
    return found
