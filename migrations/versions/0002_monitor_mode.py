"""Monitor mode: findings say whether their action was applied; requests keep the would-be decision.

Revision ID: 0002_monitor_mode
Revises: 0001_initial
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_monitor_mode"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("findings") as batch:
        batch.add_column(sa.Column("mode", sa.String(16), nullable=False, server_default="enforce"))
    with op.batch_alter_table("requests") as batch:
        batch.add_column(sa.Column("monitor_decision", sa.String(16)))


def downgrade() -> None:
    with op.batch_alter_table("requests") as batch:
        batch.drop_column("monitor_decision")
    with op.batch_alter_table("findings") as batch:
        batch.drop_column("mode")
