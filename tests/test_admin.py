"""The admin API: browse records with filters and keyset pages, read one record (originals only
on request, and audited), reload policies; refused without the admin key."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from proxy.config import hash_api_key
from proxy.store.audit import audit_rows

from .conftest import REPO, RunningProxy, StartProxy
from .mock_vendor import MockVendor

ADMIN_KEY = "pp-admin-key-for-the-suite"
EMAIL = "maria.gonzalez@gonzalez-family.net"


@pytest.fixture(scope="module")
def admin_proxy(start_proxy: StartProxy, tmp_path_factory: pytest.TempPathFactory) -> Any:
    policies = tmp_path_factory.mktemp("admin-policies")
    shutil.copytree(REPO / "policies", policies, dirs_exist_ok=True)
    with start_proxy(admin={"sha256": hash_api_key(ADMIN_KEY)}, policies=str(policies)) as running:
        yield running


def _admin(proxy: RunningProxy, path: str, key: str = ADMIN_KEY, **params: Any) -> httpx.Response:
    return httpx.get(proxy.url + path, params=params, headers={"authorization": f"Bearer {key}"} if key else {})


def test_without_the_admin_key_nothing_is_shown(admin_proxy: RunningProxy, proxy: RunningProxy) -> None:
    for key in ("", "pp-test-key-for-the-suite", "wrong"):
        response = _admin(admin_proxy, "/admin/requests", key=key)
        assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_api_key"
    off = _admin(proxy, "/admin/requests")  # no admin key configured at all
    assert off.status_code == 401 and "admin API is off" in off.json()["error"]["message"]


def test_requests_are_listed_newest_first_in_keyset_pages_with_filters(
    admin_proxy: RunningProxy, vendor: MockVendor
) -> None:
    client = admin_proxy.client()
    ids = []
    for n in range(5):
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": f"page test {n}"}]
        )
        ids.append(raw.headers["x-proxy-request-id"])
    admin_proxy.record(ids[-1])
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, "model": "gpt-4o-mini", "status": "ok"} | ({"cursor": cursor} if cursor else {})
        page = _admin(admin_proxy, "/admin/requests", **params).json()
        seen += [row["id"] for row in page["data"]]
        assert all(row["model"] == "gpt-4o-mini" and row["status"] == "ok" for row in page["data"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) and set(ids) <= set(seen)
    assert [i for i in seen if i in ids] == ids[::-1]  # newest first
    none = _admin(admin_proxy, "/admin/requests", team="no-such-team").json()
    assert none == {"data": [], "next_cursor": None}
    later = _admin(admin_proxy, "/admin/requests", since="2999-01-01").json()
    assert later["data"] == []
    newest = _admin(admin_proxy, "/admin/requests", limit=1).json()["data"][0]["created_at"]
    moment = datetime.fromisoformat(newest).replace(tzinfo=UTC)
    for zone in (timezone(timedelta(hours=5)), timezone(timedelta(hours=-7))):  # the same instant, other zones
        local = (moment - timedelta(seconds=1)).astimezone(zone).isoformat()
        assert newest in [r["created_at"] for r in _admin(admin_proxy, "/admin/requests", since=local).json()["data"]]
        after = (moment + timedelta(seconds=1)).astimezone(zone).isoformat()
        assert _admin(admin_proxy, "/admin/requests", since=after).json()["data"] == []


@pytest.mark.parametrize(
    ("params", "named"),
    [({"limit": "many"}, "limit"), ({"since": "yesterday-ish"}, "since"), ({"cursor": "%%%"}, "cursor")],
)
def test_bad_parameters_are_400_naming_the_parameter_not_its_value(
    admin_proxy: RunningProxy, params: dict[str, str], named: str
) -> None:
    response = _admin(admin_proxy, "/admin/requests", **params)
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert f"'{named}'" in message and list(params.values())[0] not in message


def test_one_request_shows_what_the_vendor_saw_and_the_original_only_when_asked_and_audited(
    admin_proxy: RunningProxy, vendor: MockVendor
) -> None:
    raw = admin_proxy.client().chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": f"Please write to {EMAIL} today."}]
    )
    request_id = raw.headers["x-proxy-request-id"]
    admin_proxy.record(request_id)
    plain = _admin(admin_proxy, f"/admin/requests/{request_id}")
    assert plain.status_code == 200 and EMAIL not in plain.text
    body = plain.json()
    assert body["request"]["id"] == request_id
    assert {f["entity_type"] for f in body["findings"]} == {"EMAIL_ADDRESS"}
    assert "value_hash" not in body["findings"][0]
    assert set(body["payloads"]) == {"forwarded", "response_received"}
    assert "<EMAIL_ADDRESS" in body["payloads"]["forwarded"]["messages"][0]["content"]
    assert not [row for row in audit_rows(admin_proxy.services.recorder.engine) if row["target"] == request_id]

    full = _admin(admin_proxy, f"/admin/requests/{request_id}", include_original="true").json()
    assert EMAIL in full["payloads"]["original"]["messages"][0]["content"]
    assert EMAIL in full["payloads"]["response_returned"]["choices"][0]["message"]["content"]
    audit = [row for row in audit_rows(admin_proxy.services.recorder.engine) if row["target"] == request_id]
    assert len(audit) == 1 and audit[0]["action"] == "read_original"
    assert audit[0]["actor"].startswith("admin:") and EMAIL not in str(audit[0])

    missing = _admin(admin_proxy, "/admin/requests/req_nope")
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "invalid_request_error"


def test_policies_reload_on_request_and_a_broken_file_keeps_the_last_good_set(admin_proxy: RunningProxy) -> None:
    directory = Path(admin_proxy.config.policies)
    headers = {"authorization": f"Bearer {ADMIN_KEY}"}
    default = directory / "default.yaml"
    text = default.read_text()
    version = int(text.split("\nversion: ", 1)[1].split("\n", 1)[0])
    default.write_text(text.replace(f"\nversion: {version}\n", f"\nversion: {version + 1}\n", 1))
    reloaded = httpx.post(admin_proxy.url + "/admin/policies/reload", headers=headers)
    assert reloaded.status_code == 200 and f"default@{version + 1}" in reloaded.json()["policies"]
    assert httpx.post(admin_proxy.url + "/admin/policies/reload").status_code == 401

    (directory / "broken.yaml").write_text("id: broken\nversion: 1\nrules: [{id: r, detect: [NOPE], action: mask}]\n")
    try:
        failed = httpx.post(admin_proxy.url + "/admin/policies/reload", headers=headers)
        assert failed.status_code == 422 and failed.json()["reloaded"] is False
        assert "broken.yaml:3" in failed.json()["error"] or "broken.yaml" in failed.json()["error"]
        assert f"default@{version + 1}" in failed.json()["policies"]
    finally:
        (directory / "broken.yaml").unlink()
