"""Shared fixtures: one spaCy-backed detector, one mock vendor, proxies on real loopback HTTP."""

from __future__ import annotations

import base64
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from anthropic import Anthropic
from openai import OpenAI

from proxy.app import create_app
from proxy.config import Config, DetectionConfig, hash_api_key
from proxy.detection import DetectionEngine, build_analyzer
from proxy.pipeline import Services
from proxy.store.queries import StoredRecord, load_record

from .mock_vendor import MockVendor
from .servers import serve_in_thread

REPO = Path(__file__).resolve().parent.parent
PROXY_KEY = "pp-test-key-for-the-suite"
VENDOR_KEY = "sk-vendor-company-secret-0001"
HASH_KEY = "suite-hash-key"
SUITE_DATA_KEY_ENV, SUITE_DATA_KEY = "SUITE_DATA_KEY", base64.b64encode(b"d" * 32).decode()
POSTGRES = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")


@pytest.fixture(scope="session")
def detector() -> DetectionEngine:
    return DetectionEngine(build_analyzer(DetectionConfig()))


@pytest.fixture(scope="session")
def session_vendor() -> Iterator[MockVendor]:
    mock = MockVendor()
    with serve_in_thread(mock.app()) as url:
        mock.url = url  # type: ignore[attr-defined]
        yield mock


@pytest.fixture
def vendor(session_vendor: MockVendor) -> MockVendor:
    session_vendor.reset()
    return session_vendor


@dataclass
class RunningProxy:
    url: str
    config: Config
    services: Services
    _client: OpenAI | None = None
    _anthropic: Anthropic | None = None

    def client(self) -> OpenAI:
        """An OpenAI SDK client pointed at the proxy (one per proxy, closed when it stops)."""
        if self._client is None:
            self._client = OpenAI(base_url=self.url + "/v1", api_key=PROXY_KEY, max_retries=0)
        return self._client

    def anthropic(self) -> Anthropic:
        """An Anthropic SDK client pointed at the proxy (sends the proxy key as x-api-key)."""
        if self._anthropic is None:
            self._anthropic = Anthropic(base_url=self.url, api_key=PROXY_KEY, max_retries=0)
        return self._anthropic

    def close(self) -> None:
        for client in (self._client, self._anthropic):
            if client is not None:
                client.close()

    def record(self, request_id: str) -> StoredRecord:
        """The stored record, once the background writer has written it. A stream is handed to
        the writer just after its last byte, so the client can get there first: wait a little."""
        deadline = time.monotonic() + 10
        while True:
            self.services.recorder.flush()
            record = load_record(self.services.recorder.engine, self.services.sealer, request_id)
            if record is not None or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        assert record is not None, f"no record for {request_id}"
        return record


def make_config(vendor_url: str, tmp: Path, **overrides: Any) -> Config:
    data: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp / 'proxy.db'}",
        "policies": str(REPO / "policies"),
        "upstreams": [
            {
                "name": "openai",
                "kind": "openai",
                "base_url": vendor_url + "/v1",
                "api_key_env": "TEST_VENDOR_KEY",
                "models": ["gpt-*", "text-embedding-*"],
                "timeout": 5,
            },
            {
                "name": "anthropic",
                "kind": "anthropic",
                "base_url": vendor_url,
                "api_key_env": "TEST_VENDOR_KEY",
                "models": ["claude-*"],
                "timeout": 5,
            },
            {"name": "echo", "kind": "echo", "models": ["echo"]},
        ],
        # the suite's key belongs to a trusted application: it names end users and may skip capture
        "keys": [
            {
                "name": "suite",
                "team": "qa",
                "sha256": hash_api_key(PROXY_KEY),
                "may_assert_subject": True,
                "may_skip_capture": True,
            }
        ],
        "storage": {"spool_path": str(tmp / "spool.jsonl")},
    }
    data.update(overrides)
    if not str(data["database_url"]).startswith("sqlite") and not data["storage"].get("data_keys"):
        # A shared database is refused without data keys; SQLite seals with its local data.key.
        os.environ[SUITE_DATA_KEY_ENV] = SUITE_DATA_KEY
        data["storage"] = {**data["storage"], "data_keys": [{"id": "suite", "env": SUITE_DATA_KEY_ENV}]}
    return Config.model_validate(data)


StartProxy = Callable[..., AbstractContextManager[RunningProxy]]


@pytest.fixture(scope="session")
def start_proxy(
    detector: DetectionEngine, session_vendor: MockVendor, tmp_path_factory: pytest.TempPathFactory
) -> StartProxy:
    os.environ["TEST_VENDOR_KEY"] = VENDOR_KEY
    os.environ["PRIVACY_PROXY_HASH_KEY"] = HASH_KEY

    @contextmanager
    def start(engine: DetectionEngine | None = None, **overrides: Any) -> Iterator[RunningProxy]:
        """A proxy with `overrides` in its config, on the session's detector unless `engine`."""
        config = make_config(session_vendor.url, tmp_path_factory.mktemp("proxy"), **overrides)  # type: ignore[attr-defined]
        app = create_app(config, detector=engine or detector)
        with serve_in_thread(app) as url:
            running = RunningProxy(url, config, app.state.services)
            try:
                yield running
            finally:
                running.close()

    return start


@pytest.fixture(scope="session")
def proxy(start_proxy: StartProxy) -> Iterator[RunningProxy]:
    with start_proxy() as running:
        yield running


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this module, dropped afterwards."""
    name = f"pp_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES + "/postgres", autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    yield f"{POSTGRES}/{name}"
    with psycopg.connect(POSTGRES + "/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url
