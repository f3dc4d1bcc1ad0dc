"""Consent to capture: how much of a request its record keeps.

A client may ask for less with `X-Proxy-Capture`, never for more than every policy in force
allows (`settings.capture`); the strictest level wins. A request the proxy accepted is always
recorded, so even `none` keeps a requests row: who, when, which model, status, usage and
timings (what limits, billing and audits need), but no subject, conversation, tags, findings or
text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from proxy.errors import BadRequest
from proxy.exchange import Capture
from proxy.policy.schema import Policy

#: from most to least kept
LEVELS: tuple[Capture, ...] = ("full", "redacted", "metadata", "none")
HEADER = "x-proxy-capture"
#: the payload kinds each level keeps; `redacted` keeps only what the vendor saw and said
PAYLOADS: dict[Capture, frozenset[str]] = {
    "full": frozenset({"original", "forwarded", "response_received", "response_returned"}),
    "redacted": frozenset({"forwarded", "response_received"}),
    "metadata": frozenset(),
    "none": frozenset(),
}


def requested_capture(headers: Mapping[str, str]) -> Capture:
    """The client's `X-Proxy-Capture` (default `full`); a value we do not know is refused rather
    than guessed at, since guessing wrong would keep more than the client agreed to."""
    raw = headers.get(HEADER)
    if raw is None:
        return "full"
    level = raw.strip().lower()
    if level not in LEVELS:
        # The value itself is not repeated: a header can carry anything.
        raise BadRequest("X-Proxy-Capture must be one of: full, redacted, metadata, none.", code="invalid_capture")
    return level


def bounded_capture(requested: Capture, policies: Iterable[Policy]) -> Capture:
    """The strictest of the client's level and each active policy's `settings.capture`.

    Monitor-mode policies count too: capture is about what the company keeps, not about what
    the vendor sees, so trialling a policy must not widen the record."""
    levels = [requested, *(p.settings.capture for p in policies if p.status == "active")]
    return max(levels, key=LEVELS.index)


def keeps_blocked_originals(policies: Iterable[Policy]) -> bool:
    """`settings.keep_blocked_originals`: only when every active policy in force says so (a
    request no policy covers keeps nothing it did not need)."""
    active = [p for p in policies if p.status == "active"]
    return bool(active) and all(p.settings.keep_blocked_originals for p in active)
