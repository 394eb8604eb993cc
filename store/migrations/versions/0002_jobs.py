"""jobs, channel members, deadline columns; provisioning steps become jobs

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 00:00:00
"""

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

import store.types

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc(name: str, *, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, store.types.UTCDateTime(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("incident_number", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(), nullable=False),
        _utc("due_at"),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=True),
        sa.Column("progress", sa.Text(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        _utc("created_at", nullable=False),
        _utc("updated_at", nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_number"],
            ["incidents.number"],
            name="fk_jobs_incident_number_incidents",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_jobs"),
    )
    op.create_index("ix_jobs_key", "jobs", ["key"], unique=True)
    op.create_index("ix_jobs_due_at", "jobs", ["due_at"])
    op.create_index("ix_jobs_incident_number_kind", "jobs", ["incident_number", "kind"])

    op.create_table(
        "channel_members",
        sa.Column("channel_id", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        _utc("since", nullable=False),
        sa.PrimaryKeyConstraint("channel_id", "user_id", name="pk_channel_members"),
    )

    with op.batch_alter_table("incidents") as batch:
        batch.add_column(_utc("cadence_from_at"))
        batch.add_column(sa.Column("update_interval_seconds", sa.Integer(), nullable=True))
        batch.add_column(_utc("ack_due_at"))

    _move_steps_to_jobs()
    op.drop_table("provisioning_steps")


def _move_steps_to_jobs() -> None:
    """Unfinished provisioning becomes one provisioning job per incident (the steps already
    done are its progress); undelivered effects become effect jobs. Nothing in flight is lost."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.text("SELECT incident_number, step, state, result FROM provisioning_steps")
    ).fetchall()
    now = datetime.now(UTC)
    jobs: list[dict[str, Any]] = []
    steps: dict[int, dict[str, Any]] = {}
    unfinished: set[int] = set()
    for number, step, state, result in rows:
        if step.startswith("effect:"):
            if state != "done" and result:
                jobs.append(_job(f"effect:{step[7:]}", "effect", number, _effect(result), now))
            continue
        steps.setdefault(number, {})[step] = {"done": state == "done"}
        if state != "done":
            unfinished.add(number)
    for number in sorted(unfinished):
        job = _job(f"provision:{number}", "provision", number, None, now)
        job["progress"] = json.dumps({"done": _progress(steps[number])})
        jobs.append(job)
    # 0001 cleared `archive_at` once it archived a channel: what is left is still to do.
    closed = bind.execute(
        sa.text(
            "SELECT number, archive_at FROM incidents "
            "WHERE status = 'closed' AND archive_at IS NOT NULL AND channel_id IS NOT NULL"
        ).columns(sa.column("number"), sa.column("archive_at", store.types.UTCDateTime()))
    ).fetchall()
    for number, archive_at in closed:
        job = _job(f"archive:{number}", "archive", number, None, now)
        job["due_at"] = archive_at
        jobs.append(job)
    if jobs:
        times = ("due_at", "created_at", "updated_at")
        table = sa.table(
            "jobs",
            *(
                sa.column(n, store.types.UTCDateTime()) if n in times else sa.column(n)
                for n in jobs[0]
            ),
        )
        op.bulk_insert(table, jobs)


def _progress(steps: dict[str, Any]) -> dict[str, Any]:
    """0001's finished steps as the provisioning job's marks (what a retry skips)."""
    return {name: True for name, step in steps.items() if step["done"]}


def _job(key: str, kind: str, number: int, payload: str | None, now: datetime) -> dict[str, Any]:
    stamp = now
    return {
        "key": key,
        "kind": kind,
        "incident_number": number,
        "state": "pending",
        "due_at": stamp,
        "attempts": 0,
        "payload": payload,
        "progress": None,
        "last_error": None,
        "created_at": stamp,
        "updated_at": stamp,
    }


def _effect(old: str) -> str:
    """0001's outbox encoding ({"kind": "Refresh", "values": {…}}) → the effect codec's."""
    data = json.loads(old)
    values: dict[str, Any] = {}
    for name, value in data["values"].items():
        if isinstance(value, dict) and "datetime" in value:
            value = value["datetime"]
        elif isinstance(value, dict) and "seconds" in value:
            value = value["seconds"]
        values[name] = value
    kind = "".join("_" + c.lower() if c.isupper() else c for c in data["kind"]).lstrip("_")
    return json.dumps({"kind": kind, **values})


def downgrade() -> None:
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
        sa.ForeignKeyConstraint(
            ["incident_number"],
            ["incidents.number"],
            name="fk_provisioning_steps_incident_number_incidents",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("incident_number", "step", name="pk_provisioning_steps"),
    )
    op.create_index(
        "ix_provisioning_steps_state_next_attempt_at",
        "provisioning_steps",
        ["state", "next_attempt_at"],
    )
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("ack_due_at")
        batch.drop_column("update_interval_seconds")
        batch.drop_column("cadence_from_at")
    op.drop_table("channel_members")
    op.drop_table("jobs")
