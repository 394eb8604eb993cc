"""Alert groups and their incidents (see `IncidentAlert`). Single conditional statements: two
deliveries of one group racing (Alertmanager retries, two replicas) open one incident."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, literal_column, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from store.models import Incident, IncidentAlert
from store.repo_common import insert_ignoring_conflict, require_aware

__all__ = [
    "add_incident_alert",
    "alert_of_incident",
    "close_incident_alert",
    "open_incident_alert",
    "set_alert_message",
    "update_incident_alert",
]


async def open_incident_alert(
    session: AsyncSession, *, source: str, group_key: str
) -> tuple[IncidentAlert, Incident] | None:
    """The group's open row and its incident, if any."""
    stmt = (
        select(IncidentAlert, Incident)
        .join(Incident, col(Incident.number) == col(IncidentAlert.incident_number))
        .where(
            col(IncidentAlert.source) == source,
            col(IncidentAlert.group_key) == group_key,
            col(IncidentAlert.is_open).is_(True),
        )
    )
    found = (await session.exec(stmt)).first()
    return (found[0], found[1]) if found is not None else None


async def add_incident_alert(
    session: AsyncSession, *, values: dict[str, Any], now: datetime
) -> int | None:
    """Insert the group's open row; None when another delivery opened it first."""
    require_aware("now", now)
    row = {
        "is_open": True,
        "deliveries": 1,
        "first_seen_at": now,
        "last_seen_at": now,
        **values,
    }
    stmt = insert_ignoring_conflict(
        session,
        IncidentAlert,
        row,
        index_elements=["source", "group_key"],
        # The index's own predicate, word for word (conflict inference matches it).
        index_where=literal_column("is_open", Boolean()),
    ).returning(col(IncidentAlert.id))
    inserted = (await session.exec(stmt)).first()
    return int(inserted[0]) if inserted is not None else None


async def update_incident_alert(
    session: AsyncSession, *, alert_id: int, now: datetime, **values: Any
) -> None:
    """A repeated delivery: the latest counts and details, one more delivery."""
    require_aware("now", now)
    await session.exec(
        update(IncidentAlert)
        .where(col(IncidentAlert.id) == alert_id)
        .values(deliveries=col(IncidentAlert.deliveries) + 1, last_seen_at=now, **values)
    )


async def close_incident_alert(session: AsyncSession, *, alert_id: int, **values: Any) -> None:
    """Its incident is over (or declined): the group's next firing opens a new one."""
    await session.exec(
        update(IncidentAlert)
        .where(col(IncidentAlert.id) == alert_id)
        .values(is_open=False, **values)
    )


async def set_alert_message(
    session: AsyncSession, *, alert_id: int, channel_id: str, message_ts: str
) -> None:
    await session.exec(
        update(IncidentAlert)
        .where(col(IncidentAlert.id) == alert_id, col(IncidentAlert.message_ts).is_(None))
        .values(message_channel_id=channel_id, message_ts=message_ts)
    )


async def alert_of_incident(session: AsyncSession, *, incident_number: int) -> IncidentAlert | None:
    """The (latest) alert group that opened the incident, if an alert did."""
    stmt = (
        select(IncidentAlert)
        .where(col(IncidentAlert.incident_number) == incident_number)
        .order_by(col(IncidentAlert.id).desc())
        .execution_options(populate_existing=True)
    )
    return (await session.exec(stmt)).first()
