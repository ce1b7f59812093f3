"""Spoken test input: the user's words said by a real voice, at the microphone's rate."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from os1.voice.audio import pcm_at

RATE = 16000  # the microphone's rate, as the pipeline takes it


def words(text: str) -> list[str]:
    """Lower-case words, for comparing what was said with what was heard."""
    return re.findall(r"[a-z0-9']+", text.lower())


async def spoken(synth: Any, text: str) -> np.ndarray:
    """`text` said by `synth` (Piper, espeak-ng…), as float samples at 16 kHz."""
    return np.concatenate([pcm_at(pcm, rate, RATE) async for pcm, rate in synth.synthesize(text)])


def quiet(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), np.float32)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x**2))) if x.size else 0.0
