"""Every due time of an incident, from its stored state and the policy: one pure function.

Every change (declare included) writes what `deadlines()` returns, so the database always
holds the next update due, the acknowledgement deadline, the next escalation step, the
post-mortem due date and the archive time; ticks then only ask "what is due now?".

    next update due   working status and a cadence: counted from `cadence_from_at` (the
                      declaration, the last status update or the reopening), by the interval
                      the last update asked for, else the severity's `update_every`
    ack deadline      open and unacknowledged: declared + `ack_within`
    next escalation   open and unacknowledged: declared + the `after` of the first step not
                      yet taken (`escalation_level` counts the steps taken)
    post-mortem due   resolved or closed, and the severity requires one: resolved + `due`
    archive           closed and the policy archives: closed + `archive_after`
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import store
from bot.flows.lifecycle import OPEN_STATUSES, WORKING, Status
from bot.policy import Policy


@dataclass(frozen=True)
class Deadlines:
    next_update_due_at: datetime | None = None
    ack_due_at: datetime | None = None
    next_escalation_at: datetime | None = None
    postmortem_due_at: datetime | None = None
    archive_at: datetime | None = None

    def columns(self) -> dict[str, Any]:
        """The incident columns these are stored in."""
        return asdict(self)


def deadlines(incident: store.Incident, policy: Policy) -> Deadlines:
    status = Status(incident.status)
    severity = policy.find_severity(incident.severity)
    declared = incident.declared_at
    found: dict[str, datetime | None] = {}
    if severity is not None and status in WORKING:
        interval = (
            timedelta(seconds=incident.update_interval_seconds)
            if incident.update_interval_seconds
            else severity.update_every
        )
        if interval:
            found["next_update_due_at"] = (incident.cadence_from_at or declared) + interval
    if severity is not None and status in OPEN_STATUSES and incident.acknowledged_at is None:
        if severity.ack_within:
            found["ack_due_at"] = declared + severity.ack_within
        remaining = severity.escalation[incident.escalation_level :]
        if remaining:
            found["next_escalation_at"] = declared + remaining[0].after
    rule = severity.postmortem if severity is not None else None
    resolved = incident.resolved_at
    written = incident.postmortem_done_at is not None  # the team recorded the final document
    finished = status in (Status.RESOLVED, Status.CLOSED)
    if finished and resolved and rule and rule.required and rule.due and not written:
        found["postmortem_due_at"] = resolved + rule.due
    if status == Status.CLOSED and incident.closed_at and policy.archive_after:
        found["archive_at"] = incident.closed_at + policy.archive_after
    return Deadlines(**found)


def with_deadlines(
    incident: store.Incident, policy: Policy, changes: dict[str, Any]
) -> dict[str, Any]:
    """`changes` plus every deadline of the incident as it will be once they are applied."""
    after = incident.model_copy(update=changes)
    return changes | deadlines(after, policy).columns()
