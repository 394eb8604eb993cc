"""What the periodic digest lists besides the figures: a fixed number of bounded statements.

Drills, declined incidents and alerts still in triage are left out. Private incidents come
back flagged: the digest shows them only as a count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from store.models import ActionItem, Incident
from store.repo_common import require_aware

__all__ = ["DigestLists", "digest_lists"]

FINISHED = ("resolved", "closed", "declined")


@dataclass(frozen=True)
class DigestLists:
    declared: list[Incident]  # declared in the period, most severe first (public and private)
    still_open: list[Incident]
    overdue_postmortems: list[Incident]
    overdue_actions: list[tuple[ActionItem, Incident]]
    declared_total: int
    still_open_total: int


async def digest_lists(
    session: AsyncSession, *, since: datetime, until: datetime, now: datetime, limit: int
) -> DigestLists:
    """Each list holds at most `limit` rows; the totals say how many there are."""
    require_aware("since", since)
    require_aware("until", until)
    require_aware("now", now)
    counted = and_(
        col(Incident.drill).is_(False), col(Incident.status).not_in(("declined", "triage"))
    )
    in_period = and_(counted, col(Incident.declared_at) >= since, col(Incident.declared_at) < until)
    open_now = and_(
        col(Incident.drill).is_(False), col(Incident.status).not_in((*FINISHED, "triage"))
    )
    declared = (
        await session.exec(
            select(Incident)
            .where(in_period)
            .order_by(col(Incident.severity), col(Incident.declared_at))
            .limit(limit)
        )
    ).all()
    still_open = (
        await session.exec(
            select(Incident).where(open_now).order_by(col(Incident.declared_at)).limit(limit)
        )
    ).all()
    overdue_postmortems = (
        await session.exec(
            select(Incident)
            .where(
                counted,
                col(Incident.postmortem_due_at) < now,
                col(Incident.postmortem_done_at).is_(None),
            )
            .order_by(col(Incident.postmortem_due_at))
            .limit(limit)
        )
    ).all()
    overdue_actions = (
        await session.exec(
            select(ActionItem, Incident)
            .join(Incident, col(Incident.number) == col(ActionItem.incident_number))
            .where(counted, col(ActionItem.done).is_(False), col(ActionItem.due_at) < now)
            .order_by(col(ActionItem.due_at))
            .limit(limit)
        )
    ).all()
    declared_total = (
        await session.exec(select(func.count()).select_from(Incident).where(in_period))
    ).one()
    open_total = (
        await session.exec(select(func.count()).select_from(Incident).where(open_now))
    ).one()
    return DigestLists(
        declared=list(declared),
        still_open=list(still_open),
        overdue_postmortems=list(overdue_postmortems),
        overdue_actions=[(item, incident) for item, incident in overdue_actions],
        declared_total=int(declared_total),
        still_open_total=int(open_total),
    )
