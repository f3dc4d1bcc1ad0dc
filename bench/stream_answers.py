"""The streamed answers the restore benchmarks share: 2 KB of chat prose holding placeholders in
the forms models write, cut into deltas and wrapped as OpenAI chat chunks. Imports nothing of
the proxy but the SSE event, so `restore_vs_base.py` can run it against older code."""

from __future__ import annotations

import json
import re

from proxy.dialects.sse import SSEEvent

ORIGINALS = {
    "<PERSON_1>": "Peter Parker",
    "<PERSON_2>": "Mary Jane Watson",
    "<PERSON_3>": "Harry Osborn",
    "<EMAIL_ADDRESS_1>": "peter@dailybugle.com",
    "<PHONE_NUMBER_1>": "+1 212 555 0100",
}
SENTENCES = [  # one placeholder in every other sentence; plain prose, code and markup between
    "Dear <PERSON_1>, thank you for your message about the invoice from last week. ",
    "Please find the corrected figures below; the earlier totals were computed per period, not per project. ",
    "I have forwarded the question to [person_2], who handles billing for your team. ",
    "Everything else in the export looks right: a < b, x_1 = 2, <div>, [link](https://example.org). ",
    "You can reach her at &lt;EMAIL_ADDRESS_1&gt; or by phone during office hours. ",
    "Expect the updated statement early next week, once the payment provider confirms the refund. ",
    "PERSON_3 asked whether the delivery can move to Friday; **<PERSON_1>**'s reply is pending. ",
    "Perhaps we can also review the open purchase orders then, especially the ones from the previous quarter. ",
]
DENSE = [sentence for sentence in SENTENCES if "_" in sentence and "x_1" not in sentence]


TOKEN = re.compile(r"\s*[^\s]{1,6}|\s+")  # roughly how a vendor's tokenizer cuts text: words with their space


def answer(size: int, sentences: list[str] = SENTENCES) -> str:
    text, i = "", 0
    while len(text) < size:
        text, i = text + sentences[i % len(sentences)], i + 1
    return text[:size]


def chunks(text: str, chars: int) -> list[str]:
    """Deltas of `chars` characters, or with 0, token-like pieces."""
    return TOKEN.findall(text) if chars == 0 else [text[i : i + chars] for i in range(0, len(text), chars)]


def chat_events(pieces: list[str]) -> list[SSEEvent]:
    shell = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 0, "model": "gpt-4o"}
    deltas = [{"index": 0, "delta": {"content": piece}, "finish_reason": None} for piece in pieces]
    events = [{**shell, "choices": [delta]} for delta in deltas]
    events.append({**shell, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    return [*(SSEEvent(json.dumps(event)) for event in events), SSEEvent("[DONE]")]
