"""Prometheus metrics (`GET /metrics`). Labels come from fixed vocabularies only (endpoints,
upstream names, statuses, decisions, entity types, actions): never from request text, so no
value can reach a metric."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from proxy.exchange import Exchange
from proxy.limits import Gate, Limiter
from proxy.store.recorder import Recorder

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics:
    """One registry per app, so tests and several apps in one process do not share counters."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "privacy_proxy_requests",
            "Requests handled, by endpoint, upstream, status and decision.",
            ["endpoint", "upstream", "status", "decision"],
            registry=self.registry,
        )
        self.findings = Counter(
            "privacy_proxy_findings",
            "Detected values, by entity type, action and mode.",
            ["entity_type", "action", "mode"],
            registry=self.registry,
        )
        self.seconds = Histogram(
            "privacy_proxy_stage_seconds",
            "Time spent per stage: detect, upstream, total.",
            ["stage"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.capture_downgrades = Counter(
            "privacy_proxy_capture_downgrades",
            "Requests whose client asked (X-Proxy-Capture) for a smaller record, by the level asked for.",
            ["level"],
            registry=self.registry,
        )
        self.policy_reloads = Counter(
            "privacy_proxy_policy_reloads", "Policy reloads, by result.", ["result"], registry=self.registry
        )
        self.queue_depth = Gauge(
            "privacy_proxy_record_queue_depth", "Records waiting for the database writer.", registry=self.registry
        )
        self.spool_bytes = Gauge(
            "privacy_proxy_spool_bytes",
            "Bytes in the spool (records that wait for the database) not yet replayed.",
            registry=self.registry,
        )
        self.replayed = Counter(
            "privacy_proxy_spool_replayed_records",
            "Records moved from the spool to the database.",
            registry=self.registry,
        )
        self.lost = Counter(
            "privacy_proxy_records_lost",
            "Records neither written nor spooled (database and spool both failed, or full).",
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "privacy_proxy_requests_in_flight",
            "Requests being detected and forwarded, or streamed, now.",
            registry=self.registry,
        )
        self.waiting = Gauge(
            "privacy_proxy_requests_waiting", "Requests waiting for a concurrency slot.", registry=self.registry
        )
        self.limits_fallback = Counter(
            "privacy_proxy_limits_fallback",
            "Requests whose shared limits could not be checked in Redis (counted locally or refused instead).",
            registry=self.registry,
        )
        self.limits_shared_up = Gauge(
            "privacy_proxy_limits_shared_up",
            "1 when the last shared-limit call reached Redis; 0 when it failed or no Redis is configured.",
            registry=self.registry,
        )
        self.console_sign_ins = Counter(
            "privacy_proxy_console_sign_ins",
            "Console sign-in attempts, by result: accepted, refused (wrong key) or throttled (too many refused).",
            ["result"],
            registry=self.registry,
        )
        self._seen = {"replayed": 0, "lost": 0, "fallbacks": 0}

    def observe(self, exchange: Exchange) -> None:
        """Count one finished exchange (called by the recorder as it takes the record)."""
        decision = exchange.decision.kind if exchange.decision else "none"
        self.requests.labels(exchange.endpoint, exchange.upstream or "none", exchange.status, decision).inc()
        resolutions = exchange.decision.resolutions + exchange.decision.monitored if exchange.decision else []
        for resolution in resolutions:
            self.findings.labels(resolution.finding.entity_type, resolution.action, resolution.mode).inc()
        for stage, millis in (
            ("detect", exchange.timings.detect_ms),
            ("upstream", exchange.timings.upstream_ms),
            ("total", exchange.timings.total_ms),
        ):
            if millis is not None:
                self.seconds.labels(stage).observe(millis / 1000)

    def scrape(self, recorder: Recorder, gate: Gate, limiter: Limiter) -> bytes:
        """Read the writer's, the gate's and the limiter's state, then render the Prometheus text format."""
        self.queue_depth.set(recorder.queue_depth())
        self.spool_bytes.set(recorder.spool.size_bytes())
        for name, counter, now in (
            ("replayed", self.replayed, recorder.replayed),
            ("lost", self.lost, recorder.lost),
            ("fallbacks", self.limits_fallback, limiter.fallbacks),
        ):
            counter.inc(now - self._seen[name])
            self._seen[name] = now
        self.in_flight.set(gate.in_use)
        self.waiting.set(gate.waiting)
        self.limits_shared_up.set(int(limiter.shared_up))
        return generate_latest(self.registry)
