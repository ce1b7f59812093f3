"""OS1: a local-first personal AI companion. The public API is what this module exports."""

import os as _os
from typing import Any

# onnxruntime (used by voice and embedding models) sends telemetry on Linux unless this is
# set before it is imported; OS1 sends nothing anywhere the user did not ask for.
_os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

__version__ = "0.1.0"

_EXPORTS = {
    "Companion": "companion",
    "EmptyMessage": "companion",
    "Config": "config",
    "ConfigError": "config",
    "load_config": "config",
    "Effect": "actions",
    "Proposal": "actions",
    "Tool": "actions",
    "ToolContext": "actions",
    "ToolResult": "actions",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    # Imported on first use: `import os1.models` stays light, and the CLI starts fast.
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'os1' has no attribute {name!r}")
