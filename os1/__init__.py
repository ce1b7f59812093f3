"""OS1: a local-first personal AI companion. The public API is what this module exports."""

import os as _os

# onnxruntime (used by voice and embedding models) sends telemetry on Linux unless this is
# set before it is imported; OS1 sends nothing anywhere the user did not ask for.
_os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

from .actions import Effect, Proposal, Tool, ToolContext, ToolResult
from .companion import Companion, EmptyMessage
from .config import Config, ConfigError, load_config

__all__ = [
    "Companion",
    "Config",
    "ConfigError",
    "Effect",
    "EmptyMessage",
    "Proposal",
    "Tool",
    "ToolContext",
    "ToolResult",
    "load_config",
]
__version__ = "0.1.0"
