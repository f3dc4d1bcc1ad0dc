"""OpenAI legacy Completions: `POST /v1/completions` (`prompt` in, `choices[].text` out), JSON and
SSE streams of `text_completion` chunks. Still served by vLLM, llama.cpp and others.

Reference: https://platform.openai.com/docs/api-reference/completions
"""

from __future__ import annotations

import json
from typing import Any

from proxy.dialects.openai_shapes import (
    DONE,
    OpenAIStreams,
    assemble_chunks,
    chunk_shell,
    echo_usage,
    envelope,
    text_or_texts,
)
from proxy.dialects.paths import other_slots, text_slot
from proxy.dialects.protocols import StreamDelta
from proxy.dialects.sse import SSEEvent
from proxy.exchange import Slot
from proxy.export.conversation import Conversation, Message, Unreadable


class OpenAICompletions(OpenAIStreams):
    name = "openai-completions"
    path = "/v1/completions"
    upstream_path = "/completions"

    def request_slots(self, body: dict[str, Any]) -> list[Slot]:
        slots = text_or_texts(("prompt",), body.get("prompt"), "prompt") + text_slot(("suffix",), body.get("suffix"))
        return slots + other_slots((), body, frozenset({"model", "prompt", "suffix"}))

    def response_slots(self, body: dict[str, Any]) -> list[Slot]:
        return [
            s for i, c in enumerate(body.get("choices") or []) for s in text_slot(("choices", i, "text"), c.get("text"))
        ]

    def stream_deltas(self, event: dict[str, Any]) -> list[StreamDelta]:
        return [
            StreamDelta((choice.get("index", p), "text"), ("choices", p, "text"))
            for p, choice in enumerate(event.get("choices") or [])
            if isinstance(choice.get("text"), str)
        ]

    def stream_closes(self, event: dict[str, Any]) -> list[int | str]:
        return [c.get("index", p) for p, c in enumerate(event.get("choices") or []) if c.get("finish_reason")]

    def stream_append(self, event: dict[str, Any], key: tuple[int | str, ...], text: str) -> bool:
        choice = next(c for p, c in enumerate(event["choices"]) if c.get("index", p) == key[0])
        choice["text"] = (choice.get("text") or "") + text
        return True

    def text_event(self, template: dict[str, Any], key: tuple[int | str, ...], text: str) -> dict[str, Any]:
        event = chunk_shell(template)
        event["choices"] = [{"index": key[0], "text": text, "logprobs": None, "finish_reason": None}]
        return event

    def assemble(self, events: list[dict[str, Any]]) -> dict[str, Any]:
        return assemble_chunks(events, "text_completion", lambda c: {"index": c.get("index", 0), "text": ""}, _merge)

    def echo_reply(self, model: str, text: str) -> dict[str, Any]:
        choice = {"index": 0, "text": text, "logprobs": None, "finish_reason": "stop"}
        return {**envelope(model, "text_completion", "cmpl"), "choices": [choice], "usage": echo_usage(text)}

    def echo_events(self, model: str, text: str, chunk_chars: int) -> list[SSEEvent]:
        shell = envelope(model, "text_completion", "cmpl")
        pieces = [text[i : i + chunk_chars] for i in range(0, len(text), chunk_chars)] or [""]
        events = [
            {**shell, "choices": [{"index": 0, "text": p, "logprobs": None, "finish_reason": None}]} for p in pieces
        ]
        events.append({**shell, "choices": [{"index": 0, "text": "", "logprobs": None, "finish_reason": "stop"}]})
        return [SSEEvent(json.dumps(event)) for event in events] + [SSEEvent(DONE)]

    def conversation(self, request: dict[str, Any], response: dict[str, Any]) -> Conversation:
        """A prompt and its continuation."""
        prompt = request["prompt"]
        if not isinstance(prompt, str):
            raise Unreadable("unreadable")
        return Conversation([Message("user", prompt), Message("assistant", response["choices"][0]["text"])])

    def finish_reason(self, response: dict[str, Any]) -> Any:
        return response["choices"][0].get("finish_reason")


def _merge(target: dict[str, Any], choice: dict[str, Any]) -> None:
    target["text"] += choice.get("text") or ""
    target["finish_reason"] = choice.get("finish_reason") or target.get("finish_reason")
