"""Incidents (with compare-and-set updates) and idempotency keys."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any, Final, cast

from sqlalchemy import delete, not_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from store.models import INCIDENT_STATUSES, IdempotencyKey, Incident
from store.repo_common import (
    RETURNING_OPTIONS,
    check_fields,
    insert_ignoring_conflict,
    require_aware,
)

__all__ = [
    "claim_idempotency_key",
    "create_incident",
    "delete_idempotency_keys",
    "get_idempotency_key",
    "get_incident",
    "get_incident_by_channel",
    "list_incidents",
    "set_idempotency_result",
    "update_incident",
]

_MANAGED: Final = frozenset({"number", "version"})


def _check_status(status: object) -> None:
    if status not in INCIDENT_STATUSES:
        raise ValueError(f"unknown incident status {status!r}; expected one of {INCIDENT_STATUSES}")


async def create_incident(
    session: AsyncSession,
    *,
    title: str,
    severity: str,
    status: str = "triage",
    declared_by: str,
    declared_at: datetime,
    **fields: Any,
) -> Incident:
    """Insert an incident; the database picks ``number`` (never reused, increasing).

    ``fields`` are any other :class:`Incident` columns except ``number`` and ``version``;
    ``updated_at`` defaults to ``declared_at``. Flushes (so ``number`` is set); the caller commits.
    """
    check_fields(Incident, fields, forbidden=_MANAGED)
    require_aware("declared_at", declared_at)
    _check_status(status)
    fields.setdefault("updated_at", declared_at)
    incident = Incident(
        title=title,
        severity=severity,
        status=status,
        declared_by=declared_by,
        declared_at=declared_at,
        **fields,
    )
    session.add(incident)
    await session.flush()
    return incident


async def get_incident(session: AsyncSession, *, number: int) -> Incident | None:
    """The incident, freshly read from the database (refreshes a copy held by the session)."""
    return await session.get(Incident, number, populate_existing=True)


async def get_incident_by_channel(session: AsyncSession, *, channel_id: str) -> Incident | None:
    """The incident whose war-room channel is ``channel_id``."""
    stmt = (
        select(Incident)
        .where(col(Incident.channel_id) == channel_id)
        .execution_options(populate_existing=True)
    )
    return (await session.exec(stmt)).first()


async def list_incidents(
    session: AsyncSession,
    *,
    statuses: Collection[str] | None = None,
    include_drills: bool = True,
) -> list[Incident]:
    """Incidents ordered by number, optionally only those in ``statuses``.

    Privacy is the caller's business: private incidents are returned like any other.
    """
    stmt = select(Incident).order_by(col(Incident.number))
    if statuses is not None:
        stmt = stmt.where(col(Incident.status).in_(list(statuses)))
    if not include_drills:
        stmt = stmt.where(not_(col(Incident.drill)))
    return list((await session.exec(stmt.execution_options(populate_existing=True))).all())


async def update_incident(
    session: AsyncSession,
    *,
    number: int,
    expected_version: int | None,
    now: datetime,
    **changes: Any,
) -> Incident | None:
    """Apply ``changes`` in one conditional ``UPDATE … RETURNING`` and bump ``version``.

    With ``expected_version`` the update only happens if the row still has that version
    (compare-and-set); ``None`` means unconditional. Returns the updated incident, or ``None``
    when the incident does not exist or someone else changed it first (re-read and decide
    again). ``updated_at`` is set to ``now``. Even with no ``changes`` the version is bumped, so
    a periodic tick can *claim* work: read the incident, decide, then
    ``update_incident(..., expected_version=inc.version, reminder_sent_for=due)`` — exactly one
    replica gets a non-``None`` result. On Postgres the row stays locked until the caller
    commits; commit promptly.
    """
    check_fields(Incident, changes, forbidden=_MANAGED | {"updated_at"})
    require_aware("now", now)
    if "status" in changes:
        _check_status(changes["status"])
    stmt = (
        update(Incident)
        .where(col(Incident.number) == number)
        .values(**changes, version=col(Incident.version) + 1, updated_at=now)
    )
    if expected_version is not None:
        stmt = stmt.where(col(Incident.version) == expected_version)
    result = await session.exec(stmt.returning(Incident).execution_options(**RETURNING_OPTIONS))
    return cast(Incident | None, result.scalars().one_or_none())


# --- idempotency keys -------------------------------------------------------------------------


async def claim_idempotency_key(
    session: AsyncSession,
    *,
    key: str,
    now: datetime,
    incident_number: int | None = None,
) -> bool:
    """True for the first caller to claim ``key``, False for every duplicate.

    ``INSERT … ON CONFLICT DO NOTHING`` (no SAVEPOINT, so the session stays usable either way).
    The claim is part of the caller's transaction: commit it *before* the side effect it guards
    (a Slack call), so that a concurrent duplicate on Postgres, which waits for this
    transaction, sees it; a rolled-back claim frees the key again.
    """
    require_aware("now", now)
    stmt = insert_ignoring_conflict(
        session,
        IdempotencyKey,
        {"key": key, "incident_number": incident_number, "created_at": now, "result": None},
        index_elements=["key"],
    ).returning(col(IdempotencyKey.key))
    return (await session.exec(stmt)).first() is not None


async def get_idempotency_key(session: AsyncSession, *, key: str) -> IdempotencyKey | None:
    """The claimed key with its stored result, or None when never claimed."""
    return await session.get(IdempotencyKey, key, populate_existing=True)


async def set_idempotency_result(
    session: AsyncSession,
    *,
    key: str,
    result: str | None,
    incident_number: int | None = None,
) -> IdempotencyKey | None:
    """Store the JSON ``result`` (and, if given, the incident) on a claimed key.

    Returns None when the key was never claimed.
    """
    values: dict[str, Any] = {"result": result}
    if incident_number is not None:
        values["incident_number"] = incident_number
    stmt = (
        update(IdempotencyKey)
        .where(col(IdempotencyKey.key) == key)
        .values(**values)
        .returning(IdempotencyKey)
        .execution_options(**RETURNING_OPTIONS)
    )
    return cast(IdempotencyKey | None, (await session.exec(stmt)).scalars().one_or_none())


async def delete_idempotency_keys(session: AsyncSession, *, before: datetime) -> int:
    """Housekeeping: forget keys claimed before ``before``; returns how many were deleted."""
    require_aware("before", before)
    stmt = (
        delete(IdempotencyKey)
        .where(col(IdempotencyKey.created_at) < before)
        .execution_options(synchronize_session=False)
    )
    result = await session.exec(stmt)
    return int(result.rowcount)
