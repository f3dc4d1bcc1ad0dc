"""Anthropic token counting: `POST /v1/messages/count_tokens`, a messages request without an answer.

The body is a messages request (system, messages, tools), so it is scanned and transformed
exactly as one: the count is of the text the vendor would receive, and nothing unscanned leaves.
The answer, `{"input_tokens": N}`, holds no text to restore and has no streamed form: a `Dialect`
only (not `Answers`, not `Streams`).

Reference: https://docs.anthropic.com/en/api/messages-count-tokens
"""

from __future__ import annotations

from typing import Any

from proxy.dialects.anthropic_messages import AnthropicWire
from proxy.exchange import Usage


class AnthropicCountTokens(AnthropicWire):
    name = "anthropic-count-tokens"
    path = "/v1/messages/count_tokens"
    upstream_path = "/v1/messages/count_tokens"

    def usage(self, body: dict[str, Any]) -> Usage:
        return Usage()  # counting is free: it uses none of a key's tokens per day

    def echo_reply(self, model: str, text: str) -> dict[str, Any]:
        return {"input_tokens": len(text.split())}
