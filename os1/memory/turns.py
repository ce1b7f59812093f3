"""How memory takes part in a turn: answers it can give itself, and what goes in the prompt.

What she knows is shown with its sources; forgetting is proposed and confirmed;
corrections replace the old fact (kept as superseded). Asked about the past with
nothing relevant stored, she says she doesn't remember — a small model is not
allowed to make a shared past up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..actions import ActionError, Approver, Outcome
from . import control, intents
from .factbase import spoken_date
from .search import Hit

if TYPE_CHECKING:
    from ..companion import Companion

NOT_REMEMBERED = (
    "I don't remember you telling me about that. I'd rather say so than guess — "
    "tell me, and I'll remember it."
)


def query_of(text: str) -> str:
    """What to search with: a pasted document's head and tail are enough to find by."""
    return text if len(text) <= 2000 else text[:1000] + " " + text[-1000:]


def lexical(hit: Hit) -> bool:
    """The hit shares words with the question, not only a vague closeness of meaning."""
    return "bm25_rank" in hit.signals


def _said(outcome: Outcome, proposed: str, declined: str) -> str:
    if outcome.status == "proposed" and outcome.asked:  # a front door that takes a yes later
        return f"{proposed} {outcome.output}"
    if outcome.status == "proposed":
        return f"{proposed} Say yes with `os1 approve {outcome.action_id}`."
    if outcome.status == "declined":
        return declined
    return outcome.output


async def _forget(
    companion: Companion,
    user: str,
    request: intents.Forget,
    message_id: int,
    approve: Approver | None,
) -> str:
    memory = companion.memory
    if request.target is None:
        row = await companion.store.query_one(
            "SELECT id, content FROM messages WHERE user_id = ? AND role = 'user' AND id < ? "
            "ORDER BY id DESC LIMIT 1",
            (user, message_id),
        )
        if row is None:
            return "There's nothing before this for me to forget."
        quote = control.quoted(row["content"])
        args = {"message_ids": [row["id"]], "what": f'your last message ("{quote}") and '
                "anything I learned from it"}  # fmt: skip
    else:
        hits = await memory.searcher.search(user, request.target, k=5, kinds=("memory",))
        found = [h for h in hits if lexical(h)][:3]
        if not found:
            return (
                "I can't find anything like that in what I remember, so there's nothing to forget."
            )
        sources = sorted({m for h in found for m in h.sources})
        quotes = [r["content"] for r in await control.sources_of(memory, user, tuple(sources))]
        what = "; ".join(h.content for h in found)
        if quotes:
            # Say all that goes: the messages may hold more than this one fact.
            what += " — and the message" + "s" * (len(quotes) > 1) + " it came from: "
            what += "; ".join(f'"{q if len(q) <= 80 else q[:77] + "…"}"' for q in quotes)
        args = {"fact_ids": [h.id for h in found], "what": what}
    outcome = await companion.actions.request(
        user, "forget_memories", args, requested_by="user", approve=approve
    )
    return _said(outcome, "I'll forget it as soon as you confirm.", "All right, I'll keep it.")


async def _correct(
    companion: Companion, user: str, statement: str, message_id: int, approve: Approver | None
) -> str:
    if not statement:
        return 'What should it be instead? Tell me, e.g. "that\'s wrong, my sister is called Anna".'
    try:
        outcome = await companion.actions.request(
            user, "correct_memory", {"statement": statement, "message_id": message_id},
            requested_by="user", approve=approve,
        )  # fmt: skip
    except ActionError as e:
        return str(e)
    if outcome.status == "failed":
        return outcome.output.split(": ", 1)[-1]
    return _said(outcome, "I'll correct it once you confirm.", "All right, I'll leave it.")


async def _answer_question(companion: Companion, user: str, text: str, asked: int) -> str:
    search = companion.memory.searcher.search
    facts = [h for h in await search(user, query_of(text), k=5, kinds=("memory",)) if lexical(h)]
    current = await companion.memory.facts(user)  # active only: never answer with a stale value
    active = {f.id for f in current}
    facts = [h for h in facts if h.id in active]
    if facts:
        best = facts[0]
        return f"You told me on {spoken_date(best.created_at)}: {best.content}"
    hits = [h for h in await search(user, query_of(text), k=5, kinds=("message",)) if lexical(h)]
    ids = [h.id for h in hits if h.kind == "message"]
    marks = ",".join("?" * len(ids))
    theirs = {
        r["id"]
        for r in await companion.store.query(
            f"SELECT id FROM messages WHERE user_id = ? AND role = 'user' AND id IN ({marks})",
            (user, *ids),
        )
    }
    # Only the user's own words count as what they said; her replies prove nothing.
    said = [
        h
        for h in hits
        if h.kind == "message" and h.id in theirs and h.id != asked
        and not h.content.rstrip().endswith("?")
    ]  # fmt: skip
    if said:
        return f'On {spoken_date(said[0].created_at)} you said: "{said[0].content}"'
    return NOT_REMEMBERED


async def direct_answer(
    companion: Companion, user: str, text: str, message_id: int, approve: Approver | None
) -> tuple[str, bool] | None:
    """An answer memory gives itself, and whether the message may be mined for facts."""
    if intents.asks_what_you_know(text):
        return await control.about(companion.memory, user), False
    if (request := intents.forget_request(text)) is not None:
        return await _forget(companion, user, request, message_id, approve), False
    if (statement := intents.correction(text)) is not None:
        return await _correct(companion, user, statement, message_id, approve), False
    if intents.memory_question(text) and companion.model.info.small:
        return await _answer_question(companion, user, text, message_id), False
    return None


async def context_block(
    companion: Companion, user: str, text: str, *, budget: int, exclude: set[int]
) -> str:
    """What she remembers that bears on this turn, for the system prompt, with dates."""
    count = companion.model.count_tokens
    profile = await companion.memory.profile(user, budget_tokens=budget // 2, count=count)
    hits = await companion.memory.recall(
        user, query_of(text), budget_tokens=budget // 2, count_tokens=count
    )
    lines = []
    if profile:
        lines.append("What you know about them:\n" + profile)
    recalled = [
        f"- ({spoken_date(h.created_at)}) {h.content}"
        for h in hits
        if not (h.kind == "message" and h.id in exclude)
    ]
    if recalled:
        lines.append("Things you remember that may matter now:\n" + "\n".join(recalled))
    if lines:
        lines.append(
            "Use only these memories; if they don't answer a question, say you don't know."
        )
    return "\n\n".join(lines)
