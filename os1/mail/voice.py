"""The user's own voice in mail, learned from what they sent: greeting, sign-off, length, tone.

A reply drafted for the user should read like them: "Hey Amy," not "Dear Amy,",
"x" not "Kind regards". Everything here is counted from their sent mail
(`from_me = 1`), preferring what they wrote to the same person; with no sent
mail yet it falls back to a plain default and says so. `plain_reply` is the
reply the bundled tiny model's users get: the instruction turned into the
user's own first-person words where simple rules can, with their greeting and
sign-off — honest, and never more than they asked to say.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import median

from ..store import Store

SAMPLE = 200
"""Sent messages read to learn the voice: the most recent ones."""

_GREETING = re.compile(
    r"^(?P<word>hi|hey|hello|dear|hiya|yo|howdy|morning|good (?:morning|afternoon|evening))"
    r"(?:\s+(?P<name>[^\s,!:.]+(?:\s+[^\s,!:.]+)?))?\s*(?P<punct>[,!:.—-]?)\s*$",
    re.IGNORECASE,
)
_NAME_ONLY = re.compile(r"^(?P<name>[A-Z][\w'’-]+)\s*(?P<punct>[,!:—-])\s*$")
_GROUP_WORDS = frozenset("all everyone there team guys folks both y'all".split())
_CLOSINGS = frozenset(
    "best|best wishes|all the best|cheers|thanks|thank you|many thanks|thanks again|thx|"
    "regards|kind regards|best regards|warm regards|warmly|sincerely|yours sincerely|"
    "yours faithfully|yours|respectfully|love|lots of love|much love|take care|speak soon|"
    "talk soon|see you soon|see you|ta|x|xx|xxx|hugs|ttyl|later".split("|")
)
_FORMAL = frozenset(
    "regards|kind regards|best regards|sincerely|yours sincerely|yours faithfully|respectfully"
    .split("|")
)  # fmt: skip
_CASUAL = frozenset(
    "x|xx|xxx|cheers|love|lots of love|much love|ta|hugs|ttyl|later|speak soon|talk soon"
    .split("|")
)  # fmt: skip
_CONTRACTED = re.compile(
    r"\b(?:i'm|i'll|i've|i'd|don't|can't|won't|isn't|it's|that's|didn't|doesn't|we're|"
    r"you're|they're|let's|couldn't|wouldn't|shouldn't|haven't|wasn't|aren't|we'll)\b"
)
_EXPANDED = re.compile(
    r"\b(?:i am|i will|i have|i would|do not|cannot|will not|is not|it is|that is|did not|"
    r"does not|we are|you are|they are|let us|could not|would not|should not|have not|"
    r"was not|are not|we will)\b"
)
_WORDS = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")


@dataclass(frozen=True)
class Voice:
    """How the user writes mail. `greeting` may hold "{name}" for the recipient's first name."""

    greeting: str = "Hi {name},"
    sign_off: str = "Best,"
    words: int = 60
    """Typical length of the message between greeting and sign-off, in words."""
    exclamations: bool = False
    contractions: bool = True
    formality: str = "neutral"
    """"casual", "neutral" or "formal"."""
    name: str = ""
    """The user's first name as they sign, if known."""
    learned_from: int = 0
    examples: tuple[str, ...] = ()
    """A few short messages they wrote, for a capable model to match the style."""
    vocabulary: frozenset[str] = field(default_factory=frozenset)
    """Names they write again and again (their own too): never flagged as misspelt."""

    @property
    def note(self) -> str:
        if not self.learned_from:
            return "No sent mail to learn from yet, so this is a plain default voice."
        n = self.learned_from
        return f"Learned from {n} message{'s' * (n != 1)} you sent."

    def greet(self, name: str | None) -> str:
        if "{name}" not in self.greeting:
            return self.greeting
        if name:
            return self.greeting.replace("{name}", name)
        bare = self.greeting.replace(" {name}", "").replace("{name}", "").strip()
        return "" if bare in ("", ",") else bare

    def letter(self, text: str, name: str | None) -> str:
        """`text` with the user's greeting for `name` and their sign-off."""
        parts = [self.greet(name), text.strip(), self.sign_off]
        return "\n\n".join(p for p in parts if p)

    def describe(self) -> str:
        sign_off = self.sign_off.replace("\n", " / ") or "(none)"
        greeting = self.greeting.replace("{name}", "<first name>") or "(none)"
        return (
            f'greeting "{greeting}"; sign-off "{sign_off}"; usually about '
            f"{self.words} words; {'uses' if self.contractions else 'avoids'} contractions; "
            f"{'often uses' if self.exclamations else 'rarely uses'} exclamation marks; "
            f"{self.formality} in tone"
        )


def first_name(display_name: str) -> str | None:
    """The first name in a display name ("Amy Pond", "Pond, Amy"), or None for an org."""
    name = display_name.strip().strip("'\"")
    if "," in name:
        name = name.split(",", 1)[1].strip()
    first = name.split()[0] if name.split() else ""
    if not first or not first[0].isalpha() or any(ch.isdigit() for ch in first):
        return None
    if (first.isupper() and len(first) > 2) or "@" in first:
        return None  # "AMAZON", an address
    return first[0].upper() + first[1:]


def is_greeting(line: str) -> bool:
    return bool(_GREETING.match(line.strip()))


def _closing(line: str) -> bool:
    """A closing ("Best,", "Cheers!", "Thanks, Theo"), not a sentence ("Thanks, will do.")."""
    head, _, tail = line.strip().partition(",")
    if head.strip().rstrip(".!").lower() not in _CLOSINGS:
        return False
    tail = tail.strip(" .!")
    return not tail or (len(tail.split()) <= 2 and tail[:1].isupper())


def _split(body: str, names: set[str]) -> tuple[str | None, str, str | None]:
    """(greeting template, the message itself, sign-off) of one sent body."""
    lines = [line.rstrip() for line in body.strip().splitlines()]
    greeting = None
    if lines:
        first = lines[0].strip()
        m = _GREETING.match(first)
        if m:
            name = m.group("name")
            literal = not name or name.lower() in _GROUP_WORDS
            greeting = m.group("word") + (f" {name}" if literal and name else "")
            greeting += ("" if literal else " {name}") + m.group("punct")
            lines = lines[1:]
        elif (n := _NAME_ONLY.match(first)) and not _closing(first):
            greeting, lines = "{name}" + n.group("punct"), lines[1:]
    content = [line for line in lines if line.strip()]
    sign_off = None
    tail = content[-3:]
    for i, line in enumerate(tail):
        rest = tail[i + 1 :]
        short = all(len(r.split()) <= 2 or _closing(r) for r in rest)
        is_name = line.strip(" ,.!").lower() in names or re.fullmatch(r"[A-Za-z]\.?", line.strip())
        if (_closing(line) or (is_name and not rest)) and short and len(line.split()) <= 5:
            sign_off = "\n".join(r.strip() for r in tail[i:])
            cut = len(lines) - 1
            while cut >= 0 and lines[cut].strip() != tail[i].strip():
                cut -= 1
            lines = lines[:cut]
            break
    return greeting, "\n".join(lines).strip(), sign_off


def learn(bodies: Sequence[str], names: Sequence[str] = ()) -> Voice:
    """The voice of these sent bodies (newest first); `names`: the user's own names."""
    bodies = [b for b in bodies if b.strip()]
    my_names = {n.lower() for n in names if n}
    first = next((n for n in (first_name(x) for x in names) if n), "")
    if not bodies:
        return Voice(sign_off=f"Best,\n{first}" if first else "Best,", name=first)
    greetings: Counter[str] = Counter()
    sign_offs: Counter[str] = Counter()
    lengths, bangs, contracted, expanded = [], 0, 0, 0
    word_counts: Counter[str] = Counter()
    examples: list[str] = []
    for body in bodies:
        greeting, text, sign_off = _split(body, my_names)
        greetings[greeting or ""] += 1
        if sign_off:
            sign_offs[sign_off] += 1
        lengths.append(len(text.split()))
        lower = text.lower().replace("’", "'")
        bangs += "!" in text
        contracted += len(_CONTRACTED.findall(lower))
        expanded += len(_EXPANDED.findall(lower))
        # Capitalised words only: names and places, not a typo the user happens to repeat.
        word_counts.update({w.lower() for w in _WORDS.findall(body) if w[0].isupper()})
        if 5 <= len(text.split()) <= 150 and len(examples) < 3:
            examples.append(body.strip()[:600])
    greeting = greetings.most_common(1)[0][0]
    if sign_offs and sum(sign_offs.values()) * 2 >= len(bodies):
        sign_off = sign_offs.most_common(1)[0][0]
    else:
        sign_off = f"Best,\n{first}" if first else "Best,"
    exclamations = bangs / len(bodies) >= 0.3
    contractions = contracted >= expanded
    opener = greeting.split(" ")[0].lower()
    closer = sign_off.split("\n")[0].split(",")[0].strip(" .!").lower()
    if opener == "dear" or closer in _FORMAL or (expanded > contracted and not exclamations):
        formality = "formal"
    elif opener in ("hey", "hiya", "yo", "howdy", "morning") or closer in _CASUAL or exclamations:
        formality = "casual"
    else:
        formality = "neutral"
    return Voice(
        greeting=greeting,
        sign_off=sign_off,
        words=int(median(lengths)),
        exclamations=exclamations,
        contractions=contractions,
        formality=formality,
        name=first,
        learned_from=len(bodies),
        examples=tuple(examples),
        vocabulary=frozenset(w for w, n in word_counts.items() if n >= 2) | my_names,
    )


async def learn_voice(store: Store, user: str, *, to: str | None = None) -> Voice:
    """The user's voice from their sent mail; to one person (`to`) when there is enough of it."""
    rows = await store.query(
        "SELECT body, from_name, to_addrs FROM mail_messages WHERE user_id = ? AND from_me = 1 "
        "AND status = 'ok' ORDER BY coalesce(date, imported_at) DESC, id DESC LIMIT ?",
        (user, SAMPLE),
    )
    accounts = await store.query(
        "SELECT display_name FROM mail_accounts WHERE user_id = ? ORDER BY id", (user,)
    )
    names = [a["display_name"] for a in accounts] + [r["from_name"] for r in rows]
    names = [n for n in dict.fromkeys(names) if n]
    names += [part for n in names for part in n.replace(",", " ").split()]
    if to:
        personal = [r for r in rows if to.lower() in json.loads(r["to_addrs"])]
        if len(personal) >= 2:
            rows = personal
    return learn([r["body"] for r in rows], names)


# --- the reply without a capable model --------------------------------------------------

_LEAD = re.compile(
    r"^(?:please\s+)?(?:(?:tell|let|inform)\s+(?P<who>\S+)(?:\s+know)?\s+|"
    r"(?:say|reply|answer|respond|write(?:\s+back)?)(?:\s+to\s+(?P<who2>\S+))?"
    r"(?:\s+(?:saying|with))?\s+)?(?:that\s+)?(?P<rest>.+)$",
    re.IGNORECASE | re.DOTALL,
)
_ASK = re.compile(
    r"^(?:please\s+)?ask\s+(?P<who>\S+)\s+(?:if|whether)\s+(?P<subj>she|he|they)\s+"
    r"(?P<verb>[\w']+)(?P<rest>.*)$",
    re.IGNORECASE | re.DOTALL,
)
_THANK = re.compile(r"^(?:please\s+)?thank\s+(?P<who>\S+)(?P<rest>.*)$", re.IGNORECASE | re.DOTALL)
_AUX = {"is": "are", "was": "were", "has": "have", "does": "do", "are": "are", "were": "were",
        "have": "have"}  # fmt: skip
_MODALS = frozenset("can could will would should might may shall must".split())
_PAST = dict(
    pair.split(":")
    for pair in "got:get did:do had:have saw:see came:come went:go made:make took:take "
    "sent:send heard:hear found:find left:leave bought:buy brought:bring told:tell said:say "
    "knew:know thought:think paid:pay read:read gave:give met:meet ate:eat wrote:write "
    "forgot:forget".split()
)
_PRONOUNS = {
    "her": {r"\bshe's\b": "you're", r"\bshe is\b": "you are", r"\bshe was\b": "you were",
            r"\bshe has\b": "you have", r"\bshe\b": "you", r"\bhers\b": "yours",
            r"\bherself\b": "yourself"},
    "him": {r"\bhe's\b": "you're", r"\bhe is\b": "you are", r"\bhe was\b": "you were",
            r"\bhe has\b": "you have", r"\bhe\b": "you", r"\bhim\b": "you", r"\bhis\b": "your",
            r"\bhimself\b": "yourself"},
    "them": {r"\bthey\b": "you", r"\bthem\b": "you", r"\btheir\b": "your",
             r"\btheirs\b": "yours", r"\bthemselves\b": "yourselves"},
}  # fmt: skip
# "her" is "you" before these words or at the end, else "your" ("her book" -> "your book").
_HER_OBJECT = re.compile(
    r"\bher\b(?=\s*(?:$|[.,!?;]|\s(?:at|on|in|by|to|for|and|but|or|if|when|then|there|soon|"
    r"later|again|too|tonight|today|tomorrow|next|this|that|know|week|weekend|month|"
    r"(?:mon|tues|wednes|thurs|fri|satur|sun)day)\b|\s(?-i:[A-Z])))",
    re.IGNORECASE,
)
_CONTRACT = {
    "I will": "I'll", "I am": "I'm", "I have": "I've", "do not": "don't", "cannot": "can't",
    "will not": "won't", "it is": "it's", "we will": "we'll",
}  # fmt: skip
_CHEERY = frozenset(
    "yes|yes please|thanks|thank you|sure|great|sounds good|sounds great".split("|")
)


def _swap_pronouns(text: str, who: str) -> str:
    """Third person about the recipient becomes "you": "see her friday" -> "see you friday"."""
    key = who.lower()
    if key not in _PRONOUNS:
        return text
    if key == "her":
        text = _HER_OBJECT.sub("you", text)
        text = re.sub(r"\bher\b", "your", text)
    for pattern, replacement in _PRONOUNS[key].items():
        text = re.sub(pattern, replacement, text)
    return text


def _sentence(text: str, voice: Voice) -> str:
    text = text.strip().rstrip(",;:")
    for long, short in _CONTRACT.items():
        a, b = (long, short) if voice.contractions else (short, long)
        text = re.sub(rf"\b{re.escape(a)}\b(?!\s+not\b)", b, text, flags=re.IGNORECASE)
    if not text:
        return text
    text = text[0].upper() + text[1:]
    if text[-1] not in ".!?…":
        cheery = text.lower() in _CHEERY
        text += "!" if cheery and voice.exclamations else "."
    return text


def _verb_base(verb: str) -> str:
    if verb.endswith("ies") and len(verb) > 4:
        return verb[:-3] + "y"
    if re.search(r"(s|sh|ch|x|z)es$", verb):
        return verb[:-2]
    return verb[:-1] if verb.endswith("s") and not verb.endswith("ss") else verb


def first_person(instruction: str, voice: Voice) -> str:
    """What the instruction asks the user to say, in their words where simple rules can tell.

    "tell her I'll come" -> "I'll come."; "say yes" -> "Yes."; "ask him if he can come" ->
    "Can you come?"; anything else is used as written.
    """
    text = " ".join(instruction.split())
    if m := _ASK.match(text):
        verb, rest = m.group("verb").lower(), _swap_pronouns(m.group("rest"), m.group("who"))
        rest = rest.strip().rstrip("?.")
        if verb in _AUX or verb in _MODALS:
            question = f"{_AUX.get(verb, verb)} you {rest}"
        elif verb in _PAST:
            question = f"did you {_PAST[verb]} {rest}"
        elif verb.endswith("ed"):  # "received": the participle is the same word
            question = f"have you {verb} {rest}"
        else:
            question = f"do you {_verb_base(verb) if m.group('subj') != 'they' else verb} {rest}"
        return _sentence(question.strip(), voice).rstrip(".") + "?"
    if m := _THANK.match(text):
        return _sentence("thank you" + _swap_pronouns(m.group("rest"), m.group("who")), voice)
    m = _LEAD.match(text)
    if m is None:
        return _sentence(text, voice)
    who = m.group("who") or m.group("who2") or ""
    return _sentence(_swap_pronouns(m.group("rest"), who), voice)


def plain_reply(instruction: str, voice: Voice, name: str | None) -> str:
    """The whole reply body, built without a model: greeting, the instruction, sign-off."""
    return voice.letter(first_person(instruction, voice), name)
