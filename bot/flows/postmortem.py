"""The post-mortem draft: what it is built from, read from the database in a fixed number of
queries. Rendering (Markdown, from a Jinja2 template) is `bot/templates/postmortem.py`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

import store
from bot.flows.timeline import LEFT_OUT_OF_DRAFT, plain_mentions
from bot.policy import Policy


@dataclass(frozen=True)
class RoleHolding:
    """One person in one role for a while (a hand-over ends one holding, starts the next)."""

    role_id: str
    role_name: str
    user: str  # Slack user id
    assigned_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True)
class TimelineLine:
    at: datetime  # for a captured message: the message's own time
    kind: str  # a TimelineKind value, or "message" for a captured Slack message
    actor: str | None  # Slack user id
    text: str  # as stored: raw user text, escaped by the renderer
    permalink: str | None


@dataclass(frozen=True)
class UpdateLine:
    seq: int
    posted_at: datetime
    status: str
    impact: str
    actions: str
    author: str


@dataclass(frozen=True)
class ActionLine:
    text: str
    owner: str | None
    due_on: date | None
    done: bool
    category: str | None  # detection, response, recovery, prevention
    priority: int | None  # 1 immediate, 2 planned project, 3 quick win, 4 consider alternative


@dataclass(frozen=True)
class PostmortemDraft:
    number: int
    title: str
    severity_id: str
    severity_name: str
    type_name: str | None
    status: str
    private: bool
    drill: bool
    channel_name: str | None
    declared_by: str
    declared_at: datetime
    started_at: datetime | None
    detected_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    identified_at: datetime | None
    mitigated_at: datetime | None
    resolved_at: datetime | None
    impact_ended_at: datetime | None
    closed_at: datetime | None
    description: str
    impact: str  # the latest status update's impact, else ""
    summary: str | None
    root_cause: str | None
    contributing_factors: str | None
    went_well: str | None
    went_badly: str | None
    postmortem_link: str | None
    roles: tuple[RoleHolding, ...]
    timeline: tuple[TimelineLine, ...]
    updates: tuple[UpdateLine, ...]
    action_items: tuple[ActionLine, ...]


async def load_draft(
    session: AsyncSession, policy: Policy, *, number: int
) -> PostmortemDraft | None:
    """Everything the draft shows of incident `number`, or None when there is no such incident.

    Five statements however long the incident ran (the incident, then each record list
    whole), so a 10 000-entry timeline costs the same number of round trips as a short one.
    """
    incident = await store.get_incident(session, number=number)
    if incident is None:
        return None
    history = await store.role_history(session, incident_number=number)
    events = await store.list_timeline_rows(session, incident_number=number)
    updates = await store.list_status_updates(session, incident_number=number)
    items = await store.list_action_items(session, incident_number=number)
    severity = policy.find_severity(incident.severity)
    kind = policy.find_incident_type(incident.type) if incident.type else None
    update_lines = tuple(
        UpdateLine(
            seq=u.seq,
            posted_at=u.posted_at,
            status=u.status,
            impact=u.impact,
            actions=u.actions,
            author=u.author,
        )
        for u in updates
    )
    return PostmortemDraft(
        number=number,
        title=incident.title,
        severity_id=incident.severity,
        severity_name=severity.name if severity is not None else incident.severity,
        type_name=kind.name if kind is not None else incident.type,
        status=incident.status,
        private=incident.private,
        drill=incident.drill,
        channel_name=incident.channel_name,
        declared_by=incident.declared_by,
        declared_at=incident.declared_at,
        started_at=incident.started_at,
        detected_at=incident.detected_at,
        acknowledged_at=incident.acknowledged_at,
        acknowledged_by=incident.acknowledged_by,
        identified_at=incident.identified_at,
        mitigated_at=incident.mitigated_at,
        resolved_at=incident.resolved_at,
        impact_ended_at=incident.impact_ended_at,
        closed_at=incident.closed_at,
        description=incident.description,
        impact=update_lines[-1].impact if update_lines else "",
        summary=incident.resolution_summary,
        root_cause=incident.root_cause,
        contributing_factors=incident.contributing_factors,
        went_well=incident.went_well,
        went_badly=incident.went_badly,
        postmortem_link=incident.postmortem_link,
        roles=_role_holdings(policy, history),
        timeline=tuple(
            TimelineLine(
                at=e.at,
                kind=e.kind,
                actor=e.actor,
                text=plain_mentions(e.text),
                permalink=e.permalink,
            )
            for e in events
            if e.kind not in LEFT_OUT_OF_DRAFT
        ),
        updates=update_lines,
        action_items=tuple(
            ActionLine(
                text=i.text,
                owner=i.owner,
                due_on=i.due_at.astimezone(UTC).date() if i.due_at is not None else None,
                done=i.done,
                category=i.category,
                priority=i.priority,
            )
            for i in items
        ),
    )


def _role_holdings(policy: Policy, history: list[store.RoleAssignment]) -> tuple[RoleHolding, ...]:
    """In the policy's role order (the lead first, as the panel shows them), each role's
    holders in the order they took it; roles the policy no longer has come last."""
    ranked: list[tuple[int, RoleHolding]] = []
    for assignment in history:
        role = policy.find_role(assignment.role)
        rank = policy.roles.index(role) if role is not None else len(policy.roles)
        holding = RoleHolding(
            role_id=assignment.role,
            role_name=role.name if role is not None else assignment.role,
            user=assignment.user_id,
            assigned_at=assignment.assigned_at,
            ended_at=assignment.ended_at,
        )
        ranked.append((rank, holding))
    # Stable: within a role, history's assignment order stays.
    ranked.sort(key=lambda pair: pair[0])
    return tuple(holding for _, holding in ranked)
