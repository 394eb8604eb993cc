"""Per-incident records: timeline events, role assignments, status updates."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import select as sa_select
from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from store.models import RoleAssignment, StatusUpdate, TimelineEvent
from store.repo_common import (
    MAX_RACE_RETRIES,
    RETURNING_OPTIONS,
    ContentionError,
    insert_ignoring_conflict,
    insert_numbered,
    lock_incident,
    require_aware,
)

__all__ = [
    "add_role_holder",
    "add_status_update",
    "add_timeline_event",
    "assign_role",
    "current_roles",
    "end_role",
    "list_status_updates",
    "list_timeline",
    "role_history",
    "set_status_update_message",
]

# --- timeline ---------------------------------------------------------------------------------


async def add_timeline_event(
    session: AsyncSession,
    *,
    incident_number: int,
    kind: str,
    at: datetime,
    actor: str | None = None,
    text: str = "",
    permalink: str | None = None,
    dedupe_key: str | None = None,
) -> TimelineEvent | None:
    """Record an event. Returns None (and records nothing) when ``dedupe_key`` was already used.

    ``dedupe_key`` is global, so make it specific, e.g. ``f"{incident}:note:{event_ts}"``.
    """
    require_aware("at", at)
    values: dict[str, Any] = {
        "incident_number": incident_number,
        "kind": kind,
        "at": at,
        "actor": actor,
        "text": text,
        "permalink": permalink,
        "dedupe_key": dedupe_key,
    }
    if dedupe_key is None:
        event = TimelineEvent(**values)
        session.add(event)
        await session.flush()
        return event
    stmt = insert_ignoring_conflict(
        session, TimelineEvent, values, index_elements=["dedupe_key"]
    ).returning(TimelineEvent)
    return cast(TimelineEvent | None, (await session.exec(stmt)).scalars().first())


async def list_timeline(
    session: AsyncSession, *, incident_number: int, kinds: Collection[str] | None = None
) -> list[TimelineEvent]:
    """The incident's events ordered by ``at`` then insertion order, optionally only ``kinds``."""
    stmt = (
        select(TimelineEvent)
        .where(col(TimelineEvent.incident_number) == incident_number)
        .order_by(col(TimelineEvent.at), col(TimelineEvent.id))
    )
    if kinds is not None:
        stmt = stmt.where(col(TimelineEvent.kind).in_(list(kinds)))
    return list((await session.exec(stmt)).all())


class TimelineRow(NamedTuple):
    at: datetime
    kind: str
    actor: str | None
    text: str
    permalink: str | None


async def list_timeline_rows(session: AsyncSession, *, incident_number: int) -> list[TimelineRow]:
    """The incident's events as plain rows, in timeline order: what a reader (the post-mortem
    draft) needs of 10 000 of them, without building an ORM object for each."""
    stmt = (
        sa_select(
            col(TimelineEvent.at),
            col(TimelineEvent.kind),
            col(TimelineEvent.actor),
            col(TimelineEvent.text),
            col(TimelineEvent.permalink),
        )
        .where(col(TimelineEvent.incident_number) == incident_number)
        .order_by(col(TimelineEvent.at), col(TimelineEvent.id))
    )
    connection = await session.connection()  # Core rows: no ORM objects are built
    return [TimelineRow(*row) for row in (await connection.execute(stmt)).all()]


# --- roles ------------------------------------------------------------------------------------


def _current(incident_number: int, role: str) -> Any:
    return (
        (col(RoleAssignment.incident_number) == incident_number)
        & (col(RoleAssignment.role) == role)
        & col(RoleAssignment.ended_at).is_(None)
    )


async def assign_role(
    session: AsyncSession,
    *,
    incident_number: int,
    role: str,
    user_id: str,
    assigned_by: str | None,
    now: datetime,
) -> tuple[RoleAssignment, RoleAssignment | None]:
    """Make ``user_id`` the current holder of ``role``; returns ``(new, previous)``.

    The current holder (if any) gets ``ended_at = now`` and is returned as ``previous``.
    Assigning the user who already holds the role is a no-op: returns ``(existing, None)`` and
    writes nothing. Concurrent assignments of the same role queue on the incident row (Postgres,
    held until the caller commits) and the partial unique index keeps one current holder: the
    later writer ends the earlier one (last writer wins, history complete).
    """
    require_aware("now", now)
    await lock_incident(session, incident_number)
    previous: RoleAssignment | None = None
    for _ in range(MAX_RACE_RETRIES):
        ended = await session.exec(
            update(RoleAssignment)
            .where(_current(incident_number, role), col(RoleAssignment.user_id) != user_id)
            .values(ended_at=now)
            .returning(RoleAssignment)
            .execution_options(**RETURNING_OPTIONS)
        )
        previous = previous or cast(RoleAssignment | None, ended.scalars().first())
        inserted = await session.exec(
            insert_ignoring_conflict(
                session,
                RoleAssignment,
                {
                    "incident_number": incident_number,
                    "role": role,
                    "user_id": user_id,
                    "assigned_by": assigned_by,
                    "assigned_at": now,
                    "ended_at": None,
                },
                index_elements=["incident_number", "role"],
                index_where=col(RoleAssignment.ended_at).is_(None),
            ).returning(RoleAssignment)
        )
        new = cast(RoleAssignment | None, inserted.scalars().first())
        if new is not None:
            return new, previous
        # Someone holds the role now: either this very user (no-op) or a concurrent assignment
        # that committed after our UPDATE looked; go round again to end it.
        holder = (
            await session.exec(
                select(RoleAssignment)
                .where(_current(incident_number, role))
                .execution_options(populate_existing=True)
            )
        ).first()
        if holder is not None and holder.user_id == user_id:
            return holder, previous
    raise ContentionError(f"could not assign {role!r} on incident {incident_number}")


async def add_role_holder(
    session: AsyncSession,
    *,
    incident_number: int,
    role: str,
    user_id: str,
    assigned_by: str | None,
    now: datetime,
) -> RoleAssignment:
    """The first holder of ``role`` of an incident being created (one plain INSERT); use
    :func:`assign_role` for an incident that may already have one."""
    require_aware("now", now)
    assignment = RoleAssignment(
        incident_number=incident_number,
        role=role,
        user_id=user_id,
        assigned_by=assigned_by,
        assigned_at=now,
    )
    session.add(assignment)
    await session.flush()
    return assignment


async def end_role(
    session: AsyncSession, *, incident_number: int, role: str, now: datetime
) -> RoleAssignment | None:
    """Unassign ``role``: end the current holder, returned (None when nobody held it)."""
    require_aware("now", now)
    result = await session.exec(
        update(RoleAssignment)
        .where(_current(incident_number, role))
        .values(ended_at=now)
        .returning(RoleAssignment)
        .execution_options(**RETURNING_OPTIONS)
    )
    return cast(RoleAssignment | None, result.scalars().first())


async def current_roles(session: AsyncSession, *, incident_number: int) -> dict[str, str]:
    """``{role: user_id}`` of the current holders."""
    stmt = select(RoleAssignment).where(
        col(RoleAssignment.incident_number) == incident_number,
        col(RoleAssignment.ended_at).is_(None),
    )
    return {a.role: a.user_id for a in (await session.exec(stmt)).all()}


async def role_history(
    session: AsyncSession, *, incident_number: int, role: str | None = None
) -> list[RoleAssignment]:
    """All assignments (current and ended) ordered by ``assigned_at``, optionally one role."""
    stmt = (
        select(RoleAssignment)
        .where(col(RoleAssignment.incident_number) == incident_number)
        .order_by(col(RoleAssignment.assigned_at), col(RoleAssignment.id))
        .execution_options(populate_existing=True)
    )
    if role is not None:
        stmt = stmt.where(col(RoleAssignment.role) == role)
    return list((await session.exec(stmt)).all())


# --- status updates ---------------------------------------------------------------------------


async def add_status_update(
    session: AsyncSession,
    *,
    incident_number: int,
    status: str,
    impact: str,
    actions: str,
    next_update_at: datetime | None,
    author: str,
    now: datetime,
    shared: bool = False,
    message_ts: str | None = None,
) -> StatusUpdate:
    """Record "Update #n": ``seq`` = the incident's previous maximum + 1, posted at ``now``.

    Numbered by :func:`~store.repo_common.insert_numbered`. The incident row
    (``update_count``, ``next_update_due_at``) is not touched: use
    :func:`update_incident`.
    """
    require_aware("now", now)
    require_aware("next_update_at", next_update_at)
    values: dict[str, Any] = {
        "incident_number": incident_number,
        "status": status,
        "impact": impact,
        "actions": actions,
        "next_update_at": next_update_at,
        "posted_at": now,
        "author": author,
        "message_ts": message_ts,
        "shared": shared,
    }
    return await insert_numbered(session, StatusUpdate, values, what="status update")


async def set_status_update_message(
    session: AsyncSession, *, update_id: int, message_ts: str | None, shared: bool | None = None
) -> StatusUpdate | None:
    """Remember where the update was posted (and whether it was shared beyond the channel)."""
    values: dict[str, Any] = {"message_ts": message_ts}
    if shared is not None:
        values["shared"] = shared
    result = await session.exec(
        update(StatusUpdate)
        .where(col(StatusUpdate.id) == update_id)
        .values(**values)
        .returning(StatusUpdate)
        .execution_options(**RETURNING_OPTIONS)
    )
    return cast(StatusUpdate | None, result.scalars().one_or_none())


async def list_status_updates(session: AsyncSession, *, incident_number: int) -> list[StatusUpdate]:
    """The incident's status updates ordered by ``seq``."""
    stmt = (
        select(StatusUpdate)
        .where(col(StatusUpdate.incident_number) == incident_number)
        .order_by(col(StatusUpdate.seq))
    )
    return list((await session.exec(stmt)).all())
