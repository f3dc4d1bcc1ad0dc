"""Which policy was in force for request X: every loaded version kept by digest with its text,
`policy show` / `policy diff`, an audit row per reload, and a failed reload that shows (#17)."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest
import yaml

from proxy.config import hash_api_key
from proxy.store.audit import audit_rows

from .conftest import PROXY_KEY, REPO, RunningProxy, StartProxy
from .stored import invoke

ADMIN_KEY = "pp-admin-key-for-the-history"
HEADERS = {"authorization": f"Bearer {ADMIN_KEY}"}
TEXT = "Please write to Peter Parker"
V = yaml.safe_load((REPO / "policies" / "default.yaml").read_text())["version"]  # the shipped default's version


def _chat(running: RunningProxy) -> httpx.Response:
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": TEXT}]}
    return httpx.post(
        running.url + "/v1/chat/completions", json=body, headers={"authorization": f"Bearer {PROXY_KEY}"}, timeout=30
    )


def _reload(running: RunningProxy) -> httpx.Response:
    return httpx.post(running.url + "/admin/policies/reload", headers=HEADERS, timeout=30)


def _edit(default: Path, old: str, new: str) -> None:
    text = default.read_text()
    assert old in text
    default.write_text(text.replace(old, new, 1))


@pytest.fixture
def policies(tmp_path: Path) -> Path:
    directory = tmp_path / "policies"
    shutil.copytree(REPO / "policies", directory)
    return directory


def test_each_request_leads_back_to_the_full_text_of_the_policies_that_decided_it(
    start_proxy: StartProxy, policies: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'proxy.db'}"
    overrides = {"policies": str(policies), "database_url": url, "policy_reload_seconds": 0}
    with start_proxy(admin={"sha256": hash_api_key(ADMIN_KEY)}, **overrides) as running:
        first = running.record(_chat(running).headers["x-proxy-request-id"]).request
        _edit(policies / "default.yaml", f"version: {V}", f"version: {V + 1}")
        _edit(policies / "default.yaml", "action: pseudonymize", "action: redact")
        assert _reload(running).status_code == 200
        second = running.record(_chat(running).headers["x-proxy-request-id"]).request
        _edit(policies / "default.yaml", "action: redact", "action: hash")  # no version bump
        assert _reload(running).status_code == 200
        engine = running.services.recorder.engine
        reloads = audit_rows(engine, action="policy_reload")
    assert first["policy_digest"] != second["policy_digest"]
    assert f"default@{V}" in first["policies"] and f"default@{V + 1}" in second["policies"]
    [unbumped, bumped] = [row["details"] for row in reloads]  # newest first
    assert bumped["old_digest"] == first["policy_digest"] and bumped["new_digest"] == second["policy_digest"]
    change = next(c for c in bumped["changed"] if c["id"] == "default")
    assert (change["old_version"], change["new_version"], bumped["unbumped"]) == (V, V + 1, [])
    assert {c["id"] for c in bumped["changed"]} >= {"finance", "research"}  # they inherit what changed
    assert unbumped["unbumped"] == ["default"]
    assert all(row["actor"] == "serve:reload" for row in reloads)

    shown = invoke(["policy", "show", first["policy_digest"]], url).output
    assert f"default@{V}" in shown and "secrets-baseline@1" in shown and "id: contact-details" in shown
    diff = invoke(["policy", "diff", first["policy_digest"], second["policy_digest"]], url).output
    assert "-  action: pseudonymize" in diff and "+  action: redact" in diff and f"-version: {V}" in diff
    assert "secrets-baseline" not in diff  # unchanged policies are not shown

    checked = invoke(["policy", "check", str(policies)], url).output  # the files now hold the unbumped edit
    assert f"default@{V + 1}: content changed since this version was loaded" in checked


def test_a_failed_reload_is_visible_in_readyz_admin_metrics_and_the_audit_trail(
    start_proxy: StartProxy, policies: Path
) -> None:
    overrides = {"policies": str(policies), "policy_reload_seconds": 0}
    with start_proxy(admin={"sha256": hash_api_key(ADMIN_KEY)}, **overrides) as running:
        before = httpx.get(running.url + "/admin/policies", headers=HEADERS, timeout=30).json()
        (policies / "broken.yaml").write_text("id: broken\nrules:\n  - {id: x, detect: [PERSN], action: redact}\n")
        failed = _reload(running)
        ready = httpx.get(running.url + "/readyz", timeout=30)
        after = httpx.get(running.url + "/admin/policies", headers=HEADERS, timeout=30).json()
        metrics = httpx.get(running.url + "/metrics", timeout=30).text
        assert _chat(running).headers["x-proxy-decision"] == "transform"  # the last good set stays in force
        [audit] = audit_rows(running.services.recorder.engine, action="policy_reload_failed")
    assert failed.status_code == 422
    assert before["status"] == "ok" and before["last_error"] is None
    assert {p["id"]: p["digest"] for p in before["policies"]}["default"] == after["policies"][0]["digest"]
    assert before["history"][0]["digest"] == before["policy_digest"]
    body = ready.json()
    assert ready.status_code == 200 and body["policy_status"] == "degraded" and "broken.yaml:3" in body["policy_error"]
    assert after["status"] == "degraded" and "unknown entity type 'PERSN'" in after["last_error"]
    assert after["policy_digest"] == before["policy_digest"]
    assert 'privacy_proxy_policy_reloads_total{result="failed"} 1.0' in metrics
    assert audit["target"] == before["policy_digest"] and "broken.yaml:3" in audit["details"]["error"]


def test_unknown_parameters_to_the_policies_endpoint_are_refused(start_proxy: StartProxy) -> None:
    with start_proxy(admin={"sha256": hash_api_key(ADMIN_KEY)}) as running:
        response = httpx.get(running.url + "/admin/policies", params={"id": "x"}, headers=HEADERS, timeout=30)
    assert response.status_code == 400
