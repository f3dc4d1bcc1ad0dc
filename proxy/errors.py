"""Errors the proxy raises on purpose, each mapped to one HTTP status and a safe message.

    ProxyError                      500 internal_error
    ├── AuthenticationError         401 invalid_api_key
    ├── PermissionDenied            403 model_not_allowed (the key may not use this model)
    ├── NotFound                    404 not_found
    ├── BadRequest                  400 invalid_request_error
    │   └── UnknownModel            404 model_not_found
    │   └── UnsupportedEncoding     415 unsupported_content_encoding
    ├── RequestTimeout              408 request_timeout (the body did not arrive in time)
    ├── PayloadTooLarge             413 request_too_large (body bytes; text to scan; scan time)
    ├── PolicyBlocked               400 policy_violation
    ├── RateLimited                 429 rate_limit_exceeded (with Retry-After)
    ├── Overloaded                  503 overloaded (concurrency queue or record store full)
    ├── DetectionFailed             503 detection_unavailable
    ├── ClientDisconnected          499 client_disconnected (nobody is left to read it)
    └── UpstreamError               502 upstream_error
        ├── UpstreamUnavailable     502 upstream_unavailable
        ├── UpstreamIncomplete      502 upstream_incomplete (a stream ended without its final event)
        └── UpstreamTimeout         504 upstream_timeout

`pipeline.handle` catches the root (so that the failed request is still recorded) and the
request's dialect renders the body in its vendor's shape; `app.py` renders errors raised
outside a dialect's route (unknown paths) in OpenAI's shape. Messages name the problem or the
rule, never a value from the request: they reach the client, the log and the database.
"""

from __future__ import annotations


class ProxyError(Exception):
    """Root of every error the proxy reports to a client."""

    status_code = 500
    type = "internal_error"
    code = "internal_error"
    #: what the `requests.status` column says about a request that ended with this error
    record_status = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def headers(self) -> dict[str, str]:
        """Extra response headers the client's SDK acts on (e.g. Retry-After)."""
        return {}


class AuthenticationError(ProxyError):
    status_code = 401
    type = "invalid_request_error"  # what OpenAI itself answers for a bad key
    code = "invalid_api_key"
    record_status = "unauthenticated"


class PermissionDenied(ProxyError):
    status_code = 403
    type = "invalid_request_error"
    code = "model_not_allowed"
    record_status = "forbidden"


class RateLimited(ProxyError):
    """A key's limit is used up; `retry_after` seconds until it frees up (the SDKs wait that long)."""

    status_code = 429
    type = "requests"
    code = "rate_limit_exceeded"
    record_status = "rate_limited"

    def __init__(self, message: str, *, retry_after: float, kind: str = "requests") -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.type = kind  # OpenAI says which limit: "requests" or "tokens"

    def headers(self) -> dict[str, str]:
        return {"retry-after": str(max(1, round(self.retry_after)))}


class Overloaded(ProxyError):
    """Too much at once: the concurrency queue timed out, or records could not be kept."""

    status_code = 503
    type = "server_error"
    code = "overloaded"
    record_status = "overloaded"


class NotFound(ProxyError):
    status_code = 404
    type = "invalid_request_error"
    code = "not_found"
    record_status = "bad_request"


class BadRequest(ProxyError):
    status_code = 400
    type = "invalid_request_error"
    code = "invalid_request"
    record_status = "bad_request"


class UnknownModel(BadRequest):
    status_code = 404
    code = "model_not_found"


class UnsupportedEncoding(BadRequest):
    status_code = 415
    code = "unsupported_content_encoding"


class RequestTimeout(ProxyError):
    status_code = 408
    type = "invalid_request_error"
    code = "request_timeout"
    record_status = "bad_request"


class PayloadTooLarge(ProxyError):
    status_code = 413
    type = "invalid_request_error"
    code = "request_too_large"
    record_status = "bad_request"


class PolicyBlocked(ProxyError):
    """A policy rule stopped the request; `rule` and `entity_type` say which, never the value."""

    status_code = 400
    type = "policy_violation"
    code = "policy_violation"
    record_status = "blocked"

    def __init__(self, message: str, *, rule: str, entity_type: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.entity_type = entity_type


class DetectionFailed(ProxyError):
    """The detector raised: we fail closed, so the prompt does not leave."""

    status_code = 503
    type = "detection_error"
    code = "detection_unavailable"
    record_status = "error"


class ClientDisconnected(ProxyError):
    status_code = 499
    type = "client_disconnected"
    code = "client_disconnected"
    record_status = "client_disconnected"


class UpstreamError(ProxyError):
    status_code = 502
    type = "upstream_error"
    code = "upstream_error"
    record_status = "upstream_error"


class UpstreamUnavailable(UpstreamError):
    code = "upstream_unavailable"


class UpstreamIncomplete(UpstreamError):
    code = "upstream_incomplete"


class UpstreamTimeout(UpstreamError):
    status_code = 504
    code = "upstream_timeout"
