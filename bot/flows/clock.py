"""The incident clock: ring what is due, snooze the update reminder.

`ring` is what the `clock` job runs (any replica, after a restart, late or on time): it reads
the incident, records every due alarm as served with compare-and-set on the incident's
version, and stores one effect per alarm under a key made of the alarm and its slot, in the
same transaction. Two rings of the same slot can therefore never tell anyone twice; an update
or an acknowledgement committed a moment earlier wins (the alarm is no longer due).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import store
from bot.flows.alarms import Alarm, AlarmKind, due_alarms, next_alarm_at, served
from bot.flows.changes import CAS_RETRIES, IncidentFlow, label
from bot.flows.deadlines import with_deadlines
from bot.flows.effects import AlarmRang, Effect, Refresh
from bot.flows.lifecycle import WORKING, Status
from bot.flows.paging import page
from bot.flows.permissions import Refused
from bot.flows.timeline import TimelineKind
from bot.policy import format_duration


@dataclass(frozen=True)
class Rung:
    effects: list[Effect]  # to deliver now
    next_at: datetime | None  # when the clock should ring next (None: nothing left)


def alarm_key(number: int, alarm: str, slot: datetime, step: int | None = None) -> str:
    suffix = f":{step}" if step is not None else ""
    return f"alarm:{number}:{alarm}:{slot.timestamp():.3f}{suffix}"


class IncidentClock(IncidentFlow):
    async def ring(self, number: int) -> Rung:
        for _ in range(CAS_RETRIES):
            now = self.clock.now()
            async with self.sessions() as session:
                incident = await store.get_incident(session, number=number)
                if incident is None:
                    return Rung([], None)
                rung = due_alarms(incident, self.policy, now)
                if not rung:
                    return Rung([], next_alarm_at(incident, self.policy))
                roles = await store.current_roles(session, incident_number=number)
                changes: dict[str, Any] = {}
                for alarm in rung:
                    changes |= served(incident, self.policy, alarm, now)
                after = await store.update_incident(
                    session,
                    number=number,
                    expected_version=incident.version,
                    now=now,
                    **with_deadlines(incident, self.policy, changes),
                )
                if after is None:
                    await session.rollback()
                    continue  # changed meanwhile: look again
                # Nobody to nudge when someone already leads.
                wanted = [
                    a
                    for a in rung
                    if a.kind != AlarmKind.ROLES or self.policy.lead_role.id not in roles
                ]
                for alarm in wanted:
                    if alarm.kind == AlarmKind.ESCALATION and not incident.drill:
                        step = self.policy.severity(incident.severity).escalation[alarm.step or 0]
                        if step.pages:  # `pagerduty` in the step's notify: paged once
                            await page(session, number=number, action="trigger", now=now)
                    text = self._alarm_text(incident, alarm)
                    kind = (
                        TimelineKind.ESCALATED
                        if alarm.kind == AlarmKind.ESCALATION
                        else TimelineKind.REMINDED
                    )
                    await self._event(session, number, kind, text, None)
                effects: list[Effect] = [
                    AlarmRang(number, alarm=a.kind.value, slot=a.slot, step=a.step) for a in wanted
                ]
                keys = [alarm_key(number, a.kind.value, a.slot, a.step) for a in wanted]
                if any(a.kind == AlarmKind.ESCALATION for a in wanted):
                    effects.append(Refresh(number))
                    keys.append(alarm_key(number, "refresh", now))
                queued = await self._enqueue(session, number, effects, keys=keys, due_at=now)
                await session.commit()
                return Rung(queued, next_alarm_at(after, self.policy))
        raise RuntimeError(f"{label(number)} kept changing while its clock rang")

    def _alarm_text(self, incident: store.Incident, alarm: Alarm) -> str:
        match alarm.kind:
            case AlarmKind.UPDATE:
                return "Reminded to post a status update"
            case AlarmKind.ACK:
                return "Nobody had acknowledged yet: told the channel"
            case AlarmKind.ESCALATION:
                step = self.policy.severity(incident.severity).escalation[alarm.step or 0]
                named = (*(["PagerDuty"] if step.pages else []), *step.notify, *step.invite)
                targets = ", ".join(str(t) for t in named)
                after = format_duration(step.after)
                return f"Escalated (step {(alarm.step or 0) + 1}, after {after}): {targets}"
            case AlarmKind.ROLES:
                return "Nobody had taken command: nudged the channel"
            case AlarmKind.POSTMORTEM:
                return "Reminded the commander of the post-mortem"
            case AlarmKind.STALE:
                return "Open for a long time: asked to resolve or update"
        return "Reminded"

    async def snooze(self, number: int, *, by: str, seconds: int) -> list[Effect]:
        """Delay the pending update reminder once by one of the policy's `snooze` durations;
        the cadence itself does not change."""
        incident = await self.incident(number)
        await self.authorize(incident, by, "update")
        delay = timedelta(seconds=seconds)
        if delay not in self.policy.snooze:
            choices = ", ".join(format_duration(d) for d in self.policy.snooze)
            raise Refused(f"Snooze for one of: {choices}.")
        if Status(incident.status) not in WORKING:
            raise Refused(f"{label(number)} is {incident.status}: there is nothing to snooze.")
        now = self.clock.now()

        async def decide(current: store.Incident) -> dict[str, Any] | None:
            return {"snoozed_until": now + delay}

        async def record(session: Any, _b: store.Incident, _a: store.Incident) -> None:
            text = f"Update reminder snoozed for {format_duration(delay)}"
            await self._event(session, number, TimelineKind.REMINDED, text, by)

        changed = await self._change(number, decide, record, lambda _b, _a: [])
        return changed.effects if changed is not None else []
