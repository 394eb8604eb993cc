"""Read-only questions: which incident a channel belongs to, summaries, visible lists."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

import store
from bot.flows.cards import ListedIncident, StatusSummary, UpdateCard
from bot.flows.lifecycle import OPEN_STATUSES
from bot.flows.snapshot import card_of
from bot.policy import Policy


async def incident_in_channel(
    sessions: async_sessionmaker[AsyncSession], channel_id: str
) -> store.Incident | None:
    if not channel_id:
        return None
    async with sessions() as session:
        return await store.get_incident_by_channel(session, channel_id=channel_id)


def update_card(update: store.StatusUpdate) -> UpdateCard:
    return UpdateCard(
        seq=update.seq,
        status=update.status,
        impact=update.impact,
        actions=update.actions,
        next_update_at=update.next_update_at,
        author=update.author,
        posted_at=update.posted_at,
    )


async def status_summary(
    sessions: async_sessionmaker[AsyncSession],
    policy: Policy,
    incident: store.Incident,
    *,
    now: datetime,
) -> StatusSummary:
    """The summary of an incident already loaded: one more query (roles, last update and open
    action items together)."""
    number = incident.number or 0
    async with sessions() as session:
        records = await store.incident_records(session, incident_number=number)
    last = records.last_update
    return StatusSummary(
        card=card_of(policy, incident, records.roles),
        age=now - (incident.started_at or incident.declared_at),
        last_update=update_card(last) if last is not None else None,
        next_update_due_at=incident.next_update_due_at,
        open_action_items=tuple(records.open_items),
        acknowledged_by=incident.acknowledged_by,
        acknowledged_at=incident.acknowledged_at,
    )


async def visible_open_incidents(
    sessions: async_sessionmaker[AsyncSession], policy: Policy, *, user: str
) -> list[ListedIncident]:
    """Open incidents, most severe first; private ones only for recorded members of their
    channel. One query, no Slack call: an incident whose membership warroom does not know is
    left out for that incident only."""
    async with sessions() as session:
        found = await store.list_visible_incidents(
            session,
            user_id=user,
            statuses=[s.value for s in OPEN_STATUSES],
            lead_role=policy.lead_role.id,
        )
    names = {severity.id: severity.name for severity in policy.severities}
    listed = [
        ListedIncident(
            number=row.number,
            title=row.title,
            severity_id=row.severity,
            severity_name=names.get(row.severity, row.severity),
            status=row.status,
            channel_id=row.channel_id,
            private=row.private,
            commander=row.lead,
            declared_at=row.declared_at,
            drill=row.drill,
        )
        for row in found
    ]
    rank = {sid: index for index, sid in enumerate(policy.severity_ids)}
    return sorted(listed, key=lambda i: (rank.get(i.severity_id, len(rank)), i.number))
