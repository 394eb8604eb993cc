"""initial schema

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.types

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CURRENT = sa.text("ended_at IS NULL")


def _utc(name: str, *, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, store.types.UTCDateTime(), nullable=nullable)


def _incident_fk(table: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["incident_number"],
        ["incidents.number"],
        name=f"fk_{table}_incident_number_incidents",
        ondelete=ondelete,
    )


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("type", sa.String(), nullable=True),
        sa.Column("private", sa.Boolean(), nullable=False),
        sa.Column("drill", sa.Boolean(), nullable=False),
        sa.Column("affected_services", sa.JSON(), nullable=False),
        sa.Column("declared_by", sa.String(), nullable=False),
        sa.Column("source_message_link", sa.String(), nullable=True),
        sa.Column("channel_id", sa.String(), nullable=True),
        sa.Column("channel_name", sa.String(), nullable=True),
        _utc("declared_at", nullable=False),
        _utc("started_at"),
        _utc("detected_at"),
        _utc("acknowledged_at"),
        sa.Column("acknowledged_by", sa.String(), nullable=True),
        _utc("identified_at"),
        _utc("mitigated_at"),
        _utc("resolved_at"),
        _utc("closed_at"),
        _utc("declined_at"),
        _utc("impact_ended_at"),
        sa.Column("resolution_summary", sa.Text(), nullable=True),
        sa.Column("root_cause", sa.Text(), nullable=True),
        sa.Column("panel_ts", sa.String(), nullable=True),
        sa.Column("announcement_channel_id", sa.String(), nullable=True),
        sa.Column("announcement_ts", sa.String(), nullable=True),
        _utc("next_update_due_at"),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        _utc("next_escalation_at"),
        _utc("reminder_sent_for"),
        _utc("postmortem_due_at"),
        _utc("archive_at"),
        sa.Column("update_count", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _utc("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("number", name="pk_incidents"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_incidents_channel_id", "incidents", ["channel_id"], unique=True)
    op.create_index("ix_incidents_status", "incidents", ["status"])

    op.create_table(
        "role_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_number", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("assigned_by", sa.String(), nullable=True),
        _utc("assigned_at", nullable=False),
        _utc("ended_at"),
        _incident_fk("role_assignments", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_role_assignments"),
    )
    op.create_index(
        "ix_role_assignments_incident_number",
        "role_assignments",
        ["incident_number", "role", "assigned_at"],
    )
    op.create_index(
        "uq_role_assignments_current",
        "role_assignments",
        ["incident_number", "role"],
        unique=True,
        sqlite_where=_CURRENT,
        postgresql_where=_CURRENT,
    )

    op.create_table(
        "timeline_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        _utc("at", nullable=False),
        sa.Column("actor", sa.String(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("permalink", sa.String(), nullable=True),
        sa.Column("dedupe_key", sa.String(), nullable=True),
        _incident_fk("timeline_events", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_timeline_events"),
    )
    op.create_index(
        "ix_timeline_events_incident_number_at", "timeline_events", ["incident_number", "at"]
    )
    op.create_index("ix_timeline_events_dedupe_key", "timeline_events", ["dedupe_key"], unique=True)

    op.create_table(
        "status_updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_number", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("impact", sa.Text(), nullable=False),
        sa.Column("actions", sa.Text(), nullable=False),
        _utc("next_update_at"),
        _utc("posted_at", nullable=False),
        sa.Column("author", sa.String(), nullable=False),
        sa.Column("message_ts", sa.String(), nullable=True),
        sa.Column("shared", sa.Boolean(), nullable=False),
        _incident_fk("status_updates", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_status_updates"),
        sa.UniqueConstraint("incident_number", "seq", name="uq_status_updates_incident_number_seq"),
    )

    op.create_table(
        "action_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_number", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(), nullable=True),
        _utc("due_at"),
        sa.Column("done", sa.Boolean(), nullable=False),
        _utc("done_at"),
        _utc("created_at", nullable=False),
        sa.Column("created_by", sa.String(), nullable=True),
        _incident_fk("action_items", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_action_items"),
    )
    op.create_index("ix_action_items_incident_number", "action_items", ["incident_number"])

    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("incident_number", sa.Integer(), nullable=True),
        _utc("created_at", nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        _incident_fk("idempotency_keys", "SET NULL"),
        sa.PrimaryKeyConstraint("key", name="pk_idempotency_keys"),
    )
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"])

    op.create_table(
        "provisioning_steps",
        sa.Column("incident_number", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        _utc("lease_until"),
        _utc("next_attempt_at"),
        _utc("updated_at", nullable=False),
        _incident_fk("provisioning_steps", "CASCADE"),
        sa.PrimaryKeyConstraint("incident_number", "step", name="pk_provisioning_steps"),
    )
    op.create_index(
        "ix_provisioning_steps_state_next_attempt_at",
        "provisioning_steps",
        ["state", "next_attempt_at"],
    )


def downgrade() -> None:
    op.drop_table("provisioning_steps")
    op.drop_table("idempotency_keys")
    op.drop_table("action_items")
    op.drop_table("status_updates")
    op.drop_table("timeline_events")
    op.drop_table("role_assignments")
    op.drop_table("incidents")
