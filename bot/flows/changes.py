"""The plumbing every incident operation shares: load, authorize, compare-and-set, record.

`IncidentFlow._change` is the one place a change is written: it re-reads the incident,
asks the operation what to change, writes it only if nobody changed the incident meanwhile
(compare-and-set on `version`), and records the timeline in the same transaction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

import store
from bot.clock import Clock
from bot.flows.effects import Effect, encode, new_step_name
from bot.flows.lifecycle import Status, can_move, legal_next
from bot.flows.permissions import Membership, Refused, authorize
from bot.policy import PermissionAction, Policy

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
        membership: Membership,
    ) -> None:
        self.sessions = sessions
        self.policy = policy
        self.clock = clock
        self.membership = membership

    async def incident(self, number: int) -> store.Incident:
        async with self.sessions() as session:
            incident = await store.get_incident(session, number=number)
        if incident is None:
            raise Refused(f"{label(number)} does not exist.")
        return incident

    async def authorize(
        self, incident: store.Incident, user: str, action: PermissionAction
    ) -> None:
        async with self.sessions() as session:
            roles = await store.current_roles(session, incident_number=_number(incident))
        await authorize(
            self.policy,
            self.membership,
            action=action,
            user=user,
            roles=roles,
            channel=incident.channel_id,
            label=label(_number(incident)),
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
                    **changes,
                )
                if after is None:
                    await session.rollback()
                    continue  # someone else changed it first: decide again on fresh state
                await record(session, before, after)
                queued = await self._enqueue(session, number, effects(before, after))
                await session.commit()
                return Changed(before, after, queued)
        raise Refused(f"{label(number)} is changing too fast right now; please try again.")

    async def _enqueue(
        self, session: AsyncSession, number: int, effects: list[Effect]
    ) -> list[Effect]:
        """Store `effects` as outbox steps of the incident; returns them with their step."""
        queued = [dataclasses.replace(effect, step=new_step_name()) for effect in effects]
        if not queued:
            return []
        now = self.clock.now()
        steps = [effect.step for effect in queued if effect.step is not None]
        await store.ensure_steps(session, incident_number=number, steps=steps, now=now)
        for effect in queued:
            await store.record_step_result(
                session, incident_number=number, step=str(effect.step), now=now,
                result=encode(effect),
            )  # fmt: skip
        return queued

    async def _event(
        self,
        session: AsyncSession,
        number: int,
        kind: str,
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
        if target in FINISHED:
            changes["next_update_due_at"] = None  # no more reminders for a finished incident
        return changes

    def _cadence(self, severity_id: str) -> timedelta | None:
        severity = self.policy.find_severity(severity_id)
        return severity.update_every if severity is not None else None


def _number(incident: store.Incident) -> int:
    if incident.number is None:
        raise ValueError("a stored incident has a number")
    return incident.number
