"""The `authenticate` stage: which proxy key (and so which team and limits) sent this request.

Keys come from `proxy.yaml` and from the database (`privacy-proxy keys create`). Stored keys are
reread every `key_refresh_seconds`, and an unknown key is looked up in the database at once, so a
new key works immediately and a revoked one stops within the refresh interval on every replica.
Unknown keys are remembered for that interval, so a client retrying a bad key costs no queries.
The client's credential stops here: `upstream.py` never forwards it, and no message or log
repeats it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime

import anyio
from sqlalchemy import Engine

from proxy.config import ApiKeyConfig, KeyLimits, hash_api_key, is_loopback_host
from proxy.errors import AuthenticationError
from proxy.exchange import Caller

log = logging.getLogger(__name__)
# Without proxy keys the proxy serves loopback clients only: whoever runs it is the client, so
# the headers that need a key's permission are theirs to send.
ANONYMOUS = Caller("anonymous", "default", KeyLimits(may_assert_subject=True, may_skip_capture=True))
MAX_REMEMBERED_MISSES = 10_000


class KeyRing:
    """The proxy keys a client may present, looked up by their SHA-256."""

    def __init__(self, configured: list[ApiKeyConfig], engine: Engine | None = None, refresh: float = 5.0) -> None:
        self._configured = {key.sha256: key for key in configured}
        self._engine = engine
        self._by_hash = dict(self._configured)
        self._refresh = refresh
        self._misses: dict[str, float] = {}  # sha256 -> when it was not found

    def refresh(self) -> None:
        """Reread stored keys (blocking: run it in a thread). Config keys win a name clash."""
        if self._engine is None:
            return
        from proxy.store.keys import stored_keys

        try:
            stored = {key.sha256: key for key, _ in stored_keys(self._engine)}
        except Exception as exc:  # the database is down: keep the keys we had
            log.warning("could not reread stored proxy keys (%s); keeping the last known set", type(exc).__name__)
            return
        self._by_hash = stored | self._configured
        self._misses.clear()

    async def keep_fresh(self) -> None:
        while True:
            await anyio.sleep(self._refresh)
            await anyio.to_thread.run_sync(self.refresh)

    def _look_up(self, digest: str) -> ApiKeyConfig | None:
        """A key created since the last refresh (blocking: run it in a thread)."""
        from proxy.store.keys import stored_key

        if self._engine is None:
            return None
        try:
            key = stored_key(self._engine, digest)
        except Exception as exc:
            log.warning("could not look up a proxy key (%s)", type(exc).__name__)
            return None
        if key is not None:
            self._by_hash[digest] = key
        return key

    async def _find(self, digest: str) -> ApiKeyConfig | None:
        key = self._by_hash.get(digest)
        if key is not None:
            return key
        missed = self._misses.get(digest)
        if missed is not None and time.monotonic() - missed < self._refresh:
            return None
        key = await anyio.to_thread.run_sync(self._look_up, digest)
        if key is None:
            if len(self._misses) >= MAX_REMEMBERED_MISSES:
                self._misses.clear()
            self._misses[digest] = time.monotonic()
        return key

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
        key = await self._find(hash_api_key(token))
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
