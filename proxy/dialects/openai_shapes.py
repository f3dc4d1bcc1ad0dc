"""Shapes every OpenAI surface shares: the error body, the id envelope, model and text-list checks.

Reference: https://platform.openai.com/docs/api-reference
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from proxy.dialects.paths import text_slot
from proxy.dialects.sse import SSEEvent
from proxy.errors import BadRequest, ProxyError
from proxy.exchange import JSONPath, Slot, Usage

DONE = "[DONE]"


def openai_error(error: ProxyError) -> dict[str, Any]:
    return {"error": {"message": error.message, "type": error.type, "param": None, "code": error.code}}


def envelope(model: str, kind: str, prefix: str = "chatcmpl") -> dict[str, Any]:
    return {"id": f"{prefix}-{uuid.uuid4().hex[:24]}", "object": kind, "created": int(time.time()), "model": model}


def require_model(body: dict[str, Any]) -> str:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise BadRequest("you must provide a model parameter", code="missing_model")
    return model


def text_or_texts(path: JSONPath, value: Any, field: str) -> list[Slot]:
    """Slots for a field that takes a string or a list of strings (`prompt`, `input`).

    Token arrays are refused: the detector reads text, and tokens it cannot read would go out
    unscanned. (LangChain sends tokens unless `check_embedding_ctx_length=False`.)"""
    if value is None or isinstance(value, str):
        return text_slot(path, value)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return [slot for i, item in enumerate(value) for slot in text_slot((*path, i), item)]
    message = f"'{field}' must be a string or a list of strings: token arrays cannot be scanned for personal data"
    raise BadRequest(message, code="unscannable_input")


def openai_usage(body: dict[str, Any]) -> Usage:
    usage = body.get("usage") or {}
    prompt = usage.get("prompt_tokens", usage.get("input_tokens"))
    completion = usage.get("completion_tokens", usage.get("output_tokens"))
    return Usage(prompt, completion, usage.get("total_tokens"))


def echo_usage(text: str) -> dict[str, int]:
    words = len(text.split())
    return {"prompt_tokens": words, "completion_tokens": words, "total_tokens": 2 * words}


class OpenAISurface:
    """What every OpenAI surface does alike (the `Dialect` side); a surface module overrides what differs."""

    restores = True
    #: upstream kinds that serve this surface (echo serves every surface)
    upstream_kinds: frozenset[str] = frozenset({"openai", "openai-compatible", "azure-openai"})

    def model(self, body: dict[str, Any]) -> str:
        return require_model(body)

    def unscannable_parts(self, body: dict[str, Any]) -> list[JSONPath]:
        return []

    def usage(self, body: dict[str, Any]) -> Usage:
        return openai_usage(body)

    def error_body(self, error: ProxyError) -> dict[str, Any]:
        return openai_error(error)


class OpenAIStreams(OpenAISurface):
    """What every OpenAI surface that streams does alike: data-only events ending in `[DONE]`."""

    def is_stream(self, body: dict[str, Any]) -> bool:
        return body.get("stream") is True

    def stream_whole_slots(self, event: dict[str, Any]) -> list[Slot]:
        return []

    def event_name(self, event: dict[str, Any]) -> str | None:
        return None  # data-only events

    def stream_is_end(self, sse: SSEEvent) -> bool:
        return sse.data.strip() == DONE


def chunk_shell(template: dict[str, Any]) -> dict[str, Any]:
    """The id, object, created and model of a stream chunk, for one the proxy makes."""
    return {k: template[k] for k in ("id", "object", "created", "model") if k in template}


def assemble_chunks(
    events: list[dict[str, Any]],
    kind: str,
    start: Callable[[dict[str, Any]], dict[str, Any]],
    merge: Callable[[dict[str, Any], dict[str, Any]], None],
) -> dict[str, Any]:
    """One whole answer from stream chunks: each choice is started by `start` from its first
    chunk and grown by `merge`; the last `usage` seen wins."""
    first = events[0] if events else {}
    choices: dict[int, dict[str, Any]] = {}
    usage = None
    for event in events:
        usage = event.get("usage") or usage
        for choice in event.get("choices") or []:
            index = choice.get("index", 0)
            if index not in choices:
                choices[index] = start(choice)
            merge(choices[index], choice)
    body: dict[str, Any] = {k: first[k] for k in ("id", "created", "model", "system_fingerprint") if k in first}
    body.update(object=kind, choices=[choices[i] for i in sorted(choices)])
    if usage:
        body["usage"] = usage
    return body
