"""proxy.yaml: defaults, environment overrides, and refusing unsafe or misspelt settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from proxy.config import ConfigError, load_config


def test_defaults_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(environ={})
    assert (config.server.host, config.server.port) == ("127.0.0.1", 8080)
    assert config.database_url == "sqlite:///./data/proxy.db"
    assert config.policies == Path("./policies")
    assert [(u.name, u.kind, u.models) for u in config.upstreams] == [("echo", "echo", ["echo"])]


def test_file_from_environment_and_database_url_wins(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "proxy.yaml"
    path.parent.mkdir()
    path.write_text("database_url: sqlite:///x.db\npolicies: rules\nserver: {port: 9000}\n")
    config = load_config(environ={"PRIVACY_PROXY_CONFIG": str(path), "DATABASE_URL": "postgresql://db/prod"})
    assert config.database_url == "postgresql://db/prod"
    assert config.server.port == 9000
    assert config.policies == tmp_path / "conf" / "rules"  # relative to the config file


def test_redis_url_in_the_environment_overrides_the_file_and_keeps_the_other_limits_keys(tmp_path: Path) -> None:
    path = tmp_path / "proxy.yaml"
    path.write_text("limits: {redis_url: redis://old:6379/0, when_unreachable: refuse}\n")
    config = load_config(path, environ={"REDIS_URL": "redis://cache:6379/2"})
    assert config.limits.redis_url == "redis://cache:6379/2" and config.limits.when_unreachable == "refuse"
    assert load_config(environ={}).limits.redis_url is None  # without either: limits counted per process


def test_misspelt_key_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "proxy.yaml"
    path.write_text("upstreams:\n  - {name: a, kind: openai, base_url: http://x, models: ['*'], api_key: sk-123}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert "upstreams.0.api_key: Extra inputs are not permitted" in str(caught.value)
    assert "sk-123" not in str(caught.value)


def test_public_bind_without_keys_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "proxy.yaml"
    path.write_text("server: {host: 0.0.0.0}\n")
    with pytest.raises(ConfigError, match="no proxy keys"):
        load_config(path, environ={}).check_exposure()
    path.write_text("server: {host: 0.0.0.0}\nkeys: [{name: a, team: t, sha256: '" + "a" * 64 + "'}]\n")
    load_config(path, environ={}).check_exposure()


def test_upstream_key_is_read_from_the_named_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "proxy.yaml"
    path.write_text(
        "upstreams:\n  - {name: a, kind: openai, base_url: http://x/, models: ['*'], api_key_env: MY_KEY}\n"
    )
    monkeypatch.setenv("MY_KEY", "sk-live")
    upstream = load_config(path, environ={}).upstreams[0]
    assert upstream.api_key() == "sk-live" and upstream.base_url == "http://x"
