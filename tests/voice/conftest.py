"""Real speech engines shared by the voice tests of one module (they are slow to start)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from os1.voice.engines import PiperSynthesiser, WhisperRecogniser


@pytest.fixture(scope="module")
def piper() -> Iterator[PiperSynthesiser]:
    synth = PiperSynthesiser(variation=False)  # the same words sound the same every run
    yield synth
    synth.close()


@pytest.fixture(scope="module")
def whisper() -> WhisperRecogniser:
    return WhisperRecogniser()
