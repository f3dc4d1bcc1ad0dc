"""Run an ASGI app with uvicorn on 127.0.0.1 in a background thread (httpx's serve_in_thread)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the main thread belongs to pytest
        pass


@contextmanager
def serve_in_thread(app: Any) -> Iterator[str]:
    """Yield the base URL of `app` served on a free loopback port until the block ends."""
    # Fixtures share one pooled SDK client across many tests; uvicorn's default 5 s keep-alive
    # would close an idle pooled connection just as the next test reuses it ("Server
    # disconnected without sending a response"), and the suite's clients do not retry.
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on", timeout_keep_alive=3600)
    server = _Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
