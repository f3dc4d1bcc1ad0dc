"""Initial schema: requests, payloads, findings.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "requests",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_name", sa.String(200)),
        sa.Column("team", sa.String(200)),
        sa.Column("endpoint", sa.String(40), nullable=False),
        sa.Column("upstream", sa.String(200)),
        sa.Column("model", sa.String(200)),
        sa.Column("stream", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(40), nullable=False),
        sa.Column("http_status", sa.Integer),
        sa.Column("decision", sa.String(16)),
        sa.Column("policies", sa.String(1000)),
        sa.Column("policy_digest", sa.String(32)),
        sa.Column("subject", sa.String(200)),
        sa.Column("conversation", sa.String(200)),
        sa.Column("tags", sa.String(1000)),
        sa.Column("prompt_tokens", sa.Integer),
        sa.Column("completion_tokens", sa.Integer),
        sa.Column("total_tokens", sa.Integer),
        sa.Column("findings_count", sa.Integer, nullable=False),
        sa.Column("unknown_placeholders", sa.Integer, nullable=False),
        sa.Column("detect_ms", sa.Float),
        sa.Column("upstream_ms", sa.Float),
        sa.Column("total_ms", sa.Float),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_requests_created_at", "requests", ["created_at"])
    op.create_index("ix_requests_team_created_at", "requests", ["team", "created_at"])
    op.create_index("ix_requests_subject", "requests", ["subject"])
    op.create_table(
        "payloads",
        sa.Column("request_id", sa.String(40), sa.ForeignKey("requests.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("kind", sa.String(24), primary_key=True),
        sa.Column("encoding", sa.String(24), nullable=False),
        sa.Column("key_id", sa.String(100)),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "findings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(40), sa.ForeignKey("requests.id", ondelete="CASCADE"), nullable=False),
        sa.Column("slot", sa.String(500), nullable=False),
        sa.Column("start_offset", sa.Integer, nullable=False),
        sa.Column("end_offset", sa.Integer, nullable=False),
        sa.Column("entity_type", sa.String(100), nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("rule", sa.String(200)),
        sa.Column("policy", sa.String(200)),
        sa.Column("value_hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_findings_request_id", "findings", ["request_id"])
    op.create_index("ix_findings_value_hash", "findings", ["value_hash"])


def downgrade() -> None:
    op.drop_table("findings")
    op.drop_table("payloads")
    op.drop_table("requests")
