"""Delivers the flows' effects to Slack: renders them with the templates, sends them through
the gateway.

Each effect is an outbox step stored with the change that caused it. Delivery claims the step
(so one process sends it), marks it done, or failed with a retry time; the reconciler
delivers what is due, including what a crash left behind. A retried delivery first looks for
the messages the earlier attempt may have posted (by their message metadata), so nothing is
posted twice. Each effect is independent: one that fails does not stop the others."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

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
    decode,
    is_effect_step,
)
from bot.flows.ports import SlackFailure
from bot.flows.provisioning import LEASE, RECONCILE_GRACE, backoff, keep_lease
from bot.flows.provisioning_steps import incident_metadata
from bot.flows.queries import update_card
from bot.flows.snapshot import load_card
from bot.flows.timeline import note_unreachable, record_event
from bot.gateway import SlackGateway
from bot.logs import get_logger
from bot.policy import Policy, Target
from bot.templates import operations as ops
from bot.templates.incident import IncidentTemplates

log = get_logger(__name__)

MAX_ATTEMPTS = 8
GIVE_UP = timedelta(days=365)  # a failed effect Slack refused stays on record, not retried


class EffectRunner:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        policy: Policy,
        gateway: SlackGateway,
        clock: Clock,
        templates: IncidentTemplates,
        lease: timedelta = LEASE,
    ) -> None:
        self.sessions = sessions
        self.policy = policy
        self.gateway = gateway
        self.clock = clock
        self.templates = templates
        self.lease = lease

    # -- delivery ------------------------------------------------------------------------------
    async def apply(self, effects: Sequence[Effect]) -> None:
        """Deliver these effects now (each claimed first: a concurrent replay skips it)."""
        for effect in effects:
            await self._deliver(effect)

    async def deliver_due(self) -> int:
        """Deliver effects whose first attempt failed, or that a crash left behind."""
        now = self.clock.now()
        async with self.sessions() as session:
            due = await store.due_steps(session, now=now, limit=200)
        delivered = 0
        for step in due:
            if not is_effect_step(step.step) or step.result is None:
                continue
            if step.state == "pending" and step.updated_at > now - RECONCILE_GRACE:
                continue  # its request is delivering it right now
            await self._deliver(decode(step.result, step=step.step))
            delivered += 1
        return delivered

    async def _deliver(self, effect: Effect) -> None:
        if effect.step is None:
            raise ValueError("effects are delivered from the outbox: store them with the change")
        now = self.clock.now()
        async with self.sessions() as session:
            claimed = await store.claim_step(
                session, incident_number=effect.number, step=effect.step, now=now, lease=self.lease
            )
            await session.commit()
        if claimed is None:
            return  # delivered already, or being delivered by someone else
        heartbeat = asyncio.create_task(
            keep_lease(
                self.sessions, self.clock, number=effect.number, step=effect.step, lease=self.lease
            )
        )
        try:
            await self._apply(_Delivery(effect, attempts=claimed.attempts))
        except SlackFailure as failure:
            log.error(
                "effect_failed",
                incident=effect.number,
                effect=type(effect).__name__,
                error=failure.error,
                attempts=claimed.attempts,
            )
            await self._failed(effect, claimed.attempts, failure)
            return
        except Exception as error:
            # A bug, not Slack: logged with its traceback, recorded, not retried in a loop.
            log.exception("effect_crashed", incident=effect.number, effect=type(effect).__name__)
            await self._failed(
                effect, claimed.attempts, SlackFailure("effect", type(error).__name__)
            )
            return
        finally:
            heartbeat.cancel()
        async with self.sessions() as session:
            await store.complete_step(
                session, incident_number=effect.number, step=effect.step, now=self.clock.now()
            )
            await session.commit()

    async def _failed(self, effect: Effect, attempts: int, failure: SlackFailure) -> None:
        now = self.clock.now()
        if failure.transient and attempts < MAX_ATTEMPTS:
            wait = (
                timedelta(seconds=failure.retry_after)
                if failure.retry_after is not None
                else backoff(attempts)
            )
            retry_at: datetime | None = now + wait
        else:
            retry_at = now + GIVE_UP  # Slack refused it: not worth hammering
            await record_event(
                self.sessions,
                self.clock,
                number=effect.number,
                kind="slack_failure",
                text=f"{type(effect).__name__} not shown in Slack: {failure.plain_words()}",
                dedupe_key=f"{effect.number}:failed:{effect.step}",
            )
        async with self.sessions() as session:
            await store.fail_step(
                session,
                incident_number=effect.number,
                step=str(effect.step),
                now=now,
                error=f"{failure.plain_words()} ({failure.error})",
                retry_at=retry_at,
            )
            await session.commit()

    async def _apply(self, delivery: _Delivery) -> None:
        effect = delivery.effect
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
                message = ops.acknowledged_message(card, by=by, at=at, first=first)
                await self._say(delivery, channel, message)
            case RoleAssigned(role_id=role_id, user=user, previous=previous, by=by):
                role = self.policy.role(role_id)
                message = ops.role_assigned_message(
                    card, role_name=role.name, user=user, previous=previous, by=by
                )
                await self._say(delivery, channel, message)
                await self.gateway.invite(channel=channel, users=[user])
                dm = ops.role_dm(
                    card, role_name=role.name, role_description=role.description, by=by
                )
                await self.gateway.dm(user=user, text=dm.text, blocks=dm.blocks)
            case SeverityChanged(old=old, new=new, by=by, upgrade=upgrade):
                message = ops.severity_changed_message(
                    card, old=old, new=new, by=by, upgrade=upgrade
                )
                await self._say(delivery, channel, message)
                if upgrade and not incident.private and not incident.drill:
                    await self._notify_upgrade(delivery, card, old=old, new=new)
            case UpdatePosted(seq=seq, share=share):
                await self._post_update(delivery, incident, card, seq=seq, share=share)
            case Resolved():
                message = ops.resolution_message(
                    card,
                    summary=effect.summary,
                    root_cause=effect.root_cause or "",
                    duration=effect.duration,
                    postmortem_due_at=effect.postmortem_due_at,
                    by=effect.by,
                )
                await self._say(delivery, channel, message)
                await self._to_announcement(delivery, incident, message, broadcast=True)
            case Closed(by=by, archive_at=archive_at):
                message = ops.closed_message(card, by=by, archive_at=archive_at)
                await self._say(delivery, channel, message)
            case Reopened(by=by):
                await self.gateway.unarchive(channel=channel)
                await self._say(delivery, channel, ops.reopened_message(card, by=by))

    # -- pieces --------------------------------------------------------------------------------
    async def _say(
        self,
        delivery: _Delivery,
        channel: str,
        message: RenderedMessage,
        *,
        thread_ts: str | None = None,
        broadcast: bool = False,
    ) -> str:
        """Post once: a retried delivery finds the earlier attempt's post by its metadata."""
        metadata = incident_metadata(delivery.effect.number, delivery.next_key())
        if delivery.retrying:
            found = await self.gateway.find_posted(
                channel=await self.gateway.resolve_channel(channel=channel),
                event_type=metadata["event_type"],
                match=metadata["event_payload"],
                thread_ts=thread_ts,
            )
            if found is not None:
                return found.ts
        posted = await self.gateway.post(
            channel=channel,
            text=message.text,
            blocks=message.blocks,
            metadata=metadata,
            thread_ts=thread_ts,
            reply_broadcast=broadcast,
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
        self,
        delivery: _Delivery,
        incident: store.Incident,
        card: IncidentCard,
        *,
        seq: int,
        share: bool,
    ) -> None:
        async with self.sessions() as session:
            updates = await store.list_status_updates(session, incident_number=card.number)
        update = next((u for u in updates if u.seq == seq), None)
        if update is None or update.id is None or incident.channel_id is None:
            return
        view = update_card(update)
        ts = await self._say(delivery, incident.channel_id, ops.status_update_message(card, view))
        share_message = ops.status_update_share(card, view)
        await self._to_announcement(delivery, incident, share_message, broadcast=share)
        async with self.sessions() as session:
            await store.set_status_update_message(session, update_id=update.id, message_ts=ts)
            await session.commit()

    async def _to_announcement(
        self,
        delivery: _Delivery,
        incident: store.Incident,
        message: RenderedMessage,
        *,
        broadcast: bool,
    ) -> None:
        """A reply in the announcement's thread, also shown in the channel when `broadcast`."""
        if incident.private or incident.drill:
            return
        if not (incident.announcement_ts and incident.announcement_channel_id):
            return
        await self._say(
            delivery,
            incident.announcement_channel_id,
            message,
            thread_ts=incident.announcement_ts,
            broadcast=broadcast,
        )

    async def _notify_upgrade(
        self, delivery: _Delivery, card: IncidentCard, *, old: str, new: str
    ) -> None:
        """The new severity's `notify` targets hear of the upgrade once per severity."""
        key = f"{card.number}:notified:{new}"
        async with self.sessions() as session:
            events = await store.list_timeline(
                session, incident_number=card.number, kinds=["notified"]
            )
        if any(event.dedupe_key == key for event in events):
            return
        severity = self.policy.find_severity(new)
        message = ops.severity_notify_message(card, old=old, new=new)
        for target in severity.notify if severity else ():
            try:
                await self._tell(delivery, target, message)
            except SlackFailure as failure:
                if failure.transient:
                    raise  # the whole effect is retried; posts already made are recognised
                await note_unreachable(
                    self.sessions, self.clock, number=card.number, target=target, failure=failure
                )
        await record_event(
            self.sessions,
            self.clock,
            number=card.number,
            kind="notified",
            text=f"Notified for {new}",
            dedupe_key=key,
        )

    async def _tell(self, delivery: _Delivery, target: Target, message: RenderedMessage) -> None:
        if target.kind == "channel":
            channel = target.value if target.is_id else "#" + target.value
            await self._say(delivery, channel, message)
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


@dataclass
class _Delivery:
    """One attempt at one effect; numbers its posts so a retry can recognise each of them."""

    effect: Effect
    attempts: int
    posts: int = 0

    @property
    def retrying(self) -> bool:
        return self.attempts > 1

    def next_key(self) -> str:
        self.posts += 1
        return f"{self.effect.step}#{self.posts}"
