"""policy versions can be cancelled, with a reason

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06 03:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COMMENT = (
    "status: waiting (effective_day not reached), active (the group's policy), retired "
    "(replaced by a later version) or cancelled (withdrawn before it started, with a reason)."
)
OLD_COMMENT = (
    "status: waiting (effective_day not reached), active (the group's policy) or retired "
    "(replaced by a later version)."
)


def upgrade() -> None:
    with op.batch_alter_table("policy_versions") as batch:
        batch.add_column(sa.Column("cancelled_at", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("cancel_reason", sa.Text(), nullable=True))
        batch.alter_column("status", existing_type=sa.String(length=8), type_=sa.String(length=16))
    if op.get_bind().dialect.name != "sqlite":  # SQLite keeps no table comments
        op.create_table_comment("policy_versions", COMMENT, existing_comment=OLD_COMMENT)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.create_table_comment("policy_versions", OLD_COMMENT, existing_comment=COMMENT)
    with op.batch_alter_table("policy_versions") as batch:
        batch.alter_column("status", existing_type=sa.String(length=16), type_=sa.String(length=8))
        batch.drop_column("cancel_reason")
        batch.drop_column("cancelled_at")
