"""The plumbing every incident operation shares: load, authorize, compare-and-set, record.

`IncidentFlow._change` is the one place a change is written: it re-reads the incident,
asks the operation what to change, writes it only if nobody changed the incident meanwhile
(compare-and-set on `version`), and records the timeline in the same transaction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

import store
from bot.clock import Clock
from bot.flows.alarms import next_alarm_at
from bot.flows.deadlines import with_deadlines
from bot.flows.effects import EFFECT_JOB, Effect, encode, new_job_key
from bot.flows.lifecycle import Status, can_move, legal_next
from bot.flows.permissions import Refused, authorize
from bot.flows.timeline import TimelineKind
from bot.jobs import enqueue
from bot.policy import PermissionAction, Policy

ARCHIVE_JOB = "archive"
CLOCK_JOB = "clock"


def archive_key(number: int) -> str:
    """The one archive job of an incident (rescheduled by a second close, cancelled by reopen)."""
    return f"{ARCHIVE_JOB}:{number}"


def clock_key(number: int) -> str:
    """The one clock job of an incident: due at its earliest alarm (bot/flows/alarms.py)."""
    return f"{CLOCK_JOB}:{number}"


async def schedule_clock(
    session: AsyncSession, incident: store.Incident, policy: Policy, *, now: datetime
) -> None:
    """Keep the incident's clock job due at its next alarm (none: cancelled)."""
    number = _number(incident)
    due = next_alarm_at(incident, policy)
    if due is None:
        await store.cancel_job(session, key=clock_key(number), now=now)
        return
    await store.reschedule_job(
        session, key=clock_key(number), kind=CLOCK_JOB, incident_number=number, due_at=due, now=now
    )


CAS_RETRIES = 5
# First time an incident reaches a status, the matching timestamp is stamped (for metrics).
STAMPS = {
    Status.IDENTIFIED: "identified_at",
    Status.MONITORING: "mitigated_at",
    Status.RESOLVED: "resolved_at",
    Status.CLOSED: "closed_at",
    Status.DECLINED: "declined_at",
}
FINISHED = (Status.RESOLVED, Status.CLOSED, Status.DECLINED)


@dataclass(frozen=True)
class Changed:
    before: store.Incident
    after: store.Incident
    effects: list[Effect]


def label(number: int) -> str:
    return f"INC-{number}"


def refuse_transition(number: int, current: Status, target: Status) -> Refused:
    options = ", ".join(s.value for s in legal_next(current)) or "nothing (it is final)"
    return Refused(
        f"{label(number)} is {current.value}: it cannot move to {target.value}. "
        f"From {current.value} it can go to: {options}."
    )


class IncidentFlow:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        policy: Policy,
        clock: Clock,
    ) -> None:
        self.sessions = sessions
        self.policy = policy
        self.clock = clock

    async def incident(self, number: int) -> store.Incident:
        async with self.sessions() as session:
            incident = await store.get_incident(session, number=number)
        if incident is None:
            raise Refused(f"{label(number)} does not exist.")
        return incident

    async def authorize(
        self, incident: store.Incident, user: str, action: PermissionAction
    ) -> None:
        """Who may comes from the database only (roles, recorded channel membership): never a
        Slack call, so a refusal or a go-ahead is known before the ack."""
        async with self.sessions() as session:
            roles = await store.current_roles(session, incident_number=_number(incident))

            async def is_member() -> bool:
                channel = incident.channel_id
                return channel is not None and await store.is_channel_member(
                    session, channel_id=channel, user_id=user
                )

            authorize(
                self.policy,
                action=action,
                user=user,
                roles=roles,
                label=label(_number(incident)),
                member=await is_member() if "members" in self.policy.allowed(action) else False,
            )

    async def _change(
        self,
        number: int,
        decide: Callable[[store.Incident], Awaitable[dict[str, Any] | None]],
        record: Callable[[AsyncSession, store.Incident, store.Incident], Awaitable[None]],
        effects: Callable[[store.Incident, store.Incident], list[Effect]],
    ) -> Changed | None:
        """Compare-and-set loop: `decide` returns the changes (None: nothing to do), `record`
        adds the rows that go with them, and `effects` are queued for Slack, all in the same
        transaction: a change is never stored without what Slack must be told of it."""
        for _ in range(CAS_RETRIES):
            async with self.sessions() as session:
                before = await store.get_incident(session, number=number)
                if before is None:
                    raise Refused(f"{label(number)} does not exist.")
                changes = await decide(before)
                if changes is None:
                    return None
                # The update refreshes the session's copy in place: keep what it was before.
                before = store.Incident.model_validate(before.model_dump())
                after = await store.update_incident(
                    session,
                    number=number,
                    expected_version=before.version,
                    now=self.clock.now(),
                    **with_deadlines(before, self.policy, changes),
                )
                if after is None:
                    await session.rollback()
                    continue  # someone else changed it first: decide again on fresh state
                await self._schedule(session, before, after)
                await record(session, before, after)
                queued = await self._enqueue(session, number, effects(before, after))
                await session.commit()
                return Changed(before, after, queued)
        raise Refused(f"{label(number)} is changing too fast right now; please try again.")

    async def _enqueue(
        self,
        session: AsyncSession,
        number: int,
        effects: list[Effect],
        *,
        keys: list[str] | None = None,
        due_at: datetime | None = None,
    ) -> list[Effect]:
        return await enqueue_effects(
            session, number=number, effects=effects, now=self.clock.now(), keys=keys, due_at=due_at
        )

    async def _schedule(
        self, session: AsyncSession, before: store.Incident, after: store.Incident
    ) -> None:
        """Keep the time-driven jobs in step with the deadlines just written."""
        if next_alarm_at(before, self.policy) != next_alarm_at(after, self.policy):
            await schedule_clock(session, after, self.policy, now=self.clock.now())
        if before.archive_at == after.archive_at:
            return
        key = archive_key(_number(after))
        if after.archive_at is None:
            await store.cancel_job(session, key=key, now=self.clock.now())
            return
        await store.reschedule_job(
            session,
            key=key,
            kind=ARCHIVE_JOB,
            incident_number=_number(after),
            due_at=after.archive_at,
            now=self.clock.now(),
        )

    async def _event(
        self,
        session: AsyncSession,
        number: int,
        kind: TimelineKind,
        text: str,
        actor: str | None,
        dedupe_key: str | None = None,
    ) -> None:
        await store.add_timeline_event(
            session,
            incident_number=number,
            kind=kind,
            at=self.clock.now(),
            actor=actor,
            text=text,
            dedupe_key=dedupe_key,
        )

    def _transition(self, incident: store.Incident, target: Status) -> dict[str, Any]:
        """The changes of a legal status move, or `Refused` naming the legal ones."""
        current = Status(incident.status)
        if not can_move(current, target):
            raise refuse_transition(_number(incident), current, target)
        changes: dict[str, Any] = {"status": target.value}
        stamp = STAMPS.get(target)
        if stamp is not None and getattr(incident, stamp) is None:
            changes[stamp] = self.clock.now()
        return changes


def _number(incident: store.Incident) -> int:
    if incident.number is None:
        raise ValueError("a stored incident has a number")
    return incident.number


async def enqueue_effects(
    session: AsyncSession,
    *,
    number: int,
    effects: list[Effect],
    now: datetime,
    keys: list[str] | None = None,
    due_at: datetime | None = None,
) -> list[Effect]:
    """Store `effects` as jobs of the incident (the outbox); returns them with their job.
    `keys`: the jobs' keys when they must be unique to what caused them (an alarm's slot),
    so that the same cause can never store the same effect twice."""
    job_keys = keys or [new_job_key() for _ in effects]
    queued = [dataclasses.replace(e, job=k) for e, k in zip(effects, job_keys, strict=True)]
    for effect in queued:
        await enqueue(
            session,
            key=str(effect.job),
            kind=EFFECT_JOB,
            incident_number=number,
            now=now,
            payload=encode(effect),
            due_at=due_at,
        )
    return queued
