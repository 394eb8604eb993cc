"""Jobs about an incident's channel that are not effects of one change: archiving a closed
incident's channel, keeping a private channel's membership current, and telling a human,
once, that warroom gave up on something."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

import store
from bot.clock import Clock
from bot.flows.changes import ARCHIVE_JOB
from bot.flows.delivery import Messenger
from bot.flows.lifecycle import OPEN_STATUSES, Status
from bot.flows.ports import SlackFailure
from bot.flows.provisioning_steps import MEMBERS_JOB
from bot.flows.timeline import NOTICE, TimelineKind
from bot.gateway import SlackGateway
from bot.jobs import Failure, JobRun
from bot.logs import get_logger
from bot.templates import operations as ops

log = get_logger(__name__)

# Private incident channels' membership is re-read from Slack this often while open (events
# keep it current in between; this catches what an event outage missed).
MEMBERS_REFRESH = timedelta(minutes=15)


class _ChannelJob:
    """What the jobs about an incident's channel share: their dependencies, and the incident
    with its channel (None: nothing to do, the incident is gone or never had a channel)."""

    def __init__(
        self, *, sessions: async_sessionmaker[AsyncSession], gateway: SlackGateway, clock: Clock
    ) -> None:
        self.sessions = sessions
        self.gateway = gateway
        self.clock = clock

    async def _incident(self, job: JobRun) -> tuple[store.Incident, str] | None:
        async with self.sessions() as session:
            incident = await store.get_incident(session, number=job.incident_number or 0)
        if incident is None or not incident.channel_id:
            return None
        return incident, incident.channel_id


class ArchiveChannel(_ChannelJob):
    """Kind `archive`: due at the incident's `archive_at`. The timeline says "archived" only
    after Slack archived it; a reopened incident's job was cancelled, and is checked again."""

    def describe(self, job: JobRun) -> str:
        return "Archiving the incident channel"

    async def run(self, job: JobRun) -> None:
        found = await self._incident(job)
        if found is None:
            return
        incident, channel = found
        if incident.status != Status.CLOSED.value:
            return  # reopened meanwhile
        await self.gateway.archive(channel=channel)
        async with self.sessions() as session:
            await store.add_timeline_event(
                session,
                incident_number=job.incident_number or 0,
                kind=TimelineKind.ARCHIVED.value,
                at=self.clock.now(),
                text="Channel archived",
                dedupe_key=f"{job.key}:{incident.closed_at}",
            )
            await session.commit()


class RefreshMembers(_ChannelJob):
    """Kind `members`: Slack's member list of an incident channel replaces what warroom knew.
    Private incidents' channels are refreshed every `MEMBERS_REFRESH` while open."""

    def describe(self, job: JobRun) -> str:
        return "Reading the incident channel's members"

    async def run(self, job: JobRun) -> None:
        found = await self._incident(job)
        if found is None:
            return
        incident, channel = found
        members = await self.gateway.members(channel=channel)
        now = self.clock.now()
        async with self.sessions() as session:
            await store.replace_channel_members(
                session, channel_id=channel, user_ids=members, now=now
            )
            await session.commit()
        if incident.private and Status(incident.status) in OPEN_STATUSES:
            job.repeat_at(now + MEMBERS_REFRESH)


class TellHumans(_ChannelJob):
    """Kind `notice`: says once, in plain words, that warroom gave up on something. In the
    incident channel when there is one it can post in, else to the declarer by DM."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        gateway: SlackGateway,
        clock: Clock,
        lead_role: str = "commander",
    ) -> None:
        super().__init__(sessions=sessions, gateway=gateway, clock=clock)
        self.messenger = Messenger(gateway)
        self.lead_role = lead_role  # who hears of a policy target Slack does not know

    def describe(self, job: JobRun) -> str:
        return "Telling you about a failure"

    def notice_payload(self, job: JobRun, failure: Failure, what: str) -> str | None:
        if job.incident_number is None:
            return None  # nobody to tell but the operator, who has the log line
        return json.dumps(
            {
                "what": what,
                "why": failure.words,
                "channel_ok": job.kind != ARCHIVE_JOB,
                "slack": failure.slack,
            }
        )

    async def run(self, job: JobRun) -> None:
        data = json.loads(job.payload or "{}")
        number = job.incident_number or 0
        async with self.sessions() as session:
            incident = await store.get_incident(session, number=number)
        if incident is None:
            return
        async with self.sessions() as session:
            roles = await store.current_roles(session, incident_number=number)
        if data.get("target"):
            message = ops.unreachable_target_notice(
                label=f"INC-{number}",
                target=str(data["target"]),
                why=str(data.get("why")),
                commander=roles.get(self.lead_role),
            )
        else:
            message = ops.gave_up_notice(
                label=f"INC-{number}",
                what=str(data.get("what")),
                why=str(data.get("why")),
                commander=roles.get(self.lead_role),
                slack=data.get("slack", True) is not False,
            )
        if incident.channel_id and data.get("channel_ok", True) and not job.done("dm"):
            try:
                await self.messenger.post_once(
                    job, "channel", number=number, channel=incident.channel_id, message=message
                )
                return
            except SlackFailure as failure:
                if failure.transient:
                    raise
                log.warning("notice_channel_refused", error=failure.error)
        await self.messenger.dm_once(
            job, "dm", number=number, user=incident.declared_by, message=message
        )


__all__ = ["MEMBERS_JOB", "NOTICE", "ArchiveChannel", "RefreshMembers", "TellHumans"]
