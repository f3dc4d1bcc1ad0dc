"""Console sign-outs: sessions ended before their cookie expired, refused by every replica.

Revision ID: 0008_console_sign_outs
Revises: 0007_policy_history
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_console_sign_outs"
down_revision = "0007_policy_history"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_sign_outs",
        sa.Column("session", sa.String(64), primary_key=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("console_sign_outs")
