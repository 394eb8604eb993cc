"""Delivers the flows' effects to Slack: the job handler of kind `effect`.

Each effect is a job stored with the change that caused it (the outbox). One handler per
effect type, registered with `@handles(...)`; each renders with the templates and sends
through the `Messenger`, so every post and DM is sent once, however often the job runs (a
retry recognises what the earlier attempt did by the job's progress and message metadata).
Failures follow the job runner's one rule (`bot/jobs.py`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar, get_args

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

import store
from bot.clock import Clock
from bot.flows.audiences import record_first_news
from bot.flows.cards import IncidentCard, RenderedMessage
from bot.flows.delivery import Messenger
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
)
from bot.flows.ports import NOT_READY, SlackFailure
from bot.flows.queries import update_card
from bot.flows.snapshot import card_of
from bot.flows.timeline import note_unreachable
from bot.gateway import SlackGateway
from bot.jobs import JobRun
from bot.policy import Policy, Target
from bot.templates import operations as ops
from bot.templates.incident import IncidentTemplates

E = TypeVar("E")
FIRST_NEWS_WAIT = timedelta(minutes=10)
EffectHandler = Callable[["Delivery", Any], Awaitable[None]]
HANDLERS: dict[type[Any], EffectHandler] = {}


def handles(kind: type[E]) -> Callable[[Callable[[Delivery, E], Awaitable[None]]], Any]:
    """Register the one handler of an effect type."""

    def register(handler: Callable[[Delivery, E], Awaitable[None]]) -> Any:
        if kind in HANDLERS:
            raise ValueError(f"{kind.__name__} has two handlers")
        HANDLERS[kind] = handler
        return handler

    return register


@dataclass
class Delivery:
    """One attempt at one effect: the incident as it is now and the ways to reach Slack."""

    job: JobRun
    incident: store.Incident
    card: IncidentCard
    runner: EffectRunner

    @property
    def number(self) -> int:
        return self.card.number

    @property
    def channel(self) -> str:
        return str(self.incident.channel_id)

    async def say(self, message: RenderedMessage, *, mark: str = "channel") -> str:
        """Post in the incident channel, once."""
        posted = await self.runner.messenger.post_once(
            self.job, mark, number=self.number, channel=self.channel, message=message
        )
        return posted.ts

    async def dm(self, user: str, message: RenderedMessage) -> None:
        await self.runner.messenger.dm_once(
            self.job, f"dm:{user}", number=self.number, user=user, message=message
        )

    async def to_announcement(self, message: RenderedMessage, *, broadcast: bool) -> None:
        """A reply in the announcement's thread (also shown in the channel when `broadcast`);
        private incidents and drills have none."""
        incident = self.incident
        if incident.private or incident.drill:
            return
        if not (incident.announcement_ts and incident.announcement_channel_id):
            return
        await self.runner.messenger.post_once(
            self.job,
            "announcement",
            number=self.number,
            channel=incident.announcement_channel_id,
            message=message,
            thread_ts=incident.announcement_ts,
            broadcast=broadcast,
        )

    async def reaching(self, target: Target, sending: Awaitable[object]) -> bool:
        """Await `sending` to `target`; a permanent refusal (no such channel, group or user)
        is told to the commander once and reported as not sent, never as sent."""
        try:
            await sending
        except SlackFailure as failure:
            if failure.transient:
                raise  # the effect is retried; what was sent is recognised
            await self.unreachable(target, failure)
            return False
        return True

    async def unreachable(self, target: Target, failure: SlackFailure) -> None:
        await note_unreachable(
            self.runner.sessions,
            self.runner.clock,
            number=self.number,
            target=target,
            failure=failure,
        )

    async def first_news(self, target: Target, message: RenderedMessage, *, mark: str) -> None:
        """A channel's first message about the incident, under which it hears the rest."""
        name, sessions, now = str(target), self.runner.sessions, self.runner.clock.now()
        sending = self.runner.messenger.post_once(
            self.job, mark, number=self.number, channel=name, message=message
        )
        try:
            posted = await sending
        except SlackFailure as failure:
            if failure.transient:
                raise
            await record_first_news(
                sessions, number=self.number, posted={}, refused=[name], now=now
            )
            await self.unreachable(target, failure)
            return
        await record_first_news(sessions, number=self.number, posted={name: posted}, now=now)

    async def to_audiences(
        self, message: RenderedMessage, *, only: Collection[str] | None = None
    ) -> None:
        """Threaded under each notified channel's first message (`only`: those channels),
        once each; waits (retried) while a first message is still being posted."""
        if self.incident.private or self.incident.drill or (only is not None and not only):
            return
        async with self.runner.sessions() as session:
            told = await store.list_audiences(session, incident_number=self.number)
        waiting = False
        for audience in told:
            if only is not None and audience.target not in only:
                continue
            if audience.channel_id is None or audience.message_ts is None:
                # Its first message is on its way (another job posts it); one that never
                # came (its severity changed before provisioning told it) is not waited for.
                fresh = audience.since > self.runner.clock.now() - FIRST_NEWS_WAIT
                waiting = waiting or fresh
                continue
            sending = self.runner.messenger.post_once(
                self.job,
                f"audience:{audience.target}",
                number=self.number,
                channel=audience.channel_id,
                message=message,
                thread_ts=audience.message_ts,
            )
            await self.reaching(Target.parse(audience.target), sending)
        if waiting:
            raise SlackFailure("chat.postMessage", NOT_READY)


class EffectRunner:
    """The job handler of kind `effect`."""

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
        self.messenger = Messenger(gateway)

    def describe(self, job: JobRun) -> str:
        try:
            effect = decode(job.payload or "")
        except ValueError:
            return "An incident message"
        return DESCRIPTIONS.get(type(effect), "An incident message")

    async def run(self, job: JobRun) -> None:
        effect = decode(job.payload or "", job=job.key)  # undecodable: fails, never loops
        async with self.sessions() as session:
            incident = await store.get_incident(session, number=effect.number)
            roles = await store.current_roles(session, incident_number=effect.number)
        if incident is None or incident.channel_id is None:
            return  # nothing to show it in (deleted, or its channel never came to be)
        card = card_of(self.policy, incident, roles)
        await HANDLERS[type(effect)](Delivery(job, incident, card, self), effect)


DESCRIPTIONS: dict[type[Any], str] = {
    Refresh: "Updating the incident panel",
    Acknowledged: "Posting the acknowledgement",
    RoleAssigned: "Announcing the role assignment",
    SeverityChanged: "Announcing the severity change",
    UpdatePosted: "Posting the status update",
    Resolved: "Announcing the resolution",
    Closed: "Announcing the close",
    Reopened: "Reopening the incident channel",
}


@handles(Refresh)
async def _refresh(d: Delivery, effect: Refresh) -> None:
    """The panel and the announcement are edited in place, never posted again."""
    incident, gateway, templates = d.incident, d.runner.gateway, d.runner.templates
    if incident.panel_ts:
        async with d.runner.sessions() as session:
            items = await store.list_action_items(
                session, incident_number=d.number, include_done=False
            )
        card = dataclasses.replace(d.card, open_action_items=len(items))
        panel = templates.panel(card)
        await gateway.update_message(
            channel=d.channel, ts=incident.panel_ts, text=panel.text, blocks=panel.blocks
        )
    if incident.announcement_ts and incident.announcement_channel_id:
        announcement = templates.announcement(d.card)
        await gateway.update_message(
            channel=incident.announcement_channel_id,
            ts=incident.announcement_ts,
            text=announcement.text,
            blocks=announcement.blocks,
        )
    if effect.topic:
        await gateway.set_topic(channel=d.channel, topic=templates.topic(d.card))


@handles(Acknowledged)
async def _acknowledged(d: Delivery, effect: Acknowledged) -> None:
    await d.say(ops.acknowledged_message(d.card, by=effect.by, at=effect.at, first=effect.first))


@handles(RoleAssigned)
async def _role_assigned(d: Delivery, effect: RoleAssigned) -> None:
    role = d.runner.policy.role(effect.role_id)
    await d.say(
        ops.role_assigned_message(
            d.card, role_name=role.name, user=effect.user, previous=effect.previous, by=effect.by
        )
    )
    if not d.job.done("invite"):
        await d.runner.gateway.invite(channel=d.channel, users=[effect.user])
        async with d.runner.sessions() as session:
            await store.add_channel_members(
                session, channel_id=d.channel, user_ids=[effect.user], now=d.runner.clock.now()
            )
            await session.commit()
        await d.job.remember("invite")
    if effect.user == effect.by:
        return  # taking a role yourself: you know (the channel saw it)
    dm = ops.role_dm(d.card, role_name=role.name, role_description=role.description, by=effect.by)
    await d.dm(effect.user, dm)


@handles(SeverityChanged)
async def _severity_changed(d: Delivery, effect: SeverityChanged) -> None:
    message = ops.severity_changed_message(
        d.card, old=effect.old, new=effect.new, by=effect.by, upgrade=effect.upgrade
    )
    await d.say(message)
    notice = ops.severity_notify_message(d.card, old=effect.old, new=effect.new)
    severity = d.runner.policy.find_severity(effect.new)
    people = [t for t in (severity.notify if severity else ()) if t.kind != "channel"]
    for target in people if effect.notify else []:
        await d.reaching(target, tell(d, target, notice, mark=f"notify:{effect.new}:{target}"))
    for name in effect.fresh:
        await d.first_news(Target.parse(name), notice, mark=f"notify:{effect.new}:{name}")
    for event, channels in (("following", effect.following), ("leaving", effect.leaving)):
        news = ops.audience_notice(
            d.card, event=event, by=effect.by, old=effect.old, upgrade=effect.upgrade
        )
        await d.to_audiences(news, only=channels)


async def tell(d: Delivery, target: Target, message: RenderedMessage, *, mark: str) -> None:
    messenger = d.runner.messenger
    if target.kind == "channel":
        channel = str(target)
        await messenger.post_once(d.job, mark, number=d.number, channel=channel, message=message)
        return
    users = (
        [target.value]
        if target.kind == "user"
        else await d.runner.gateway.group_members(group=str(target))
    )
    for user in users:
        await messenger.dm_once(
            d.job, f"{mark}:{user}", number=d.number, user=user, message=message
        )


@handles(UpdatePosted)
async def _update_posted(d: Delivery, effect: UpdatePosted) -> None:
    async with d.runner.sessions() as session:
        updates = await store.list_status_updates(session, incident_number=d.number)
    update = next((u for u in updates if u.seq == effect.seq), None)
    if update is None or update.id is None:
        return
    view = update_card(update)
    ts = await d.say(ops.status_update_message(d.card, view))
    await d.to_announcement(ops.status_update_share(d.card, view), broadcast=effect.share)
    async with d.runner.sessions() as session:
        await store.set_status_update_message(session, update_id=update.id, message_ts=ts)
        await session.commit()


@handles(Resolved)
async def _resolved(d: Delivery, effect: Resolved) -> None:
    def message(*, in_channel: bool) -> RenderedMessage:
        return ops.resolution_message(
            d.card,
            summary=effect.summary,
            root_cause=effect.root_cause or "",
            duration=effect.duration,
            postmortem_due_at=effect.postmortem_due_at,
            by=effect.by,
            in_channel=in_channel,
        )

    await d.say(message(in_channel=True))
    await d.to_announcement(message(in_channel=False), broadcast=True)
    await d.to_audiences(message(in_channel=False))


@handles(Closed)
async def _closed(d: Delivery, effect: Closed) -> None:
    await d.say(ops.closed_message(d.card, by=effect.by, archive_at=effect.archive_at))


@handles(Reopened)
async def _reopened(d: Delivery, effect: Reopened) -> None:
    await d.runner.gateway.unarchive(channel=d.channel)
    await d.say(ops.reopened_message(d.card, by=effect.by))
    await d.to_audiences(ops.audience_notice(d.card, event="reopened", by=effect.by))


def check_registry() -> None:
    """Every effect type has its handler (a test calls this; so does the composition root)."""
    union = get_args(get_args(Effect)[0])
    missing = [kind.__name__ for kind in union if kind not in HANDLERS]
    if missing:
        raise LookupError(f"effects without a handler: {missing}")
