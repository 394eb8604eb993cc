"""the clock's state: snoozes, the last reminder, one-off and daily alarms

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 00:00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import store.types

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMES = (
    "snoozed_until",
    "ack_noticed_at",
    "roles_nudged_at",
    "postmortem_reminded_at",
    "stale_nudged_at",
)


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        for name in TIMES:
            batch.add_column(sa.Column(name, store.types.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("reminder_ts", sa.String(), nullable=True))
    # Incidents from before the clock get their clock job, due at once: it works out their
    # next alarm from their state (and sends at most one overdue reminder each).
    now = datetime.now(UTC)
    bind = op.get_bind()
    unfinished = bind.execute(
        sa.text("select number from incidents where status not in ('closed', 'declined')")
    ).all()
    jobs = sa.table(
        "jobs",
        sa.column("key", sa.String()),
        sa.column("kind", sa.String()),
        sa.column("incident_number", sa.Integer()),
        sa.column("state", sa.String()),
        sa.column("due_at", store.types.UTCDateTime()),
        sa.column("attempts", sa.Integer()),
        sa.column("created_at", store.types.UTCDateTime()),
        sa.column("updated_at", store.types.UTCDateTime()),
    )
    if unfinished:
        op.bulk_insert(
            jobs,
            [
                {
                    "key": f"clock:{number}",
                    "kind": "clock",
                    "incident_number": number,
                    "state": "pending",
                    "due_at": now,
                    "attempts": 0,
                    "created_at": now,
                    "updated_at": now,
                }
                for (number,) in unfinished
            ],
        )


def downgrade() -> None:
    op.execute("delete from jobs where kind = 'clock'")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("reminder_ts")
        for name in reversed(TIMES):
            batch.drop_column(name)
