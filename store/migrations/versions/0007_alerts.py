"""alert groups and the triage incidents they open

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.types

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "incident_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("group_key", sa.Text(), nullable=False),
        sa.Column("incident_number", sa.Integer(), nullable=False),
        sa.Column("is_open", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("firing", sa.Integer(), nullable=False),
        sa.Column("resolved", sa.Integer(), nullable=False),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.Column("first_seen_at", store.types.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", store.types.UTCDateTime(), nullable=False),
        sa.Column("severity_value", sa.String(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("message_channel_id", sa.String(), nullable=True),
        sa.Column("message_ts", sa.String(), nullable=True),
        sa.Column("declined_by", sa.String(), nullable=True),
        sa.Column("decline_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_number"],
            ["incidents.number"],
            name="fk_incident_alerts_incident_number_incidents",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_incident_alerts"),
    )
    op.create_index(
        "uq_incident_alerts_open_group",
        "incident_alerts",
        ["source", "group_key"],
        unique=True,
        sqlite_where=sa.text("is_open"),
        postgresql_where=sa.text("is_open"),
    )
    op.create_index("ix_incident_alerts_incident_number", "incident_alerts", ["incident_number"])


def downgrade() -> None:
    op.drop_index("ix_incident_alerts_incident_number", table_name="incident_alerts")
    op.drop_index("uq_incident_alerts_open_group", table_name="incident_alerts")
    op.drop_table("incident_alerts")
