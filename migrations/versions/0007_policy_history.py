"""Policy history: every policy version ever loaded, by digest with its full text, and every
policy set (the digest a request records) with the policy versions it held.

Revision ID: 0007_policy_history
Revises: 0006_key_permissions
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_policy_history"
down_revision = "0006_key_permissions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "policy_versions",
        sa.Column("digest", sa.String(32), primary_key=True),
        sa.Column("policy_id", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("source_digest", sa.String(32)),
        sa.Column("first_loaded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_policy_versions_policy_id", "policy_versions", ["policy_id", "version"])
    op.create_table(
        "policy_sets",
        sa.Column("digest", sa.String(32), primary_key=True),
        sa.Column("policies", sa.Text, nullable=False),
        sa.Column("first_loaded_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("policy_sets")
    op.drop_index("ix_policy_versions_policy_id", "policy_versions")
    op.drop_table("policy_versions")
