"""Read-only questions: which incident a channel belongs to, summaries, visible lists."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

import store
from bot.flows.cards import ListedIncident, StatusSummary, UpdateCard
from bot.flows.lifecycle import OPEN_STATUSES
from bot.flows.permissions import Membership
from bot.flows.snapshot import card_of
from bot.policy import Policy


async def is_incident_channel(sessions: async_sessionmaker[AsyncSession], channel_id: str) -> bool:
    return await incident_in_channel(sessions, channel_id) is not None


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
    sessions: async_sessionmaker[AsyncSession], policy: Policy, number: int, *, now: datetime
) -> StatusSummary | None:
    async with sessions() as session:
        incident = await store.get_incident(session, number=number)
        if incident is None:
            return None
        roles = await store.current_roles(session, incident_number=number)
        updates = await store.list_status_updates(session, incident_number=number)
        items = await store.list_action_items(session, incident_number=number, include_done=False)
    return StatusSummary(
        card=card_of(policy, incident, roles),
        age=now - (incident.started_at or incident.declared_at),
        last_update=update_card(updates[-1]) if updates else None,
        next_update_due_at=incident.next_update_due_at,
        open_action_items=tuple(item.text for item in items),
        acknowledged_by=incident.acknowledged_by,
        acknowledged_at=incident.acknowledged_at,
    )


async def visible_open_incidents(
    sessions: async_sessionmaker[AsyncSession],
    policy: Policy,
    membership: Membership,
    *,
    user: str,
) -> list[ListedIncident]:
    """Open incidents, most severe first; private ones only for members of their channel."""
    async with sessions() as session:
        incidents = await store.list_incidents(session, statuses=[s.value for s in OPEN_STATUSES])
        lead = policy.lead_role.id
        listed: list[ListedIncident] = []
        for incident in incidents:
            if incident.number is None:
                continue
            if incident.private and not (
                incident.channel_id
                and await membership.is_member(channel=incident.channel_id, user=user)
            ):
                continue
            roles = await store.current_roles(session, incident_number=incident.number)
            severity = policy.find_severity(incident.severity)
            listed.append(
                ListedIncident(
                    number=incident.number,
                    title=incident.title,
                    severity_id=incident.severity,
                    severity_name=severity.name if severity else incident.severity,
                    status=incident.status,
                    channel_id=incident.channel_id,
                    private=incident.private,
                    commander=roles.get(lead),
                    declared_at=incident.declared_at,
                )
            )
    rank = {sid: index for index, sid in enumerate(policy.severity_ids)}
    return sorted(listed, key=lambda i: (rank.get(i.severity_id, len(rank)), i.number))
