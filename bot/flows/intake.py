"""Alerts in: a firing group opens a triage incident once; every later delivery of the group
while its incident is open updates it; people declare or decline it.

Alertmanager re-sends a group every `group_interval` when it changes and every
`repeat_interval` when it does not, and retries failed deliveries: each of those is the same
incident. One open `IncidentAlert` row per (source, group key) — a unique partial index —
decides races between deliveries and replicas. Nothing here calls Slack: the triage message
is a job (`alert_message:<n>`) the caller runs after answering the sender.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

import store
from bot.clock import Clock
from bot.flows.alerts import ALERT_MESSAGE_JOB, AlertGroup, alert_message_key
from bot.flows.changes import FINISHED, label
from bot.flows.declare import DeclareRequest, provision_key, record_declaration
from bot.flows.lifecycle import Status
from bot.flows.permissions import Refused
from bot.flows.timeline import TimelineKind
from bot.policy import Policy

RACE_RETRIES = 3


@dataclass(frozen=True)
class Received:
    number: int | None  # the incident the delivery is about (None: nothing open to resolve)
    created: bool
    jobs: tuple[str, ...] = ()  # to run now, after answering the sender


def alert_details(group: AlertGroup) -> dict[str, Any]:
    """What the triage message shows (stored with the group, JSON)."""
    return {
        "title": group.title,
        "description": group.description,
        "labels": [list(pair) for pair in group.labels],
        "links": [list(pair) for pair in group.links],
        "started_at": group.started_at.isoformat() if group.started_at else None,
    }


def mapped_severity(policy: Policy, value: str | None) -> str | None:
    """The policy's severity for an alert's severity label value (case-insensitive)."""
    if value is None:
        return None
    by_value = {k.lower(): v for k, v in policy.alerts.severity_map.items()}
    wanted = by_value.get(value.strip().lower())
    found = policy.find_severity(wanted) if wanted else None
    return found.id if found is not None else None


def auto_declares(policy: Policy, value: str | None) -> bool:
    """Whether the policy declares alerts with this severity label value at once."""
    wanted = {v.strip().lower() for v in policy.alerts.auto_declare}
    return value is not None and value.strip().lower() in wanted


class AlertIntake:
    def __init__(
        self, *, sessions: async_sessionmaker[AsyncSession], policy: Policy, clock: Clock
    ) -> None:
        self.sessions = sessions
        self.policy = policy
        self.clock = clock

    async def receive(self, group: AlertGroup, *, opened_by: str) -> Received:
        """Store one delivery. `opened_by`: who a new triage incident is declared by (the
        bot's own user)."""
        now = self.clock.now()
        for _ in range(RACE_RETRIES):
            async with self.sessions() as session:
                found = await store.open_incident_alert(
                    session, source=group.source, group_key=group.group_key
                )
                if found is not None:
                    alert, incident = found
                    if Status(incident.status) in FINISHED:
                        # Its incident is over: the group's next firing is a new incident.
                        await store.close_incident_alert(session, alert_id=_id(alert))
                        await session.commit()
                        continue
                    again = await self._again(session, alert, incident, group, now)
                    await session.commit()
                    return again
                if group.status == "resolved":
                    return Received(number=None, created=False)  # nothing open: nothing to do
                received = await self._open(session, group, opened_by, now)
                if received is None:
                    await session.rollback()  # another delivery opened it first: update that
                    continue
                await session.commit()
                return received
        raise Refused("This alert group is changing too fast; the sender will retry.")

    async def _open(
        self, session: AsyncSession, group: AlertGroup, opened_by: str, now: datetime
    ) -> Received | None:
        severity = mapped_severity(self.policy, group.severity_value)
        incident = await store.create_incident(
            session,
            title=group.title,
            severity=severity or self.policy.severities[-1].id,
            status=Status.TRIAGE.value,
            declared_by=opened_by,
            declared_at=now,
            detected_at=now,
            started_at=min(group.started_at or now, now),
            description=group.description,
        )
        number = _number(incident)
        alert_id = await store.add_incident_alert(
            session,
            values={
                "source": group.source,
                "group_key": group.group_key,
                "incident_number": number,
                "status": group.status,
                "firing": group.firing,
                "resolved": group.resolved,
                "severity_value": group.severity_value,
                "details": alert_details(group),
            },
            now=now,
        )
        if alert_id is None:
            return None
        await store.add_timeline_event(
            session,
            incident_number=number,
            kind=TimelineKind.ALERT.value,
            at=now,
            text=f"Alert from {group.source}: {group.title}",
        )
        key = await self._message(session, number, now, refresh=False)
        if severity is None or not auto_declares(self.policy, group.severity_value):
            return Received(number=number, created=True, jobs=(key,))
        # The policy declares this one at once: the channel is provisioned as for a Declare.
        request = DeclareRequest(
            declarer=opened_by,
            title=group.title,
            severity=severity,
            description=group.description,
            triage_number=number,
            automatic=True,
        )
        await record_declaration(session, self.policy, request, now=now)
        return Received(number=number, created=True, jobs=(key, provision_key(number)))

    async def _again(
        self,
        session: AsyncSession,
        alert: store.IncidentAlert,
        incident: store.Incident,
        group: AlertGroup,
        now: datetime,
    ) -> Received:
        number = _number(incident)
        was = alert.status  # before the update (which refreshes the session's copy)
        await store.update_incident_alert(
            session,
            alert_id=_id(alert),
            now=now,
            status=group.status,
            firing=group.firing,
            resolved=group.resolved,
            severity_value=group.severity_value,
            details=alert_details(group),
        )
        if group.status != was and incident.status != Status.TRIAGE.value:
            # Declared: the alerts' own news goes on the timeline (a human resolves).
            words = "Alerts resolved" if group.status == "resolved" else "Alerts firing again"
            await store.add_timeline_event(
                session,
                incident_number=number,
                kind=TimelineKind.ALERT.value,
                at=now,
                text=f"{words} ({group.source})",
            )
        key = await self._message(session, number, now)
        return Received(number=number, created=False, jobs=(key,))

    async def _message(
        self, session: AsyncSession, number: int, now: datetime, *, refresh: bool = True
    ) -> str:
        """The triage message follows the group: posted once, then edited after each change.
        Returns the job's key."""
        key = alert_message_key(number, refresh=refresh)
        await store.enqueue_job(
            session, key=key, kind=ALERT_MESSAGE_JOB, incident_number=number, due_at=now, now=now
        )
        return key

    async def decline(self, number: int, *, by: str, reason: str) -> str | None:
        """Triage → declined, with why; the message says so. Returns the job to run now."""
        now = self.clock.now()
        async with self.sessions() as session:
            incident = await store.get_incident(session, number=number)
            if incident is None:
                raise Refused(f"{label(number)} does not exist.")
            if incident.status != Status.TRIAGE.value:
                raise Refused(f"{label(number)} is {incident.status} already.")
            changed = await store.update_incident(
                session,
                number=number,
                expected_version=incident.version,
                now=now,
                status=Status.DECLINED.value,
                declined_at=now,
            )
            if changed is None:
                raise Refused(f"{label(number)} just changed; look again.")
            alert = await store.alert_of_incident(session, incident_number=number)
            if alert is not None:
                await store.close_incident_alert(
                    session, alert_id=_id(alert), declined_by=by, decline_reason=reason
                )
            await store.add_timeline_event(
                session,
                incident_number=number,
                kind=TimelineKind.DECLINED.value,
                at=now,
                actor=by,
                text=f"Declined: {reason}" if reason else "Declined",
            )
            key = await self._message(session, number, now)
            await session.commit()
        return key


def _id(alert: store.IncidentAlert) -> int:
    if alert.id is None:
        raise ValueError("a stored alert has an id")
    return alert.id


def _number(incident: store.Incident) -> int:
    if incident.number is None:
        raise ValueError("a stored incident has a number")
    return incident.number
