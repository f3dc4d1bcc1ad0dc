"""Errors and logs never quote what a client sent (#16): not a model name, not an id it asked
for, not a query string in the access log."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import httpx
import openai
import pytest
import uvicorn
from fastapi import FastAPI

from proxy.config import hash_api_key
from proxy.logs import hide_query_strings

from .conftest import RunningProxy, StartProxy

ADMIN_KEY = "pp-admin-key-quiet-errors"
SECRETISH = "gpt-536-22-8841"  # an SSN-shaped model name: text like any other


def test_an_unknown_model_is_not_repeated_back(proxy: RunningProxy) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        proxy.client().chat.completions.create(
            model=SECRETISH.replace("gpt", "nope"), messages=[{"role": "user", "content": "hi"}]
        )
    assert "536-22-8841" not in caught.value.response.text and "not served" in caught.value.message


def test_the_admin_404_does_not_quote_the_id_asked_for(
    start_proxy: StartProxy, tmp_path_factory: pytest.TempPathFactory
) -> None:
    with start_proxy(admin={"sha256": hash_api_key(ADMIN_KEY)}) as running:
        asked = "req_jane.doe@example.com"
        response = httpx.get(
            f"{running.url}/admin/requests/{asked}", headers={"authorization": f"Bearer {ADMIN_KEY}"}, timeout=10
        )
    assert response.status_code == 404 and "jane.doe" not in response.text
    assert "No recorded request has this id" in response.json()["error"]["message"]


class _Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def access_log() -> Iterator[_Captured]:
    logger = logging.getLogger("uvicorn.access")
    captured, level = _Captured(), logger.level
    logger.addHandler(captured)
    logger.setLevel(logging.INFO)
    try:
        yield captured
    finally:
        logger.removeHandler(captured)
        logger.setLevel(level)


def test_uvicorns_access_log_has_the_path_but_never_the_query(access_log: _Captured) -> None:
    app = FastAPI()
    app.add_api_route("/healthz", lambda: {"ok": True}, methods=["GET"])
    hide_query_strings()  # what the proxy's lifespan and `serve`'s log config both install
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=True))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/healthz?email=jane.doe@example.com&key=sk-1", timeout=10).is_success
    finally:
        server.should_exit = True
        thread.join(timeout=30)
    assert any("GET /healthz HTTP/1.1" in line for line in access_log.lines), access_log.lines
    assert not any("jane.doe" in line or "?" in line for line in access_log.lines)
