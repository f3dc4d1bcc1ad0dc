"""A dry run is the live proxy: the evaluation set and a body for every surface, sent through a
real proxy over HTTP and through `proxy.dry_run`, give byte-identical forwarded bodies (as the
mock vendor received them) and identical decisions (as the record keeps them).

Bodies are posted as raw bytes rather than through an SDK, because the comparison needs the
client's exact bytes: the proxy forwards those untouched when nothing changes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from proxy.dialects import DIALECTS, Dialect
from proxy.dry_run import dry_run
from proxy.evaluation.cases import GENERATED, HANDWRITTEN, load_cases
from proxy.policy.schema import RequestContext
from proxy.scan import Scan

from .conftest import PROXY_KEY, RunningProxy, StartProxy
from .mock_vendor import MockVendor
from .test_surfaces import MODELS, ROWS

IMAGE = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
MORE: list[tuple[str, dict[str, Any]]] = [
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": "New case: Anna Kowalczyk, born 1984."}, {"role": "assistant", "content": "Noted."}, {"role": "user", "content": "Kowalczyk called again from 10.1.2.3"}]}),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": "Zoë Müller (zoë@example.de) asked about ticket EMP-40211"}]}),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": "Charge 4111 1111 1111 1111 please"}]}),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": [{"type": "text", "text": "Who is Peter Parker?"}, IMAGE]}]}),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": "nothing personal here, just  spacing"}], "temperature": 0.5}),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": "Peter Parker lives at 20 Ingram Street. " * 12}]}),
    ("/v1/embeddings", {"input": ["Peter Parker wrote to Mary Jane Watson", "mary@example.com"]}),
    ("/v1/responses", {"input": [{"role": "user", "content": [{"type": "input_text", "text": "Call Peter Parker"}, {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo="}]}]}),
    ("/v1/messages", {"max_tokens": 5, "system": "Agent: Mary Jane Watson", "messages": [{"role": "user", "content": [{"type": "text", "text": "My IBAN is DE89370400440532013000"}]}]}),
]  # fmt: skip
SURFACE_BODIES = [(path, {"model": MODELS[path], **body}) for path, _, body in ROWS] + [
    (path, {"model": MODELS[path], **body}) for path, body in MORE
]
TIGHT = """
id: tight
settings: {max_scan_chars: 300, unscannable_parts: strip}
rules:
  - {id: people, detect: [PERSON], action: pseudonymize}
  - {id: contact, detect: [EMAIL_ADDRESS, PHONE_NUMBER, IP_ADDRESS], action: hash}
  - {id: accounts, detect: [IBAN_CODE], action: mask, keep_last: 2}
"""


def _dialect(path: str) -> Dialect:
    return next(dialect for dialect in DIALECTS.values() if dialect.path == path)


def _send(client: httpx.Client, vendor: MockVendor, path: str, raw: bytes) -> tuple[bytes | None, str]:
    """What the vendor received (None: nothing), and the request's id."""
    sent = len(vendor.received)
    response = client.post(path, content=raw)
    assert response.status_code in (200, 400, 413), response.text  # 413: over max_scan_chars
    return (vendor.received[-1].raw if len(vendor.received) > sent else None), response.headers["x-proxy-request-id"]


def _recorded(proxy: RunningProxy, request_id: str) -> dict[str, Any]:
    """The decision the record keeps."""
    record = proxy.record(request_id)
    findings = [
        {key: row[key] for key in ("slot", "start_offset", "end_offset", "entity_type", "action", "rule", "policy")}
        | {"value_hash": row["value_hash"], "mode": row["mode"]}
        for row in record.findings
        if not row["slot"].startswith("response:")
    ]
    return {"kind": record.request["decision"], "monitor": record.request["monitor_decision"], "findings": findings}


def _dry(proxy: RunningProxy, path: str, body: dict[str, Any], raw: bytes) -> tuple[bytes | None, dict[str, Any]]:
    """The same through the dry run, with the proxy's own policies and hash key."""
    dialect = _dialect(path)
    model = dialect.model(body)
    context = RequestContext(
        team="qa", key="suite", upstream=proxy.services.upstreams.route(model).name, model=model, endpoint=dialect.name
    )
    services = proxy.services
    run = asyncio.run(
        dry_run(body, services.policies, services.detector, context, hasher=services.hasher, raw_body=raw)
    )
    return run.forwarded_bytes, _decision(run, proxy)


def _decision(run: Scan, proxy: RunningProxy) -> dict[str, Any]:
    findings = []
    for r in [*run.decision.resolutions, *run.decision.monitored]:
        slot, f = run.slots[r.finding.slot], r.finding
        findings.append(
            {"slot": slot.id, "start_offset": f.start, "end_offset": f.end, "entity_type": f.entity_type}
            | {"action": r.action, "rule": r.rule, "policy": r.policy, "mode": r.mode}
            | {"value_hash": proxy.services.hasher.digest(slot.text[f.start : f.end])}
        )
    return {"kind": run.decision.kind, "monitor": run.decision.monitor_kind, "findings": findings}


def _assert_same(proxy: RunningProxy, vendor: MockVendor, bodies: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """Every body live and dry: the same forwarded bytes and decision. Returns the decisions."""
    raws = [json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode() for _, body in bodies]  # odd spacing
    headers = {"authorization": f"Bearer {PROXY_KEY}", "anthropic-version": "2023-06-01"}
    with httpx.Client(base_url=proxy.url, headers=headers | {"content-type": "application/json"}, timeout=30) as client:
        sent = [_send(client, vendor, path, raw) for (path, _), raw in zip(bodies, raws, strict=True)]
    proxy.services.recorder.flush()
    kinds = []
    for (path, body), raw, (forwarded, request_id) in zip(bodies, raws, sent, strict=True):
        live = (forwarded, _recorded(proxy, request_id))
        assert _dry(proxy, path, body, raw) == live, path
        kinds.append(live[1]["kind"])
    return kinds


@pytest.mark.parametrize("policies", ["repository", "tight"])
def test_every_surface_forwards_and_decides_exactly_as_its_dry_run(
    start_proxy: StartProxy, vendor: MockVendor, tmp_path: Path, policies: str
) -> None:
    if policies == "tight":
        (tmp_path / "tight.yaml").write_text(TIGHT)
    vendor.script.reply = "ok"
    overrides = {"policies": str(tmp_path)} if policies == "tight" else {}
    with start_proxy(**overrides) as running:
        kinds = _assert_same(running, vendor, SURFACE_BODIES)
    assert set(kinds) == {"allow", "transform", "block"}


def test_the_evaluation_set_forwards_and_decides_exactly_as_its_dry_run(
    start_proxy: StartProxy, vendor: MockVendor
) -> None:
    cases = load_cases(GENERATED, HANDWRITTEN)
    vendor.script.reply = "ok"
    with start_proxy() as running:
        kinds = _assert_same(running, vendor, [("/v1/chat/completions", case.body) for case in cases])
    assert len(kinds) == len(cases) >= 500 and {"allow", "transform", "block"} <= set(kinds)
