"""the channels told of an incident (threaded news), and the latest update's impact

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.types

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "incident_audiences",
        sa.Column("incident_number", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(), nullable=False),
        sa.Column("channel_id", sa.String(), nullable=True),
        sa.Column("message_ts", sa.String(), nullable=True),
        sa.Column("since", store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_number"],
            ["incidents.number"],
            name="fk_incident_audiences_incident_number_incidents",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("incident_number", "target", name="pk_incident_audiences"),
    )
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("last_update_impact", sa.Text(), nullable=True))
        batch.add_column(sa.Column("last_update_at", store.types.UTCDateTime(), nullable=True))
    # Incidents updated before this version show their latest update at once.
    latest = (
        "from status_updates s where s.incident_number = incidents.number "
        "order by s.seq desc limit 1"
    )
    op.execute(
        f"update incidents set last_update_impact = (select s.impact {latest}), "
        f"last_update_at = (select s.posted_at {latest}) where update_count > 0"
    )


def downgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("last_update_at")
        batch.drop_column("last_update_impact")
    op.drop_table("incident_audiences")
