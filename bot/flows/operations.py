"""Running an incident: acknowledge, roles, status updates, severity.

Every operation has the same shape, read top to bottom: load the incident → check who may
(permissions.py) → check the state machine (lifecycle.py) → write the change with
compare-and-set and record the timeline (changes.py) → return the effects for Slack
(effects.py). A repeated request (double click, retried delivery) finds its idempotency key
or the state already changed, and changes nothing twice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

import store
from bot.flows.audiences import AudienceShift, shift
from bot.flows.changes import CAS_RETRIES, FINISHED, IncidentFlow, label, refuse_transition
from bot.flows.effects import (
    Acknowledged,
    Effect,
    Refresh,
    RoleAssigned,
    SeverityChanged,
    UpdatePosted,
)
from bot.flows.lifecycle import WORKING, Status, can_move
from bot.flows.metrics import closed_interval
from bot.flows.paging import page
from bot.flows.permissions import Refused
from bot.flows.publishing import PublicUpdate, publish
from bot.flows.timeline import TimelineKind


@dataclass(frozen=True)
class UpdateRequest:
    status: str
    impact: str
    actions: str
    next_in: timedelta | None
    share: bool
    public: PublicUpdate | None = None  # also to the public status page (when it may)


class IncidentOperations(IncidentFlow):
    # -- acknowledge ---------------------------------------------------------------------------
    async def acknowledge(self, number: int, *, user: str) -> list[Effect]:
        """First acknowledgement wins and stops the escalation chain; later ones are noted on
        the timeline and return no effects (see `already_acknowledged`)."""
        incident = await self.incident(number)
        await self.authorize(incident, user, "ack")
        now = self.clock.now()

        async def decide(current: store.Incident) -> dict[str, Any] | None:
            if current.acknowledged_at is not None:
                return None
            return {"acknowledged_at": now, "acknowledged_by": user}

        async def record(session: AsyncSession, _b: store.Incident, _a: store.Incident) -> None:
            await self._event(session, number, TimelineKind.ACKNOWLEDGED, "Acknowledged", user)
            await page(session, number=number, action="acknowledge", now=now)  # if paged

        def effects(_b: store.Incident, _a: store.Incident) -> list[Effect]:
            return [Acknowledged(number, by=user, at=now, first=True), Refresh(number)]

        changed = await self._change(number, decide, record, effects)
        if changed is not None:
            return changed.effects
        first = await self.incident(number)
        if first.acknowledged_by == user:
            return []  # the same person again (double click): nothing new
        # Someone else was first: noted on the timeline, told to this person only (the
        # caller answers privately); the channel already heard who is on it.
        async with self.sessions() as session:
            await store.add_timeline_event(
                session,
                incident_number=number,
                kind=TimelineKind.ACKNOWLEDGED_AGAIN.value,
                at=now,
                actor=user,
                text="Also acknowledged",
                dedupe_key=f"{number}:ack:{user}",
            )
            await session.commit()
        return []

    # -- roles ---------------------------------------------------------------------------------
    async def assign_roles(
        self, number: int, *, assignments: Mapping[str, str], by: str
    ) -> list[Effect]:
        """Give each role id its user; the previous holder's assignment is ended, not lost."""
        incident = await self.incident(number)
        await self.authorize(incident, by, "assign")
        return await self._assign(number, assignments=assignments, by=by)

    async def _assign(
        self, number: int, *, assignments: Mapping[str, str], by: str
    ) -> list[Effect]:
        """Compare-and-set on the incident's version, like every change: of N identical
        assignments racing (double submits, two replicas), one writes and the others re-read
        and find nothing to do, so there is one post, one DM, one timeline row."""
        lead = self.policy.lead_role.id
        roles = {}
        for role_id, user in assignments.items():
            role = self.policy.find_role(role_id)
            if role is None:
                raise Refused(self.unknown_role_text(role_id))
            roles[role.id] = (role, user)
        for _ in range(CAS_RETRIES):
            async with self.sessions() as session:
                incident = await store.get_incident(session, number=number)
                if incident is None:
                    raise Refused(f"{label(number)} does not exist.")
                holders = await store.current_roles(session, incident_number=number)
                wanted = {rid: pair for rid, pair in roles.items() if holders.get(rid) != pair[1]}
                if not wanted:
                    return []  # already theirs (or a duplicate that lost the race)
                claimed = await store.update_incident(
                    session, number=number, expected_version=incident.version, now=self.clock.now()
                )
                if claimed is None:
                    await session.rollback()
                    continue
                effects: list[Effect] = []
                for role_id, (role, user) in wanted.items():
                    _new, previous = await store.assign_role(
                        session,
                        incident_number=number,
                        role=role_id,
                        user_id=user,
                        assigned_by=by,
                        now=self.clock.now(),
                    )
                    text = f"{role.name}: <@{user}>"
                    await self._event(session, number, TimelineKind.ROLE_ASSIGNED, text, by)
                    effects.append(
                        RoleAssigned(
                            number,
                            role_id=role_id,
                            user=user,
                            previous=previous.user_id if previous else None,
                            by=by,
                        )
                    )
                effects.append(Refresh(number, topic=lead in wanted))
                queued = await self._enqueue(session, number, effects)
                await session.commit()
                return queued
        raise Refused(f"{label(number)} is changing too fast right now; please try again.")

    async def take_role(self, number: int, *, role_id: str, user: str) -> list[Effect]:
        """Taking a vacant role needs only to be allowed to post updates (a responder);
        taking one somebody holds is an assignment and needs the `assign` permission."""
        incident = await self.incident(number)
        role = self.policy.find_role(role_id)
        if role is None:
            raise Refused(self.unknown_role_text(role_id))
        async with self.sessions() as session:
            holders = await store.current_roles(session, incident_number=number)
        if holders.get(role.id) == user:
            return []
        vacant = holders.get(role.id) is None
        await self.authorize(incident, user, "update" if vacant else "assign")
        return await self._assign(number, assignments={role.id: user}, by=user)

    def unknown_role_text(self, given: str) -> str:
        roles = ", ".join(f"`{r.id}` ({r.name})" for r in self.policy.roles)
        return f"Unknown role `{given}`. Roles: {roles}."

    # -- status updates ------------------------------------------------------------------------
    async def post_update(
        self, number: int, *, by: str, request: UpdateRequest, key: str
    ) -> list[Effect]:
        """Store the update (and any status change) once per submission `key`."""
        incident = await self.incident(number)
        await self.authorize(incident, by, "update")
        target = _status(request.status, number)
        now = self.clock.now()
        share = request.share and not incident.private and not incident.drill
        seq = 0

        async def decide(current: store.Incident) -> dict[str, Any] | None:
            self._check_update_move(current, target)
            changes: dict[str, Any] = {"update_count": current.update_count + 1}
            changes |= closed_interval(current, self.policy, now=now)  # update adherence
            if target.value != current.status:
                changes |= self._transition(current, target)
            # The cadence counts from this update, by what it asked for ("next update in").
            changes["cadence_from_at"] = now
            changes["update_interval_seconds"] = (
                int(request.next_in.total_seconds()) if request.next_in is not None else None
            )
            changes["reminder_sent_for"] = None
            changes["snoozed_until"] = None
            changes["last_update_impact"] = request.impact
            changes["last_update_at"] = now
            return changes

        async def record(
            session: AsyncSession, before: store.Incident, after: store.Incident
        ) -> None:
            nonlocal seq
            if not await store.claim_idempotency_key(
                session, key=key, now=now, incident_number=number
            ):
                raise _Duplicate
            update = await store.add_status_update(
                session,
                incident_number=number,
                status=target.value,
                impact=request.impact,
                actions=request.actions,
                next_update_at=after.next_update_due_at,  # the deadline this update set
                author=by,
                now=now,
                shared=share,
            )
            seq = update.seq
            text = f"Update #{seq}: {request.impact}"
            await self._event(session, number, TimelineKind.STATUS_UPDATE, text, by)
            if before.status != target.value:
                text = f"Status {before.status} → {target.value}"
                await self._event(session, number, TimelineKind.STATUS_CHANGED, text, by)
            if request.public is not None:
                await publish(
                    session,
                    policy=self.policy,
                    incident=before,
                    status=target.value,
                    public=request.public,
                    by=by,
                    now=now,
                )

        def effects(before: store.Incident, _a: store.Incident) -> list[Effect]:
            topic = before.status != target.value
            return [UpdatePosted(number, seq=seq, share=share), Refresh(number, topic=topic)]

        try:
            changed = await self._change(number, decide, record, effects)
        except _Duplicate:
            return []
        return changed.effects if changed is not None else []

    def _check_update_move(self, incident: store.Incident, target: Status) -> None:
        """Updates move an open incident between the working statuses; resolving, closing and
        reopening have their own flows, with their own permissions and records."""
        current = Status(incident.status)
        number = incident.number or 0
        if current in FINISHED:
            if not can_move(current, target):
                raise refuse_transition(number, current, target)
            raise Refused(
                f"{label(number)} is {current.value}: `/incident reopen` brings it back to "
                f"{target.value} first."
            )
        if target not in WORKING:
            command = "resolve" if target == Status.RESOLVED else "close"
            if not can_move(current, target):
                raise refuse_transition(number, current, target)
            raise Refused(f"To {command} {label(number)}, use `/incident {command}`.")

    # -- severity ------------------------------------------------------------------------------
    async def change_severity(self, number: int, *, new: str, by: str) -> list[Effect]:
        incident = await self.incident(number)
        await self.authorize(incident, by, "severity")
        severity = self.policy.find_severity(new)
        if severity is None:
            known = ", ".join(self.policy.severity_ids)
            raise Refused(f"Unknown severity `{new}`. Severities: {known}.")
        if Status(incident.status) in (Status.CLOSED, Status.DECLINED):
            raise Refused(f"{label(number)} is {incident.status}; reopen it first.")

        async def decide(current: store.Incident) -> dict[str, Any] | None:
            if current.severity == severity.id:
                return None
            # The new severity's cadence applies at once (deadlines recompute the due time).
            changes: dict[str, Any] = {"severity": severity.id, "update_interval_seconds": None}
            raised = self.policy.rank(severity.id) < self.policy.rank(current.severity)
            if raised and current.acknowledged_at is None:
                # Onto the new severity's chain: the clock rings its latest step already
                # due (once), not every stale one.
                changes["escalation_level"] = 0
            return changes

        notify = False
        channels = AudienceShift()

        async def record(session: AsyncSession, before: store.Incident, _a: store.Incident) -> None:
            nonlocal notify, channels
            text = f"Severity {before.severity} → {severity.id}"
            await self._event(session, number, TimelineKind.SEVERITY_CHANGED, text, by)
            if not before.drill and severity.pages and before.acknowledged_at is None:
                await page(session, number=number, action="trigger", now=self.clock.now())
            if before.private or before.drill:
                return  # no audience outside the incident channel
            upgrade = self.policy.rank(severity.id) < self.policy.rank(before.severity)
            if upgrade:
                # Once per severity, decided with the change: P2 → P1 → P2 → P1 DMs the P1
                # people once.
                notify = await store.claim_idempotency_key(
                    session, key=f"{number}:notified:{severity.id}", now=self.clock.now()
                )
            told = await store.list_audiences(session, incident_number=number)
            channels = shift(
                self.policy,
                old=before.severity,
                new=severity.id,
                type_id=before.type,
                told={a.target for a in told},
            )
            fresh = await store.add_audiences(
                session, incident_number=number, targets=channels.fresh, now=self.clock.now()
            )
            channels = dataclasses.replace(channels, fresh=tuple(fresh))

        def effects(before: store.Incident, _a: store.Incident) -> list[Effect]:
            upgrade = self.policy.rank(severity.id) < self.policy.rank(before.severity)
            changed = SeverityChanged(
                number,
                old=before.severity,
                new=severity.id,
                by=by,
                upgrade=upgrade,
                notify=notify,
                fresh=channels.fresh,
                following=channels.following,
                leaving=channels.leaving,
            )
            return [changed, Refresh(number, topic=True)]

        changed = await self._change(number, decide, record, effects)
        return changed.effects if changed is not None else []


class _Duplicate(Exception):
    """This submission was already applied (its idempotency key exists)."""


def _status(value: str, number: int) -> Status:
    try:
        return Status(value)
    except ValueError:
        known = ", ".join(s.value for s in Status)
        raise Refused(f"Unknown status `{value}` for {label(number)}. Statuses: {known}.") from None
