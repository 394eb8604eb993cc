"""PagerDuty Events API v2: the job that sends an incident's trigger, acknowledge and resolve.

202 is done (noted on the timeline). 400 is PagerDuty refusing the event: not retried, told
to the commander once in plain words (the job runner's rule for permanent failures). 429,
5xx and an unreachable PagerDuty are retried with backoff (after Retry-After when given); a
retry sends the same event with the same `dedup_key`, which PagerDuty de-duplicates, so an
event PagerDuty acted on before its answer was lost is not doubled.

Order: `acknowledge` and `resolve` are sent only after the trigger was delivered (PagerDuty
ignores them for an incident it does not have yet, and the trigger's retry would then open an
incident nobody acknowledges or resolves); they wait for a trigger still being retried and
are dropped for one that was given up (never paged). A trigger sent with the declaration
waits a moment (at most `CHANNEL_WAIT_SECONDS`) for provisioning to create the channel, so the
page links it; never longer, since PagerDuty must be paged even when Slack is down.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

import store
from bot.clock import Clock
from bot.flows.paging import PageAction, page_key
from bot.flows.ports import ServiceFailure
from bot.flows.provisioning import PROVISION_JOB
from bot.flows.timeline import TimelineKind
from bot.gateway import SlackGateway
from bot.jobs import JobRun
from bot.logs import get_logger
from bot.policy import Policy
from bot.service_http import call_service
from bot.settings import Settings

log = get_logger(__name__)

DEFAULT_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
SUMMARY_LIMIT = 1024  # PagerDuty's
_BY_RANK = ("critical", "error")  # the most severe, the next; "warning" below
CHANNEL_WAIT_SECONDS = 3.0  # a first trigger waits this long at most for the channel (link)
CHANNEL_POLL_SECONDS = 0.1
_UNFINISHED = ("pending", "running")


@dataclass(frozen=True)
class PagerDutySettings:
    routing_key: str = ""  # empty: paging is not configured
    events_url: str = DEFAULT_EVENTS_URL

    @classmethod
    def of(cls, settings: Settings) -> PagerDutySettings:
        key = settings.pagerduty_routing_key
        return cls(
            routing_key=key.get_secret_value() if key is not None else "",
            events_url=settings.pagerduty_events_url,
        )


def pagerduty_severity(policy: Policy, severity_id: str) -> str:
    found = policy.find_severity(severity_id)
    if found is not None and found.pagerduty_severity is not None:
        return found.pagerduty_severity
    rank = policy.rank(severity_id)
    return _BY_RANK[rank] if 0 <= rank < len(_BY_RANK) else "warning"


def dedup_key(team_id: str, number: int) -> str:
    return f"warroom-{team_id}-{number}"


def page_event(
    *,
    action: PageAction,
    routing_key: str,
    incident: store.Incident,
    policy: Policy,
    team_id: str,
    channel_link: str | None,
    at: datetime,
) -> dict[str, Any]:
    """The event body. A private incident's title stays out of PagerDuty."""
    number = incident.number or 0
    event: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": action,
        "dedup_key": dedup_key(team_id, number),
    }
    if action != "trigger":
        return event
    title = "(private incident)" if incident.private else " ".join(incident.title.split())
    summary = f"INC-{number} [{incident.severity}] {title}"
    event["payload"] = {
        "summary": summary[:SUMMARY_LIMIT],
        "source": "warroom",
        "severity": pagerduty_severity(policy, incident.severity),
        "timestamp": at.isoformat(),
        "component": incident.type or None,
        "custom_details": {"incident": f"INC-{number}", "status": incident.status},
    }
    if channel_link:
        event["links"] = [{"href": channel_link, "text": f"INC-{number} in Slack"}]
    event["client"] = "warroom"
    return event


class PagerDutyClient:
    def __init__(self, *, url: str) -> None:
        self.url = url

    async def send(self, event: dict[str, Any]) -> None:
        answer = await call_service("PagerDuty", "POST", self.url, body=event)
        if answer.ok:
            return
        raise ServiceFailure(
            f"pagerduty_{answer.status}",
            f"PagerDuty refused the event ({answer.status}: {answer.short_text()}); check "
            "PAGERDUTY_ROUTING_KEY and the policy",
            transient=False,
        )


class SendPage:
    """Kind `page`: one event of one incident (the job's key says which)."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        policy: Policy,
        settings: PagerDutySettings,
        clock: Clock,
        gateway: SlackGateway,
    ) -> None:
        self.sessions = sessions
        self.policy = policy
        self.clock = clock
        self.routing_key = settings.routing_key
        self.client = PagerDutyClient(url=settings.events_url)
        self.gateway = gateway  # its team id and URL are known once started (auth.test)

    def describe(self, job: JobRun) -> str:
        return f"Paging PagerDuty ({job.key.rsplit(':', 1)[-1]})"

    async def run(self, job: JobRun) -> None:
        action: PageAction = job.key.rsplit(":", 1)[-1]  # type: ignore[assignment]
        number = job.incident_number or 0
        if action != "trigger" and not await self._trigger_delivered(number):
            return  # the trigger was given up: never paged, nothing to acknowledge or resolve
        if not self.routing_key:
            raise ServiceFailure(
                "pagerduty_not_configured",
                "the policy pages PagerDuty but PAGERDUTY_ROUTING_KEY is not set",
                transient=False,
            )
        async with self.sessions() as session:
            incident = await store.get_incident(session, number=number)
        if incident is None:
            return
        if action == "trigger" and not incident.channel_id and not job.retrying:
            incident = await self._with_channel(incident)
        event = page_event(
            action=action,
            routing_key=self.routing_key,
            incident=incident,
            policy=self.policy,
            team_id=self.gateway.team_id or "T",
            channel_link=self._channel_link(incident),
            at=self.clock.now(),
        )
        await self.client.send(event)
        log.info("pagerduty_sent", action=action)
        async with self.sessions() as session:
            await store.add_timeline_event(
                session,
                incident_number=number,
                kind=TimelineKind.ESCALATED.value,
                at=self.clock.now(),
                text=f"PagerDuty: {action}",
                dedupe_key=f"{number}:pagerduty:{action}",
            )
            await session.commit()

    async def _trigger_delivered(self, number: int) -> bool:
        """True once the trigger was delivered, False if it was given up; while it is still
        being sent (or retried), a transient failure: this job runs again after the trigger's
        next attempt."""
        async with self.sessions() as session:
            trigger = await store.get_job(session, key=page_key(number, "trigger"))
        if trigger is None or trigger.state not in (*_UNFINISHED, "done"):
            return False
        if trigger.state == "done":
            return True
        wait = 1.0
        if trigger.state == "pending" and trigger.due_at is not None:
            wait = max(wait, (trigger.due_at - self.clock.now()).total_seconds() + 1)
        raise ServiceFailure(
            "pagerduty_trigger_pending",
            "the PagerDuty trigger has not been delivered yet",
            transient=True,
            retry_after=wait,
        )

    async def _with_channel(self, incident: store.Incident) -> store.Incident:
        """The incident once provisioning has created its channel, or as it is when
        provisioning is over without one or `CHANNEL_WAIT_SECONDS` have passed."""
        number = incident.number or 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CHANNEL_WAIT_SECONDS
        while loop.time() < deadline:
            async with self.sessions() as session:
                provisioning = await store.get_job(session, key=f"{PROVISION_JOB}:{number}")
                current = await store.get_incident(session, number=number)
            if current is None:
                return incident
            incident = current
            if incident.channel_id or provisioning is None or provisioning.state not in _UNFINISHED:
                return incident
            await asyncio.sleep(CHANNEL_POLL_SECONDS)
        log.info("pagerduty_sent_without_channel")
        return incident

    def _channel_link(self, incident: store.Incident) -> str | None:
        base = self.gateway.team_url
        if not base or not incident.channel_id:
            return None
        return f"{base.rstrip('/')}/archives/{incident.channel_id}"
