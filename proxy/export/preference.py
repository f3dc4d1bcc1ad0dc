"""Preference pairs (`--format dpo-jsonl`): two answers to the same prompt that feedback scored
differently become one row `{"prompt", "chosen", "rejected"}` (TRL's conversational preference
format: lists of chat messages).

Records are grouped by their prompt, everything before the final assistant turn; a prompt needs
at least two scored answers with different mean scores, and the best and the worst answer make
the pair. Only scored records are held in memory (their prompt digest, score and answer).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from proxy.export.conversation import Conversation
from proxy.export.formats import openai_row


@dataclass
class Answer:
    request_id: str
    score: float
    prompt: list[dict[str, Any]]  # chat messages, OpenAI shape
    answer: list[dict[str, Any]]


def split_answer(conversation: Conversation) -> tuple[Conversation, Conversation]:
    """(prompt, final answer): the answer is the trailing run of assistant and tool messages after
    the last user message."""
    messages = conversation.messages
    last_user = max((i for i, m in enumerate(messages) if m.role == "user"), default=-1)
    prompt = Conversation(messages[: last_user + 1], conversation.tools)
    return prompt, Conversation(messages[last_user + 1 :], conversation.tools)


class Pairs:
    """Collects scored answers by prompt; `rows` gives the preference pairs."""

    def __init__(self) -> None:
        self._by_prompt: dict[bytes, list[Answer]] = {}

    def add(self, request_id: str, score: float, conversation: Conversation) -> None:
        prompt, answer = split_answer(conversation)
        if not prompt.messages or not answer.messages:
            return
        rendered = openai_row(conversation)["messages"]
        cut = len(prompt.messages)
        self._by_prompt.setdefault(prompt.digest(), []).append(
            Answer(request_id, score, rendered[:cut], rendered[cut:])
        )

    def rows(self) -> list[tuple[tuple[str, str], dict[str, Any]]]:
        """((chosen id, rejected id), row) for every prompt whose answers were scored differently."""
        pairs = []
        for answers in self._by_prompt.values():
            best = max(answers, key=lambda a: a.score)
            worst = min(answers, key=lambda a: a.score)
            if best.score > worst.score:
                row = {"prompt": best.prompt, "chosen": best.answer, "rejected": worst.answer}
                pairs.append(((best.request_id, worst.request_id), row))
        return pairs
