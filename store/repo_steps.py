"""Provisioning steps: durable progress of multi-step Slack jobs, claimed with leases.

Life of a step: :func:`ensure_steps` inserts it as ``pending``; a worker :func:`claim_step`\\ s
it (``running``, leased until ``now + lease``) and **commits the claim at once**; it then does
the Slack work, storing partial results with :func:`record_step_result`, and finishes with
:func:`complete_step` (``done``) or :func:`fail_step` (``failed``, retried from ``retry_at``).
A worker that crashed leaves the step ``running`` with an expired lease; :func:`due_steps`
lists it and any process can claim it again. Each claim is a single conditional
``UPDATE … RETURNING``, so exactly one claimant wins across processes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import and_, or_, update
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from store.models import ProvisioningStep
from store.repo_common import RETURNING_OPTIONS, insert_ignoring_conflict, require_aware

__all__ = [
    "claim_step",
    "complete_step",
    "due_steps",
    "ensure_steps",
    "extend_step_lease",
    "fail_step",
    "get_steps",
    "record_step_result",
]


def _claimable(now: datetime) -> ColumnElement[bool]:
    """Pending/failed and due, or running with an expired (or missing) lease."""
    state = col(ProvisioningStep.state)
    next_attempt_at = col(ProvisioningStep.next_attempt_at)
    lease_until = col(ProvisioningStep.lease_until)
    return or_(
        and_(
            state.in_(("pending", "failed")),
            or_(next_attempt_at.is_(None), next_attempt_at <= now),
        ),
        and_(state == "running", or_(lease_until.is_(None), lease_until < now)),
    )


def _key(incident_number: int, step: str) -> ColumnElement[bool]:
    return and_(
        col(ProvisioningStep.incident_number) == incident_number,
        col(ProvisioningStep.step) == step,
    )


async def _update_step(
    session: AsyncSession,
    incident_number: int,
    step: str,
    values: dict[str, Any],
    *conditions: ColumnElement[bool],
) -> ProvisioningStep | None:
    result = await session.exec(
        update(ProvisioningStep)
        .where(_key(incident_number, step), *conditions)
        .values(**values)
        .returning(ProvisioningStep)
        .execution_options(**RETURNING_OPTIONS)
    )
    return cast(ProvisioningStep | None, result.scalars().one_or_none())


async def get_steps(session: AsyncSession, *, incident_number: int) -> dict[str, ProvisioningStep]:
    """``{step: ProvisioningStep}`` for the incident (fresh from the database)."""
    stmt = (
        select(ProvisioningStep)
        .where(col(ProvisioningStep.incident_number) == incident_number)
        .order_by(col(ProvisioningStep.step))
        .execution_options(populate_existing=True)
    )
    return {s.step: s for s in (await session.exec(stmt)).all()}


async def ensure_steps(
    session: AsyncSession, *, incident_number: int, steps: Sequence[str], now: datetime
) -> dict[str, ProvisioningStep]:
    """Insert the steps that do not exist yet as ``pending``; existing ones are left alone.

    Returns all of the incident's steps, like :func:`get_steps`.
    """
    require_aware("now", now)
    for step in dict.fromkeys(steps):
        await session.exec(
            insert_ignoring_conflict(
                session,
                ProvisioningStep,
                {
                    "incident_number": incident_number,
                    "step": step,
                    "state": "pending",
                    "attempts": 0,
                    "updated_at": now,
                },
                index_elements=["incident_number", "step"],
            )
        )
    return await get_steps(session, incident_number=incident_number)


async def claim_step(
    session: AsyncSession, *, incident_number: int, step: str, now: datetime, lease: timedelta
) -> ProvisioningStep | None:
    """Claim the step for ``lease``: returns it (``running``, ``attempts`` + 1) or None.

    Claimable when pending/failed with ``next_attempt_at`` unset or ≤ ``now``, or running with
    ``lease_until`` < ``now`` (its worker died). Commit right after claiming so that others see
    the lease; on Postgres a concurrent claimant waits for that commit and then gets None.
    """
    require_aware("now", now)
    return await _update_step(
        session,
        incident_number,
        step,
        {
            "state": "running",
            "attempts": col(ProvisioningStep.attempts) + 1,
            "lease_until": now + lease,
            "updated_at": now,
        },
        _claimable(now),
    )


async def record_step_result(
    session: AsyncSession, *, incident_number: int, step: str, now: datetime, result: str | None
) -> ProvisioningStep | None:
    """Store a partial ``result`` (JSON text, e.g. the created channel's id) without finishing.

    Commit it before the next Slack call so that a retry can recognise what was already done.
    """
    require_aware("now", now)
    return await _update_step(session, incident_number, step, {"result": result, "updated_at": now})


async def complete_step(
    session: AsyncSession,
    *,
    incident_number: int,
    step: str,
    now: datetime,
    result: str | None = None,
) -> ProvisioningStep | None:
    """Mark the step ``done`` (lease and error cleared). ``result=None`` keeps the stored result."""
    require_aware("now", now)
    values: dict[str, Any] = {
        "state": "done",
        "lease_until": None,
        "next_attempt_at": None,
        "last_error": None,
        "updated_at": now,
    }
    if result is not None:
        values["result"] = result
    return await _update_step(session, incident_number, step, values)


async def fail_step(
    session: AsyncSession,
    *,
    incident_number: int,
    step: str,
    now: datetime,
    error: str,
    retry_at: datetime | None,
) -> ProvisioningStep | None:
    """Mark the step ``failed`` with ``error``; it becomes claimable again at ``retry_at``.

    ``retry_at=None`` means "retry at once". To give up on a step, the caller decides from
    ``attempts`` (e.g. stop claiming it, or pass a ``retry_at`` far in the future).
    """
    require_aware("now", now)
    require_aware("retry_at", retry_at)
    return await _update_step(
        session,
        incident_number,
        step,
        {
            "state": "failed",
            "last_error": error,
            "lease_until": None,
            "next_attempt_at": retry_at,
            "updated_at": now,
        },
    )


async def due_steps(
    session: AsyncSession, *, now: datetime, limit: int = 100
) -> list[ProvisioningStep]:
    """Steps the reconciler should (re)claim at ``now``, oldest first, at most ``limit``."""
    require_aware("now", now)
    stmt = (
        select(ProvisioningStep)
        .where(_claimable(now))
        .order_by(
            col(ProvisioningStep.updated_at),
            col(ProvisioningStep.incident_number),
            col(ProvisioningStep.step),
        )
        .limit(limit)
        .execution_options(populate_existing=True)
    )
    return list((await session.exec(stmt)).all())


async def extend_step_lease(
    session: AsyncSession, *, incident_number: int, step: str, now: datetime, lease: timedelta
) -> bool:
    """Heartbeat: push a running step's lease to ``now + lease``; False if it is not running.

    A worker renews its lease while a slow Slack call is in flight, so the lease can be short
    and a crashed worker's step is taken over quickly.
    """
    require_aware("now", now)
    stmt = (
        update(ProvisioningStep)
        .where(_key(incident_number, step), col(ProvisioningStep.state) == "running")
        .values(lease_until=now + lease, updated_at=now)
        .returning(col(ProvisioningStep.step))
    )
    return (await session.exec(stmt)).first() is not None
