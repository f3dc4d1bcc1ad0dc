"""Every way a request can fail gets a vendor-shaped error, names no value, and is recorded."""

from __future__ import annotations

import json
import time

import httpx
import openai
import pytest

from .conftest import PROXY_KEY, RunningProxy, StartProxy
from .mock_vendor import MockVendor

SECRET_VALUES = ["4111 1111 1111 1111", "Jane Roe", "jane.roe@corp.com"]
PII_PROMPT = "Charge 4111 1111 1111 1111 for Jane Roe, jane.roe@corp.com"


def _post(proxy: RunningProxy, content: bytes, key: str | None = PROXY_KEY) -> httpx.Response:
    headers = {"content-type": "application/json"}
    if key:
        headers["authorization"] = f"Bearer {key}"
    return httpx.post(proxy.url + "/v1/chat/completions", content=content, headers=headers, timeout=30)


def _assert_openai_error(response: httpx.Response, status: int, code: str) -> dict[str, str]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"] and error["type"]
    return error  # type: ignore[no-any-return]


def test_malformed_json_is_a_400_and_recorded(proxy: RunningProxy) -> None:
    response = _post(proxy, b'{"model": "gpt-4o", "messages": [')
    error = _assert_openai_error(response, 400, "invalid_json")
    assert "not valid JSON" in error["message"]
    assert proxy.record(response.headers["x-proxy-request-id"]).status == "bad_request"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"messages": [{"role": "user", "content": "hi"}]}, 400, "missing_model"),
        ({"model": "no-such-model", "messages": [{"role": "user", "content": "hi"}]}, 404, "model_not_found"),
        ({"model": "gpt-4o", "messages": []}, 400, "invalid_messages"),
        ([1, 2], 400, "invalid_json"),
    ],
)
def test_bad_requests_are_refused_in_openai_shape(
    proxy: RunningProxy, vendor: MockVendor, body: object, status: int, code: str
) -> None:
    response = _post(proxy, json.dumps(body).encode())
    _assert_openai_error(response, status, code)
    assert proxy.record(response.headers["x-proxy-request-id"]).status == "bad_request"
    assert vendor.received == []


def test_unknown_model_through_the_sdk_raises_not_found(proxy: RunningProxy) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        proxy.client().chat.completions.create(model="llama-nope", messages=[{"role": "user", "content": "hi"}])
    assert "not served by this proxy" in caught.value.message and "llama-nope" not in caught.value.message


@pytest.mark.parametrize("key", [None, "pp-wrong-key"])
def test_missing_or_invalid_proxy_key_is_401_and_recorded_without_body(
    proxy: RunningProxy, vendor: MockVendor, key: str | None
) -> None:
    response = _post(
        proxy, json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": PII_PROMPT}]}).encode(), key
    )
    _assert_openai_error(response, 401, "invalid_api_key")
    assert "pp-wrong-key" not in response.text
    record = proxy.record(response.headers["x-proxy-request-id"])
    assert record.status == "unauthenticated" and record.payloads == {}
    assert vendor.received == []


def test_sdk_with_wrong_key_gets_authentication_error(proxy: RunningProxy) -> None:
    with openai.OpenAI(base_url=proxy.url + "/v1", api_key="nope", max_retries=0) as client:
        with pytest.raises(openai.AuthenticationError):
            client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])


def test_body_over_the_limit_is_413(start_proxy: StartProxy, vendor: MockVendor) -> None:
    with start_proxy(server={"max_body_bytes": 2000}) as small:
        body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "x" * 5000}]}
        with pytest.raises(openai.APIStatusError) as caught:
            small.client().chat.completions.create(**body)  # type: ignore[arg-type]
        assert caught.value.status_code == 413
        request_id = caught.value.response.headers["x-proxy-request-id"]
        assert small.record(request_id).request["http_status"] == 413
    assert vendor.received == []


def test_policy_block_names_rule_and_type_never_the_value(proxy: RunningProxy, vendor: MockVendor) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        proxy.client().chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": PII_PROMPT}])
    error = caught.value.body
    assert isinstance(error, dict) and error["type"] == "policy_violation"
    assert caught.value.response.headers["x-proxy-decision"] == "block"
    for value in SECRET_VALUES:
        assert value not in caught.value.response.text
    record = proxy.record(caught.value.response.headers["x-proxy-request-id"])
    assert record.status == "blocked" and record.request["decision"] == "block"
    assert {f["action"] for f in record.findings} >= {"block"}
    assert vendor.received == []


def test_block_message_falls_back_to_rule_and_entity(
    start_proxy: StartProxy, tmp_path: object, vendor: MockVendor
) -> None:
    from pathlib import Path

    policies = Path(str(tmp_path)) / "policies"
    policies.mkdir()
    (policies / "strict.yaml").write_text(
        "id: strict\nrules:\n  - id: no-emails\n    detect: [EMAIL_ADDRESS]\n    action: block\n"
    )
    with start_proxy(policies=str(policies)) as strict:
        with pytest.raises(openai.BadRequestError) as caught:
            strict.client().chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "mail bo@corp.com"}]
            )
    message = caught.value.body["message"]  # type: ignore[index]
    assert "no-emails" in message and "EMAIL_ADDRESS" in message and "bo@corp.com" not in message


def test_detection_failure_fails_closed(
    proxy: RunningProxy, vendor: MockVendor, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object) -> list[object]:
        raise RuntimeError("spaCy exploded while reading Jane Roe")

    monkeypatch.setattr(proxy.services.detector, "detect_sync", broken)
    with pytest.raises(openai.APIStatusError) as caught:
        proxy.client().chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "Hi, Jane Roe here"}]
        )
    assert caught.value.status_code == 503
    assert "Jane Roe" not in caught.value.response.text
    assert vendor.received == []
    assert proxy.record(caught.value.response.headers["x-proxy-request-id"]).status == "error"


def test_upstream_error_is_passed_through_as_the_vendor_sent_it(proxy: RunningProxy, vendor: MockVendor) -> None:
    vendor.script.status = 429
    vendor.script.error_body = {
        "error": {"message": "Rate limit reached", "type": "requests", "param": None, "code": "rate_limit_exceeded"}
    }
    with pytest.raises(openai.RateLimitError) as caught:
        proxy.client().chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert caught.value.body == vendor.script.error_body["error"]
    record = proxy.record(caught.value.response.headers["x-proxy-request-id"])
    assert record.status == "upstream_error" and record.request["http_status"] == 429
    assert record.payloads["response_received"] == vendor.script.error_body


def test_upstream_500_is_passed_through(proxy: RunningProxy, vendor: MockVendor) -> None:
    vendor.script.status = 500
    with pytest.raises(openai.InternalServerError) as caught:
        proxy.client().chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True
        )
    assert caught.value.body["message"] == "scripted failure"  # type: ignore[index]


def test_upstream_unreachable_is_502(start_proxy: StartProxy) -> None:
    upstreams = [{"name": "down", "kind": "openai", "base_url": "http://127.0.0.1:9/v1", "models": ["*"]}]
    with start_proxy(upstreams=upstreams) as running:
        with pytest.raises(openai.APIStatusError) as caught:
            running.client().chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
        assert caught.value.status_code == 502
        assert caught.value.body["code"] == "upstream_unavailable"  # type: ignore[index]
        assert running.record(caught.value.response.headers["x-proxy-request-id"]).status == "upstream_error"


def test_upstream_timeout_is_504(start_proxy: StartProxy, session_vendor: MockVendor) -> None:
    session_vendor.reset()
    session_vendor.script.delay = 2.0
    upstreams = [
        {"name": "slow", "kind": "openai", "base_url": session_vendor.url + "/v1", "models": ["*"], "timeout": 0.5}
    ]  # type: ignore[attr-defined]
    with start_proxy(upstreams=upstreams) as running:
        with pytest.raises(openai.APIStatusError) as caught:
            running.client().chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
        assert caught.value.status_code == 504
        assert caught.value.body["code"] == "upstream_timeout"  # type: ignore[index]
    session_vendor.reset()


def test_upstream_garbage_is_502(proxy: RunningProxy, vendor: MockVendor) -> None:
    vendor.script.garbage = True
    with pytest.raises(openai.APIStatusError) as caught:
        proxy.client().chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert caught.value.status_code == 502


def test_client_disconnect_mid_stream_is_recorded(proxy: RunningProxy, vendor: MockVendor) -> None:
    vendor.script.reply = "word " * 200
    vendor.script.chunk_delay = 0.02
    body = {"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "talk to me"}]}
    headers = {"authorization": f"Bearer {PROXY_KEY}"}
    with httpx.stream("POST", proxy.url + "/v1/chat/completions", json=body, headers=headers) as response:
        request_id = response.headers["x-proxy-request-id"]
        for line in response.iter_lines():
            if "word" in line:
                break  # hang up after the first words
    record = proxy.record(request_id)
    assert record.status == "client_disconnected"
    assert record.payloads["response_received"]["choices"][0]["message"]["content"].startswith("word")
    deadline = time.monotonic() + 5
    while not vendor.abandoned and time.monotonic() < deadline:
        time.sleep(0.05)
    assert vendor.abandoned == 1  # the proxy hung up on the vendor too, long before the 200 words


def test_upstream_breaking_mid_stream_ends_the_stream_with_an_error_and_is_recorded(
    proxy: RunningProxy, vendor: MockVendor
) -> None:
    vendor.script.reply = "Dear Jane Roe, " + "more words " * 20
    vendor.script.break_after = 3
    body = {"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    headers = {"authorization": f"Bearer {PROXY_KEY}"}
    with httpx.stream("POST", proxy.url + "/v1/chat/completions", json=body, headers=headers) as response:
        lines = [line for line in response.iter_lines() if line.startswith("data: ")]
        request_id = response.headers["x-proxy-request-id"]
    last = json.loads(lines[-1].removeprefix("data: "))
    assert last["error"]["code"] == "upstream_unavailable"
    record = proxy.record(request_id)
    assert record.status == "upstream_error"
    assert record.payloads["response_received"]["choices"][0]["message"]["content"].startswith("Dear")


def test_client_leaving_before_the_vendor_answers_cancels_the_call_and_is_recorded(
    proxy: RunningProxy, vendor: MockVendor
) -> None:
    vendor.script.delay = 3.0
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "take your time"}]}
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        _post_json(proxy, body, timeout=0.5)
    deadline = time.monotonic() + 5
    records: list[str] = []
    while time.monotonic() < deadline and not records:
        proxy.services.recorder.flush()
        with proxy.services.recorder.engine.connect() as connection:
            from sqlalchemy import text

            rows = connection.execute(
                text("SELECT status FROM requests WHERE status = 'client_disconnected' AND stream = false")
            ).scalars()
            records = list(rows)
        time.sleep(0.05)
    assert records and time.monotonic() - started < 3.0, "the proxy kept waiting for the vendor"


def _post_json(proxy: RunningProxy, body: dict[str, object], timeout: float) -> httpx.Response:
    headers = {"authorization": f"Bearer {PROXY_KEY}"}
    return httpx.post(proxy.url + "/v1/chat/completions", json=body, headers=headers, timeout=timeout)
