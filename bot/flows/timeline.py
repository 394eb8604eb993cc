"""The timeline's vocabulary, and recording one event outside a change's transaction.

Only things a person would want in the incident's story are timeline events. Bookkeeping
(which provisioning steps ran, who was told what, which Slack deliveries were de-duplicated)
lives in the jobs' progress, never here.
"""

from __future__ import annotations

import json
import re
from enum import StrEnum

import structlog
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

import store
from bot.clock import Clock
from bot.flows.ports import SlackFailure, missing_scope_words
from bot.policy import Target

log = structlog.stdlib.get_logger(__name__)

# The job kind that tells people, once, about something warroom could not do (bot/jobs.py
# gives up with it; policy targets Slack does not know are told with it too).
NOTICE = "notice"


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
    ALERT = "alert"  # an alert group opened the incident, resolved, fired again
    DECLINED = "declined"
    STATUS_PAGE = "status_page"  # published to the public status page
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


# What each of Slack's answers means for a policy target, in plain words.
UNREACHABLE_WORDS = {
    "no_such_subteam": "does not exist in this workspace",
    "subteam_not_found": "does not exist in this workspace",
    "channel_not_found": "is not a channel warroom can see",
    "user_not_found": "is not a user in this workspace",
    "users_not_found": "is not a user in this workspace",
    "not_in_channel": "is a channel warroom is not a member of",
    "is_archived": "is an archived channel",
}


def unreachable_words(failure: SlackFailure) -> str:
    if failure.error == "missing_scope":
        return f"could not be reached ({missing_scope_words(failure.needed)})"
    return UNREACHABLE_WORDS.get(
        failure.error, f"could not be reached (Slack said {failure.error})"
    )


async def note_unreachable(
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    *,
    number: int,
    target: Target,
    failure: SlackFailure,
) -> None:
    """A policy target Slack does not know (a group, a channel): say so on the timeline and,
    once, to the commander in the incident channel, in plain words; carry on without it
    rather than retry what retrying cannot fix, and never report it as told."""
    log.warning("policy_target_unreachable", target=str(target), error=failure.error)
    now = clock.now()
    words = unreachable_words(failure)
    async with sessions() as session:
        event = await store.add_timeline_event(
            session,
            incident_number=number,
            kind=TimelineKind.POLICY_PROBLEM.value,
            at=now,
            text=f"Could not reach {target} ({failure.error}); check the policy",
            dedupe_key=f"{number}:unreachable:{target}",
        )
        if event is not None:
            await store.enqueue_job(
                session,
                key=f"{NOTICE}:unreachable:{number}:{target}",
                kind=NOTICE,
                incident_number=number,
                now=now,
                due_at=now,
                payload=json.dumps({"target": str(target), "why": words, "error": failure.error}),
            )
        await session.commit()
