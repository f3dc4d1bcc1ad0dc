"""`privacy-proxy`: wiring from the command line to the modules that do the work."""

from __future__ import annotations

import asyncio
import json
import logging.config
import os
import secrets
import sys
from pathlib import Path
from typing import Any

import click

from proxy.config import CONFIG_ENV, Config, ConfigError, hash_api_key, load_config
from proxy.logs import log_config

config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    help="proxy.yaml to use (default: ./proxy.yaml).",
)


def _load(config_path: Path | None) -> Config:
    try:
        return load_config(config_path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
@click.version_option(package_name="privacy-proxy")
def main() -> None:
    """privacy-proxy: a privacy gateway for LLM APIs."""


@main.command()
@config_option
@click.option("--host", help="Address to bind (default from config: 127.0.0.1).")
@click.option("--port", type=int, help="Port to bind (default from config: 8080).")
@click.option("--workers", type=int, default=1, show_default=True, help="Worker processes sharing the port.")
def serve(config_path: Path | None, host: str | None, port: int | None, workers: int) -> None:
    """Run the proxy."""
    import uvicorn

    config = _load(config_path)
    server = config.server.model_copy(update={k: v for k, v in {"host": host, "port": port}.items() if v})
    config = config.model_copy(update={"server": server})
    try:
        config.check_exposure()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    logging.config.dictConfig(log_config())
    # Workers are separate processes: they rebuild the app from the same config file and overrides.
    os.environ["PRIVACY_PROXY_SERVE"] = config.model_dump_json()
    os.environ["PRIVACY_PROXY_WORKERS"] = str(workers)  # each worker sizes its detection pool by it
    if config_path:
        os.environ[CONFIG_ENV] = str(config_path)
    uvicorn.run(
        "proxy.app:app_from_environment",
        factory=True,
        host=server.host,
        port=server.port,
        workers=workers,
        log_config=log_config(),
    )


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@config_option
def db_upgrade(config_path: Path | None) -> None:
    """Apply migrations up to the newest (SQLite also does this at `serve`)."""
    from proxy.store.database import upgrade

    config = _load(config_path)
    upgrade(config.database_url)
    click.echo("database is up to date")


@main.group()
def policy() -> None:
    """Check and try out policy files."""


@policy.command("check")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@config_option
def policy_check(path: Path | None, config_path: Path | None) -> None:
    """Validate policy files: exit 1 with file:line:col errors."""
    from .policy.checks import check

    config = _load(config_path)
    report = check(path or config.policies, _detector(config))
    for problem in report.errors:
        click.echo(f"error    {problem}", err=True)
    for problem in report.warnings:
        click.echo(f"warning  {problem}", err=True)
    if report.errors or report.policy_set is None:
        sys.exit(1)
    for item in report.policy_set.policies:
        click.echo(
            f"ok  {item.label}  ({len(item.rules)} rules, {len(item.detectors)} detectors, {len(item.tests)} tests)"
        )


@policy.command("test")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@config_option
def policy_test(path: Path | None, config_path: Path | None) -> None:
    """Run the `tests:` cases written in the policy files; exit 1 if any fails."""
    from .dry_run import run_tests

    config = _load(config_path)
    detector = _detector(config)
    policy_set = _policy_set(path or config.policies, detector)
    results = asyncio.run(run_tests(policy_set, detector))
    for result in results:
        click.echo(f"{'pass' if result.passed else 'FAIL'}  {result.policy}: {result.name}")
        for failure in result.failures:
            click.echo(f"      {failure}")
    failed = sum(not r.passed for r in results)
    click.echo(f"{len(results) - failed} passed, {failed} failed")
    if failed:
        sys.exit(1)


@policy.command("explain")
@click.option("--text", "text_", help="Text to run through detection and the policies.")
@click.option("--file", "file_", type=click.File("r"), help="Read the text from a file ('-' for stdin).")
@click.option("--as", "as_", default="", help="Who is asking, e.g. team=research,model=gpt-4o,upstream=openai.")
@click.option("--policy", "policy_id", help="Use only this policy (by id), as if it alone applied.")
@click.option("--policies", "path", type=click.Path(path_type=Path), help="Policy directory (default from config).")
@config_option
def policy_explain(
    text_: str | None, file_: Any, as_: str, policy_id: str | None, path: Path | None, config_path: Path | None
) -> None:
    """Dry run: which policies apply, each finding, its action and rule, and the forwarded text."""
    from .dry_run import chat_body, dry_run, explain
    from .policy.schema import RequestContext

    if (text_ is None) == (file_ is None):
        raise click.UsageError("give exactly one of --text or --file")
    content = text_ if text_ is not None else file_.read()
    pairs = dict(_pairs(as_))
    unknown = sorted(set(pairs) - set(RequestContext.model_fields))
    if unknown:
        known = ", ".join(RequestContext.model_fields)
        raise click.UsageError(f"--as: unknown key {unknown[0]!r}; use {known}")
    context = RequestContext.model_validate(pairs)
    config = _load(config_path)
    detector = _detector(config)
    policy_set = _policy_set(path or config.policies, detector)
    if policy_id and policy_set.get(policy_id) is None:
        raise click.UsageError(f"--policy: no policy with id {policy_id!r}")
    run = asyncio.run(dry_run(chat_body(content, context), policy_set, detector, context, policy_id=policy_id))
    click.echo(explain(run))


def _policy_set(directory: Path, detector: Any) -> Any:
    from .policy.loader import PolicyError, load_policies

    try:
        return load_policies(directory, known_entities=detector.supported_entities())
    except PolicyError as exc:
        raise click.ClickException(str(exc)) from None


def _pairs(spec: str) -> list[tuple[str, str]]:
    pairs = [item.split("=", 1) for item in spec.split(",") if item.strip()]
    if any(len(pair) != 2 for pair in pairs):
        raise click.UsageError("--as takes key=value pairs separated by commas")
    return [(key.strip(), value.strip()) for key, value in pairs]


@policy.command("entities")
@config_option
def policy_entities(config_path: Path | None) -> None:
    """List the entity types the detector knows (custom detectors add their own)."""
    for entity in sorted(_detector(_load(config_path)).supported_entities()):
        click.echo(entity)


@main.group()
def keys() -> None:
    """Proxy API keys."""


@keys.command("generate")
@click.option("--name", required=True, help="A name for the key, as shown in records.")
@click.option("--team", default="default", show_default=True, help="The team the key belongs to.")
def keys_generate(name: str, team: str) -> None:
    """Make a new proxy key; prints it once, with the entry to add under `keys:` in proxy.yaml."""
    key = "pp-" + secrets.token_urlsafe(32)
    click.echo(f"key (give this to the client; it is not stored anywhere):\n  {key}\n")
    entry = {"name": name, "team": team, "sha256": hash_api_key(key)}
    click.echo("add to proxy.yaml under `keys:`:\n  - " + json.dumps(entry))


def _detector(config: Config):  # type: ignore[no-untyped-def]
    from proxy.detection import DetectionEngine, build_analyzer

    return DetectionEngine(build_analyzer(config.detection), config.detection.language)
