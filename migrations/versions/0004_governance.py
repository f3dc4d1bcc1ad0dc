"""Governance: the capture level each request was recorded at, and when a record was erased.

Revision ID: 0004_governance
Revises: 0003_keys_and_audit
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_governance"
down_revision = "0003_keys_and_audit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("requests") as batch:
        # rows written before capture levels existed kept everything
        batch.add_column(sa.Column("capture", sa.String(16), nullable=False, server_default="full"))
        batch.add_column(sa.Column("erased_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("requests") as batch:
        batch.drop_column("erased_at")
        batch.drop_column("capture")
