"""What every speech engine shares: its errors, and splitting a reply into sentences.

PCM conversions and resampling live in `os1.voice.audio`.
"""

from __future__ import annotations

import os
import re

# onnxruntime (inside Piper, faster-whisper's VAD and friends) sends telemetry unless this is
# set before it is imported. Every engine module imports this one first.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")


class EngineUnavailable(RuntimeError):
    """An engine cannot run here: its package, program or model is missing."""


class SynthesisError(RuntimeError):
    """A speech synthesiser failed while speaking (its process died or refused the text)."""


_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|(?<=[.!?…][\"')\]”’])\s+")


def split_sentences(text: str) -> list[str]:
    """Split a reply at sentence ends, so the first sentence can be spoken while others wait."""
    parts = [p.strip() for p in _SENTENCE_END.split(text.strip())]
    return [p for p in parts if p]
