"""Consent to capture: how much of a request its record keeps.

A client may ask for less with `X-Proxy-Capture`, never for more than every policy in force
allows (`settings.capture`); the strictest level wins. A request the proxy accepted is always
recorded, so even `none` keeps a requests row: who, when, which model, status, usage and
timings (what limits, billing and audits need), but no subject, conversation, tags, findings or
text.

Asking for less is itself controlled (`admit_capture`): `none` only with the key's or the
policies' permission, never below a policy's `settings.min_capture`; every granted downgrade is
counted (`privacy_proxy_capture_downgrades_total`) and leaves an audit row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from proxy.errors import BadRequest, PermissionDenied
from proxy.exchange import Caller, Capture
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


def admit_capture(requested: Capture, caller: Caller, policies: Iterable[Policy]) -> None:
    """Refuse (403) a client's `X-Proxy-Capture` that asks for less than it may: `none` needs a
    key with `may_skip_capture` or every active policy in force with `allow_capture_none`, and
    no level may go below a policy's `settings.min_capture`. Refused rather than raised quietly:
    a client that asked not to be recorded must not be recorded without knowing it."""
    active = [p for p in policies if p.status == "active"]
    if requested == "none" and not (
        caller.limits.may_skip_capture or (active and all(p.settings.allow_capture_none for p in active))
    ):
        raise PermissionDenied(
            "X-Proxy-Capture: none is not allowed for this proxy API key (keys[].may_skip_capture, "
            "or settings.allow_capture_none in every policy in force).",
            code="capture_not_allowed",
        )
    for policy in active:
        floor = policy.settings.min_capture
        if LEVELS.index(requested) > LEVELS.index(floor):
            raise PermissionDenied(
                f"Requests must be recorded at least at capture level {floor} "
                f"(settings.min_capture in policy {policy.id}).",
                code="capture_not_allowed",
            )
