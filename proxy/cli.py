"""`privacy-proxy`: wiring from the command line to the modules that do the work."""

from __future__ import annotations

import asyncio
import json
import logging.config
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from proxy.cli_context import CliContext, config_option, guarded
from proxy.config import CONFIG_ENV, hash_api_key
from proxy.evaluation.command import eval_command
from proxy.export.command import export_command
from proxy.export.lineage import exports
from proxy.governance.command import COMMANDS, rotate_data_key
from proxy.governance.oversight import MAIN_COMMANDS, POLICY_COMMANDS
from proxy.logs import log_config

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from proxy.policy.bundle import PolicySet
    from proxy.policy.checks import KnownTeams


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

    context = CliContext(config_path)
    config = context.config
    server = config.server.model_copy(update={k: v for k, v in {"host": host, "port": port}.items() if v})
    config = config.model_copy(update={"server": server})
    from proxy.store.keys import stored_keys

    with context.database() as engine:  # migrates SQLite once here, before any worker process starts
        guarded(lambda: config.check_exposure(stored_keys=bool(stored_keys(engine))))
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

    upgrade(CliContext(config_path).config.database_url)
    click.echo("database is up to date")


@main.group()
def policy() -> None:
    """Check and try out policy files."""


@policy.command("check")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@config_option
def policy_check(path: Path | None, config_path: Path | None) -> None:
    """Validate policy files: exit 1 with file:line:col errors."""
    from proxy.policy.checks import check

    context = CliContext(config_path)
    report = check(path or context.config.policies, context.detector, teams=_key_teams(context))
    for problem in report.errors:
        click.echo(f"error    {problem}", err=True)
    for problem in report.warnings:
        click.echo(f"warning  {problem}", err=True)
    if report.errors or report.policy_set is None:
        sys.exit(1)
    for warning in _against_history(context, report.policy_set):
        click.echo(f"warning  {warning}", err=True)
    digests = report.policy_set.digests
    for item in report.policy_set.policies:
        click.echo(
            f"ok  {item.label}  {digests[item.id]}  "
            f"({len(item.rules)} rules, {len(item.detectors)} detectors, {len(item.tests)} tests)"
        )
    click.echo(f"policy set {report.policy_set.digest}")


@contextmanager
def _existing_database(context: CliContext) -> Iterator[Engine]:
    """The configured database, never created: a SQLite file that does not exist raises
    `SQLAlchemyError`, as a server that cannot be reached does."""
    from sqlalchemy import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from proxy.store.database import make_engine, normalise_url

    url = make_url(normalise_url(context.config.database_url))
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").exists():
        raise SQLAlchemyError("no database file")  # `make_engine` would create an empty one
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        yield engine
    finally:
        engine.dispose()


def _key_teams(context: CliContext) -> KnownTeams:
    """The teams of the config file's keys and, when the configured database can be read, of the
    keys stored there (the admin API's named keys), saying which sources were read."""
    from sqlalchemy.exc import SQLAlchemyError

    from proxy.policy.checks import KnownTeams
    from proxy.store.keys import stored_keys

    teams = {key.team for key in context.config.keys}
    try:
        with _existing_database(context) as engine:
            stored = stored_keys(engine)
    except SQLAlchemyError:
        unread = "database keys (the configured database is unreachable, or not migrated)"
        return KnownTeams(teams, ("config file keys",), unread)
    return KnownTeams(teams | {key.team for key, _ in stored}, ("config file keys", "database keys"))


def _against_history(context: CliContext, policy_set: PolicySet) -> list[str]:
    """Policies whose content changed since their version was loaded, from the configured
    database's policy history; said, not skipped silently, when there is none to compare with."""
    from sqlalchemy.exc import SQLAlchemyError

    from proxy.store.policy_history import unbumped

    try:
        with _existing_database(context) as engine:
            found = unbumped(engine, policy_set)
    except SQLAlchemyError:
        return ["policy history not compared: the configured database has none (yet), or is unreachable"]
    return [
        f"{policy}@{version}: content changed since this version was loaded on {at:%Y-%m-%d %H:%M}; bump `version:`"
        for policy, version, at in found
    ]


@policy.command("test")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@config_option
def policy_test(path: Path | None, config_path: Path | None) -> None:
    """Run the `tests:` cases written in the policy files; exit 1 if any fails. With --config,
    `hash` codes are made under its hash key, as that proxy would forward them."""
    from proxy.dry_run import run_tests

    context = CliContext(config_path)
    hasher = context.hasher() if config_path else None
    results = asyncio.run(run_tests(context.policy_set(path), context.detector, hasher))
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
@click.option("--near-misses", is_flag=True, help="Also show what was found below a rule's min_score.")
@config_option
def policy_explain(
    text_: str | None,
    file_: Any,
    as_: str,
    policy_id: str | None,
    path: Path | None,
    near_misses: bool,
    config_path: Path | None,
) -> None:
    """Dry run: which policies apply, each finding, its action and rule, and the forwarded text.
    With --config, `hash` codes are made under its hash key, as that proxy would forward them."""
    from proxy.dry_run import chat_body, dry_run, explain
    from proxy.policy.schema import RequestContext

    if (text_ is None) == (file_ is None):
        raise click.UsageError("give exactly one of --text or --file")
    content = text_ if text_ is not None else file_.read()
    pairs = dict(_pairs(as_))
    unknown = sorted(set(pairs) - set(RequestContext.model_fields))
    if unknown:
        known = ", ".join(RequestContext.model_fields)
        raise click.UsageError(f"--as: unknown key {unknown[0]!r}; use {known}")
    context = RequestContext.model_validate(pairs)
    cli = CliContext(config_path)
    policy_set = cli.policy_set(path)
    if policy_id and policy_set.get(policy_id) is None:
        raise click.UsageError(f"--policy: no policy with id {policy_id!r}")
    hasher = cli.hasher() if config_path else None
    body = chat_body(content, context)
    run = asyncio.run(dry_run(body, policy_set, cli.detector, context, policy_id=policy_id, hasher=hasher))
    click.echo(explain(run, near_misses=near_misses))


def _pairs(spec: str) -> list[tuple[str, str]]:
    pairs = [item.split("=", 1) for item in spec.split(",") if item.strip()]
    if any(len(pair) != 2 for pair in pairs):
        raise click.UsageError("--as takes key=value pairs separated by commas")
    return [(key.strip(), value.strip()) for key, value in pairs]


@policy.command("entities")
@click.option("--policies", "path", type=click.Path(path_type=Path), help="Policy directory (default from config).")
@config_option
def policy_entities(path: Path | None, config_path: Path | None) -> None:
    """List the entity types the detector knows, every group with its members, and each
    policy's own detectors."""
    from proxy.detection.groups import GROUPS, PREFIX

    context = CliContext(config_path)
    for entity in sorted(context.detector.supported_entities()):
        click.echo(entity)
    click.echo("\ngroups:")
    for group, members in GROUPS.items():
        click.echo(f"  {PREFIX}{group}: {', '.join(members)}")
    policy_set = context.policy_set(path)
    click.echo("\npolicies' own detectors:")
    for item in policy_set.policies:
        for spec in item.detectors:
            click.echo(f"  {item.id}: {spec.entity}")


@main.group()
def keys() -> None:
    """Proxy API keys."""


@keys.command("create")
@config_option
@click.option("--name", required=True, help="A unique name for the key, as shown in records.")
@click.option("--team", default="default", show_default=True, help="The team the key belongs to (selects policies).")
@click.option("--expires", type=click.DateTime(), help="When the key stops working (UTC), e.g. 2027-01-31.")
@click.option("--model", "models", multiple=True, help="A model glob the key may call; repeat for more (default: any).")
@click.option("--rpm", type=click.IntRange(min=1), help="Requests per minute (per proxy process).")
@click.option("--tokens-per-day", type=click.IntRange(min=1), help="Prompt plus completion tokens per UTC day.")
@click.option("--may-assert-subject", is_flag=True, help="The key may name the end user (X-Proxy-Subject).")
@click.option("--may-skip-capture", is_flag=True, help="The key may ask not to be recorded (X-Proxy-Capture: none).")
def keys_create(
    config_path: Path | None,
    name: str,
    team: str,
    expires: datetime | None,
    models: tuple[str, ...],
    rpm: int | None,
    tokens_per_day: int | None,
    may_assert_subject: bool,
    may_skip_capture: bool,
) -> None:
    """Make a new proxy key kept in the database; prints the key once (only its hash is stored)."""
    from proxy.config import KeyLimits
    from proxy.store.keys import KeyExists, create_key

    limits = KeyLimits(
        models=list(models) or None,
        requests_per_minute=rpm,
        tokens_per_day=tokens_per_day,
        may_assert_subject=may_assert_subject,
        may_skip_capture=may_skip_capture,
    )
    when = expires.replace(tzinfo=UTC) if expires else None
    with CliContext(config_path).database() as engine:
        try:
            key = create_key(engine, name, team, limits, when)
        except KeyExists as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(key)
    click.echo(f"key {name!r} for team {team!r} created; it is shown only now", err=True)


@keys.command("list")
@config_option
@click.option("--all", "include_revoked", is_flag=True, help="Include revoked keys.")
def keys_list(config_path: Path | None, include_revoked: bool) -> None:
    """The keys kept in the database (names and limits; keys themselves are not stored)."""
    from proxy.store.keys import stored_keys

    with CliContext(config_path).database() as engine:
        rows = stored_keys(engine, include_revoked=include_revoked)
    click.echo("name\tteam\texpires\tmodels\trpm\ttokens_per_day\trevoked")
    for key, revoked in rows:
        cells = [key.name, key.team, key.expires, ",".join(key.models or []) or "*", key.requests_per_minute]
        cells += [key.tokens_per_day, revoked]
        click.echo("\t".join("-" if cell is None else str(cell) for cell in cells))


@keys.command("revoke")
@config_option
@click.argument("name")
def keys_revoke(config_path: Path | None, name: str) -> None:
    """Stop a stored key from working (within `key_refresh_seconds` on every running proxy)."""
    from proxy.store.keys import revoke_key

    with CliContext(config_path).database() as engine:
        revoked = revoke_key(engine, name)
    if not revoked:
        raise click.ClickException(f"no live stored key named {name!r}")
    click.echo(f"key {name!r} revoked")


@keys.command("generate")
@click.option("--name", required=True, help="A name for the key, as shown in records.")
@click.option("--team", default="default", show_default=True, help="The team the key belongs to.")
def keys_generate(name: str, team: str) -> None:
    """Make a key for the config file instead: prints it once, with the entry for `keys:` in proxy.yaml."""
    from proxy.store.keys import new_key

    key = new_key()
    click.echo(f"key (give this to the client; it is not stored anywhere):\n  {key}\n")
    entry = {"name": name, "team": team, "sha256": hash_api_key(key)}
    click.echo("add to proxy.yaml under `keys:`:\n  - " + json.dumps(entry))


for _command in (*COMMANDS, *MAIN_COMMANDS, export_command, exports, eval_command):
    main.add_command(_command)
keys.add_command(rotate_data_key)
for _command in POLICY_COMMANDS:
    policy.add_command(_command)
