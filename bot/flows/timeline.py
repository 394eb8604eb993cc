"""Recording one timeline event in its own transaction (for work done outside a change)."""

from __future__ import annotations

import structlog
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

import store
from bot.clock import Clock
from bot.flows.ports import SlackFailure
from bot.policy import Target

log = structlog.stdlib.get_logger(__name__)


async def record_event(
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    *,
    number: int,
    kind: str,
    text: str,
    actor: str | None = None,
    dedupe_key: str | None = None,
) -> bool:
    """True when recorded; False when `dedupe_key` was recorded before (nothing is written)."""
    async with sessions() as session:
        event = await store.add_timeline_event(
            session,
            incident_number=number,
            kind=kind,
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
        kind="policy_problem",
        text=f"Could not reach {target} ({failure.error}); check the policy",
        dedupe_key=f"{number}:unreachable:{target}",
    )
