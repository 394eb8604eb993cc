"""Loading an incident with what rendering needs: the policy's names and the current roles."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

import store
from bot.flows.cards import IncidentCard, RoleLine
from bot.policy import Policy, format_duration


async def load_card(session: AsyncSession, policy: Policy, number: int) -> IncidentCard | None:
    incident = await store.get_incident(session, number=number)
    if incident is None:
        return None
    roles = await store.current_roles(session, incident_number=number)
    return card_of(policy, incident, roles)


def card_of(
    policy: Policy, incident: store.Incident, roles: dict[str, str], *, open_action_items: int = 0
) -> IncidentCard:
    if incident.number is None:
        raise ValueError("an incident card needs a stored incident")
    severity = policy.find_severity(incident.severity)
    kind = policy.find_incident_type(incident.type) if incident.type else None
    lead = policy.lead_role.id
    return IncidentCard(
        number=incident.number,
        title=incident.title,
        severity_id=incident.severity,
        severity_name=severity.name if severity is not None else incident.severity,
        status=incident.status,
        declared_by=incident.declared_by,
        declared_at=incident.declared_at,
        started_at=incident.started_at or incident.declared_at,
        description=incident.description,
        affected_services=", ".join(incident.affected_services),
        type_id=incident.type,
        type_name=kind.name if kind is not None else incident.type,
        private=incident.private,
        drill=incident.drill,
        channel_id=incident.channel_id,
        commander=roles.get(lead),
        roles=tuple(
            RoleLine(role_id=role.id, role_name=role.name, user_id=roles.get(role.id))
            for role in policy.roles
            if role.id != lead
        ),
        source_link=incident.source_message_link,
        runbook=kind.runbook if kind is not None else None,
        respond_within=(
            format_duration(severity.respond_within)
            if severity is not None and severity.respond_within is not None
            else None
        ),
        open_action_items=open_action_items,
        postmortem_link=incident.postmortem_link,
        statuspage_link=incident.statuspage_link,
        next_update_due_at=incident.next_update_due_at,
        acknowledged_by=incident.acknowledged_by,
        acknowledged_at=incident.acknowledged_at,
        last_update_impact=incident.last_update_impact,
        last_update_at=incident.last_update_at,
        update_count=incident.update_count,
        resolved_at=incident.resolved_at,
        update_intervals=incident.update_intervals,
        update_intervals_kept=incident.update_intervals_kept,
    )
