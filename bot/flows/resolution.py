"""Ending an incident: resolve, close (with confirmation when action items are open), reopen."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

import store
from bot.flows.changes import IncidentFlow, label, refuse_transition
from bot.flows.deadlines import deadlines
from bot.flows.effects import Closed, Effect, PostmortemRequested, Refresh, Reopened, Resolved
from bot.flows.lifecycle import Status, can_move
from bot.flows.metrics import closed_interval
from bot.flows.paging import page
from bot.flows.permissions import Refused
from bot.flows.publishing import PublicUpdate, publish
from bot.flows.timeline import TimelineKind


@dataclass(frozen=True)
class Reflections:
    """First thoughts for the post-mortem, given with the resolution (all optional)."""

    contributing_factors: str | None = None
    went_well: str | None = None
    went_badly: str | None = None


@dataclass(frozen=True)
class CloseNeedsConfirmation:
    open_items: tuple[str, ...]


class Resolution(IncidentFlow):
    # -- resolve, close, reopen -----------------------------------------------------------------
    async def resolve(
        self,
        number: int,
        *,
        by: str,
        summary: str,
        root_cause: str | None,
        impact_ended_at: datetime | None,
        reflections: Reflections | None = None,
        public: PublicUpdate | None = None,
    ) -> list[Effect]:
        incident = await self.incident(number)
        await self.authorize(incident, by, "resolve")
        given = reflections or Reflections()
        now = self.clock.now()
        ended = min(impact_ended_at or now, now)

        async def decide(current: store.Incident) -> dict[str, Any] | None:
            if current.status == Status.RESOLVED.value:
                return None  # a double click: resolved once is enough
            changes = self._transition(current, Status.RESOLVED)
            changes |= closed_interval(current, self.policy, now=now)  # the last update's gap
            return changes | {
                "resolved_at": now,
                "resolution_summary": summary,
                "root_cause": root_cause or None,
                "impact_ended_at": ended,
                # Kept from an earlier resolution unless something new was said.
                "contributing_factors": given.contributing_factors or current.contributing_factors,
                "went_well": given.went_well or current.went_well,
                "went_badly": given.went_badly or current.went_badly,
            }

        async def record(session: AsyncSession, before: store.Incident, _a: store.Incident) -> None:
            await self._event(session, number, TimelineKind.RESOLVED, f"Resolved: {summary}", by)
            await page(session, number=number, action="resolve", now=now)  # if it was paged
            if public is not None:
                await publish(
                    session,
                    policy=self.policy,
                    incident=before,
                    status=Status.RESOLVED.value,
                    public=public,
                    by=by,
                    now=now,
                )

        def effects(_b: store.Incident, after: store.Incident) -> list[Effect]:
            severity = self.policy.find_severity(after.severity)
            draft: list[Effect] = []
            if severity is not None and severity.postmortem.required:
                draft.append(PostmortemRequested(number, by=by, reason="resolved"))
            return [
                Resolved(
                    number,
                    by=by,
                    summary=summary,
                    root_cause=root_cause or None,
                    duration=now - (after.started_at or after.declared_at),
                    postmortem_due_at=after.postmortem_due_at,
                ),
                Refresh(number, topic=True),
                *draft,
            ]

        changed = await self._change(number, decide, record, effects)
        return changed.effects if changed is not None else []

    async def close(
        self, number: int, *, by: str, confirmed: bool = False
    ) -> list[Effect] | CloseNeedsConfirmation:
        incident = await self.incident(number)
        await self.authorize(incident, by, "close")
        if incident.status == Status.CLOSED.value:
            return []
        if not can_move(Status(incident.status), Status.CLOSED):
            raise refuse_transition(number, Status(incident.status), Status.CLOSED)
        if not confirmed:
            async with self.sessions() as session:
                items = await store.list_action_items(
                    session, incident_number=number, include_done=False
                )
            if items:
                return CloseNeedsConfirmation(tuple(item.text for item in items))

        async def decide(current: store.Incident) -> dict[str, Any] | None:
            if current.status == Status.CLOSED.value:
                return None
            return self._transition(current, Status.CLOSED)

        async def record(session: AsyncSession, _b: store.Incident, _a: store.Incident) -> None:
            await self._event(session, number, TimelineKind.CLOSED, "Closed", by)

        def effects(_b: store.Incident, after: store.Incident) -> list[Effect]:
            closed = Closed(number, by=by, archive_at=deadlines(after, self.policy).archive_at)
            return [closed, Refresh(number, topic=True)]

        changed = await self._change(number, decide, record, effects)
        return changed.effects if changed is not None else []

    async def reopen(self, number: int, *, by: str) -> list[Effect]:
        incident = await self.incident(number)
        await self.authorize(incident, by, "resolve")
        current = Status(incident.status)
        if current not in (Status.RESOLVED, Status.CLOSED):
            raise Refused(
                f"{label(number)} is {current.value}: only a resolved or closed incident "
                "can be reopened."
            )
        now = self.clock.now()

        async def decide(current: store.Incident) -> dict[str, Any] | None:
            if Status(current.status) not in (Status.RESOLVED, Status.CLOSED):
                return None
            changes = self._transition(current, Status.INVESTIGATING)
            return changes | {
                "resolved_at": None,
                "closed_at": None,
                # The resolution was premature; the next one sets these again. The timeline
                # keeps what was said.
                "impact_ended_at": None,
                "resolution_summary": None,
                "root_cause": None,
                # Updates are due again on the cadence, counted from the reopening.
                "cadence_from_at": now,
                "update_interval_seconds": None,
                "reminder_sent_for": None,
                "snoozed_until": None,
            }

        async def record(session: AsyncSession, before: store.Incident, _a: store.Incident) -> None:
            text = f"Reopened from {before.status}"
            await self._event(session, number, TimelineKind.REOPENED, text, by)

        def effects(_b: store.Incident, _a: store.Incident) -> list[Effect]:
            return [Reopened(number, by=by), Refresh(number, topic=True)]

        changed = await self._change(number, decide, record, effects)
        return changed.effects if changed is not None else []
