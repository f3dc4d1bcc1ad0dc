"""The `authenticate` stage: which proxy key (and so which team) sent this request.

The client's credential stops here: `upstream.py` never forwards it, and no message or log
repeats it.
"""

from __future__ import annotations

from collections.abc import Mapping

from proxy.config import ApiKeyConfig, hash_api_key, is_loopback_host
from proxy.errors import AuthenticationError
from proxy.exchange import Caller

ANONYMOUS = Caller(key_name="anonymous", team="default")


class KeyRing:
    """The proxy keys a client may present, looked up by their SHA-256."""

    def __init__(self, keys: list[ApiKeyConfig]) -> None:
        self._by_hash = {key.sha256: key for key in keys}

    def authenticate(self, headers: Mapping[str, str], client_host: str | None) -> Caller:
        """The caller behind these headers, or `AuthenticationError` (naming no key)."""
        if not self._by_hash:
            # No keys configured: config.check_exposure() only allows this on a loopback bind.
            # Anything that relays remote clients from this machine (a local reverse proxy, an
            # SSH tunnel) makes them look local too: configure keys before doing that.
            if client_host is None or not is_loopback_host(client_host):
                raise AuthenticationError("This proxy has no API keys configured and only serves local clients.")
            return ANONYMOUS
        token = presented_key(headers)
        if not token:
            raise AuthenticationError(
                "Missing proxy API key: send 'Authorization: Bearer <key>' or the 'x-api-key' header."
            )
        key = self._by_hash.get(hash_api_key(token))
        if key is None:
            raise AuthenticationError("Invalid proxy API key.")
        return Caller(key_name=key.name, team=key.team)


def presented_key(headers: Mapping[str, str]) -> str | None:
    """The key from `Authorization: Bearer` or `x-api-key`, whichever the SDK used."""
    authorization = headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return headers.get("x-api-key") or None
