"""A stand-in for OpenAI that speaks its exact wire format, JSON and SSE.

It records every request it receives, and a test tells it how to answer: echo the last user
message (default), reply with given text or tool calls, stream in chunks of a chosen size,
fail with a status, stall, or break the connection.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

ROLES = {"system", "developer", "user", "assistant", "tool", "function"}


@dataclass
class Received:
    headers: dict[str, str]
    body: dict[str, Any]
    raw: bytes


@dataclass
class Script:
    """How the next requests are answered."""

    reply: str | None = None  # None: echo the text of the last message
    tool_calls: list[dict[str, Any]] | None = None  # [{"name": ..., "arguments": "<json string>"}]
    chunk_chars: int = 7
    status: int | None = None
    error_body: dict[str, Any] | None = None
    delay: float = 0.0  # before answering
    chunk_delay: float = 0.0  # between stream chunks
    garbage: bool = False  # a 200 with a body that is not JSON
    break_after: int | None = None  # drop the connection after this many stream chunks


@dataclass
class MockVendor:
    received: list[Received] = field(default_factory=list)
    script: Script = field(default_factory=Script)

    def reset(self) -> None:
        self.received.clear()
        self.script = Script()

    @property
    def last(self) -> dict[str, Any]:
        return self.received[-1].body

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/chat/completions", self.chat, methods=["POST"])])

    async def chat(self, request: Request) -> Response:
        raw = await request.body()
        body = json.loads(raw)
        self.received.append(Received(dict(request.headers), body, raw))
        problem = _validate_chat(body)
        if problem:
            return _error(400, problem, "invalid_request_error")
        script = self.script
        if script.delay:
            await asyncio.sleep(script.delay)
        if script.status:
            return JSONResponse(script.error_body or _error_body("scripted failure", "server_error"), script.status)
        if script.garbage:
            return Response(b"<html>bad gateway</html>", 200, media_type="application/json")
        text = script.reply if script.reply is not None else _last_text(body)
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return StreamingResponse(self._chunks(body["model"], text, include_usage), media_type="text/event-stream")
        return JSONResponse(self._completion(body["model"], text))

    def _completion(self, model: str, text: str) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None}
        finish = "stop"
        if self.script.tool_calls:
            message["content"] = None
            message["tool_calls"] = [
                {
                    "id": f"call_{i}",
                    "type": "function",
                    "function": {"name": c["name"], "arguments": c["arguments"]},
                }
                for i, c in enumerate(self.script.tool_calls)
            ]
            finish = "tool_calls"
        return {
            **_envelope(model, "chat.completion"),
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
            "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
        }

    async def _chunks(self, model: str, text: str, include_usage: bool) -> Any:
        envelope = _envelope(model, "chat.completion.chunk")
        size = self.script.chunk_chars

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            event = {
                **envelope,
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            }
            return f"data: {json.dumps(event)}\n\n".encode()

        yield chunk({"role": "assistant", "content": ""})
        if self.script.tool_calls:
            for i, call in enumerate(self.script.tool_calls):
                start = {
                    "index": i,
                    "id": f"call_{i}",
                    "type": "function",
                    "function": {"name": call["name"], "arguments": ""},
                }
                yield chunk({"tool_calls": [start]})
                arguments = call["arguments"]
                for j in range(0, len(arguments), size):
                    yield chunk({"tool_calls": [{"index": i, "function": {"arguments": arguments[j : j + size]}}]})
            yield chunk({}, "tool_calls")
        else:
            for j in range(0, len(text), size):
                if self.script.chunk_delay:
                    await asyncio.sleep(self.script.chunk_delay)
                if self.script.break_after is not None and j >= self.script.break_after * size:
                    raise ConnectionResetError("scripted break")  # uvicorn drops the connection
                yield chunk({"content": text[j : j + size]})
            yield chunk({}, "stop")
        if include_usage:
            usage = {
                **envelope,
                "choices": [],
                "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
            }
            yield f"data: {json.dumps(usage)}\n\n".encode()
        yield b"data: [DONE]\n\n"


def _validate_chat(body: dict[str, Any]) -> str | None:
    """The checks OpenAI itself makes that a broken proxy rewrite would trip."""
    if not isinstance(body.get("model"), str):
        return "model must be a string"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages must be a non-empty array"
    for message in messages:
        if message.get("role") not in ROLES:
            return "invalid role"
        for call in message.get("tool_calls") or []:
            if not isinstance(call["function"]["arguments"], str):
                return "tool call arguments must be a string"
    return None


def _last_text(body: dict[str, Any]) -> str:
    content = body["messages"][-1].get("content") or ""
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if part.get("type") == "text")
    return str(content)


def _envelope(model: str, kind: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:20]}",
        "object": kind,
        "created": int(time.time()),
        "model": model,
    }


def _error_body(message: str, kind: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def _error(status: int, message: str, kind: str) -> JSONResponse:
    return JSONResponse(_error_body(message, kind), status)
