"""OpenAI Embeddings: `POST /v1/embeddings`. Nothing comes back to restore, so a pseudonym
would only change the vector: `pseudonymize` acts as `redact` here (`restores = False`).

Only a `Dialect`: the answer is vectors (no text, so not `Answers`) and never a stream (not
`Streams`: a `stream` field goes to the vendor as the client sent it, and the answer is relayed whole).

Reference: https://platform.openai.com/docs/api-reference/embeddings
"""

from __future__ import annotations

from typing import Any

from proxy.dialects.openai_shapes import OpenAISurface, text_or_texts
from proxy.dialects.paths import other_slots
from proxy.exchange import Slot

ECHO_DIMENSIONS = 8


class OpenAIEmbeddings(OpenAISurface):
    name = "openai-embeddings"
    path = "/v1/embeddings"
    upstream_path = "/embeddings"
    restores = False

    def request_slots(self, body: dict[str, Any]) -> list[Slot]:
        slots = text_or_texts(("input",), body.get("input"), "input")
        return slots + other_slots((), body, frozenset({"model", "input", "encoding_format"}))

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
