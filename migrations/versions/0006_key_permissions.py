"""Key permissions: whether a stored proxy key may name the end user (`X-Proxy-Subject`) and may
ask for a request not to be recorded (`X-Proxy-Capture: none`). Existing keys may do neither.

Revision ID: 0006_key_permissions
Revises: 0005_dataset_lineage
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_key_permissions"
down_revision = "0005_dataset_lineage"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("may_assert_subject", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("may_skip_capture", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("may_skip_capture")
        batch.drop_column("may_assert_subject")
