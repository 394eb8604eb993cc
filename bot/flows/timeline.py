"""The timeline's vocabulary, and recording one event outside a change's transaction.

Only things a person would want in the incident's story are timeline events. Bookkeeping
(which provisioning steps ran, who was told what, which Slack deliveries were de-duplicated)
lives in the jobs' progress, never here.
"""

from __future__ import annotations

import re
from enum import StrEnum

import structlog
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

import store
from bot.clock import Clock
from bot.flows.ports import SlackFailure
from bot.policy import Target

log = structlog.stdlib.get_logger(__name__)


class TimelineKind(StrEnum):
    DECLARED = "declared"
    CHANNEL_CREATED = "channel_created"
    RESPONDERS_INVITED = "responders_invited"
    ANNOUNCED = "announced"
    ACKNOWLEDGED = "acknowledged"
    ACKNOWLEDGED_AGAIN = "acknowledged_again"
    ROLE_ASSIGNED = "role_assigned"
    STATUS_UPDATE = "status_update"
    STATUS_CHANGED = "status_changed"
    SEVERITY_CHANGED = "severity_changed"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"
    ARCHIVED = "archived"
    NOTE = "note"  # `/incident note`, by its author
    MESSAGE = "message"  # a Slack message captured with 📌, a pin or "Add to timeline"
    ACTION_ITEM = "action_item"
    ACTION_ITEM_DONE = "action_item_done"
    ACTION_ITEM_REOPENED = "action_item_reopened"
    POSTMORTEM_POSTED = "postmortem_posted"
    POSTMORTEM_DONE = "postmortem_done"
    REMINDED = "reminded"  # the clock reminded or nudged someone (bot/flows/alarms.py)
    ESCALATED = "escalated"
    POLICY_PROBLEM = "policy_problem"  # a policy target Slack does not know
    SLACK_FAILURE = "slack_failure"  # something warroom gave up on, as told to people


# A Slack mention as stored in a timeline text (warroom's "Technical Lead: <@U123>", or what
# Slack made of an "@bob" typed into a note). Shown as plain "@U123": readable, never a ping.
_MENTION = re.compile(r"<@([UW][A-Z0-9_]{1,40})(?:\|[^<>]{0,80})?>")
# Bookkeeping about the post-mortem itself, left out of the post-mortem it would describe.
LEFT_OUT_OF_DRAFT = frozenset({"postmortem_posted"})


def plain_mentions(text: str) -> str:
    return _MENTION.sub(r"@\1", text)


async def record_event(
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    *,
    number: int,
    kind: TimelineKind,
    text: str,
    actor: str | None = None,
    dedupe_key: str | None = None,
) -> bool:
    """True when recorded; False when `dedupe_key` was recorded before (nothing is written)."""
    async with sessions() as session:
        event = await store.add_timeline_event(
            session,
            incident_number=number,
            kind=kind.value,
            at=clock.now(),
            actor=actor,
            text=text,
            dedupe_key=dedupe_key,
        )
        await session.commit()
    return event is not None


async def note_unreachable(
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    *,
    number: int,
    target: Target,
    failure: SlackFailure,
) -> None:
    """A policy target Slack does not know (a group, a channel): say so on the timeline once
    and carry on without it, rather than retry what retrying cannot fix."""
    log.warning("policy_target_unreachable", target=str(target), error=failure.error)
    await record_event(
        sessions,
        clock,
        number=number,
        kind=TimelineKind.POLICY_PROBLEM,
        text=f"Could not reach {target} ({failure.error}); check the policy",
        dedupe_key=f"{number}:unreachable:{target}",
    )
