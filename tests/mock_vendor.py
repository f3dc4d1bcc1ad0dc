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
from collections.abc import Awaitable, Callable
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
    url: str = ""


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
    truncate_after: int | None = None  # end the stream cleanly after this many chunks, unfinished
    refusal: bool = False  # stream the reply as a refusal instead of content


@dataclass
class MockVendor:
    received: list[Received] = field(default_factory=list)
    script: Script = field(default_factory=Script)
    abandoned: int = 0  # chat streams whose reader went away before the end
    openai_models: list[str] = field(
        default_factory=lambda: ["gpt-4o", "gpt-4o-mini", "text-embedding-3-small", "dall-e-3", "whisper-1"]
    )
    anthropic_models: list[str] = field(default_factory=lambda: ["claude-sonnet-4-5", "claude-haiku-4-5"])

    def reset(self) -> None:
        self.received.clear()
        self.script = Script()
        self.abandoned = 0

    @property
    def last(self) -> dict[str, Any]:
        return self.received[-1].body

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/chat/completions", _rejecting(self.chat), methods=["POST"]),
                Route("/openai/deployments/{deployment}/chat/completions", _rejecting(self.chat), methods=["POST"]),
                Route("/v1/messages", _rejecting(self.messages), methods=["POST"]),
                Route("/v1/messages/count_tokens", _rejecting(self.count_tokens), methods=["POST"]),
                Route("/v1/models", self.models, methods=["GET"]),
                Route("/v1/embeddings", _rejecting(self.embeddings), methods=["POST"]),
                Route("/v1/completions", _rejecting(self.completions), methods=["POST"]),
                Route("/v1/responses", _rejecting(self.responses), methods=["POST"]),
            ]
        )

    async def _record(self, request: Request) -> dict[str, Any]:
        raw = await request.body()
        body: dict[str, Any] = json.loads(raw)
        self.received.append(Received(dict(request.headers), body, raw, str(request.url)))
        return body

    async def embeddings(self, request: Request) -> Response:
        """OpenAI Embeddings: one vector per input string."""
        body = await self._record(request)
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        if not all(isinstance(item, str) for item in inputs):
            return _error(400, "input must be text", "invalid_request_error")
        data = [{"object": "embedding", "index": i, "embedding": [0.1, 0.2, 0.3]} for i, _ in enumerate(inputs)]
        return JSONResponse(
            {"object": "list", "data": data, "model": body["model"], "usage": {"prompt_tokens": 5, "total_tokens": 5}}
        )

    async def completions(self, request: Request) -> Response:
        """OpenAI legacy Completions: echoes the prompt as the completion text."""
        body = await self._record(request)
        text = self.script.reply if self.script.reply is not None else str(body.get("prompt"))
        shell = _envelope(body["model"], "text_completion")
        if not body.get("stream"):
            choice = {"index": 0, "text": text, "logprobs": None, "finish_reason": "stop"}
            return JSONResponse(
                {
                    **shell,
                    "choices": [choice],
                    "usage": {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10},
                }
            )
        size = self.script.chunk_chars

        async def chunks() -> Any:
            for i in range(0, len(text), size):
                choice = {"index": 0, "text": text[i : i + size], "logprobs": None, "finish_reason": None}
                yield f"data: {json.dumps({**shell, 'choices': [choice]})}\n\n".encode()
            done = {"index": 0, "text": "", "logprobs": None, "finish_reason": "stop"}
            yield f"data: {json.dumps({**shell, 'choices': [done]})}\n\ndata: [DONE]\n\n".encode()

        return StreamingResponse(chunks(), media_type="text/event-stream")

    async def responses(self, request: Request) -> Response:
        """OpenAI Responses: echoes the last input text as an output_text message (or function calls)."""
        body = await self._record(request)
        items = body.get("input")
        last = items if isinstance(items, str) else _last_responses_text(items or [])
        text = self.script.reply if self.script.reply is not None else last
        output = _responses_output(text, self.script.tool_calls)
        final = {
            "id": f"resp_{uuid.uuid4().hex[:20]}",
            "object": "response",
            "created_at": int(time.time()),
            "model": body["model"],
            "status": "completed",
            "output": output,
            "usage": {"input_tokens": 11, "output_tokens": 7, "total_tokens": 18},
        }
        if not body.get("stream"):
            return JSONResponse(final)
        return StreamingResponse(self._responses_events(final), media_type="text/event-stream")

    async def _responses_events(self, final: dict[str, Any]) -> Any:
        size, number = self.script.chunk_chars, 0

        def event(data: dict[str, Any]) -> bytes:
            nonlocal number
            data = {**data, "sequence_number": number}
            number += 1
            return f"event: {data['type']}\ndata: {json.dumps(data)}\n\n".encode()

        yield event({"type": "response.created", "response": {**final, "status": "in_progress", "output": []}})
        for index, item in enumerate(final["output"]):
            yield event(
                {
                    "type": "response.output_item.added",
                    "output_index": index,
                    "item": {**item, "content": []} if item["type"] == "message" else {**item, "arguments": ""},
                }
            )
            if item["type"] == "message":
                text = item["content"][0]["text"]
                base = {"item_id": item["id"], "output_index": index, "content_index": 0}
                for i in range(0, len(text), size):
                    yield event({"type": "response.output_text.delta", **base, "delta": text[i : i + size]})
                yield event({"type": "response.output_text.done", **base, "text": text})
            else:
                base = {"item_id": item["id"], "output_index": index}
                for i in range(0, len(item["arguments"]), size):
                    yield event(
                        {
                            "type": "response.function_call_arguments.delta",
                            **base,
                            "delta": item["arguments"][i : i + size],
                        }
                    )
                yield event({"type": "response.function_call_arguments.done", **base, "arguments": item["arguments"]})
            yield event({"type": "response.output_item.done", "output_index": index, "item": item})
        yield event({"type": "response.completed", "response": final})

    async def messages(self, request: Request) -> Response:
        """Anthropic Messages (https://docs.anthropic.com/en/api/messages), JSON and named SSE events."""
        raw = await request.body()
        body = json.loads(raw)
        self.received.append(Received(dict(request.headers), body, raw))
        problem = _validate_messages(body, request.headers)
        if problem:
            return JSONResponse({"type": "error", "error": {"type": "invalid_request_error", "message": problem}}, 400)
        script = self.script
        if script.status:
            error = script.error_body or {
                "type": "error",
                "error": {"type": "api_error", "message": "scripted failure"},
            }
            return JSONResponse(error, script.status)
        text = script.reply if script.reply is not None else _last_anthropic_text(body)
        blocks = _anthropic_blocks(text, script.tool_calls)
        if body.get("stream"):
            return StreamingResponse(self._anthropic_events(body["model"], blocks), media_type="text/event-stream")
        return JSONResponse({**_anthropic_message(body["model"], blocks), "stop_reason": _stop(script)})

    async def count_tokens(self, request: Request) -> Response:
        """Anthropic token counting (https://docs.anthropic.com/en/api/messages-count-tokens): one
        token per word of the messages' text."""
        body = await self._record(request)
        problem = _validate_messages({"max_tokens": 0, **body}, request.headers)
        if problem:
            return JSONResponse({"type": "error", "error": {"type": "invalid_request_error", "message": problem}}, 400)
        return JSONResponse({"input_tokens": len(json.dumps(body["messages"]).split())})

    async def models(self, request: Request) -> Response:
        """The model list, in Anthropic's shape when asked with `anthropic-version`, else OpenAI's."""
        self.received.append(Received(dict(request.headers), {}, b"", str(request.url)))
        if self.script.status:
            return _error(self.script.status, "scripted failure", "api_error")
        if request.headers.get("anthropic-version"):
            data = [
                {"type": "model", "id": m, "display_name": m, "created_at": "2025-01-01T00:00:00Z"}
                for m in self.anthropic_models
            ]
            return JSONResponse({"data": data, "has_more": False, "first_id": data[0]["id"], "last_id": data[-1]["id"]})
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "system"} for m in self.openai_models]
        return JSONResponse({"object": "list", "data": data})

    async def _anthropic_events(self, model: str, blocks: list[dict[str, Any]]) -> Any:
        size = self.script.chunk_chars

        def event(data: dict[str, Any]) -> bytes:
            return f"event: {data['type']}\ndata: {json.dumps(data)}\n\n".encode()

        yield event({"type": "message_start", "message": {**_anthropic_message(model, []), "stop_reason": None}})
        yield event({"type": "ping"})
        for index, block in enumerate(blocks):
            if block["type"] == "text":
                yield event(
                    {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}
                )
                pieces = [block["text"][i : i + size] for i in range(0, len(block["text"]), size)]
                deltas = [{"type": "text_delta", "text": piece} for piece in pieces]
            else:
                start = {**block, "input": {}}
                yield event({"type": "content_block_start", "index": index, "content_block": start})
                raw = json.dumps(block["input"])
                deltas = [
                    {"type": "input_json_delta", "partial_json": raw[i : i + size]} for i in range(0, len(raw), size)
                ]
            for delta in deltas:
                yield event({"type": "content_block_delta", "index": index, "delta": delta})
            yield event({"type": "content_block_stop", "index": index})
        stop = {"stop_reason": _stop(self.script), "stop_sequence": None}
        yield event({"type": "message_delta", "delta": stop, "usage": {"output_tokens": 7}})
        yield event({"type": "message_stop"})

    async def chat(self, request: Request) -> Response:
        raw = await request.body()
        body = json.loads(raw)
        self.received.append(Received(dict(request.headers), body, raw, str(request.url)))
        if "/openai/deployments/" in request.url.path:
            body.setdefault("model", request.path_params["deployment"])  # Azure names the model in the path
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
            try:
                for j in range(0, len(text), size):
                    if self.script.chunk_delay:
                        await asyncio.sleep(self.script.chunk_delay)
                    if self.script.break_after is not None and j >= self.script.break_after * size:
                        raise ConnectionResetError("scripted break")  # uvicorn drops the connection
                    if self.script.truncate_after is not None and j >= self.script.truncate_after * size:
                        return  # the body ends, as if the vendor's server stopped writing
                    yield chunk({"refusal" if self.script.refusal else "content": text[j : j + size]})
            except (asyncio.CancelledError, GeneratorExit):
                self.abandoned += 1
                raise
            yield chunk({}, "stop")
        if include_usage:
            usage = {
                **envelope,
                "choices": [],
                "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
            }
            yield f"data: {json.dumps(usage)}\n\n".encode()
        yield b"data: [DONE]\n\n"


def _rejecting(endpoint: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """A body this mock cannot read is the client's fault, as at a real vendor: 400, never 500."""

    async def guarded(request: Request) -> Response:
        try:
            return await endpoint(request)
        except (AttributeError, TypeError, KeyError, IndexError, ValueError):
            return _error(400, "the request body does not match the API's schema", "invalid_request_error")

    return guarded


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
            if "function" in call and not isinstance(call["function"]["arguments"], str):
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


def _validate_messages(body: dict[str, Any], headers: Any) -> str | None:
    """What Anthropic itself refuses that a broken proxy rewrite would produce."""
    if not headers.get("anthropic-version"):
        return "anthropic-version header is required"
    if not isinstance(body.get("model"), str) or not isinstance(body.get("max_tokens"), int):
        return "model and max_tokens are required"
    for message in body.get("messages") or []:
        if message.get("role") not in ("user", "assistant"):
            return "messages: roles must be user or assistant"
        for block in message["content"] if isinstance(message.get("content"), list) else []:
            if block.get("type") == "tool_use" and not isinstance(block.get("input"), dict):
                return "tool_use.input must be an object"
    return None


def _last_anthropic_text(body: dict[str, Any]) -> str:
    content = body["messages"][-1].get("content") or ""
    if isinstance(content, list):
        texts = [b.get("text", "") for b in content if b.get("type") == "text"]
        texts += [b["content"] for b in content if b.get("type") == "tool_result" and isinstance(b.get("content"), str)]
        return " ".join(texts)
    return str(content)


def _anthropic_blocks(text: str, tool_calls: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    if not tool_calls:
        return [{"type": "text", "text": text}]
    return [
        {"type": "tool_use", "id": f"toolu_{i}", "name": call["name"], "input": json.loads(call["arguments"])}
        for i, call in enumerate(tool_calls)
    ]


def _anthropic_message(model: str, blocks: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": f"msg_{uuid.uuid4().hex[:20]}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": blocks,
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 11, "output_tokens": 7},
    }


def _stop(script: Script) -> str:
    return "tool_use" if script.tool_calls else "end_turn"


def _last_responses_text(items: list[dict[str, Any]]) -> str:
    item = items[-1]
    if item.get("type") == "function_call_output":
        return str(item.get("output"))
    content = item.get("content")
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if "text" in part)
    return str(content)


def _responses_output(text: str, tool_calls: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    if tool_calls:
        return [
            {
                "type": "function_call",
                "id": f"fc_{i}",
                "call_id": f"call_{i}",
                "name": c["name"],
                "arguments": c["arguments"],
                "status": "completed",
            }
            for i, c in enumerate(tool_calls)
        ]
    part = {"type": "output_text", "text": text, "annotations": []}
    return [{"type": "message", "id": "msg_1", "status": "completed", "role": "assistant", "content": [part]}]
