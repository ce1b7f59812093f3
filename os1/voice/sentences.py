"""Cut a streaming reply into speakable chunks: a short first clause, then whole sentences.

The first chunk may end at a clause boundary (a comma, semicolon, colon or dash after
at least `first_clause_words` words), so synthesis, and her first sound, starts before
the model has finished its first sentence. After that, chunks are sentences: ended by
. ! ? or an ellipsis followed by a space, but not after an abbreviation ("Dr.", "e.g."),
an initial ("J. Smith"), inside a number ("3.5"), or an ellipsis running on in lower case.
A short opener ("Well,", "I'm sorry,", "You're right,") followed by a comma and at least
two more words is a first chunk of its own, and the clause rule still applies to the
chunk after it. A boundary is only taken once the next character has arrived, so a stream that stops
after "Dr." is never cut early. Markdown and emoji are removed: they are not spoken.
"""

from __future__ import annotations

import re
import unicodedata

from .nonverbal import mark_directions

ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sr jr st mt vs e.g i.e cf approx dept est fig inc ltd co jan feb "
    "mar apr jun jul aug sep sept oct nov dec mon tue wed thu fri sat sun".split()
)

OPENERS = frozenset(
    "well|oh|ah|okay|ok|sure|yes|yeah|no|hmm|mm|right|so|honestly|actually|absolutely|"
    "alright|exactly|hey|hi|wow|oh no|oh dear|oh well|oh wow|of course|i see|i know|"
    "i'm sorry|sorry|you're right|that's right|fair enough|good question|got it|me too|"
    "thank you|thanks|i hear you|i understand|that's true".split("|")
)
_SENTENCE = re.compile(r"(?:\.\.\.|…|[.!?]+)[\"'”’)\]]*(?=\s)")
_CLAUSE = re.compile(r"(?:[,;:]|\s[—–-])(?=\s)")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_BULLET = re.compile(r"^\s*(?:[-*•+]|#+|>)\s+", re.MULTILINE)
_MARKUP = re.compile(r"[*_`~#]+")
_SPACE = re.compile(r"\s+")
_SPACE_BEFORE_MARK = re.compile(r"\s+([,.!?;:])")


def speakable(text: str) -> str:
    """`text` as it should be spoken: no markdown, no emoji, single spaces ('' if nothing).

    Stage directions ("*laughs*") are kept, bracketed ("[laughs]"), for `Expression`."""
    text = mark_directions(text)
    text = _LINK.sub(r"\1", text)
    text = _BULLET.sub("", text)
    text = _MARKUP.sub("", text)
    text = "".join(ch for ch in text if not _is_emoji(ch))
    text = _SPACE_BEFORE_MARK.sub(r"\1", _SPACE.sub(" ", text)).strip()
    return text if any(ch.isalnum() for ch in text) else ""


def _is_emoji(ch: str) -> bool:
    # Pictographs live above U+2190; below it, symbols such as ° and © are spoken.
    code = ord(ch)
    if code in (0x200D, 0xFE0F):  # joiner and emoji presentation selector
        return True
    return code >= 0x2190 and unicodedata.category(ch) in ("So", "Sk", "Cs", "Co")


def _is_opener(text: str) -> bool:
    words = speakable(text).rstrip(",").replace("’", "'").lower()
    return text.rstrip().endswith(",") and words in OPENERS


class SentenceSplitter:
    """Feed reply text as it streams; get speakable chunks as soon as they are complete."""

    def __init__(self, first_clause_words: int = 3, max_chars: int = 250) -> None:
        self.first_clause_words = first_clause_words
        self.max_chars = max_chars
        self._buf = ""
        self._first = True
        self._opened = False  # the first chunk was an opener: the next may be a clause

    def feed(self, text: str) -> list[str]:
        """Add streamed text; return the chunks it completed."""
        self._buf += text
        chunks: list[str] = []
        while (end := self._boundary()) is not None:
            chunks += self._take(end)
        return chunks

    def flush(self) -> list[str]:
        """The reply ended: whatever is left is the last chunk."""
        return self._take(len(self._buf))

    def _take(self, end: int) -> list[str]:
        chunk, self._buf = speakable(self._buf[:end]), self._buf[end:].lstrip()
        if not chunk:
            return []
        opener = self._first and not self._opened and _is_opener(chunk)
        self._opened = self._opened or opener
        self._first = opener
        return [chunk]

    def _boundary(self) -> int | None:
        buf = self._buf
        ends = [m.end() for m in _SENTENCE.finditer(buf) if self._ends_sentence(buf, m)]
        if (newline := buf.find("\n")) >= 0:
            ends.append(newline + 1)
        if self._first and not self._opened and (comma := buf.find(",")) > 0:
            if _is_opener(buf[: comma + 1]) and len(buf[comma + 1 :].split()) >= 2:
                ends.append(comma + 1)
        if self._first:
            ends += [
                m.end()
                for m in _CLAUSE.finditer(buf)
                if len(speakable(buf[: m.start()]).split()) >= self.first_clause_words
            ]
        if ends:
            return min(ends)
        if len(buf) > self.max_chars:
            # A run-on with no punctuation: cut at a space rather than wait for the end.
            space = buf.rfind(" ", 0, self.max_chars)
            return space if space > 0 else self.max_chars
        return None

    @staticmethod
    def _ends_sentence(buf: str, match: re.Match[str]) -> bool:
        mark = match.group(0)
        rest = buf[match.end() :].lstrip()
        if mark.startswith(("...", "…")):
            # "well... maybe" runs on; "so... Anyway" starts a new sentence.
            if not rest:
                return False
            return not rest[0].islower()
        if not mark.startswith("."):
            return True
        word = buf[: match.start()].split()[-1:] or [""]
        token = word[0].lstrip("(\"'“‘").lower()
        if token in ABBREVIATIONS:
            return False
        # An initial, as in "J. R. R. Tolkien", is one capital letter before the dot.
        return not (len(token) == 1 and token.isalpha() and word[0][-1].isupper())
