"""Finding personal data and secrets in text: Presidio plus the policy's own recognizers."""

from proxy.detection.engine import DetectionEngine, build_analyzer

__all__ = ["DetectionEngine", "build_analyzer"]
