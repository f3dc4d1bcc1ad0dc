"""The `authenticate` stage: which proxy key (and so which team and limits) sent this request.

Keys come from `proxy.yaml` and from the database (`privacy-proxy keys create`). Stored keys are
reread every `key_refresh_seconds`, and at once (at most once a second) when an unknown key shows
up, so a new key works immediately and a revoked one stops within the refresh interval on every
replica. The client's credential stops here: `upstream.py` never forwards it, and no message or
log repeats it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime

import anyio
from sqlalchemy import Engine

from proxy.config import ApiKeyConfig, hash_api_key, is_loopback_host
from proxy.errors import AuthenticationError
from proxy.exchange import Caller

log = logging.getLogger(__name__)
ANONYMOUS = Caller(key_name="anonymous", team="default")
MISS_REFRESH_SECONDS = 1.0


class KeyRing:
    """The proxy keys a client may present, looked up by their SHA-256."""

    def __init__(self, configured: list[ApiKeyConfig], engine: Engine | None = None) -> None:
        self._configured = {key.sha256: key for key in configured}
        self._engine = engine
        self._by_hash = dict(self._configured)
        self._refreshed = 0.0

    def refresh(self) -> None:
        """Reread stored keys (blocking: run it in a thread). Config keys win a name clash."""
        if self._engine is None:
            return
        from proxy.store.keys import stored_keys

        self._refreshed = time.monotonic()
        try:
            stored = {key.sha256: key for key, _ in stored_keys(self._engine)}
        except Exception as exc:  # the database is down: keep the keys we had
            log.warning("could not reread stored proxy keys (%s); keeping the last known set", type(exc).__name__)
            return
        self._by_hash = stored | self._configured

    async def keep_fresh(self, interval: float) -> None:
        while True:
            await anyio.sleep(interval)
            await anyio.to_thread.run_sync(self.refresh)

    @property
    def open(self) -> bool:
        """No key exists anywhere: only local clients are served, anonymously."""
        return not self._by_hash

    async def authenticate(self, headers: Mapping[str, str], client_host: str | None) -> Caller:
        """The caller behind these headers, or `AuthenticationError` (naming no key)."""
        if self.open:
            # No keys: config.check_exposure() only allows this on a loopback bind. Anything
            # that relays remote clients from this machine (a local reverse proxy, an SSH
            # tunnel) makes them look local too: create keys before doing that.
            if client_host is None or not is_loopback_host(client_host):
                raise AuthenticationError("This proxy has no API keys configured and only serves local clients.")
            return ANONYMOUS
        token = presented_key(headers)
        if not token:
            raise AuthenticationError(
                "Missing proxy API key: send 'Authorization: Bearer <key>' or the 'x-api-key' header."
            )
        digest = hash_api_key(token)
        key = self._by_hash.get(digest)
        if key is None and time.monotonic() - self._refreshed >= MISS_REFRESH_SECONDS:
            await anyio.to_thread.run_sync(self.refresh)  # a key created a moment ago
            key = self._by_hash.get(digest)
        if key is None:
            raise AuthenticationError("Invalid proxy API key.")
        if key.expires is not None and key.expires <= datetime.now(UTC):
            raise AuthenticationError("This proxy API key has expired.", code="expired_api_key")
        return Caller(key_name=key.name, team=key.team, limits=key)


def presented_key(headers: Mapping[str, str]) -> str | None:
    """The key from `Authorization: Bearer` or `x-api-key`, whichever the SDK used."""
    authorization = headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return headers.get("x-api-key") or None
