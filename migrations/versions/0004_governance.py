"""Governance: the capture level each request was recorded at, when a record was erased, and
each payload's time (its request's), so that retention finds expired payloads by index.

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
    with op.batch_alter_table("payloads") as batch:
        batch.add_column(sa.Column("created_at", sa.DateTime(timezone=True)))
    op.execute(
        "UPDATE payloads SET created_at ="
        " (SELECT requests.created_at FROM requests WHERE requests.id = payloads.request_id)"
    )
    op.create_index("ix_payloads_kind_created_at", "payloads", ["kind", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_payloads_kind_created_at", "payloads")
    with op.batch_alter_table("payloads") as batch:
        batch.drop_column("created_at")
    with op.batch_alter_table("requests") as batch:
        batch.drop_column("erased_at")
        batch.drop_column("capture")
