"""The `read` stage: a request body's hard limits, checked before anything reads its content.

    receive (size, time) → decode Content-Encoding (bounded) → parse strict JSON → check structure

Every way a body can be wrong is a 4xx in the vendor's shape that names the problem and never a
value from the body: too large (413) or too slow (408) to arrive, an encoding we cannot undo
(415), or JSON the vendor would read differently from us or that our own code cannot walk
(duplicate keys, NaN and infinities, lone surrogates, nesting past `server.max_json_depth`, a
`stream` that is not a boolean): 400.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import zlib
from collections.abc import Callable
from typing import Any

import brotli
from fastapi import Request

from proxy.config import ServerConfig
from proxy.dialects.paths import DuplicateKey, loads_strict, nesting_depth
from proxy.errors import BadRequest, PayloadTooLarge, RequestTimeout, UnsupportedEncoding

LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")  # a valid escaped pair decodes to one character
SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


class NotFinite(ValueError):
    """NaN, Infinity or a number too large for a double: not JSON, and vendors reject it."""


async def read_body(request: Request, server: ServerConfig) -> tuple[bytes, dict[str, Any]]:
    """The body as JSON bytes (decoded) and as an object, or the 4xx that says what is wrong."""
    limit = server.max_body_bytes
    raw = await receive(request, limit, server.body_timeout)
    raw = decode_content(raw, request.headers.get("content-encoding", ""), limit)
    return raw, parse_json(raw, server.max_json_depth)


async def receive(request: Request, limit: int, timeout: float) -> bytes:
    """The body's bytes, refused above `limit` before it is all read, and after `timeout`
    seconds if it has not all arrived (a stalled client holds a connection and a slot)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks, size = [], 0
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise _too_large(limit)
                chunks.append(chunk)
    except TimeoutError:
        raise RequestTimeout(
            f"The request body did not arrive within {timeout:g} seconds (server.body_timeout in proxy.yaml)."
        ) from None
    return b"".join(chunks)


def _too_large(limit: int, what: str = "The request body") -> PayloadTooLarge:
    return PayloadTooLarge(f"{what} is larger than the proxy's limit of {limit} bytes (server.max_body_bytes).")


def decode_content(raw: bytes, header: str, limit: int) -> bytes:
    """Undo `Content-Encoding` (gzip, deflate, br; applied in the order listed), never producing
    more than `limit` bytes: a small compressed body can expand a thousandfold."""
    codings = [coding.strip().lower() for coding in header.split(",") if coding.strip()]
    for coding in reversed(codings):
        decoder = DECODERS.get(coding)
        if decoder is None:
            raise UnsupportedEncoding(
                "The request's Content-Encoding is not supported; send the body as it is, or gzip, deflate or br."
            )
        raw = decoder(raw, limit)
    return raw


def _zlib(raw: bytes, limit: int, wbits: int, name: str) -> bytes:
    decoder = zlib.decompressobj(wbits)
    try:
        out = decoder.decompress(raw, limit + 1)
    except zlib.error:
        raise BadRequest(f"The request body is not valid {name} data.", code="invalid_encoding") from None
    if len(out) > limit:
        raise _too_large(limit, "The decompressed request body")
    if not decoder.eof:
        raise BadRequest(f"The request body's {name} data is incomplete.", code="invalid_encoding")
    return out


def _gzip(raw: bytes, limit: int) -> bytes:
    return _zlib(raw, limit, 31, "gzip")


def _deflate(raw: bytes, limit: int) -> bytes:
    """HTTP's deflate is zlib-wrapped; some clients send it raw, so both are read."""
    try:
        return _zlib(raw, limit, 15, "deflate")
    except BadRequest:
        return _zlib(raw, limit, -15, "deflate")


def _brotli(raw: bytes, limit: int) -> bytes:
    decoder = brotli.Decompressor()
    try:
        out = decoder.process(raw, output_buffer_limit=limit + 1)
    except brotli.error:
        raise BadRequest("The request body is not valid br data.", code="invalid_encoding") from None
    if len(out) > limit:
        raise _too_large(limit, "The decompressed request body")
    if not decoder.is_finished():
        raise BadRequest("The request body's br data is incomplete.", code="invalid_encoding")
    return bytes(out)


DECODERS: dict[str, Callable[[bytes, int], bytes]] = {
    "identity": lambda raw, limit: raw,
    "gzip": _gzip,
    "x-gzip": _gzip,
    "deflate": _deflate,
    "br": _brotli,
}


def parse_json(raw: bytes, max_depth: int) -> dict[str, Any]:
    """A JSON object the vendor reads exactly as we do, and that our code can walk."""
    try:
        body = loads_strict(raw, parse_constant=_not_finite, parse_float=_finite)
    except DuplicateKey:
        # Not named: a key a client chose (metadata, arguments) can itself be personal data.
        raise BadRequest("The request body repeats a key; send each key once.", code="invalid_json") from None
    except NotFinite:
        raise BadRequest(
            "The request body contains NaN, Infinity or a number too large for JSON.", code="invalid_json"
        ) from None
    except RecursionError:
        raise _too_deep(max_depth) from None
    except (ValueError, UnicodeDecodeError) as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise BadRequest(f"The request body is not valid JSON{where}.", code="invalid_json") from None
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.", code="invalid_json")
    if nesting_depth(body, max_depth) > max_depth:
        raise _too_deep(max_depth)
    if SURROGATE_ESCAPE.search(raw) and _has_lone_surrogate(body):
        raise BadRequest(
            "The request body contains a lone UTF-16 surrogate escape (\\ud800-\\udfff), which is not text.",
            code="invalid_json",
        )
    if not any(body.get("stream") is allowed for allowed in (None, True, False)):  # 1 == True
        raise BadRequest("`stream` must be true or false.", code="invalid_stream")
    return body


def _not_finite(constant: str) -> float:
    raise NotFinite(constant)


def _finite(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise NotFinite(literal)
    return value


def _too_deep(max_depth: int) -> BadRequest:
    return BadRequest(
        f"The request body nests objects and arrays more than {max_depth} levels deep (server.max_json_depth).",
        code="invalid_json",
    )


def _has_lone_surrogate(node: Any) -> bool:
    """Any string or key holding half of a surrogate pair (the body is already depth-checked)."""
    stack = [node]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if LONE_SURROGATE.search(value):
                return True
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False
