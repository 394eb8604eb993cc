"""update adherence kept on the incident, and the index metrics read a period through

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Incidents from before this version have no intervals: their adherence is unknown (None),
    # not invented (the cadence each interval answered to is not recorded).
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(
            sa.Column("update_intervals", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("update_intervals_kept", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("longest_update_gap_seconds", sa.Integer(), nullable=True))
    op.create_index("ix_incidents_declared_at", "incidents", ["declared_at"])


def downgrade() -> None:
    op.drop_index("ix_incidents_declared_at", table_name="incidents")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("longest_update_gap_seconds")
        batch.drop_column("update_intervals_kept")
        batch.drop_column("update_intervals")
