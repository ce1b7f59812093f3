"""Approving actions by voice: she asks "Shall I go ahead?", the user's next turn answers.

A voice reply cannot stop and wait for the next spoken turn, so the approval is deferred:
`ask` (the session's `Approver`) notes the proposal and returns None, `Actions.request`
words it as her question, and the next final transcript is checked by `answer`. A clear
yes runs it (`Actions.approve`), a clear no declines it, anything else leaves it waiting in
the action log (`os1 approve ID` still works) and is answered as an ordinary message.

Only the user's own transcript can answer, and only a question she asked in this session,
in her latest reply, that the user heard to its end (a barge-in that cut it off, or an
answer after `answer_within_s`, does not count). Text she reads aloud — a mail, a web
page — is never a transcript, so it can never say yes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from ..actions import ActionError, Proposal, question
from ..companion import Companion
from .answers import Answer, understand, words

ANSWER_WITHIN_S = 300.0
"""After this long, a yes is no longer taken as the answer to her question."""


@dataclass
class _Question:
    action_id: int
    text: str  # what she asks with: `question(summary)`
    asked_at: float
    heard: bool = True  # False once a barge-in cut the question off


def _contains(text: str, part: str) -> bool:
    return f" {' '.join(words(part))} " in f" {' '.join(words(text))} "


class VoiceApproval:
    """The questions she has asked one user by voice and is waiting to hear answered."""

    def __init__(
        self,
        companion: Companion,
        user: str,
        *,
        answer_within_s: float = ANSWER_WITHIN_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.companion, self.user = companion, user
        self.answer_within_s, self.clock = answer_within_s, clock
        self._asking: list[_Question] = []  # asked in the reply being generated
        self._waiting: list[_Question] = []  # asked in her latest reply
        self._queue: list[_Question] = []  # asked together; put again one at a time

    async def ask(self, proposal: Proposal) -> bool | None:
        """The `Approver` for voice: she asks now; the answer comes with the next turn."""
        self._asking.append(_Question(proposal.action_id, question(proposal.summary), self.clock()))
        return None

    def begin_reply(self) -> None:
        """A new message goes to the Companion: earlier questions are no longer asked."""
        self._asking, self._waiting, self._queue = [], [], []

    def finish_reply(self, said: str) -> list[str]:
        """Her reply `said` is complete: what it asked now waits for an answer. Returns the
        questions the reply did not word itself (a model's paraphrase); she must say them."""
        unsaid = [q.text for q in self._asking if not _contains(said, q.text)]
        self._waiting, self._asking = self._asking, []
        return unsaid

    def heard(self, text: str) -> None:
        """A barge-in cut her off after `text`: a question not heard whole cannot be answered."""
        for q in self._waiting:
            if not _contains(text, q.text):
                q.heard = False

    async def answer(self, text: str, conversation_id: int | None) -> str | None:
        """What she says to `text` if it answers her question, else None (an ordinary
        message). The exchange is stored in `conversation_id` (None: incognito)."""
        now = self.clock()
        waiting = [q for q in self._waiting if now - q.asked_at <= self.answer_within_s]
        if not waiting:
            self._waiting, self._queue = [], []
            return None
        found = await self.companion.persona(self.user)  # "Yes, Samantha": her name
        said = understand(text, [found[0].name] if found else [])
        if said is Answer.OTHER:
            return None
        if len(waiting) > 1:
            first, *self._queue = waiting
            reply = f"I asked about {len(waiting)} things at once; one at a time, then. "
            reply += self._put(first)
        elif not waiting[0].heard:
            reply = "Let me ask that again. " + self._put(waiting[0])
        else:
            reply = await self._decide(waiting[0].action_id, said)
            self._waiting = []
            if self._queue:
                reply += " Next: " + self._put(self._queue.pop(0))
        if conversation_id is not None:
            await self.companion.record_turn(self.user, conversation_id, text, reply)
        return reply

    def _put(self, q: _Question) -> str:
        q.asked_at, q.heard = self.clock(), True
        self._waiting = [q]
        return q.text

    async def _decide(self, action_id: int, said: Answer) -> str:
        actions = self.companion.actions
        try:
            if said is Answer.NO:
                await actions.decline(self.user, action_id)
                return "All right, I won't."
            outcome = await actions.approve(self.user, action_id)
        except ActionError as e:  # decided elsewhere meanwhile (`os1 approve`)
            return f"That isn't waiting any more: {e}."
        if outcome.status == "done":
            return f"Done. {outcome.output}"
        if outcome.status == "failed":
            return f"That didn't work: {outcome.output}"
        return outcome.output
