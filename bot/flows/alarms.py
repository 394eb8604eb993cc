"""When the clock rings for an incident: a pure reading of its stored state and the policy.

Every alarm has a *slot*, the moment it is due, computed from the incident as stored; firing
one records, in the same row, that its slot was served, which moves the alarm to its next
slot. Nothing is in memory and nothing counts ticks, so a restart, a second replica or an
hour of downtime changes nothing: the clock job reads the state, fires what is due once (the
latest slot only: never a burst of stale ones) and sleeps until the earliest next slot.

    update      working status and a cadence: at the next update's due time, then every
                cadence while none is posted; a snooze replaces the pending slot once
    ack         open and unacknowledged: once, at declared + `ack_within`
    escalation  open and unacknowledged: the next step's `after`; a late ring fires only the
                latest step whose time has passed
    roles       open: once, at declared + `roles_nudge_after` (fired only if nobody leads)
    postmortem  the draft's due time is set and the final document not recorded: due −
                `remind_before`, due, then daily while overdue
    stale       open: declared + `stale_after`, then daily
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

import store
from bot.flows.deadlines import deadlines
from bot.flows.lifecycle import OPEN_STATUSES, WORKING, Status
from bot.policy import Policy

DAILY = timedelta(days=1)

ACTION_DUE_JOB = "action_due"
OWNER_REMINDER_HOUR = time(9)
# The earliest 09:00 of a date anywhere (UTC+14): an item's job wakes then and, once it knows
# the owner's zone (a Slack call, so not here), sleeps until their own 09:00.
EARLIEST_OFFSET = timedelta(hours=14)


def action_due_key(item_id: int) -> str:
    return f"{ACTION_DUE_JOB}:{item_id}"


def first_wake(due_on: date) -> datetime:
    return datetime.combine(due_on, OWNER_REMINDER_HOUR, tzinfo=UTC) - EARLIEST_OFFSET


class AlarmKind(StrEnum):
    UPDATE = "update"
    ACK = "ack"
    ESCALATION = "escalation"
    ROLES = "roles"
    POSTMORTEM = "postmortem"
    STALE = "stale"


@dataclass(frozen=True)
class Alarm:
    kind: AlarmKind
    slot: datetime
    step: int | None = None  # escalation: the index of the step in the severity's chain


def update_interval(incident: store.Incident, policy: Policy) -> timedelta | None:
    if incident.update_interval_seconds:
        return timedelta(seconds=incident.update_interval_seconds)
    severity = policy.find_severity(incident.severity)
    return severity.update_every if severity is not None else None


def pending_alarms(incident: store.Incident, policy: Policy) -> list[Alarm]:
    """The next slot of every alarm the incident has (due or not)."""
    if incident.drill and not policy.drills.reminders:
        return []
    status = Status(incident.status)
    severity = policy.find_severity(incident.severity)
    declared = incident.declared_at
    found: list[Alarm] = []
    due = deadlines(incident, policy)
    interval = update_interval(incident, policy)
    if status in WORKING and due.next_update_due_at is not None and interval is not None:
        found.append(
            Alarm(AlarmKind.UPDATE, _update_slot(incident, due.next_update_due_at, interval))
        )
    unacknowledged = status in OPEN_STATUSES and incident.acknowledged_at is None
    if unacknowledged and severity is not None:
        if severity.ack_within is not None and incident.ack_noticed_at is None:
            found.append(Alarm(AlarmKind.ACK, declared + severity.ack_within))
        steps = severity.escalation
        if incident.escalation_level < len(steps):
            level = incident.escalation_level
            found.append(Alarm(AlarmKind.ESCALATION, declared + steps[level].after, level))
    if status in OPEN_STATUSES:
        if policy.roles_nudge_after is not None and incident.roles_nudged_at is None:
            found.append(Alarm(AlarmKind.ROLES, declared + policy.roles_nudge_after))
        if policy.stale_after is not None:
            first = declared + policy.stale_after
            found.append(Alarm(AlarmKind.STALE, _daily_slot(first, incident.stale_nudged_at)))
    rule = severity.postmortem if severity is not None else None
    before = rule.first_reminder_before() if rule is not None else None
    if due.postmortem_due_at is not None and before is not None:
        slot = _postmortem_slot(due.postmortem_due_at, before, incident.postmortem_reminded_at)
        found.append(Alarm(AlarmKind.POSTMORTEM, slot))
    return found


def next_alarm_at(incident: store.Incident, policy: Policy) -> datetime | None:
    slots = [alarm.slot for alarm in pending_alarms(incident, policy)]
    return min(slots) if slots else None


def due_alarms(incident: store.Incident, policy: Policy, now: datetime) -> list[Alarm]:
    """What rings now. An escalation rung late names the latest step whose time passed."""
    rung = []
    for alarm in pending_alarms(incident, policy):
        if alarm.slot > now:
            continue
        if alarm.kind == AlarmKind.ESCALATION:
            alarm = Alarm(alarm.kind, *_latest_step(incident, policy, now))
        rung.append(alarm)
    return rung


def served(incident: store.Incident, policy: Policy, alarm: Alarm, now: datetime) -> dict[str, Any]:
    """The incident's changes that record `alarm` as rung (its next slot follows from them)."""
    match alarm.kind:
        case AlarmKind.UPDATE:
            interval = update_interval(incident, policy) or DAILY
            # On time: the next slot is one cadence after this one. Late by half a cadence
            # or more (the server was down): one cadence from now, so a restart never sends
            # the overdue reminder and then, moments later, the next one.
            slot = alarm.slot if now - alarm.slot < interval / 2 else now
            return {"reminder_sent_for": slot, "snoozed_until": None}
        case AlarmKind.ACK:
            return {"ack_noticed_at": now}
        case AlarmKind.ESCALATION:
            return {"escalation_level": (alarm.step or 0) + 1}
        case AlarmKind.ROLES:
            return {"roles_nudged_at": now}
        case AlarmKind.POSTMORTEM:
            return {"postmortem_reminded_at": _latest_daily(alarm.slot, now)}
        case AlarmKind.STALE:
            return {"stale_nudged_at": _latest_daily(alarm.slot, now)}


def _update_slot(incident: store.Incident, due: datetime, interval: timedelta) -> datetime:
    if incident.snoozed_until is not None:
        return incident.snoozed_until
    sent = incident.reminder_sent_for
    if sent is None or sent < due:
        return due
    return sent + interval


def _daily_slot(first: datetime, last: datetime | None) -> datetime:
    return first if last is None or last < first else last + DAILY


def _postmortem_slot(due: datetime, before: timedelta, last: datetime | None) -> datetime:
    early = due - before
    if last is None or last < early:
        return early
    if last < due:
        return due
    return last + DAILY


def _latest_daily(slot: datetime, now: datetime) -> datetime:
    """The latest slot of a daily series starting at `slot` that is not after `now`."""
    if now <= slot:
        return slot
    return slot + DAILY * ((now - slot) // DAILY)


def _latest_step(incident: store.Incident, policy: Policy, now: datetime) -> tuple[datetime, int]:
    steps = policy.severity(incident.severity).escalation
    passed = [
        i
        for i in range(incident.escalation_level, len(steps))
        if incident.declared_at + steps[i].after <= now
    ]
    step = passed[-1] if passed else incident.escalation_level
    return incident.declared_at + steps[step].after, step
