"""The schema. `requests` stays small and indexable; large bodies live in `payloads`, and
`findings` holds a keyed hash of each value, never the value itself."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    false,
)

metadata = MetaData()

requests = Table(
    "requests",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("key_name", String(200)),
    Column("team", String(200)),
    Column("endpoint", String(40), nullable=False),
    Column("upstream", String(200)),
    Column("model", String(200)),
    Column("stream", Boolean, nullable=False, default=False),
    Column("status", String(40), nullable=False),
    Column("http_status", Integer),
    Column("decision", String(16)),
    Column("monitor_decision", String(16)),  # the decision had monitor-mode rules been enforced
    Column("policies", String(1000)),  # "id@version,..." of every policy applied
    Column("policy_digest", String(32)),  # content hash of the whole policy set in force
    Column("subject", String(200)),
    Column("conversation", String(200)),
    Column("tags", String(1000)),
    Column("prompt_tokens", Integer),
    Column("completion_tokens", Integer),
    Column("total_tokens", Integer),
    Column("findings_count", Integer, nullable=False, default=0),
    Column("unknown_placeholders", Integer, nullable=False, default=0),
    Column("detect_ms", Float),
    Column("upstream_ms", Float),
    Column("total_ms", Float),
    Column("error", Text),
    # full | redacted | metadata | none: which payloads this record was allowed to keep
    Column("capture", String(16), nullable=False, server_default="full"),
    Column("erased_at", DateTime(timezone=True)),  # when erasure removed its payloads (and maybe subject)
    # write order, given by the database (a sequence on PostgreSQL, a trigger on SQLite): a row
    # replayed late from the spool still sorts after every row an earlier export saw
    Column("seq", BigInteger),
    Index("ix_requests_created_at", "created_at"),
    Index("ix_requests_seq", "seq"),
    Index("ix_requests_team_created_at", "team", "created_at"),
    Index("ix_requests_subject", "subject"),
)

payloads = Table(
    "payloads",
    metadata,
    Column("request_id", String(40), ForeignKey("requests.id", ondelete="CASCADE"), primary_key=True),
    # original | forwarded | response_received | response_returned
    Column("kind", String(24), primary_key=True),
    Column("encoding", String(24), nullable=False),  # zlib | zlib+aesgcm
    Column("key_id", String(100)),  # which data key sealed it, for rotation
    Column("data", LargeBinary, nullable=False),
    # the request's time again, so a purge finds expired payloads of a kind by index alone
    Column("created_at", DateTime(timezone=True)),
    Index("ix_payloads_kind_created_at", "kind", "created_at"),
)

findings = Table(
    "findings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("request_id", String(40), ForeignKey("requests.id", ondelete="CASCADE"), nullable=False),
    Column("slot", String(500), nullable=False),
    Column("start_offset", Integer, nullable=False),
    Column("end_offset", Integer, nullable=False),
    Column("entity_type", String(100), nullable=False),
    Column("score", Float, nullable=False),
    Column("action", String(16), nullable=False),
    Column("rule", String(200)),
    Column("policy", String(200)),
    Column("value_hash", String(64), nullable=False),
    Column("mode", String(16), nullable=False, server_default="enforce"),  # monitor: recorded, not applied
    Index("ix_findings_request_id", "request_id"),
    Index("ix_findings_value_hash", "value_hash"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("team", String(200), nullable=False),
    Column("sha256", String(64), nullable=False, unique=True),  # of the key; the key itself is never stored
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
    Column("models", Text),  # JSON list of model globs this key may call; NULL: any
    Column("requests_per_minute", Integer),
    Column("tokens_per_day", Integer),
    Column("may_assert_subject", Boolean, nullable=False, server_default=false()),
    Column("may_skip_capture", Boolean, nullable=False, server_default=false()),
)

# What a data subject (the `X-Proxy-Subject` of their requests) asked for.
subjects = Table(
    "subjects",
    metadata,
    Column("subject", String(200), primary_key=True),
    Column("training_opt_out", Boolean, nullable=False, default=False),  # exports leave them out
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Append-only: who did what to the stored data (exports, erasures, purges, reads of originals).
audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(200), nullable=False),  # an admin key's name, or "cli:<user>"
    Column("action", String(40), nullable=False),  # read_original | export | erase | purge | ...
    Column("target", String(500)),  # a request id, an output path, a subject id
    Column("details", Text),  # JSON: filters, counts, file hashes; never a raw value
    Index("ix_audit_events_at", "at"),
)

# Every dataset export written, with its manifest, and which records it holds: erasure and
# opt-outs can be followed into datasets already on disk.
exports = Table(
    "exports",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("format", String(40), nullable=False),
    Column("content", String(16), nullable=False),
    Column("out", String(1000), nullable=False),  # the output directory
    Column("rows", Integer, nullable=False),
    Column("last_seq", BigInteger),  # the highest requests.seq read: where `--since-last` resumes
    Column("manifest", Text, nullable=False),  # manifest.json as written
)

export_rows = Table(
    "export_rows",
    metadata,
    Column("export_id", String(40), ForeignKey("exports.id", ondelete="CASCADE"), primary_key=True),
    # no foreign key: the lineage outlives a record that retention purges
    Column("request_id", String(40), primary_key=True),
    Column("split", String(48), nullable=False),
    Index("ix_export_rows_request_id", "request_id"),
)

# Scores, labels and comments on a request's answer (`POST /v1/feedback`), for picking examples.
feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("request_id", String(40), ForeignKey("requests.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("key_name", String(200)),  # the proxy key that gave it
    Column("score", Float),
    Column("label", String(100)),
    Column("comment", Text),
    Index("ix_feedback_request_id", "request_id"),
)

# Every policy version ever loaded, by the digest of its content, with its full text as it
# applied (inheritance folded in): "which policy was in force for request X" without the files.
policy_versions = Table(
    "policy_versions",
    metadata,
    Column("digest", String(32), primary_key=True),
    Column("policy_id", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("text", Text, nullable=False),  # YAML
    Column("source_digest", String(32)),  # of the policy's own file content, before inheritance
    Column("first_loaded_at", DateTime(timezone=True), nullable=False),
    Index("ix_policy_versions_policy_id", "policy_id", "version"),
)

# Every policy set ever in force: the digest `requests.policy_digest` names, and its versions.
policy_sets = Table(
    "policy_sets",
    metadata,
    Column("digest", String(32), primary_key=True),
    Column("policies", Text, nullable=False),  # JSON: [{"id", "version", "digest"}]
    Column("first_loaded_at", DateTime(timezone=True), nullable=False),
)

# Console sessions ended by signing out before their cookie expired: every replica refuses them.
# Rows go once the cookie would have expired anyway.
console_sign_outs = Table(
    "console_sign_outs",
    metadata,
    Column("session", String(64), primary_key=True),  # SHA-256 of the signed cookie's body
    Column("expires_at", DateTime(timezone=True), nullable=False),
)
