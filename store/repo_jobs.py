"""Jobs: durable, exactly-once units of work, claimed with a lease (see :class:`Job`).

Life of a job: :func:`enqueue_job` inserts it ``pending`` with a ``due_at`` (a second enqueue
of the same ``key`` does nothing); a worker claims it with :func:`claim_job` (``running``,
``due_at`` = lease expiry, ``attempts`` + 1) and **commits the claim at once**; it renews the
lease with :func:`extend_job_lease` while it works, stores partial progress with
:func:`record_job_progress`, and ends with :func:`finish_job`, :func:`retry_job` (pending again
from a later ``due_at``) or :func:`fail_job` (given up). Every write after the claim is fenced
by the ``attempts`` the worker claimed: a worker whose lease expired and was taken over cannot
overwrite its successor's outcome.

A tick reads only due rows: :func:`due_jobs` is ``WHERE due_at <= now`` on the ``due_at``
index, and finished jobs have ``due_at`` NULL.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import and_, or_, update
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from store.models import Job
from store.repo_common import RETURNING_OPTIONS, insert_ignoring_conflict, require_aware

__all__ = [
    "cancel_job",
    "claim_job",
    "due_jobs",
    "enqueue_job",
    "extend_job_lease",
    "fail_job",
    "finish_job",
    "get_job",
    "list_jobs",
    "record_job_progress",
    "repeat_job",
    "reschedule_job",
    "retry_job",
]


async def enqueue_job(
    session: AsyncSession,
    *,
    key: str,
    kind: str,
    due_at: datetime,
    now: datetime,
    incident_number: int | None = None,
    payload: str | None = None,
) -> bool:
    """Insert the job ``pending`` from ``due_at``; False (nothing written) if ``key`` exists."""
    require_aware("now", now)
    require_aware("due_at", due_at)
    stmt = insert_ignoring_conflict(
        session,
        Job,
        {
            "key": key,
            "kind": kind,
            "incident_number": incident_number,
            "state": "pending",
            "due_at": due_at,
            "attempts": 0,
            "payload": payload,
            "created_at": now,
            "updated_at": now,
        },
        index_elements=["key"],
    ).returning(col(Job.id))
    return (await session.exec(stmt)).first() is not None


async def reschedule_job(
    session: AsyncSession,
    *,
    key: str,
    kind: str,
    due_at: datetime,
    now: datetime,
    incident_number: int | None = None,
    payload: str | None = None,
) -> None:
    """Make the job with ``key`` pending from ``due_at``, creating it if needed (e.g. an archive
    moved by a second close). A running job is left alone: its handler re-reads the state."""
    if await enqueue_job(
        session,
        key=key,
        kind=kind,
        due_at=due_at,
        now=now,
        incident_number=incident_number,
        payload=payload,
    ):
        return
    await session.exec(
        update(Job)
        .where(col(Job.key) == key, col(Job.state) != "running")
        .values(state="pending", due_at=due_at, attempts=0, last_error=None, updated_at=now)
    )


async def cancel_job(session: AsyncSession, *, key: str, now: datetime) -> bool:
    """Stop a job that has not run (e.g. the archive of a reopened incident); True if it was."""
    require_aware("now", now)
    result = await session.exec(
        update(Job)
        .where(col(Job.key) == key, col(Job.state) == "pending")
        .values(state="cancelled", due_at=None, updated_at=now)
        .returning(col(Job.id))
    )
    return result.first() is not None


def _claimable(now: datetime, *, early: bool) -> ColumnElement[bool]:
    due = col(Job.due_at) <= now
    # `early`: the request that enqueued the job runs it at once, before it is due for ticks.
    return or_(due, col(Job.state) == "pending") if early else due


async def claim_job(
    session: AsyncSession,
    *,
    key: str,
    now: datetime,
    lease: timedelta,
    early: bool = False,
) -> Job | None:
    """Claim the job for ``lease`` if it is due (or, with ``early``, merely pending).

    One conditional ``UPDATE … RETURNING``: exactly one claimant wins across processes. Commit
    right after claiming so the others see the lease.
    """
    require_aware("now", now)
    result = await session.exec(
        update(Job)
        .where(col(Job.key) == key, _claimable(now, early=early))
        .values(
            state="running",
            attempts=col(Job.attempts) + 1,
            due_at=now + lease,
            updated_at=now,
        )
        .returning(Job)
        .execution_options(**RETURNING_OPTIONS)
    )
    return cast(Job | None, result.scalars().one_or_none())


def _mine(job_id: int, attempts: int) -> ColumnElement[bool]:
    return and_(col(Job.id) == job_id, col(Job.state) == "running", col(Job.attempts) == attempts)


async def _settle(
    session: AsyncSession, job_id: int, attempts: int, values: dict[str, Any]
) -> bool:
    result = await session.exec(
        update(Job).where(_mine(job_id, attempts)).values(**values).returning(col(Job.id))
    )
    return result.first() is not None


async def extend_job_lease(
    session: AsyncSession, *, job_id: int, attempts: int, now: datetime, lease: timedelta
) -> bool:
    """Heartbeat: push a running job's lease to ``now + lease``; False if it is no longer ours."""
    require_aware("now", now)
    return await _settle(session, job_id, attempts, {"due_at": now + lease, "updated_at": now})


async def record_job_progress(
    session: AsyncSession, *, job_id: int, attempts: int, now: datetime, progress: str
) -> bool:
    """Store what the job did so far (JSON text). Commit it before the next Slack call."""
    require_aware("now", now)
    return await _settle(session, job_id, attempts, {"progress": progress, "updated_at": now})


async def finish_job(session: AsyncSession, *, job_id: int, attempts: int, now: datetime) -> bool:
    """``done``: never due again."""
    require_aware("now", now)
    values = {"state": "done", "due_at": None, "last_error": None, "updated_at": now}
    return await _settle(session, job_id, attempts, values)


async def repeat_job(
    session: AsyncSession, *, job_id: int, attempts: int, now: datetime, due_at: datetime
) -> bool:
    """A periodic job's run succeeded: pending again from ``due_at``, with a clean slate."""
    require_aware("now", now)
    require_aware("due_at", due_at)
    values = {
        "state": "pending",
        "due_at": due_at,
        "attempts": 0,
        "progress": None,
        "last_error": None,
        "updated_at": now,
    }
    return await _settle(session, job_id, attempts, values)


async def retry_job(
    session: AsyncSession,
    *,
    job_id: int,
    attempts: int,
    now: datetime,
    retry_at: datetime,
    error: str,
) -> bool:
    """Pending again from ``retry_at`` (a transient failure), keeping ``error`` for operators."""
    require_aware("now", now)
    require_aware("retry_at", retry_at)
    values = {"state": "pending", "due_at": retry_at, "last_error": error, "updated_at": now}
    return await _settle(session, job_id, attempts, values)


async def fail_job(
    session: AsyncSession, *, job_id: int, attempts: int | None, now: datetime, error: str
) -> bool:
    """Given up: ``failed``, never due again. ``attempts=None`` fails a job that could not even
    be read as its kind (an undecodable row), whoever holds it."""
    require_aware("now", now)
    values = {"state": "failed", "due_at": None, "last_error": error, "updated_at": now}
    if attempts is not None:
        return await _settle(session, job_id, attempts, values)
    result = await session.exec(
        update(Job).where(col(Job.id) == job_id).values(**values).returning(col(Job.id))
    )
    return result.first() is not None


async def due_jobs(session: AsyncSession, *, now: datetime, limit: int = 100) -> list[Job]:
    """Jobs due at ``now`` (earliest first, at most ``limit``): an index range on ``due_at``."""
    require_aware("now", now)
    stmt = (
        select(Job)
        .where(col(Job.due_at) <= now)
        .order_by(col(Job.due_at), col(Job.id))
        .limit(limit)
        .execution_options(populate_existing=True)
    )
    return list((await session.exec(stmt)).all())


async def get_job(session: AsyncSession, *, key: str) -> Job | None:
    stmt = select(Job).where(col(Job.key) == key).execution_options(populate_existing=True)
    return (await session.exec(stmt)).first()


async def list_jobs(
    session: AsyncSession, *, incident_number: int, kind: str | None = None
) -> list[Job]:
    """The incident's jobs (optionally of one ``kind``) in the order they were enqueued."""
    stmt = select(Job).where(col(Job.incident_number) == incident_number)
    if kind is not None:
        stmt = stmt.where(col(Job.kind) == kind)
    stmt = stmt.order_by(col(Job.id)).execution_options(populate_existing=True)
    return list((await session.exec(stmt)).all())
