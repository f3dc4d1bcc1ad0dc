"""Dataset lineage: a write-order sequence on requests, the exports written and which records each
holds, and feedback on requests.

`requests.seq` is given by the database as each row is written (a sequence on PostgreSQL, a
trigger on SQLite), so a row replayed late from the spool still sorts after every row an earlier
export saw: incremental exports resume from it, never from a timestamp.

Revision ID: 0005_dataset_lineage
Revises: 0004_governance
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_dataset_lineage"
down_revision = "0004_governance"
branch_labels = None
depends_on = None

SQLITE_TRIGGER = """
CREATE TRIGGER requests_seq AFTER INSERT ON requests WHEN NEW.seq IS NULL
BEGIN
    UPDATE requests SET seq = (SELECT IFNULL(MAX(seq), 0) + 1 FROM requests) WHERE rowid = NEW.rowid;
END
"""


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("requests") as batch:
        batch.add_column(sa.Column("seq", sa.BigInteger))
    if postgres:
        op.execute("CREATE SEQUENCE requests_seq_seq")
        op.execute(
            "UPDATE requests SET seq = ordered.n FROM (SELECT id, row_number() OVER (ORDER BY created_at, id) AS n"
            " FROM requests) AS ordered WHERE requests.id = ordered.id"
        )
        op.execute("SELECT setval('requests_seq_seq', COALESCE((SELECT MAX(seq) FROM requests), 0) + 1, false)")
        op.execute("ALTER TABLE requests ALTER COLUMN seq SET DEFAULT nextval('requests_seq_seq')")
    else:
        op.execute("UPDATE requests SET seq = rowid")  # rowid is SQLite's own write order
        op.execute(SQLITE_TRIGGER)
    op.create_index("ix_requests_seq", "requests", ["seq"])
    op.create_table(
        "exports",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("format", sa.String(40), nullable=False),
        sa.Column("content", sa.String(16), nullable=False),
        sa.Column("out", sa.String(1000), nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("last_seq", sa.BigInteger),
        sa.Column("manifest", sa.Text, nullable=False),
    )
    op.create_table(
        "export_rows",
        sa.Column("export_id", sa.String(40), sa.ForeignKey("exports.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("request_id", sa.String(40), primary_key=True),
        sa.Column("split", sa.String(48), nullable=False),
    )
    op.create_index("ix_export_rows_request_id", "export_rows", ["request_id"])
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(40), sa.ForeignKey("requests.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_name", sa.String(200)),
        sa.Column("score", sa.Float),
        sa.Column("label", sa.String(100)),
        sa.Column("comment", sa.Text),
    )
    op.create_index("ix_feedback_request_id", "feedback", ["request_id"])


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.drop_index("ix_feedback_request_id", "feedback")
    op.drop_table("feedback")
    op.drop_index("ix_export_rows_request_id", "export_rows")
    op.drop_table("export_rows")
    op.drop_table("exports")
    op.drop_index("ix_requests_seq", "requests")
    if not postgres:
        op.execute("DROP TRIGGER requests_seq")
    with op.batch_alter_table("requests") as batch:
        batch.drop_column("seq")
    if postgres:
        op.execute("DROP SEQUENCE requests_seq_seq")
