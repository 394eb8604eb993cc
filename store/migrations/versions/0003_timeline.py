"""timeline capture (holds, message ts), post-mortem fields, action item details

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.types

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc(name: str, *, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, store.types.UTCDateTime(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "timeline_holds",
        sa.Column("incident_number", sa.Integer(), nullable=False),
        sa.Column("message_ts", sa.String(), nullable=False),
        sa.Column("holder", sa.String(), nullable=False),
        _utc("since", nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_number"],
            ["incidents.number"],
            name="fk_timeline_holds_incident_number_incidents",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "incident_number", "message_ts", "holder", name="pk_timeline_holds"
        ),
    )
    with op.batch_alter_table("timeline_events") as batch:
        batch.add_column(sa.Column("message_ts", sa.String(), nullable=True))
        batch.add_column(_utc("recorded_at"))
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("contributing_factors", sa.Text(), nullable=True))
        batch.add_column(sa.Column("went_well", sa.Text(), nullable=True))
        batch.add_column(sa.Column("went_badly", sa.Text(), nullable=True))
        batch.add_column(sa.Column("postmortem_link", sa.String(), nullable=True))
        batch.add_column(_utc("postmortem_done_at"))
    with op.batch_alter_table("action_items") as batch:
        batch.add_column(sa.Column("done_by", sa.String(), nullable=True))
        batch.add_column(sa.Column("category", sa.String(), nullable=True))
        batch.add_column(sa.Column("priority", sa.Integer(), nullable=True))
    op.create_index("ix_action_items_owner_done", "action_items", ["owner", "done"])


def downgrade() -> None:
    op.drop_index("ix_action_items_owner_done", table_name="action_items")
    with op.batch_alter_table("action_items") as batch:
        batch.drop_column("priority")
        batch.drop_column("category")
        batch.drop_column("done_by")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("postmortem_done_at")
        batch.drop_column("postmortem_link")
        batch.drop_column("went_badly")
        batch.drop_column("went_well")
        batch.drop_column("contributing_factors")
    with op.batch_alter_table("timeline_events") as batch:
        batch.drop_column("recorded_at")
        batch.drop_column("message_ts")
    op.drop_table("timeline_holds")
