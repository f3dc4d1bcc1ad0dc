"""Proxy keys kept in the database (hash only), data subjects' choices, and the audit trail.

Revision ID: 0003_keys_and_audit
Revises: 0002_monitor_mode
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_keys_and_audit"
down_revision = "0002_monitor_mode"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("team", sa.String(200), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.Column("models", sa.Text),
        sa.Column("requests_per_minute", sa.Integer),
        sa.Column("tokens_per_day", sa.Integer),
    )
    op.create_table(
        "subjects",
        sa.Column("subject", sa.String(200), primary_key=True),
        sa.Column("training_opt_out", sa.Boolean, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("target", sa.String(500)),
        sa.Column("details", sa.Text),
    )
    op.create_index("ix_audit_events_at", "audit_events", ["at"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_at", "audit_events")
    op.drop_table("audit_events")
    op.drop_table("subjects")
    op.drop_table("api_keys")
