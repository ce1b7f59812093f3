"""Understand a spoken answer to her yes/no question: a clear yes, a clear no, or neither.

Conservative on purpose, since a yes runs an action: the whole transcript must be made of
known answer phrases and harmless fillers ("please", "thanks", "um", her name). Anything
else — another request, hesitation ("maybe", "I guess"), a question ("yes?"), or a yes and
a no together ("yes, no, wait") — is neither, and the proposal keeps waiting.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum


class Answer(StrEnum):
    YES = "yes"
    NO = "no"
    OTHER = "other"


_YES = """
yes | yeah | yep | yup | yea | ya | aye | sure | sure thing | okay | ok | o k | okey dokey
| all right | alright | right away | of course | certainly | absolutely | definitely
| indeed | correct | that's right | that is right | that's correct | exactly | confirm
| confirmed | approve | approved | go ahead | go for it | do it | do that | do so
| please do | yes please | sounds good | that's fine | that is fine | that's good | fine by me
| perfect | great | why not | send it | add it | book it | put it in | make it so | let's do it
| let's do that | i do | i'd like that | i would like that | by all means | affirmative
"""
_NO = """
no | nope | nah | no way | not really | negative | don't | do not | don't do it | don't do that
| please don't | not now | not yet | not today | not right now | never mind | nevermind
| cancel that | forget it | forget that | forget about it | leave it | leave it be | skip it
| skip that | i don't think so | better not | let's not | rather not | i'd rather not
| i would rather not | don't bother | no need | hold off | not that | no don't | stop
| please do not | do not do it | do not do that | please don't do it | please don't do that
"""
_FILLER = """
please | thanks | thank you | thank you very much | um | umm | uh | uhh | er | erm | oh | ah
| well | and | then | just | hey | dear | love | actually | mm | very much
"""


def _phrases(block: str) -> set[tuple[str, ...]]:
    return {tuple(p.split()) for p in block.replace("\n", " ").split("|") if p.strip()}


_KINDS = {p: Answer.YES for p in _phrases(_YES)} | {p: Answer.NO for p in _phrases(_NO)}
_FILLERS = _phrases(_FILLER)
_LONGEST = max(len(p) for p in [*_KINDS, *_FILLERS])


def words(text: str) -> list[str]:
    """Lower-case words, apostrophes straightened and kept ("don't"), all else dropped."""
    text = text.lower().replace("’", "'").replace("‘", "'")
    return re.findall(r"[a-z0-9]+(?:'[a-z]+)?", text)


def understand(text: str, names: Iterable[str] = ()) -> Answer:
    """What `text` (one final transcript) answers to "Shall I go ahead?".

    `names` are words that may address her ("Yes, Samantha") and mean nothing else.
    """
    if text.strip().endswith("?"):
        return Answer.OTHER  # "yes?" asks what she wants; it gives no consent
    said = words(text)
    fillers = _FILLERS | {tuple(words(n)) for n in names if words(n)}
    found: set[Answer] = set()
    i = 0
    while i < len(said):
        # Longest phrase first, so "don't do it" is a no before "do it" can be a yes.
        for size in range(min(_LONGEST, len(said) - i), 0, -1):
            piece = tuple(said[i : i + size])
            if piece in _KINDS or piece in fillers:
                if piece in _KINDS:
                    found.add(_KINDS[piece])
                i += size
                break
        else:
            return Answer.OTHER  # a word that is no part of an answer: something else was said
    return found.pop() if len(found) == 1 else Answer.OTHER
