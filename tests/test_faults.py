"""Nothing lost under faults. Each test ends with a count that must match exactly:

1. PostgreSQL stopped for 10 s in the middle of 500 requests: all 500 recorded, once each.
2. SIGTERM during sustained load: every request that got a response is recorded.
3. SIGKILL while records wait in the spool: they survive the restart.
4. The vendor hangs, resets the connection, answers garbage or cuts a stream short: a clear
   error, recorded.
(5. A client leaving mid-stream is in test_errors.py.)
"""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import yaml
from openai import OpenAI
from sqlalchemy import func, select

from proxy.store.database import make_engine, upgrade
from proxy.store.spool import Spool
from proxy.store.tables import payloads, requests

from .conftest import PROXY_KEY, RunningProxy, StartProxy, make_config
from .mock_vendor import MockVendor
from .processes import PrivateCluster, free_port, serve

ALLOW_ALL = "id: allow-all\nversion: 1\nrules: []\n"  # no detection: these tests are about records
HELLO = [{"role": "user", "content": "hello"}]


@pytest.fixture(scope="module")
def cluster() -> Iterator[PrivateCluster]:
    server = PrivateCluster()
    server.start()
    try:
        yield server
    finally:
        server.stop()
        server.remove()


@pytest.fixture
def allow_all(tmp_path: Path) -> Path:
    directory = tmp_path / "policies"
    directory.mkdir()
    (directory / "allow-all.yaml").write_text(ALLOW_ALL)
    return directory


def _stored_ids(database_url: str) -> list[str]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(select(requests.c.id)).scalars())
    finally:
        engine.dispose()


def _wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if condition():
                return True
        except Exception:  # e.g. the database is still starting
            pass
        time.sleep(0.2)
    return condition()


def test_500_requests_with_postgresql_down_for_10_seconds_are_all_recorded_once(
    cluster: PrivateCluster, start_proxy: StartProxy, vendor: MockVendor, allow_all: Path
) -> None:
    url = cluster.create_database("fault_outage")
    upgrade(url)
    answered: list[str] = []
    failed: list[BaseException] = []
    with start_proxy(database_url=url, policies=str(allow_all)) as proxy:
        client = proxy.client()

        def send(count: int) -> None:
            for _ in range(count):
                try:
                    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=HELLO)
                    answered.append(raw.headers["x-proxy-request-id"])
                except Exception as exc:
                    failed.append(exc)
                time.sleep(0.1)  # about 35 requests/s in all: the outage falls in the middle

        threads = [threading.Thread(target=send, args=(125,)) for _ in range(4)]
        for thread in threads:
            thread.start()
        assert _wait_for(lambda: len(answered) >= 100, 30)
        cluster.stop()
        down_at = len(answered)
        time.sleep(10)
        up_at = len(answered)
        cluster.start()
        for thread in threads:
            thread.join()
        assert not failed and len(answered) == 500
        assert up_at - down_at > 100  # the proxy kept serving while the database was down
        assert _wait_for(lambda: len(_stored_ids(url)) == 500, 30)
        assert proxy.services.recorder.replayed > 0
    stored = _stored_ids(url)
    assert len(stored) == 500 and set(stored) == set(answered)
    engine = make_engine(url)
    with engine.connect() as connection:
        assert (
            connection.execute(select(func.count()).select_from(payloads)).scalar_one() == 500 * 4
        )  # original, forwarded, response as received and as returned
    engine.dispose()


def _config(tmp_path: Path, vendor: MockVendor, database_url: str, policies: Path) -> Path:
    config = make_config(vendor.url, tmp_path, database_url=database_url, policies=str(policies))  # type: ignore[attr-defined]
    path = tmp_path / "proxy.yaml"
    path.write_text(yaml.safe_dump(config.model_dump(mode="json", exclude_defaults=True)))
    return path


def test_sigterm_under_load_drains_and_every_answered_request_is_recorded(
    tmp_path: Path, vendor: MockVendor, allow_all: Path
) -> None:
    vendor.script.delay = 0.2  # so requests are in flight when the signal lands
    url = f"sqlite:///{tmp_path / 'proxy.db'}"
    port = free_port()
    process = serve(_config(tmp_path, vendor, url, allow_all), port)
    answered: list[str] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def send() -> None:
        with OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=PROXY_KEY, max_retries=0) as client:
            while not stop.is_set():
                try:
                    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=HELLO)
                    answered.append(raw.headers["x-proxy-request-id"])
                except openai.APIConnectionError as exc:
                    errors.append(exc)  # refused once the server stopped listening
                    return

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    _wait_for(lambda: len(answered) >= 20, 30)
    in_flight_before = len(answered)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once drained
    assert "Finished server process" in (tmp_path / "serve.log").read_text()
    stop.set()
    for thread in threads:
        thread.join()
    assert len(answered) > in_flight_before  # requests in flight at the signal were still answered
    stored = _stored_ids(url)
    assert set(answered) <= set(stored) and len(stored) == len(set(stored))


def test_records_in_the_spool_survive_sigkill_and_are_replayed_after_restart(
    cluster: PrivateCluster, tmp_path: Path, vendor: MockVendor, allow_all: Path
) -> None:
    url = cluster.create_database("fault_sigkill")
    upgrade(url)
    config = _config(tmp_path, vendor, url, allow_all)
    spool = tmp_path / "spool.jsonl"
    port = free_port()
    process = serve(config, port)
    answered: list[str] = []
    try:
        cluster.stop()
        with OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=PROXY_KEY, max_retries=0) as client:
            for _ in range(20):
                raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=HELLO)
                answered.append(raw.headers["x-proxy-request-id"])
        assert _wait_for(lambda: _spooled(spool) == 20, 30)
        assert httpx.get(f"http://127.0.0.1:{port}/readyz").json()["database"] == "spooling"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        cluster.start()
    restarted = serve(config, port)
    try:
        assert _wait_for(lambda: not Spool(spool).has_records(), 30)
    finally:
        restarted.terminate()
        restarted.wait(timeout=30)
    stored = _stored_ids(url)
    assert sorted(stored) == sorted(answered)


def _spooled(spool: Path) -> int:
    """Records waiting in the spool's segments (read directly, as a person would look)."""
    return sum(len(segment.read_text().splitlines()) for segment in spool.parent.glob(spool.name + ".[0-9]*[0-9]"))


class _Resetter:
    """A 'vendor' that accepts the connection, reads the request, and resets it (RST)."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}/v1"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            connection.recv(65536)
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            connection.close()


def _upstream(url: str, timeout: float = 5) -> list[dict[str, Any]]:
    return [{"name": "faulty", "kind": "openai", "base_url": url, "models": ["*"], "timeout": timeout}]


@pytest.mark.parametrize("fault", ["hang", "reset", "garbage"])
def test_a_vendor_that_hangs_resets_or_answers_garbage_gives_a_clear_error_and_a_record(
    fault: str, start_proxy: StartProxy, vendor: MockVendor
) -> None:
    url = vendor.url + "/v1"  # type: ignore[attr-defined]
    if fault == "hang":
        vendor.script.delay = 3
    elif fault == "garbage":
        vendor.script.garbage = True
    else:
        url = _Resetter().url
    expected = {"hang": (504, "upstream_timeout"), "reset": (502, "upstream_unavailable"), "garbage": (502, None)}
    with start_proxy(upstreams=_upstream(url, timeout=0.5)) as proxy:
        with pytest.raises(openai.APIStatusError) as caught:
            proxy.client().chat.completions.create(model="gpt-4o", messages=HELLO)
        status, code = expected[fault]
        assert caught.value.status_code == status
        if code:
            assert caught.value.code == code
        assert "Traceback" not in caught.value.response.text
        record = _record_of(proxy, caught.value.response)
    assert (record["status"], record["http_status"]) == ("upstream_error", status)


def test_a_stream_the_vendor_cuts_short_ends_with_an_error_event_and_is_recorded_as_such(
    proxy: RunningProxy, vendor: MockVendor
) -> None:
    vendor.script.reply = "a long answer " * 10
    vendor.script.truncate_after = 3
    body = {"model": "gpt-4o", "stream": True, "messages": HELLO}
    headers = {"authorization": f"Bearer {PROXY_KEY}"}
    with httpx.stream("POST", proxy.url + "/v1/chat/completions", json=body, headers=headers) as response:
        lines = [line for line in response.iter_lines() if line.startswith("data: ")]
        request_id = response.headers["x-proxy-request-id"]
    assert "upstream_incomplete" in lines[-1]
    record = proxy.record(request_id)
    assert record.status == "upstream_error"
    assert record.payloads["response_received"]["choices"][0]["message"]["content"].startswith("a long")


def _record_of(proxy: RunningProxy, response: httpx.Response) -> dict[str, Any]:
    return proxy.record(response.headers["x-proxy-request-id"]).request
