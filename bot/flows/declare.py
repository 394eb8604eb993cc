"""Declaring an incident: validate what the declarer typed, store it once, plan provisioning.

The listener calls `validate` and `declare` before acking Slack, so the incident exists in the
database (and a double submit finds it) before anything is sent to Slack.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

import store
from bot.flows.alerts import ALERT_MESSAGE_JOB, alert_message_key
from bot.flows.audiences import audience_channels
from bot.flows.changes import schedule_clock
from bot.flows.deadlines import deadlines
from bot.flows.invisible import is_blank, tidy_line
from bot.flows.lifecycle import DECLARED_STATUS, Status
from bot.flows.paging import page, severity_pages
from bot.flows.provisioning import PROVISION_JOB
from bot.flows.timeline import TimelineKind
from bot.jobs import enqueue
from bot.policy import Policy

MAX_TITLE = 150
# Clock skew between the declarer's device and us: a start time this far ahead is still "now".
FUTURE_TOLERANCE = timedelta(minutes=2)


@dataclass(frozen=True)
class DeclareRequest:
    declarer: str
    title: str
    severity: str | None
    type_id: str | None = None
    description: str = ""
    affected_services: str = ""
    commander: str | None = None
    started_at: datetime | None = None
    private: bool = False
    drill: bool = False
    source_link: str | None = None
    origin_channel: str | None = None
    # Declaring a triage incident an alert opened (bot/flows/intake.py): that incident becomes
    # the declared one (its alert's start and detection times kept).
    triage_number: int | None = None
    # Declared by the policy (`alerts.auto_declare`), not a person: nobody is made commander.
    automatic: bool = False


@dataclass(frozen=True)
class Declared:
    number: int
    duplicate: bool  # True: this submission was seen before; nothing new was stored


def validate(request: DeclareRequest, policy: Policy, *, now: datetime) -> dict[str, str]:
    """Field name → message for everything the declarer must fix; empty when all is well."""
    errors: dict[str, str] = {}
    title = tidy_line(request.title)
    # `strip()` alone keeps zero-width and bidi characters: a title of only those is empty.
    if is_blank(title):
        errors["title"] = "Give the incident a title."
    elif len(title) > MAX_TITLE:
        errors["title"] = f"Keep the title to {MAX_TITLE} characters (it has {len(title)})."
    if request.type_id is not None and policy.find_incident_type(request.type_id) is None:
        errors["type"] = "Pick one of the listed incident types."
    if resolve_severity(request, policy) is None:
        errors["severity"] = "Pick a severity."
    if request.started_at is not None and request.started_at > now + FUTURE_TOLERANCE:
        errors["started_at"] = "The impact cannot start in the future."
    return errors


def resolve_severity(request: DeclareRequest, policy: Policy) -> str | None:
    """The chosen severity, else the incident type's default, else None."""
    if request.severity is not None:
        found = policy.find_severity(request.severity)
        return found.id if found is not None else None
    kind = policy.find_incident_type(request.type_id) if request.type_id else None
    return kind.default_severity if kind is not None else None


def is_private(request: DeclareRequest, policy: Policy) -> bool:
    """Private when asked, and always for the policy's private types."""
    return request.private or policy.is_private_type(request.type_id)


async def declare(
    sessions: async_sessionmaker[AsyncSession],
    policy: Policy,
    request: DeclareRequest,
    *,
    idempotency_key: str,
    now: datetime,
) -> Declared:
    """Store the incident (with its deadlines), its commander, the first timeline event and
    the provisioning job.

    One transaction, claimed by `idempotency_key`: a repeated submission returns the incident
    the first one stored. A handful of statements, all before Slack's ack.
    """
    async with sessions() as session:
        if not await store.claim_idempotency_key(session, key=idempotency_key, now=now):
            await session.rollback()
            return Declared(number=await _claimed_number(session, idempotency_key), duplicate=True)
        number = await record_declaration(session, policy, request, now=now)
        await store.set_idempotency_result(
            session, key=idempotency_key, result=None, incident_number=number
        )
        await session.commit()
    return Declared(number=number, duplicate=False)


async def record_declaration(
    session: AsyncSession, policy: Policy, request: DeclareRequest, *, now: datetime
) -> int:
    """The declaration's rows, in the caller's transaction: the incident (or the triage
    incident, declared), its commander, the first timeline event, its audiences, the
    provisioning job, the page and the clock. Returns the incident's number."""
    severity = resolve_severity(request, policy)
    if severity is None:
        raise ValueError("validate() the request before declaring")
    private = is_private(request, policy)
    services = [s.strip() for s in request.affected_services.split(",") if s.strip()]
    fields: dict[str, Any] = {
        "title": tidy_line(request.title),
        "severity": severity,
        "status": DECLARED_STATUS.value,
        "declared_by": request.declarer,
        "declared_at": now,
        "started_at": min(request.started_at or now, now),
        "detected_at": now,
        "type": request.type_id,
        "private": private,
        "drill": request.drill,
        "description": request.description.strip(),
        "affected_services": services,
        "source_message_link": request.source_link,
        "cadence_from_at": now,
    }
    if request.triage_number is not None:
        incident = await _from_triage(
            session,
            request.triage_number,
            fields,
            policy,
            now,
            given_start=request.started_at is not None,
        )
    else:
        due = deadlines(store.Incident(**fields, updated_at=now), policy)
        incident = await store.create_incident(session, **fields, **due.columns())
    number = _number(incident)
    commander = request.commander or (None if request.automatic else request.declarer)
    if commander is not None:  # declared by the policy itself: command is for a human to take
        await store.add_role_holder(
            session,
            incident_number=number,
            role=policy.lead_role.id,
            user_id=commander,
            assigned_by=request.declarer,
            now=now,
        )
    how = " (drill)" if request.drill else ""
    if request.automatic:
        how += " automatically, as the policy says for this alert"
    await store.add_timeline_event(
        session,
        incident_number=number,
        kind=TimelineKind.DECLARED.value,
        at=now,
        actor=request.declarer,
        text=f"Declared as {severity}{how}",
    )
    if not private and not request.drill:
        # The declared severity's audience hears of it now (provisioning posts to the
        # channels recorded here); a later upgrade back to it does not tell them again.
        await store.claim_idempotency_key(
            session, key=f"{number}:notified:{severity}", now=now, incident_number=number
        )
        await store.add_audiences(
            session,
            incident_number=number,
            targets=audience_channels(policy, severity=severity, type_id=request.type_id),
            now=now,
        )
    await enqueue(
        session, key=provision_key(number), kind=PROVISION_JOB, incident_number=number, now=now
    )
    if not request.drill and severity_pages(policy, severity):
        await page(session, number=number, action="trigger", now=now)
    if request.triage_number is not None:  # the alert's message says who declared it
        await store.enqueue_job(
            session,
            key=alert_message_key(number, refresh=True),
            kind=ALERT_MESSAGE_JOB,
            incident_number=number,
            due_at=now,
            now=now,
        )
    await schedule_clock(session, incident, policy, now=now)
    return number


class NotTriage(Exception):
    """The triage incident was declared or declined already (by someone else, just now)."""


async def _from_triage(
    session: AsyncSession,
    number: int,
    fields: dict[str, Any],
    policy: Policy,
    now: datetime,
    *,
    given_start: bool,
) -> store.Incident:
    """The alert's triage incident, declared: the form's answers, the alert's times kept (the
    impact started when the alert began; it was detected when the alert arrived)."""
    triage = await store.get_incident(session, number=number)
    if triage is None or triage.status != Status.TRIAGE.value:
        raise NotTriage(number)
    changes = dict(fields)
    if not given_start:  # the form left it: the alert's start stands
        changes["started_at"] = triage.started_at or now
    changes["detected_at"] = triage.detected_at or triage.declared_at
    after = triage.model_copy(update=changes)
    declared = await store.update_incident(
        session,
        number=number,
        expected_version=triage.version,
        now=now,
        **changes,
        **deadlines(after, policy).columns(),
    )
    if declared is None:
        raise NotTriage(number)  # changed under us (declined, or declared by another click)
    return declared


def provision_key(number: int) -> str:
    return f"{PROVISION_JOB}:{number}"


async def _claimed_number(session: AsyncSession, key: str) -> int:
    claimed = await store.get_idempotency_key(session, key=key)
    if claimed is None or claimed.incident_number is None:
        raise LookupError(f"idempotency key {key} has no incident")
    return claimed.incident_number


def _number(incident: store.Incident) -> int:
    if incident.number is None:
        raise RuntimeError("the database did not assign an incident number")
    return incident.number
