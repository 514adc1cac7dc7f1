"""closed accounting periods (IFRS 15 positions per issue cohort)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 03:45:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "accounting_closes",
        sa.Column("grp", sa.String(length=64), nullable=False),
        sa.Column("as_of", sa.Integer(), nullable=False),
        sa.Column("cohort", sa.Integer(), nullable=False),
        sa.Column("allocated", sa.BigInteger(), nullable=False),
        sa.Column("issued", sa.BigInteger(), nullable=False),
        sa.Column("redeemed", sa.BigInteger(), nullable=False),
        sa.Column("expected", sa.Float(), nullable=False),
        sa.Column("settled", sa.Boolean(), nullable=False),
        sa.Column("estimate", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("grp", "as_of", "cohort"),
        comment="Closed accounting periods (IFRS 15): each month cohort's points from sales at "
        "the close, cumulative (allocated revenue in micros, points issued, redeemed, "
        "expected); the next roll forward opens on them.",
    )


def downgrade() -> None:
    op.drop_table("accounting_closes")
