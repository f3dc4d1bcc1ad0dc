"""OpenAI Embeddings and legacy Completions through the official SDK."""

from __future__ import annotations

import json

import openai
import pytest

from .conftest import VENDOR_KEY, RunningProxy, StartProxy
from .mock_vendor import MockVendor


def test_embeddings_redact_since_nothing_comes_back_to_restore(proxy: RunningProxy, vendor: MockVendor) -> None:
    raw = proxy.client().embeddings.with_raw_response.create(
        model="text-embedding-3-small", input=["Peter Parker lives here", "mail peter@dailybugle.com"]
    )
    assert len(raw.parse().data) == 2
    assert vendor.last["input"] == ["<PERSON> lives here", "mail <EMAIL_ADDRESS>"]
    record = proxy.record(raw.headers["x-proxy-request-id"])
    assert {f["action"] for f in record.findings} == {"redact"}  # the record says what was done


def test_embeddings_of_token_arrays_are_refused_since_tokens_cannot_be_scanned(
    proxy: RunningProxy, vendor: MockVendor
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        proxy.client().embeddings.create(model="text-embedding-3-small", input=[[1923, 2312, 88]])
    assert caught.value.body["code"] == "unscannable_input"  # type: ignore[index]
    assert vendor.received == []


@pytest.mark.parametrize("stream", [False, True])
def test_legacy_completions_are_scanned_and_restored(proxy: RunningProxy, vendor: MockVendor, stream: bool) -> None:
    vendor.script.chunk_chars = 3
    client = proxy.client()
    if stream:
        text = "".join(
            c.choices[0].text
            for c in client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Dear Peter Parker,", stream=True)
            if c.choices
        )
    else:
        text = client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Dear Peter Parker,").choices[0].text
    assert vendor.last["prompt"] == "Dear <PERSON_1>,"
    assert text == "Dear Peter Parker,"


def test_azure_openai_gets_deployment_path_version_and_api_key_header(
    start_proxy: StartProxy, session_vendor: MockVendor
) -> None:
    session_vendor.reset()
    upstreams = [
        {
            "name": "azure",
            "kind": "azure-openai",
            "base_url": session_vendor.url,  # type: ignore[attr-defined]
            "api_key_env": "TEST_VENDOR_KEY",
            "api_version": "2024-10-21",
            "deployments": {"gpt-4o": "prod-gpt4o"},
            "models": ["gpt-*"],
        }
    ]
    with start_proxy(upstreams=upstreams) as running:
        completion = running.client().chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "Hi Peter Parker"}]
        )
    received = session_vendor.received[-1]
    assert received.url.endswith("/openai/deployments/prod-gpt4o/chat/completions?api-version=2024-10-21")
    assert received.headers["api-key"] == VENDOR_KEY and "authorization" not in received.headers
    assert completion.choices[0].message.content == "Hi Peter Parker"


def test_an_upstream_can_rename_the_model(start_proxy: StartProxy, session_vendor: MockVendor) -> None:
    session_vendor.reset()
    upstreams = [
        {
            "name": "ft",
            "kind": "openai",
            "base_url": session_vendor.url + "/v1",
            "models": ["gpt-*"],
            "rename": {"gpt-4o": "ft:gpt-4o:acme"},
        }
    ]  # type: ignore[attr-defined]
    with start_proxy(upstreams=upstreams) as running:
        running.client().chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hello"}])
    assert session_vendor.last["model"] == "ft:gpt-4o:acme"


def test_azure_deployment_names_cannot_walk_the_url_path(start_proxy: StartProxy, session_vendor: MockVendor) -> None:
    session_vendor.reset()
    upstreams = [
        {
            "name": "azure",
            "kind": "azure-openai",
            "base_url": session_vendor.url,
            "api_version": "2024-10-21",
            "models": ["gpt-4o*"],
        }
    ]  # type: ignore[attr-defined]
    with start_proxy(upstreams=upstreams) as running:
        with pytest.raises(openai.NotFoundError):
            running.client().chat.completions.create(
                model="gpt-4o-x/../../deployments/secret", messages=[{"role": "user", "content": "hi"}]
            )
    assert session_vendor.received == []


def test_a_vendor_refusing_the_company_key_is_a_502_that_quotes_nothing(
    proxy: RunningProxy, vendor: MockVendor
) -> None:
    vendor.script.status = 401
    vendor.script.error_body = {
        "error": {
            "message": "Incorrect API key provided: sk-vendo****0001",
            "type": "invalid_request_error",
            "code": "invalid_api_key",
        }
    }
    with pytest.raises(openai.APIStatusError) as caught:
        proxy.client().chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert caught.value.status_code == 502 and "sk-vendo" not in caught.value.response.text


def test_a_surface_the_upstream_does_not_speak_is_refused(proxy: RunningProxy, vendor: MockVendor) -> None:
    import httpx

    from .conftest import PROXY_KEY

    body = {"model": "gpt-4o", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
    response = httpx.post(proxy.url + "/v1/messages", json=body, headers={"x-api-key": PROXY_KEY})
    assert response.status_code == 404 and response.json()["type"] == "error" and vendor.received == []


def test_streamed_refusals_are_restored(proxy: RunningProxy, vendor: MockVendor) -> None:
    import httpx

    from .conftest import PROXY_KEY

    vendor.script.reply = "I won't email <PERSON_1>"
    vendor.script.refusal = True
    body = {"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "Please email Peter Parker"}]}
    with httpx.stream(
        "POST", proxy.url + "/v1/chat/completions", json=body, headers={"authorization": f"Bearer {PROXY_KEY}"}
    ) as response:
        text = "".join(
            json.loads(line[6:])["choices"][0]["delta"].get("refusal") or ""
            for line in response.iter_lines()
            if line.startswith("data: {") and json.loads(line[6:])["choices"]
        )
    assert text == "I won't email Peter Parker"
