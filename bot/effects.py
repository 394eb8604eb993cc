"""Applies the flows' effects to Slack: renders them with the templates, sends them through
the gateway. Each effect is independent: one that fails is logged with the incident id and
noted on the timeline, and the others still happen."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

import store
from bot.clock import Clock
from bot.flows.cards import IncidentCard, RenderedMessage
from bot.flows.effects import (
    Acknowledged,
    Closed,
    Effect,
    Refresh,
    Reopened,
    Resolved,
    RoleAssigned,
    SeverityChanged,
    UpdatePosted,
)
from bot.flows.ports import SlackFailure
from bot.flows.provisioning_steps import incident_metadata
from bot.flows.queries import update_card
from bot.flows.snapshot import load_card
from bot.flows.timeline import record_event
from bot.gateway import SlackGateway
from bot.logs import get_logger
from bot.policy import Policy, Target
from bot.templates import operations as ops
from bot.templates.incident import IncidentTemplates

log = get_logger(__name__)


class EffectRunner:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        policy: Policy,
        gateway: SlackGateway,
        clock: Clock,
        templates: IncidentTemplates,
    ) -> None:
        self.sessions = sessions
        self.policy = policy
        self.gateway = gateway
        self.clock = clock
        self.templates = templates

    async def apply(self, effects: Sequence[Effect]) -> None:
        for effect in effects:
            try:
                await self._apply(effect)
            except SlackFailure as failure:
                log.error(
                    "effect_failed",
                    incident=effect.number,
                    effect=type(effect).__name__,
                    error=failure.error,
                )
                await self._note_failure(effect, failure)

    async def _apply(self, effect: Effect) -> None:
        async with self.sessions() as session:
            incident = await store.get_incident(session, number=effect.number)
            card = await load_card(session, self.policy, effect.number)
        if incident is None or card is None or incident.channel_id is None:
            return
        channel = incident.channel_id
        match effect:
            case Refresh(topic=topic):
                await self._refresh(incident, card, topic=topic)
            case Acknowledged(by=by, at=at, first=first):
                await self._say(channel, ops.acknowledged_message(card, by=by, at=at, first=first))
            case RoleAssigned(role_id=role_id, user=user, previous=previous, by=by):
                role = self.policy.role(role_id)
                await self._say(
                    channel,
                    ops.role_assigned_message(
                        card, role_name=role.name, user=user, previous=previous, by=by
                    ),
                )
                await self.gateway.invite(channel=channel, users=[user])
                dm = ops.role_dm(
                    card, role_name=role.name, role_description=role.description, by=by
                )
                await self.gateway.dm(user=user, text=dm.text, blocks=dm.blocks)
            case SeverityChanged(old=old, new=new, by=by, upgrade=upgrade):
                message = ops.severity_changed_message(
                    card, old=old, new=new, by=by, upgrade=upgrade
                )
                await self._say(channel, message)
                if upgrade and not incident.private and not incident.drill:
                    await self._notify_upgrade(card, old=old, new=new)
            case UpdatePosted(seq=seq, share=share):
                await self._post_update(incident, card, seq=seq, share=share)
            case Resolved():
                message = ops.resolution_message(
                    card,
                    summary=effect.summary,
                    root_cause=effect.root_cause or "",
                    duration=effect.duration,
                    postmortem_due_at=effect.postmortem_due_at,
                    by=effect.by,
                )
                await self._say(channel, message)
                await self._to_announcement(incident, message, broadcast=True)
            case Closed(by=by, archive_at=archive_at):
                await self._say(channel, ops.closed_message(card, by=by, archive_at=archive_at))
            case Reopened(by=by):
                await self.gateway.unarchive(channel=channel)
                await self._say(channel, ops.reopened_message(card, by=by))

    # -- pieces --------------------------------------------------------------------------------
    async def _say(self, channel: str, message: RenderedMessage, **extra: Any) -> str:
        posted = await self.gateway.post(
            channel=channel, text=message.text, blocks=message.blocks, **extra
        )
        return posted.ts

    async def _refresh(self, incident: store.Incident, card: IncidentCard, *, topic: bool) -> None:
        """The panel and the announcement are edited in place, never posted again."""
        if incident.panel_ts and incident.channel_id:
            panel = self.templates.panel(card)
            await self.gateway.update_message(
                channel=incident.channel_id, ts=incident.panel_ts, text=panel.text,
                blocks=panel.blocks,
            )  # fmt: skip
        if incident.announcement_ts and incident.announcement_channel_id:
            announcement = self.templates.announcement(card)
            await self.gateway.update_message(
                channel=incident.announcement_channel_id,
                ts=incident.announcement_ts,
                text=announcement.text,
                blocks=announcement.blocks,
            )
        if topic and incident.channel_id:
            await self.gateway.set_topic(
                channel=incident.channel_id, topic=self.templates.topic(card)
            )

    async def _post_update(
        self, incident: store.Incident, card: IncidentCard, *, seq: int, share: bool
    ) -> None:
        async with self.sessions() as session:
            updates = await store.list_status_updates(session, incident_number=card.number)
        update = next((u for u in updates if u.seq == seq), None)
        if update is None or update.id is None or incident.channel_id is None:
            return
        view = update_card(update)
        ts = await self._say(
            incident.channel_id,
            ops.status_update_message(card, view),
            metadata=incident_metadata(card.number, f"update-{seq}"),
        )
        await self._to_announcement(incident, ops.status_update_share(card, view), broadcast=share)
        async with self.sessions() as session:
            await store.set_status_update_message(session, update_id=update.id, message_ts=ts)
            await session.commit()

    async def _to_announcement(
        self, incident: store.Incident, message: RenderedMessage, *, broadcast: bool
    ) -> None:
        """A reply in the announcement's thread, also shown in the channel when `broadcast`."""
        if incident.private or incident.drill:
            return
        if not (incident.announcement_ts and incident.announcement_channel_id):
            return
        await self.gateway.post(
            channel=incident.announcement_channel_id,
            text=message.text,
            blocks=message.blocks,
            thread_ts=incident.announcement_ts,
            reply_broadcast=broadcast,
        )

    async def _notify_upgrade(self, card: IncidentCard, *, old: str, new: str) -> None:
        """The new severity's `notify` targets hear of the upgrade once per severity."""
        first = await record_event(
            self.sessions,
            self.clock,
            number=card.number,
            kind="notified",
            text=f"Notified for {new}",
            dedupe_key=f"{card.number}:notified:{new}",
        )
        if not first:
            return
        severity = self.policy.find_severity(new)
        message = ops.severity_notify_message(card, old=old, new=new)
        for target in severity.notify if severity else ():
            await self._tell(target, message)

    async def _tell(self, target: Target, message: RenderedMessage) -> None:
        if target.kind == "channel":
            channel = target.value if target.is_id else "#" + target.value
            await self._say(channel, message)
            return
        users = (
            [target.value]
            if target.kind == "user"
            else await self.gateway.group_members(
                group=target.value if target.is_id else "@" + target.value
            )
        )
        for user in users:
            await self.gateway.dm(user=user, text=message.text, blocks=message.blocks)

    async def _note_failure(self, effect: Effect, failure: SlackFailure) -> None:
        await record_event(
            self.sessions,
            self.clock,
            number=effect.number,
            kind="slack_failure",
            text=f"{type(effect).__name__} not shown in Slack: {failure.plain_words()}",
        )
