"""No raw value from a prompt ever reaches a log line or an error message, on any path."""

from __future__ import annotations

import json
import logging

import httpx
import openai
import pytest

from proxy.config import KeyLimits
from proxy.store.keys import create_key

from .conftest import RunningProxy
from .mock_vendor import MockVendor

VALUES = ["Peter Parker", "peter@dailybugle.com", "4111 1111 1111 1111", "EMP-004211"]


def _send(proxy: RunningProxy, content: str, **kwargs: object) -> str:
    """The response text (or error body) the client saw."""
    try:
        completion = proxy.client().chat.completions.create(
            model=str(kwargs.pop("model", "gpt-4o")), messages=[{"role": "user", "content": content}], **kwargs
        )  # type: ignore[call-overload]
        if kwargs.get("stream"):
            return "".join(str(chunk) for chunk in completion)
        return str(completion)
    except openai.APIStatusError as error:
        return error.response.text
    except openai.APIError as error:  # an error event inside a stream
        return json.dumps({"error": error.body})


def test_values_never_reach_logs_or_errors_on_any_path(
    proxy: RunningProxy, vendor: MockVendor, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):  # they do not propagate to the root
        logging.getLogger(name).addHandler(caplog.handler)
    prompt = "Peter Parker <peter@dailybugle.com>, badge EMP-004211"
    errors = [
        _send(proxy, prompt + ", card 4111 1111 1111 1111"),  # blocked by policy
        _send(proxy, prompt, model="unknown-model"),  # unknown model
    ]
    vendor.script.status = 500
    errors.append(_send(proxy, prompt))  # upstream failure
    vendor.script.status = None
    vendor.script.garbage = True
    errors.append(_send(proxy, prompt))  # upstream garbage
    vendor.script.garbage = False
    vendor.script.break_after = 1
    errors.append(_send(proxy, prompt, stream=True))  # upstream broke off mid-stream
    vendor.script.break_after = None

    def explode(*_: object) -> object:
        raise ValueError(f"cannot handle {prompt}")

    vendor.script.truncate_after = 1
    errors.append(_send(proxy, prompt, stream=True))  # the vendor's stream ended early
    vendor.script.truncate_after = None
    errors += _limited_key_paths(proxy, prompt)
    big = proxy.client().with_options(max_retries=0)
    try:
        big.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": prompt + " x" * 3_000_000}])
    except openai.APIStatusError as error:
        errors.append(error.response.text)  # body over the size limit

    monkeypatch.setattr(proxy.services.detector, "detect_sync", explode)
    errors.append(_send(proxy, prompt))  # detector failure
    monkeypatch.undo()
    monkeypatch.setattr("proxy.response.process.AnswerProcessor.body", explode)
    errors.append(_send(proxy, prompt))  # a bug inside the proxy
    monkeypatch.undo()
    assert "Peter Parker" in _send(proxy, "Peter Parker asks: is the badge EMP-004211 valid?")  # success, restored
    monkeypatch.setattr(proxy.services.recorder, "write", explode)
    _send(proxy, prompt)  # the database refuses the record: set aside, logged by type only
    proxy.services.recorder.flush()
    monkeypatch.undo()
    metrics = httpx.get(proxy.url + "/metrics").text

    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).removeHandler(caplog.handler)
    assert [e.count('"error"') for e in errors] == [1] * len(errors)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "unexpected ValueError" in logged and "detection failed: ValueError" in logged
    assert "refused by the database (ValueError); set aside" in logged
    for value in VALUES:
        assert value not in logged
        assert value not in metrics
        for error in errors:
            assert value not in error


def _limited_key_paths(proxy: RunningProxy, prompt: str) -> list[str]:
    """403 (model not allowed) and 429 (requests per minute) for a key with limits."""
    key = create_key(
        proxy.services.recorder.engine, "privacy-limited", "qa", KeyLimits(models=["gpt-4o"], requests_per_minute=1)
    )
    with openai.OpenAI(base_url=proxy.url + "/v1", api_key=key, max_retries=0) as client:
        texts = []
        for model in ("gpt-4o-mini", "gpt-4o", "gpt-4o"):
            try:
                client.chat.completions.create(model=model, messages=[{"role": "user", "content": prompt}])
            except openai.APIStatusError as error:
                texts.append(error.response.text)
    assert len(texts) == 2 and '"model_not_allowed"' in texts[0] and '"rate_limit_exceeded"' in texts[1]
    return texts
