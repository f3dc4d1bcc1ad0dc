"""Turn a finished `Exchange` into the rows of one record, and rows into spool lines and back."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from proxy.exchange import Exchange
from proxy.governance.capture import PAYLOADS
from proxy.hashing import Hasher
from proxy.store.sealing import Sealer


@dataclass
class RecordRows:
    """One request's rows, ready for a single transaction."""

    request: dict[str, Any]
    payloads: list[dict[str, Any]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    #: audit_events rows written with the record (their `at` is the request's time)
    audits: list[dict[str, Any]] = field(default_factory=list)

    @property
    def id(self) -> str:
        return str(self.request["id"])

    def to_json(self) -> str:
        request = {**self.request, "created_at": self.request["created_at"].isoformat()}
        payloads = [
            {**p, "data": base64.b64encode(p["data"]).decode(), "created_at": request["created_at"]}
            for p in self.payloads
        ]
        return json.dumps({"request": request, "payloads": payloads, "findings": self.findings, "audits": self.audits})

    @classmethod
    def from_json(cls, line: str) -> RecordRows:
        raw = json.loads(line)
        raw["request"]["created_at"] = datetime.fromisoformat(raw["request"]["created_at"])
        for payload in raw["payloads"]:
            payload["data"] = base64.b64decode(payload["data"])
            payload["created_at"] = raw["request"]["created_at"]  # also for lines spooled before payloads had one
        return cls(raw["request"], raw["payloads"], raw["findings"], raw.get("audits", []))


def rows_for(exchange: Exchange, sealer: Sealer, hasher: Hasher, policy_digest: str | None) -> RecordRows:
    """The rows recording one exchange: bodies sealed, findings hashed."""
    return RecordRows(
        request=_request_row(exchange, policy_digest),
        payloads=_payload_rows(exchange, sealer),
        findings=_finding_rows(exchange, hasher),
        audits=_audit_rows(exchange),
    )


def _audit_rows(exchange: Exchange) -> list[dict[str, Any]]:
    """A granted `X-Proxy-Capture` downgrade is audited: who asked for a smaller record, and what
    was kept (`proxy/governance/capture.py`)."""
    if exchange.capture_downgrade is None or exchange.caller is None:
        return []
    details = {"requested": exchange.capture_downgrade, "kept": exchange.capture}
    return [
        {
            "actor": exchange.caller.key_name,
            "action": "capture_downgrade",
            "target": exchange.id,
            "details": json.dumps(details, sort_keys=True),
        }
    ]


def _request_row(exchange: Exchange, policy_digest: str | None) -> dict[str, Any]:
    caller = exchange.caller
    anonymous = exchange.capture == "none"  # keep the row, drop what names a person or a thread
    return {
        "id": exchange.id,
        "created_at": datetime.fromtimestamp(exchange.created_at, UTC),
        "key_name": caller.key_name if caller else None,
        "team": caller.team if caller else None,
        "endpoint": exchange.endpoint,
        "upstream": exchange.upstream,
        "model": exchange.model,
        "stream": exchange.stream,
        "status": exchange.status,
        "http_status": exchange.http_status,
        "decision": exchange.decision.kind if exchange.decision else None,
        "monitor_decision": exchange.decision.monitor_kind if exchange.decision else None,
        "policies": ",".join(exchange.policies) or None,
        "policy_digest": policy_digest if exchange.policies else None,
        "subject": None if anonymous else exchange.subject,
        "conversation": None if anonymous else exchange.conversation,
        "tags": None if anonymous else ",".join(exchange.tags) or None,
        "prompt_tokens": exchange.usage.prompt_tokens,
        "completion_tokens": exchange.usage.completion_tokens,
        "total_tokens": exchange.usage.total_tokens,
        "findings_count": len(exchange.decision.resolutions) + len(exchange.decision.monitored)
        if exchange.decision
        else 0,
        "unknown_placeholders": exchange.unknown_placeholders,
        "detect_ms": exchange.timings.detect_ms,
        "upstream_ms": exchange.timings.upstream_ms,
        "total_ms": exchange.timings.total_ms,
        "error": exchange.error,
        "capture": exchange.capture,
    }


def _payload_rows(exchange: Exchange, sealer: Sealer) -> list[dict[str, Any]]:
    if exchange.caller is None:
        return []  # an unauthenticated body is not ours to keep
    blocked = exchange.decision is not None and exchange.decision.block is not None
    bodies: dict[str, bytes | None] = {
        # a blocked request's text is what a policy refused to let out: by default only its
        # findings (with keyed hashes) are kept, not the text itself
        "original": exchange.raw_body
        if exchange.raw_body and (exchange.keep_blocked_original or not blocked)
        else None,
        "forwarded": _encode(exchange.forwarded),
        "response_received": _encode(exchange.response_received),
        "response_returned": _encode(exchange.response_returned),
    }
    rows = []
    for kind, data in bodies.items():
        if data is not None and kind in PAYLOADS[exchange.capture]:
            blob, encoding, key_id = sealer.seal(data, exchange.id, kind)
            rows.append(
                {
                    "request_id": exchange.id,
                    "kind": kind,
                    "encoding": encoding,
                    "key_id": key_id,
                    "data": blob,
                    "created_at": datetime.fromtimestamp(exchange.created_at, UTC),  # retention, by index
                }
            )
    return rows


def _encode(body: Any) -> bytes | None:
    if body is None:
        return None
    if isinstance(body, bytes):
        return body
    return json.dumps(body, ensure_ascii=False).encode()


def _finding_rows(exchange: Exchange, hasher: Hasher) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    if exchange.capture == "none":
        return rows
    decision = exchange.decision
    request_side = (
        [(exchange.slots[r.finding.slot], r, "") for r in [*decision.resolutions, *decision.monitored]]
        if decision
        else []
    )
    response_side = [(slot, r, "response:") for slot, r in exchange.response_findings]
    for slot, resolution, side in [*request_side, *response_side]:
        finding = resolution.finding
        rows.append(
            {
                "request_id": exchange.id,
                "slot": side + slot.id,
                "start_offset": finding.start,
                "end_offset": finding.end,
                "entity_type": finding.entity_type,
                "score": finding.score,
                "action": resolution.action,
                "rule": resolution.rule,
                "policy": resolution.policy,
                # the keyed hash lets erasure find a value later without storing it here
                "value_hash": hasher.digest(slot.text[finding.start : finding.end]),
                "mode": resolution.mode,
            }
        )
    return rows
