"""The FastAPI app: builds the services once (lifespan) and maps each route to its dialect."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text
from starlette.exceptions import HTTPException as StarletteHTTPException

from proxy import console
from proxy.admin.api import router as admin_router
from proxy.admin.oversight import router as oversight_router
from proxy.auth import KeyRing
from proxy.config import Config, ConfigError
from proxy.detection import DetectionEngine
from proxy.dialects import DIALECTS, OPENAI_ERRORS, Dialect
from proxy.errors import BadRequest, NotFound, ProxyError
from proxy.exchange import Slot
from proxy.feedback import post_feedback
from proxy.governance.retention import purge_on_schedule
from proxy.hashing import hasher_for
from proxy.limits import Gate, Limiter
from proxy.logs import hide_query_strings
from proxy.models import Catalogue, list_models
from proxy.pipeline import Services, handle
from proxy.policy.bundle import PolicySet
from proxy.policy.loader import load_policies, policy_directory
from proxy.policy.reload import RELOAD_ACTOR, PolicyWatcher
from proxy.scan_budget import ScanBudget
from proxy.store.database import open_database
from proxy.store.policy_history import record_failed_reload, record_load
from proxy.store.queries import tokens_used_today
from proxy.store.recorder import Recorder
from proxy.store.records import rows_for
from proxy.store.sealing import sealer_for
from proxy.store.spool import Spool
from proxy.upstream import Upstreams

log = logging.getLogger(__name__)


def create_app(
    config: Config,
    *,
    detector: DetectionEngine | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """The proxy as an ASGI app. Tests pass a ready `detector` (spaCy loads once per session)
    and may pass an httpx `transport`."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        hide_query_strings()
        services = build_services(config, detector, transport)
        app.state.services = services
        watcher = services.watcher
        assert watcher is not None
        services.recorder.start()
        await _warm_up(services)
        try:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(watcher.run)
                tasks.start_soon(services.keys.keep_fresh)
                tasks.start_soon(purge_on_schedule, services.recorder.engine, config.retention)
                _reload_on_sighup(watcher)
                yield
                tasks.cancel_scope.cancel()
        finally:
            await services.streams_recorded()
            await services.limiter.aclose()
            services.recorder.stop()
            services.recorder.engine.dispose()
            await services.upstreams.aclose()
            if detector is None:  # built for this app (its processes and cache), not passed in
                services.detector.close()

    app = FastAPI(title="privacy-proxy", lifespan=lifespan, docs_url=None, redoc_url=None)
    for dialect in DIALECTS.values():
        app.add_api_route(dialect.path, _endpoint(dialect), methods=["POST"], include_in_schema=True)
    app.add_api_route("/v1/models", list_models, methods=["GET"])
    app.add_api_route("/v1/feedback", post_feedback, methods=["POST"])
    app.state.catalogue = Catalogue()
    app.add_api_route("/healthz", healthz, methods=["GET"])
    app.add_api_route("/readyz", readyz, methods=["GET"])
    app.add_api_route("/metrics", metrics, methods=["GET"])
    app.include_router(admin_router)
    app.include_router(oversight_router)
    console.install(app)
    app.add_exception_handler(StarletteHTTPException, unknown_route)  # type: ignore[arg-type]
    app.add_exception_handler(ProxyError, proxy_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, invalid_parameter)  # type: ignore[arg-type]
    return app


def build_services(
    config: Config, detector: DetectionEngine | None, transport: httpx.AsyncBaseTransport | None
) -> Services:
    """Everything requests share; refuses to start on bad config, policies or schema."""
    for upstream in config.upstreams:
        if upstream.api_key_env and not upstream.api_key():
            raise ConfigError(f"upstreams.{upstream.name}: environment variable {upstream.api_key_env} is not set")
    detector = detector or DetectionEngine.from_config(config.detection)
    directory = policy_directory(config.policies)
    policies = load_policies(directory, known_entities=detector.supported_entities())
    sealer = sealer_for(config)  # before the database: a shared one without data keys is refused
    engine = open_database(config.database_url)
    hasher = hasher_for(config)
    keys = KeyRing(config.keys, engine, config.key_refresh_seconds)
    keys.refresh()
    config.check_exposure(stored_keys=not keys.open)
    storage = config.storage
    recorder = Recorder(
        engine,
        lambda exchange: rows_for(exchange, sealer, hasher, exchange.policy_digest),
        Spool(storage.spool_path),
        storage.queue_size,
        batch_rows=storage.batch_rows,
        batch_bytes=storage.batch_bytes,
        spool_max_bytes=storage.spool_max_bytes,
    )
    upstreams = Upstreams(config.upstreams, transport)
    limiter = Limiter(lambda key_name: tokens_used_today(engine, key_name), config.limits)
    gate = Gate(config.server.max_concurrency, config.server.queue_timeout)
    budget = ScanBudget(config.detection.timeout, detector.pool.processes if detector.pool else 1)
    services = Services(
        config, keys, policies, detector, upstreams, recorder, hasher, sealer, limiter=limiter, gate=gate, budget=budget
    )
    record_load(engine, None, policies, RELOAD_ACTOR)
    services.watcher = PolicyWatcher(
        directory,
        detector.supported_entities(),
        lambda new, actor: _install(services, new, actor),
        config.policy_reload_seconds,
        on_result=lambda ok, actor: _reloaded(services, ok, actor),
    )
    return services


def _install(services: Services, new: PolicySet, actor: str) -> None:
    """A reloaded set goes into the policy history with an audit row, then into force (the
    watcher counts the reload right after: `/readyz` never shows the new set uncounted for long)."""
    record_load(services.recorder.engine, services.policies, new, actor)
    services.install_policies(new)


def _reloaded(services: Services, ok: bool, actor: str) -> None:
    services.metrics.policy_reloads.labels("ok" if ok else "failed").inc()
    watcher = services.watcher
    if not ok and watcher is not None:
        record_failed_reload(services.recorder.engine, services.policies, watcher.last_error or "", actor)


def _reload_on_sighup(watcher: PolicyWatcher) -> None:
    """`kill -HUP` reloads policies at once. Only possible in the main thread (not in tests)."""
    import asyncio
    import signal

    try:
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, watcher.request_reload)
    except (RuntimeError, ValueError):
        log.debug("not in the main thread: policies reload on file changes only")


def _endpoint(dialect: Dialect):  # type: ignore[no-untyped-def]
    async def endpoint(request: Request) -> Response:
        return await handle(request, dialect, request.app.state.services)

    endpoint.__name__ = dialect.name.replace("-", "_")
    return endpoint


async def unknown_route(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """OpenAI's error shape for paths and methods the proxy does not serve. The path is not
    repeated: a mistyped URL can carry anything."""
    error = NotFound("This path and method are not served by this proxy; see GET /v1/models and the README.")
    error.status_code = exc.status_code
    return _openai_error(error)


async def proxy_error(request: Request, error: ProxyError) -> JSONResponse:
    """Errors raised outside a dialect's route (the admin API) in OpenAI's shape."""
    return _openai_error(error)


async def invalid_parameter(request: Request, exc: RequestValidationError) -> JSONResponse:
    """A bad query parameter: name it, never echo its value (FastAPI's default would)."""
    first = exc.errors()[0]
    name = ".".join(str(part) for part in first["loc"][1:]) or "request"
    return _openai_error(BadRequest(f"Invalid parameter '{name}': {first['msg']}."))


def _openai_error(error: ProxyError) -> JSONResponse:
    return JSONResponse(OPENAI_ERRORS.error_body(error), error.status_code)


async def metrics(request: Request) -> Response:
    """Prometheus text format; queue, spool and concurrency are read at scrape time."""
    services: Services = request.app.state.services
    body = services.metrics.scrape(services.recorder, services.gate, services.limiter)
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")


async def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """200 when requests can be served and recorded: policies loaded, detector warm, and the
    database answering or records safely spooling; 503 (with the reason) otherwise."""
    services: Services = request.app.state.services

    def ping() -> None:
        with services.recorder.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    try:
        await anyio.to_thread.run_sync(ping)
        database = "ok"
    except Exception:
        database = "spooling"
    problems = [
        problem
        for problem, present in (
            ("detector not warmed up", not services.warm),
            ("no policies loaded", not services.policies.policies),
            ("record queue and spool are full", services.recorder.full()),
        )
        if present
    ]
    watcher = services.watcher
    body = {
        "status": "not ready: " + "; ".join(problems) if problems else "ready",
        "database": database,
        "detector": "warm" if services.warm else "cold",
        "policies": [p.label for p in services.policies.policies if p.status != "retired"],
        "policy_digest": services.policies.digest,
        "policy_reloads": watcher.reloads if watcher else 0,
        "policy_reload_failures": watcher.failures if watcher else 0,
        # the last reload failed: the previous policies stay in force, but the files say otherwise
        "policy_status": "degraded" if watcher and watcher.last_error else "ok",
        "policy_error": watcher.last_error if watcher else None,
    }
    return JSONResponse(body, 503 if problems else 200)


async def _warm_up(services: Services) -> None:
    """One detection before the first request, so it does not pay for lazy loading."""
    sample = [Slot(path=("warm-up",), text="Warm-up: Jane Doe, jane.doe@example.net, +1 202 555 0143.")]
    await services.detector.detect(sample, services.detector.supported_entities(), [])
    services.warm = True


def app_from_environment() -> FastAPI:
    """The app `privacy-proxy serve` runs in each worker process, from the config it resolved."""
    import os

    from proxy.config import load_config

    resolved = os.environ.get("PRIVACY_PROXY_SERVE")
    return create_app(Config.model_validate_json(resolved) if resolved else load_config())
