"""Her sounds without words: find the laughs, sighs and pauses a reply's text asks for, and
render the ones no speech engine can make.

A model writes stage directions ("*laughs*", "(sighs)", "[long pause]", "haha", "..."):
`parse` splits a chunk of reply text into words and `Nonverbal` events, and drops the
directions nobody can hear ("*smiles*"). Emphasis ("I *really* missed you") and ordinary
asides ("(I think)") are words and stay. `mark_directions` rewrites starred directions as
bracketed ones, so they survive the markdown stripping of `sentences.speakable`.

Piper and espeak-ng cannot laugh or sigh, so the audio is honest about it: a pause is
silence, a sigh is a synthesised breath (band-passed noise, an inhale then a longer
exhale, quiet), and `laugh` is a procedural voiced "ha-ha-ha" for when no synthesiser can
say one. numpy only, and deterministic for a given seed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .audio import to_pcm

Kind = Literal["laugh", "sigh", "pause"]

_KINDS: dict[str, Kind] = {
    **dict.fromkeys(
        "laugh laughs laughing laughter giggle giggles giggling chuckle chuckles chuckling "
        "snicker snickers snickering cackle cackles".split(),
        "laugh",
    ),
    **dict.fromkeys(
        "sigh sighs sighing exhale exhales exhaling breath breathes breathing".split(), "sigh"
    ),
    **dict.fromkeys("pause pauses pausing beat silence".split(), "pause"),
}
# Directions no engine can render (a smile is not heard): removed, never read out.
_SILENT_ACTIONS = frozenset(
    "smile smiles smiling grin grins grinning nod nods nodding wink winks winking shrug "
    "shrugs shrugging blush blushes blushing hug hugs hugging whisper whispers whispering "
    "hum hums humming gasp gasps gasping sniff sniffs sniffles yawn yawns cough coughs "
    "smirk smirks beam beams beaming lean leans leaning tilts "
    "clears thinks ponders sips winces frowns frowning "
    "squeals grimaces".split()
)
# Words that may come before the action: "lets out a soft laugh", "takes a deep breath".
_LEADING = frozenset(
    "a an the little small soft softly long longer short brief deep big heavy heavily "
    "quiet quietly gentle gently warm warmly slight slightly nervous nervously happy "
    "happily sad sadly wistful wistfully lets let out gives give takes take heaves with "
    "and then she her".split()
)
_PAUSE_SECONDS = {"long": 1.0, "longer": 1.0, "short": 0.35, "brief": 0.35, "beat": 0.4}
PAUSE_S = 0.6  # "*pause*"
ELLIPSIS_PAUSE_S = 0.35  # "well... maybe": a breath's hesitation, not a full stop

_SPAN = (
    r"(?P<star>\*{1,2})(?P<s>[^*\n]{1,60}?)(?P=star)"
    r"|(?<!\w)_(?P<u>[^_\n]{1,60}?)_(?!\w)"
    r"|\((?P<p>[^()\n]{1,60})\)"
    r"|\[(?P<b>[^\[\]\n]{1,60})\](?!\()"
)
_LAUGH_WORD = r"(?P<laugh>\b(?:(?:ha){2,}h?|ha(?:[ -]ha)+|(?:he){2,}|heh(?: heh)+)\b)"
_ELLIPSIS = r"(?P<ellipsis>\.{3,}|…|\. \. \.)"
_MARKS = re.compile(f"{_SPAN}|{_LAUGH_WORD}|{_ELLIPSIS}", re.IGNORECASE)
_STARRED = re.compile(
    r"(?P<star>\*{1,2})(?P<s>[^*\n]{1,60}?)(?P=star)|(?<!\w)_(?P<u>[^_\n]{1,60}?)_(?!\w)"
)
_DIRECTION_CHARS = re.compile(r"[A-Za-z' ,-]+")


@dataclass(frozen=True)
class Nonverbal:
    """A sound without words in her reply: a laugh, a sigh, or a pause of `seconds`."""

    kind: Kind
    seconds: float = 0.0

    @property
    def heard(self) -> str:
        """How it reads in the record of what the user heard: as the model writes it."""
        return {"laugh": "*laughs*", "sigh": "*sighs*", "pause": ""}[self.kind]


_DROP = Nonverbal("pause", 0.0)  # a direction with no sound: removed


def direction(content: str) -> Nonverbal | None:
    """The event a stage direction's words ask for, `_DROP` for a silent one ("smiles"),
    or None when they are not a stage direction but words to say."""
    if not _DIRECTION_CHARS.fullmatch(content.strip()):
        return None
    words = re.findall(r"[a-z']+", content.lower())
    if not 1 <= len(words) <= 6:
        return None
    lead = 0
    while lead < len(words) - 1 and words[lead] in _LEADING:
        lead += 1
    head = words[lead]
    if head in _KINDS:
        kind = _KINDS[head]
        if kind != "pause":
            return Nonverbal(kind)
        long = [_PAUSE_SECONDS[w] for w in words if w in _PAUSE_SECONDS]
        return Nonverbal("pause", long[0] if long else PAUSE_S)
    return _DROP if head in _SILENT_ACTIONS else None


def mark_directions(text: str) -> str:
    """ "*laughs*" and "_sighs_" become "[laughs]" and "[sighs]"; emphasis is untouched."""

    def sub(m: re.Match[str]) -> str:
        content = m.group("s") or m.group("u")
        return f"[{content.strip()}]" if direction(content) is not None else m.group(0)

    return _STARRED.sub(sub, text)


def parse(text: str, expressive: bool = True) -> list[str | Nonverbal]:
    """`text` as raw word pieces and events, in order. With `expressive` off there are no
    events: directions and spelt-out laughs are removed, and an ellipsis stays punctuation."""
    parts: list[str | Nonverbal] = []
    pos = 0
    for m in _MARKS.finditer(text):
        if (event := _event(m, expressive)) is None:
            continue  # emphasis, an aside, or (plain) an ellipsis: words and punctuation
        # An ellipsis stays on the words before it: it shapes how they are said.
        parts.append(text[pos : m.end() if m.group("ellipsis") else m.start()])
        parts.append(event if expressive and event is not _DROP else " ")
        pos = m.end()
    parts.append(text[pos:])
    return _merge(parts)


def _event(m: re.Match[str], expressive: bool) -> Nonverbal | None:
    if m.group("ellipsis"):
        return Nonverbal("pause", ELLIPSIS_PAUSE_S) if expressive else None
    if m.group("laugh"):
        return Nonverbal("laugh")
    return direction(m.group("s") or m.group("u") or m.group("p") or m.group("b"))


def _merge(parts: list[str | Nonverbal]) -> list[str | Nonverbal]:
    """Join neighbouring words; "*laughs* haha" is one laugh, "... *pause*" one (longer) pause."""
    out: list[str | Nonverbal] = []
    for part in parts:
        if isinstance(part, str):
            if out and isinstance(out[-1], str):
                out[-1] += part
            else:
                out.append(part)
            continue
        last = next((i for i in range(len(out) - 1, -1, -1) if _not_blank(out[i])), None)
        prev = out[last] if last is not None else None
        if last is not None and isinstance(prev, Nonverbal) and prev.kind == part.kind:
            out[last] = max(prev, part, key=lambda e: e.seconds)
        else:
            out.append(part)
    return out


def _not_blank(part: str | Nonverbal) -> bool:
    return isinstance(part, Nonverbal) or bool(part.strip())


# --- Rendering -------------------------------------------------------------------------


def silence(seconds: float, rate: int) -> bytes:
    """A pause: int16 PCM of zeros."""
    return bytes(2 * round(seconds * rate))


def _shaped_noise(
    n: int, rate: int, rng: np.random.Generator, peaks: Sequence[tuple[float, float, float]]
) -> np.ndarray:
    """White noise through a sum of Gaussian resonances (centre Hz, width Hz, gain), RMS 1."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / rate)
    shape = sum(g * np.exp(-0.5 * ((freqs - f) / w) ** 2) for f, w, g in peaks)
    shaped = np.fft.irfft(spectrum * shape * (freqs > 100), n)
    return shaped / (np.sqrt(np.mean(shaped**2)) or 1.0)


def sigh(rate: int, seed: int = 0, level: float = 0.035) -> bytes:
    """A sigh as breath: a short, thin inhale, then a longer, louder, falling exhale through
    an open "ah" (about 1 s), at RMS `level` (speech from Piper is about 0.1-0.17)."""
    rng = np.random.default_rng(seed)
    n_in, n_gap, n_out = int(0.32 * rate), int(0.08 * rate), int(0.62 * rate)
    inhale = _shaped_noise(n_in, rate, rng, [(2000, 700, 1.0), (3800, 900, 0.6)])
    inhale *= 0.45 * np.sin(np.linspace(0, np.pi, n_in)) ** 2
    exhale = _shaped_noise(n_out, rate, rng, [(700, 200, 1.0), (1200, 250, 0.7), (2600, 500, 0.3)])
    t = np.linspace(0, 1, n_out)
    exhale *= np.minimum(t / 0.1, 1.0) * (1 - t) ** 1.5  # quick onset, long fall
    wave = np.concatenate([inhale, np.zeros(n_gap), exhale])
    return to_pcm(wave * level / np.sqrt(np.mean(wave**2)))


def laugh(rate: int, seed: int = 0, pitch_hz: float = 180.0, level: float = 0.1) -> bytes:
    """A procedural "ha-ha-ha": four breathy voiced syllables, falling in pitch and loudness.

    Only for a synthesiser that cannot say "ha ha ha" itself; it will not sound like her.
    """
    rng = np.random.default_rng(seed)
    n_h, n_a, n_gap = int(0.04 * rate), int(0.11 * rate), int(0.07 * rate)
    vowel = [(750, 90, 1.0), (1250, 110, 0.6), (2600, 160, 0.25)]
    out: list[np.ndarray] = []
    for k in range(4):
        f0 = pitch_hz * (1 - 0.06 * k)
        phase = np.cumsum(np.full(n_a, f0 / rate))
        pulses = (phase % 1.0) - 0.5  # a sawtooth: every harmonic, falling 6 dB an octave
        spectrum = np.fft.rfft(pulses)
        freqs = np.fft.rfftfreq(n_a, 1 / rate)
        shape = sum(g * np.exp(-0.5 * ((freqs - f) / w) ** 2) for f, w, g in vowel) + 0.05
        voiced = np.fft.irfft(spectrum * shape, n_a)
        voiced /= np.sqrt(np.mean(voiced**2)) or 1.0
        voiced += 0.3 * _shaped_noise(n_a, rate, rng, vowel)  # breathy
        voiced *= np.sin(np.linspace(0, np.pi, n_a)) ** 0.7
        h = 0.35 * _shaped_noise(n_h, rate, rng, vowel) * np.linspace(0, 1, n_h)
        out += [(0.85**k) * np.concatenate([h, voiced]), np.zeros(n_gap)]
    wave = np.concatenate(out)
    return to_pcm(wave * level / np.sqrt(np.mean(wave**2)))
