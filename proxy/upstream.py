"""The `forward` stage: pick the upstream for a model and send it the forwarded body.

One pooled httpx client per upstream, created at start-up and reused by every request. httpx's
exceptions are translated into ours in one place, `map_httpx_errors`, so callers never see them.
"""

from __future__ import annotations

import asyncio
import codecs
import fnmatch
import json
import re
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx

from proxy.config import UpstreamConfig
from proxy.dialects import STREAMS, Dialect
from proxy.dialects.sse import SSEEvent, parse_sse
from proxy.errors import UnknownModel, UpstreamError, UpstreamTimeout, UpstreamUnavailable

# The only client headers sent upstream: the protocol's own, plus an upstream's `forward_headers`.
# An allow list, not a block list: credentials, cookies, the client's OpenAI organisation or
# project (which would not match the company key), X-Forwarded-For (the end user's address),
# the User-Agent and SDK telemetry (which can tell who and what machine is asking) all stay here.
_PASS_REQUEST = frozenset({"openai-beta", "anthropic-version", "anthropic-beta"})
# Vendor response headers worth passing on to the client: request ids, rate limits, timing.
# Not `openai-organization`/`openai-project`: they describe the company's account.
_PASS_RESPONSE = (
    "x-request-id",
    "request-id",
    "x-ratelimit-",
    "anthropic-ratelimit-",
    "retry-after",
    "openai-processing-ms",
    "openai-version",
)


ANTHROPIC_VERSION = "2023-06-01"


@dataclass
class UpstreamReply:
    """What the vendor answered: a whole body, or (a successful stream) its events."""

    status_code: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    events: AsyncIterator[list[SSEEvent]] | None = None  # batches, as they arrive
    response: httpx.Response | None = None  # kept open while streaming; closed by `aclose`

    upstream: UpstreamConfig | None = None  # names the vendor in errors while streaming

    async def aclose(self) -> None:
        if self.response is not None:
            await self.response.aclose()

    async def raw(self) -> AsyncIterator[bytes]:
        """The stream's bytes exactly as the vendor sent them (decoded from any content
        encoding), for relaying a stream there is nothing to change in without parsing it."""
        assert self.response is not None and self.upstream is not None
        with map_httpx_errors(self.upstream):
            async for chunk in coalesced(self.response.aiter_bytes()):
                yield chunk


class Upstreams:
    """The routing table and one connection pool per upstream."""

    def __init__(self, configs: list[UpstreamConfig], transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.configs = configs
        self._clients = {
            c.name: httpx.AsyncClient(
                timeout=httpx.Timeout(c.timeout, connect=c.connect_timeout),
                limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
                transport=transport,
            )
            for c in configs
            if c.kind != "echo"
        }

    def route(self, model: str) -> UpstreamConfig:
        """The first upstream, in config order, with a model glob that matches."""
        for config in self.configs:
            if any(fnmatch.fnmatchcase(model, glob) for glob in config.models):
                return config
        raise UnknownModel("The requested model is not served by this proxy (GET /v1/models lists those that are).")

    async def send(
        self,
        upstream: UpstreamConfig,
        dialect: Dialect,
        body: bytes,
        stream: bool,
        headers: Mapping[str, str],
        model: str = "",
    ) -> UpstreamReply:
        """POST the forwarded body; a 2xx stream comes back as event batches, anything else whole."""
        if upstream.kind == "echo":
            return _echo(dialect, body, stream)
        client = self._clients[upstream.name]
        url, params = _endpoint(upstream, dialect, model)
        request = client.build_request(
            "POST", url, params=params, content=body, headers=_outbound_headers(headers, upstream)
        )
        with map_httpx_errors(upstream):
            response = await client.send(request, stream=True)
            if response.status_code >= 400 or not stream:
                await response.aread()
                await response.aclose()
                return UpstreamReply(response.status_code, _passed_headers(response.headers), response.content)
        return UpstreamReply(
            response.status_code,
            _passed_headers(response.headers),
            events=_events(response, upstream),
            response=response,
            upstream=upstream,
        )

    async def vendor_models(self, upstream: UpstreamConfig) -> list[str]:
        """The model ids the vendor itself lists (`GET /models`, with the company's key).

        Anthropic pages its list; one page of 1000 is more than it serves
        (https://docs.anthropic.com/en/api/models-list)."""
        anthropic = upstream.kind == "anthropic"
        url = upstream.base_url + ("/v1/models" if anthropic else "/models")
        headers = _outbound_headers({}, upstream)
        del headers["content-type"]
        with map_httpx_errors(upstream):
            response = await self._clients[upstream.name].get(
                url, params={"limit": "1000"} if anthropic else None, headers=headers
            )
        if response.status_code != 200:
            raise UpstreamError(f"Upstream '{upstream.name}' answered HTTP {response.status_code} to its model list.")
        data = response.json().get("data")
        return [item["id"] for item in data if isinstance(item, dict) and isinstance(item.get("id"), str)]

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()


@contextmanager
def map_httpx_errors(upstream: UpstreamConfig) -> Iterator[None]:
    """Translate httpx's transport errors into ours, naming the upstream and never the request."""
    try:
        yield
    except httpx.TimeoutException:
        raise UpstreamTimeout(f"Upstream '{upstream.name}' did not answer in time.") from None
    except (httpx.TransportError, httpx.StreamError):
        raise UpstreamUnavailable(f"Upstream '{upstream.name}' could not be reached or broke the connection.") from None


async def _events(response: httpx.Response, upstream: UpstreamConfig) -> AsyncIterator[list[SSEEvent]]:
    with map_httpx_errors(upstream):
        async for batch in parse_sse(_text(coalesced(response.aiter_bytes()), response.encoding or "utf-8")):
            yield batch


async def _text(chunks: AsyncIterator[bytes], encoding: str) -> AsyncIterator[str]:
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    async for chunk in chunks:
        yield decoder.decode(chunk)
    tail = decoder.decode(b"", final=True)
    if tail:
        yield tail


async def coalesced(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The chunks that arrived together, joined into one.

    A vendor writes each stream event as its own HTTP chunk, and many of them arrive in one
    network read; relayed one by one they would cost one parse, one send and one client wake-up
    each. A task reads them into a queue (it runs on, without pausing, while they are already
    buffered) and this generator hands on everything queued at once, so nothing waits longer."""
    queue: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue()

    async def pump() -> None:
        try:
            async for chunk in chunks:
                queue.put_nowait(chunk)
            queue.put_nowait(None)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # raised again below, in the reader's task
            queue.put_nowait(exc)

    reader = asyncio.ensure_future(pump())
    try:
        while True:
            items = [await queue.get()]
            while not queue.empty():
                items.append(queue.get_nowait())
            data = b"".join(item for item in items if isinstance(item, bytes))
            if data:
                yield data
            for item in items:
                if isinstance(item, BaseException):
                    raise item
                if item is None:
                    return
    finally:
        reader.cancel()


DEPLOYMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def _endpoint(upstream: UpstreamConfig, dialect: Dialect, model: str) -> tuple[str, dict[str, str]]:
    """URL and query for a request. Azure OpenAI puts the deployment in the path and the API version
    in the query (https://learn.microsoft.com/azure/ai-services/openai/reference)."""
    if upstream.kind != "echo" and upstream.kind not in dialect.upstream_kinds:
        raise UnknownModel(
            f"Upstream '{upstream.name}' ({upstream.kind}) does not serve {dialect.path} for this model."
        )
    if upstream.kind != "azure-openai":
        return upstream.base_url + dialect.upstream_path, {}
    deployment = upstream.deployments.get(model, model)
    if not DEPLOYMENT_NAME.fullmatch(deployment):
        # the name goes into the URL path: "x/../../deployments/other" must not reach another deployment
        raise UnknownModel("The model name cannot be used as an Azure OpenAI deployment name.")
    url = f"{upstream.base_url}/openai/deployments/{deployment}{dialect.upstream_path}"
    return url, {"api-version": upstream.api_version or ""}


def _outbound_headers(headers: Mapping[str, str], upstream: UpstreamConfig) -> dict[str, str]:
    allowed = _PASS_REQUEST.union(upstream.forward_headers)
    out = {k: v for k, v in headers.items() if k.lower() in allowed}
    out["content-type"] = "application/json"
    key = upstream.api_key()
    if upstream.kind == "azure-openai":
        if key:
            out["api-key"] = key
    elif upstream.kind == "anthropic":
        # https://docs.anthropic.com/en/api/versioning: the header is required; keep the client's choice
        out.setdefault("anthropic-version", ANTHROPIC_VERSION)
        if key:
            out["x-api-key"] = key
    elif key:
        out["authorization"] = f"Bearer {key}"
    return out


def _passed_headers(headers: httpx.Headers) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower().startswith(_PASS_RESPONSE)}


def _echo(dialect: Dialect, body: bytes, stream: bool) -> UpstreamReply:
    """The built-in upstream: answers with the text it received, i.e. what a vendor would see
    (streamed when asked for a stream on a surface that streams, like a vendor)."""
    request = json.loads(body)
    text = "\n".join(slot.text for slot in dialect.request_slots(request))
    model = dialect.model(request)
    streams = STREAMS.get(dialect.name)
    if stream and streams is not None:
        return UpstreamReply(200, events=_replay(streams.echo_events(model, text, chunk_chars=16)))
    return UpstreamReply(200, body=json.dumps(dialect.echo_reply(model, text)).encode())


async def _replay(events: list[SSEEvent]) -> AsyncIterator[list[SSEEvent]]:
    yield events  # all at once, as if they arrived in one network read
