"""Kind `alert_message`: the triage message of an alert group, posted once in the policy's
alerts channel and then edited to follow the group and the incident (declared, declined)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

import store
from bot.flows.alerts import alert_message_key
from bot.flows.cards import RenderedMessage
from bot.flows.delivery import Messenger
from bot.flows.intake import mapped_severity
from bot.gateway import SlackGateway
from bot.jobs import JobRun
from bot.policy import Policy
from bot.templates.alerts import TriageView, triage_message

STABLE_TRIES = 10


class PostTriageMessage:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        policy: Policy,
        gateway: SlackGateway,
    ) -> None:
        self.sessions = sessions
        self.policy = policy
        self.gateway = gateway
        self.messenger = Messenger(gateway)

    def describe(self, job: JobRun) -> str:
        return "Posting the alert's triage message"

    async def run(self, job: JobRun) -> None:
        """Send what the group and the incident look like now, and look again after sending:
        of several jobs editing at once, the last to finish leaves the latest state shown.
        Only the incident's first job posts; the others edit what it posted (none yet: it will
        show the latest state itself)."""
        poster = job.key == alert_message_key(job.incident_number or 0)
        sent: RenderedMessage | None = None
        for _ in range(STABLE_TRIES):
            current = await self._render(job.incident_number or 0)
            if current is None or current[1] == sent:
                return
            alert, message = current
            if not poster and not alert.message_ts:
                return
            await self._send(job, alert, message)
            sent = message

    async def _render(self, number: int) -> tuple[store.IncidentAlert, RenderedMessage] | None:
        async with self.sessions() as session:
            incident = await store.get_incident(session, number=number)
            alert = await store.alert_of_incident(session, incident_number=number)
        if incident is None or alert is None:
            return None
        triaged = incident.status in ("triage", "declined")
        view = TriageView(
            number=number,
            status=incident.status,
            severity=mapped_severity(self.policy, alert.severity_value),
            channel_id=incident.channel_id,
            declared_by=None if triaged else incident.declared_by,
            alert=alert,
            private=incident.private,
            automatic=not triaged and incident.declared_by == self.gateway.bot_user_id,
        )
        return alert, triage_message(view)

    async def _send(
        self, job: JobRun, alert: store.IncidentAlert, message: RenderedMessage
    ) -> None:
        if alert.message_ts and alert.message_channel_id:
            await self.gateway.update_message(
                channel=alert.message_channel_id,
                ts=alert.message_ts,
                text=message.text,
                blocks=message.blocks,
            )
            return
        where = self.policy.alerts.channel or self.policy.announce_channel
        posted = await self.messenger.post_once(
            job,
            "triage",
            number=alert.incident_number,
            channel=str(where),
            message=message,
            kind="triage",
        )
        async with self.sessions() as session:
            await store.set_alert_message(
                session,
                alert_id=alert.id or 0,
                channel_id=posted.channel,
                message_ts=posted.ts,
            )
            await session.commit()
