"""`privacy-proxy policy explain`: the request pipeline, in-process, on one text.

Runs the same extract → detect → decide → transform stages as a live request, so what it
prints is what the proxy would do (our `datasette --get`)."""

from __future__ import annotations

from pathlib import Path

from proxy.detection import DetectionEngine
from proxy.dialects.openai_chat import OpenAIChat
from proxy.hashing import Hasher
from proxy.policy.bundle import detectors_of, entities_of
from proxy.policy.decide import decide
from proxy.policy.loader import load_policies
from proxy.transform import mask, transform


async def explain(text: str, policy_dir: Path, detector: DetectionEngine) -> str:
    """A readable trace of what the proxy would do with `text`; values in findings are masked."""
    policies = load_policies(policy_dir, known_entities=detector.supported_entities()).select()
    body = {"model": "explain", "messages": [{"role": "user", "content": text}]}
    slots = OpenAIChat().request_slots(body)
    findings = await detector.detect(slots, entities_of(policies), detectors_of(policies))
    decision = decide(findings, slots, policies)
    texts, _ = transform(slots, decision.resolutions, Hasher(b"explain"))
    lines = [f"policies: {', '.join(p.label for p in policies)}", f"decision: {decision.kind}", "findings:"]
    for r in decision.resolutions:
        value = text[r.finding.start : r.finding.end]
        lines.append(
            f"  {r.finding.start:>5}-{r.finding.end:<5} {r.finding.entity_type:<16} {mask(value, 2):<24} "
            f"score={r.finding.score:.2f}  {r.action:<12} rule={r.policy}/{r.rule}"
        )
    if decision.block:
        lines.append(f"blocked: {decision.block.message} (rule {decision.block.rule})")
    else:
        lines += ["forwarded:", "  " + texts.get(0, text)]
    return "\n".join(lines)
