"""Access and limits: keys kept in the database, expiry, allowed models, requests per minute,
tokens per day, the concurrency gate and back-pressure — each seen through the vendors' SDKs."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anthropic
import httpx
import openai
import pytest
import time_machine
import yaml
from click.testing import CliRunner
from openai import OpenAI

from proxy import cli
from proxy.config import KeyLimits
from proxy.store.keys import create_key

from .conftest import RunningProxy, StartProxy
from .mock_vendor import MockVendor

HELLO = [{"role": "user", "content": "hello"}]


@pytest.fixture
def clients() -> Iterator[Callable[[RunningProxy, str], OpenAI]]:
    """OpenAI clients for a given key, all closed when the test ends."""
    made: list[OpenAI] = []

    def make(proxy: RunningProxy, key: str) -> OpenAI:
        made.append(OpenAI(base_url=proxy.url + "/v1", api_key=key, max_retries=0))
        return made[-1]

    yield make
    for client in made:
        client.close()


def _config_file(proxy: RunningProxy, tmp_path: Path) -> Path:
    path = tmp_path / "proxy.yaml"
    path.write_text(yaml.safe_dump({"database_url": proxy.config.database_url}))
    return path


def test_a_key_created_on_the_command_line_works_at_once_and_stops_when_revoked(
    clients: Callable[[RunningProxy, str], OpenAI], start_proxy: StartProxy, vendor: MockVendor, tmp_path: Path
) -> None:
    with start_proxy(key_refresh_seconds=0.2) as proxy:
        config = str(_config_file(proxy, tmp_path))
        runner = CliRunner()
        created = runner.invoke(
            cli.main, ["keys", "create", "--config", config, "--name", "ci-bot", "--team", "research"]
        )
        assert created.exit_code == 0, created.output
        key = created.stdout.strip().splitlines()[0]
        assert key.startswith("pp-")

        raw = clients(proxy, key).chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=HELLO)
        record = proxy.record(raw.headers["x-proxy-request-id"])
        assert (record.request["key_name"], record.request["team"]) == ("ci-bot", "research")

        listed = runner.invoke(cli.main, ["keys", "list", "--config", config])
        assert "ci-bot\tresearch" in listed.output and key not in listed.output
        again = runner.invoke(cli.main, ["keys", "create", "--config", config, "--name", "ci-bot"])
        assert again.exit_code == 1 and "already exists" in again.output

        assert runner.invoke(cli.main, ["keys", "revoke", "--config", config, "ci-bot"]).exit_code == 0
        deadline = time.monotonic() + 5
        refused = False
        while not refused and time.monotonic() < deadline:
            try:
                clients(proxy, key).chat.completions.create(model="gpt-4o-mini", messages=HELLO)
                time.sleep(0.1)
            except openai.AuthenticationError as error:
                refused = "Invalid proxy API key" in error.message
        assert refused
        assert "ci-bot" in runner.invoke(cli.main, ["keys", "list", "--config", config, "--all"]).output


def test_config_keys_keep_working_beside_stored_keys(proxy: RunningProxy, vendor: MockVendor) -> None:
    create_key(proxy.services.recorder.engine, "stored-beside", "ops", KeyLimits())
    completion = proxy.client().chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    assert completion.choices[0].message.content == "hello"


def test_an_expired_key_is_refused(
    clients: Callable[[RunningProxy, str], OpenAI], proxy: RunningProxy, vendor: MockVendor
) -> None:
    past = datetime.now(UTC) - timedelta(minutes=1)
    key = create_key(proxy.services.recorder.engine, "expired-key", "ops", KeyLimits(), past)
    with pytest.raises(openai.AuthenticationError) as caught:
        clients(proxy, key).chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    assert "expired" in caught.value.message and key not in caught.value.message
    assert not vendor.received


def test_a_key_limited_to_some_models_gets_403_for_others_and_lists_only_its_own(
    clients: Callable[[RunningProxy, str], OpenAI], proxy: RunningProxy, vendor: MockVendor
) -> None:
    key = create_key(proxy.services.recorder.engine, "mini-only", "ops", KeyLimits(models=["gpt-4o-mini", "echo"]))
    client = clients(proxy, key)
    assert client.chat.completions.create(model="gpt-4o-mini", messages=HELLO).choices[0].message.content == "hello"
    with pytest.raises(openai.PermissionDeniedError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert "may not use the requested model" in caught.value.message and "gpt-4o" not in caught.value.message
    assert len(vendor.received) == 1
    assert [model.id for model in client.models.list()] == ["gpt-4o-mini", "echo"]  # only what it may use


def test_requests_per_minute_answer_429_with_retry_after_in_both_shapes(
    clients: Callable[[RunningProxy, str], OpenAI], proxy: RunningProxy, vendor: MockVendor
) -> None:
    key = create_key(proxy.services.recorder.engine, "two-a-minute", "ops", KeyLimits(requests_per_minute=2))
    client = clients(proxy, key)
    for _ in range(2):
        client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    assert 50 <= int(caught.value.response.headers["retry-after"]) <= 60
    assert caught.value.code == "rate_limit_exceeded"
    record = proxy.record(caught.value.response.headers["x-proxy-request-id"])
    assert (record.request["status"], record.request["http_status"]) == ("rate_limited", 429)

    with anthropic.Anthropic(base_url=proxy.url, api_key=key, max_retries=0) as claude:
        with pytest.raises(anthropic.RateLimitError) as refused:
            claude.messages.create(model="claude-3-5-haiku-latest", max_tokens=10, messages=HELLO)  # type: ignore[arg-type]
    assert refused.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]
    assert len(vendor.received) == 2


@pytest.fixture
def midday() -> Iterator[None]:
    """Noon UTC today, clock running: a daily budget's day cannot end in the middle of the test (#22)."""
    with time_machine.travel(datetime.now(UTC).replace(hour=12, minute=0), tick=True):
        yield


def test_tokens_per_day_count_what_the_vendor_reported(
    clients: Callable[[RunningProxy, str], OpenAI], proxy: RunningProxy, vendor: MockVendor, midday: None
) -> None:
    key = create_key(proxy.services.recorder.engine, "small-budget", "ops", KeyLimits(tokens_per_day=5))
    client = clients(proxy, key)
    first = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "one two three"}])
    assert first.usage is not None and first.usage.total_tokens >= 5  # the mock counts words
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    assert caught.value.type == "tokens" and "tokens for today" in caught.value.message
    assert len(vendor.received) == 1


def test_the_concurrency_gate_queues_then_refuses_with_503(start_proxy: StartProxy, vendor: MockVendor) -> None:
    vendor.script.delay = 1.0
    with start_proxy(server={"max_concurrency": 1, "queue_timeout": 0.3}) as proxy:
        results: list[object] = []

        def call() -> None:
            try:
                results.append(proxy.client().chat.completions.create(model="gpt-4o-mini", messages=HELLO))
            except openai.APIStatusError as error:
                results.append(error)

        threads = [threading.Thread(target=call) for _ in range(2)]
        for thread in threads:
            thread.start()
            time.sleep(0.1)
        for thread in threads:
            thread.join()
    errors = [r for r in results if isinstance(r, openai.APIStatusError)]
    assert len(errors) == 1 and errors[0].status_code == 503
    assert "limit of 1 concurrent requests" in errors[0].message
    assert len(vendor.received) == 1


def test_a_stream_holds_its_concurrency_slot_until_it_ends(start_proxy: StartProxy, vendor: MockVendor) -> None:
    vendor.script.chunk_delay, vendor.script.chunk_chars = 0.3, 2
    with start_proxy(server={"max_concurrency": 1, "queue_timeout": 0.3}) as proxy:
        stream = proxy.client().chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True)
        first = next(iter(stream))  # the stream has started: its first byte is out
        with pytest.raises(openai.InternalServerError) as caught:
            proxy.client().chat.completions.create(model="gpt-4o-mini", messages=HELLO)
        assert proxy.services.gate.in_use == 1
        rest = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
        assert (first.choices[0].delta.content or "") + rest == "hello"
        assert proxy.client().chat.completions.create(model="gpt-4o-mini", messages=HELLO).choices
        assert proxy.services.gate.in_use == 0
    assert caught.value.status_code == 503 and caught.value.code == "overloaded"


def test_with_queue_and_spool_full_new_requests_are_refused_not_served_unrecorded(
    proxy: RunningProxy, vendor: MockVendor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(proxy.services.recorder, "full", lambda: True)
    with pytest.raises(openai.InternalServerError) as caught:
        proxy.client().chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    assert caught.value.status_code == 503 and caught.value.code == "overloaded"
    assert not vendor.received
    storage = proxy.services.config.storage.model_copy(update={"when_full": "serve"})
    monkeypatch.setattr(proxy.services, "config", proxy.services.config.model_copy(update={"storage": storage}))
    assert proxy.client().chat.completions.create(model="gpt-4o-mini", messages=HELLO).choices


def test_models_endpoint_needs_a_key_too(proxy: RunningProxy) -> None:
    response = httpx.get(proxy.url + "/v1/models", headers={"authorization": "Bearer nope"})
    assert response.status_code == 401


def test_streamed_answers_count_against_the_daily_tokens_too(
    clients: Callable[[RunningProxy, str], OpenAI], proxy: RunningProxy, vendor: MockVendor, midday: None
) -> None:
    key = create_key(proxy.services.recorder.engine, "streaming-budget", "ops", KeyLimits(tokens_per_day=5))
    client = clients(proxy, key)
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=HELLO, stream=True, stream_options={"include_usage": True}
    )
    assert "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices) == "hello"
    # The stream is assembled on a worker thread once it ends, then recorded and charged on the loop
    # in one step; the client can get here first, so wait for the record, not just the queue.
    proxy.record(stream.response.headers["x-proxy-request-id"])
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)


def test_a_model_name_longer_than_the_record_holds_is_refused(proxy: RunningProxy, vendor: MockVendor) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        proxy.client().chat.completions.create(model="gpt-" + "x" * 300, messages=HELLO)
    assert caught.value.code == "invalid_model" and "x" * 20 not in caught.value.message
    record = proxy.record(caught.value.response.headers["x-proxy-request-id"])
    assert record.request["status"] == "bad_request" and record.request["model"] is None


def test_a_model_name_refused_before_the_scan_is_not_kept(proxy: RunningProxy, vendor: MockVendor) -> None:
    """No route for it: the name was never scanned, so the request's row does not keep it."""
    with pytest.raises(openai.NotFoundError) as caught:
        proxy.client().chat.completions.create(model="nomodel-jane.doe@acme-mail.de", messages=HELLO)
    assert "jane.doe" not in caught.value.message
    record = proxy.record(caught.value.response.headers["x-proxy-request-id"])
    assert record.request["model"] is None
