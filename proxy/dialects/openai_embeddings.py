"""OpenAI Embeddings: `POST /v1/embeddings`. Nothing comes back to restore, so a pseudonym
would only change the vector: `pseudonymize` acts as `redact` here (`restores = False`).

Reference: https://platform.openai.com/docs/api-reference/embeddings
"""

from __future__ import annotations

from typing import Any

from proxy.dialects import StreamDelta
from proxy.dialects.openai_shapes import (
    OpenAISurface,
    text_or_texts,
)
from proxy.dialects.paths import other_slots
from proxy.dialects.sse import SSEEvent
from proxy.exchange import Slot

ECHO_DIMENSIONS = 8


class OpenAIEmbeddings(OpenAISurface):
    name = "openai-embeddings"
    path = "/v1/embeddings"
    upstream_path = "/embeddings"
    restores = False

    def is_stream(self, body: dict[str, Any]) -> bool:
        return False

    def request_slots(self, body: dict[str, Any]) -> list[Slot]:
        slots = text_or_texts(("input",), body.get("input"), "input")
        return slots + other_slots((), body, frozenset({"model", "input", "encoding_format"}))

    def response_slots(self, body: dict[str, Any]) -> list[Slot]:
        return []  # vectors

    def stream_deltas(self, event: dict[str, Any]) -> list[StreamDelta]:
        return []

    def stream_closes(self, event: dict[str, Any]) -> list[int | str]:
        return []

    def stream_append(self, event: dict[str, Any], key: tuple[int | str, ...], text: str) -> bool:
        return False

    def text_event(self, template: dict[str, Any], key: tuple[int | str, ...], text: str) -> dict[str, Any]:
        raise NotImplementedError("embeddings do not stream")

    def stream_is_end(self, sse: SSEEvent) -> bool:
        return True

    def assemble(self, events: list[dict[str, Any]]) -> dict[str, Any]:
        return {}

    def echo_reply(self, model: str, text: str) -> dict[str, Any]:
        """One small vector per input line; an embedding cannot show the text it was made from."""
        lines = text.split("\n") if text else [""]
        data = [
            {"object": "embedding", "index": i, "embedding": [float(len(line) % 7)] * ECHO_DIMENSIONS}
            for i, line in enumerate(lines)
        ]
        tokens = len(text.split())
        return {
            "object": "list",
            "data": data,
            "model": model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }

    def echo_events(self, model: str, text: str, chunk_chars: int) -> list[SSEEvent]:
        return []
