"""The `privacy-proxy` command: serve on the embedded defaults, policy tools, keys, db."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from openai import OpenAI

from proxy import cli
from proxy.config import hash_api_key
from proxy.detection import DetectionEngine

from .conftest import REPO, StartProxy
from .mock_vendor import MockVendor
from .processes import free_port, wait_healthy


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, detector: object) -> CliRunner:
    monkeypatch.setattr(DetectionEngine, "in_process", lambda config: detector)  # spaCy loads once per test session
    return CliRunner()


def test_serve_on_embedded_defaults_answers_the_openai_sdk(tmp_path: Path) -> None:
    """The Quickstart: no config, no policies directory, no vendor key — the echo model works."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("PRIVACY_PROXY_CONFIG", "DATABASE_URL")}
    process = subprocess.Popen(
        [sys.executable, "-m", "proxy", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_healthy(port, process)
        with OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="anything") as client:
            completion = client.chat.completions.create(
                model="echo", messages=[{"role": "user", "content": "Server 81.2.69.160 is down, says Jane Doe."}]
            )
        content = completion.choices[0].message.content or ""
        assert content.startswith("Server <IP_ADDRESS#") and content.endswith(" is down, says Jane Doe.")
        assert (tmp_path / "data" / "proxy.db").exists()
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0].decode()
    assert "81.2.69.160" not in output and "Jane Doe" not in output
    lines = [json.loads(line) for line in output.splitlines() if line.strip()]  # every line is a JSON object
    assert {"time", "level", "logger", "message"} <= set(lines[0])
    assert "built-in default policy" in output


def test_serve_refuses_a_public_address_without_keys(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli.main, ["serve", "--host", "0.0.0.0"], env={"PRIVACY_PROXY_CONFIG": ""})
    assert result.exit_code == 1
    assert "no proxy keys are configured" in result.output


def test_policy_check_passes_on_shipped_policies(runner: CliRunner) -> None:
    result = runner.invoke(cli.main, ["policy", "check", str(REPO / "policies")])
    assert result.exit_code == 0, result.output
    assert "ok  default@4" in result.output and "ok  secrets-baseline@1" in result.output


def test_policy_check_fails_with_file_line_col(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("id: bad\nrules:\n  - id: r\n    detect: [PERSN]\n    action: redact\n")
    result = runner.invoke(cli.main, ["policy", "check", str(tmp_path)])
    assert result.exit_code == 1
    assert (
        f"{tmp_path / 'bad.yaml'}:4:14  rules[r].detect[0]: unknown entity type 'PERSN' — did you mean 'PERSON'?"
        in result.output
    )


def test_policy_explain_shows_findings_masked_and_the_forwarded_text(runner: CliRunner) -> None:
    text = "Mail Peter Parker at peter@dailybugle.com"
    result = runner.invoke(cli.main, ["policy", "explain", "--policies", str(REPO / "policies"), "--text", text])
    assert result.exit_code == 0, result.output
    assert "decision: transform" in result.output
    assert "EMAIL_ADDRESS" in result.output and "contact-details" in result.output
    assert "Mail <PERSON_1> at <EMAIL_ADDRESS_1>" in result.output
    findings = result.output.split("forwarded:")[0]
    assert "peter@dailybugle.com" not in findings and "Peter Parker" not in findings


IP_POLICY = """
id: ops
rules:
  - {id: ips, detect: [IP_ADDRESS], action: hash}
tests:
  - name: the code the proxy forwards
    input: Server 81.2.69.160 is down
    expect: {decision: transform, forwarded: "FORWARDED"}
"""


def test_dry_runs_given_a_config_make_the_hash_codes_the_proxy_forwards(
    runner: CliRunner, start_proxy: StartProxy, vendor: MockVendor, tmp_path: Path
) -> None:
    text = "Server 81.2.69.160 is down"
    with start_proxy() as running:
        running.client().chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": text}])
        database_url = running.config.database_url
    forwarded = vendor.last["messages"][0]["content"]
    assert forwarded.startswith("Server <IP_ADDRESS#")
    config = tmp_path / "proxy.yaml"
    config.write_text(json.dumps({"database_url": database_url, "policies": str(REPO / "policies")}))
    explain = ["policy", "explain", "--text", text]
    assert f"forwarded:\n  {forwarded}" in runner.invoke(cli.main, [*explain, "--config", str(config)]).output
    assert forwarded not in runner.invoke(cli.main, [*explain, "--policies", str(REPO / "policies")]).output
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "ops.yaml").write_text(IP_POLICY.replace("FORWARDED", forwarded))
    with_config = runner.invoke(cli.main, ["policy", "test", str(policies), "--config", str(config)])
    assert with_config.exit_code == 0 and "1 passed, 0 failed" in with_config.output, with_config.output
    assert runner.invoke(cli.main, ["policy", "test", str(policies)]).exit_code == 1  # a fixed key: another code


def test_keys_generate_prints_a_key_whose_hash_it_prints(runner: CliRunner) -> None:
    result = runner.invoke(cli.main, ["keys", "generate", "--name", "laptop", "--team", "research"])
    assert result.exit_code == 0
    key = result.output.split("\n")[1].strip()
    assert key.startswith("pp-") and hash_api_key(key) in result.output and '"team": "research"' in result.output


def test_db_upgrade_creates_the_schema(runner: CliRunner, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    result = runner.invoke(cli.main, ["db", "upgrade"], env={"DATABASE_URL": url, "PRIVACY_PROXY_CONFIG": ""})
    assert result.exit_code == 0, result.output
    assert (tmp_path / "x.db").exists()


def test_python_dash_m_proxy_works() -> None:
    result = subprocess.run([sys.executable, "-m", "proxy", "--help"], capture_output=True, text=True, check=True)
    for command in ("serve", "policy", "db", "keys"):
        assert command in result.stdout


def test_sighup_reloads_policies_in_a_running_server(tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    policies.mkdir()
    rule = "rules: [{id: names, detect: [PERSON], action: redact}]\n"
    (policies / "p.yaml").write_text("id: p\nversion: 1\n" + rule)
    port = free_port()
    config = tmp_path / "proxy.yaml"
    config.write_text(
        f"policies: policies\npolicy_reload_seconds: 0\nserver: {{port: {port}}}\n"  # 0: SIGHUP only
        f"database_url: sqlite:///{tmp_path / 'db.sqlite'}\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PRIVACY_PROXY_CONFIG", "DATABASE_URL")}
    process = subprocess.Popen([sys.executable, "-m", "proxy", "serve", "--config", str(config)], cwd=tmp_path, env=env)
    try:
        wait_healthy(port, process)
        (policies / "p.yaml").write_text("id: p\nversion: 2\n" + rule)
        process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ready = httpx.get(f"http://127.0.0.1:{port}/readyz").json()
            if ready["policies"] == ["p@2"]:
                break
            time.sleep(0.1)
        assert ready["policies"] == ["p@2"] and ready["policy_reloads"] == 1
    finally:
        process.terminate()
        process.wait(timeout=30)
