"""No raw value from a prompt ever reaches a log line or an error message, on any path."""

from __future__ import annotations

import json
import logging

import openai
import pytest

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

    monkeypatch.setattr(proxy.services.detector, "detect_sync", explode)
    errors.append(_send(proxy, prompt))  # detector failure
    monkeypatch.undo()
    monkeypatch.setattr("proxy.respond.restore_body", explode)
    errors.append(_send(proxy, prompt))  # a bug inside the proxy
    proxy.services.recorder.flush()

    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).removeHandler(caplog.handler)
    assert [e.count('"error"') for e in errors] == [1] * len(errors)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "unexpected ValueError" in logged and "detection failed: ValueError" in logged
    for value in VALUES:
        assert value not in logged
        for error in errors:
            assert value not in error
