"""The provisioning steps themselves: each one Slack change, safe to run again.

A step that posts first looks for its earlier post (by message metadata) when it is being
retried, because a previous attempt may have reached Slack without us seeing the answer.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

import store
from bot.clock import Clock
from bot.flows.cards import IncidentCard, IncidentRenderer, RenderedMessage
from bot.flows.naming import incident_channel_name
from bot.flows.ports import ChannelRef, PostedMessage, SlackFailure, SlackPort
from bot.flows.timeline import note_unreachable
from bot.policy import Policy, Target

log = structlog.stdlib.get_logger(__name__)

METADATA_EVENT = "warroom_incident"
MAX_NAME_SUFFIX = 50


@dataclass
class StepContext:
    """What a step sees: the incident as stored now, and its own progress."""

    incident: store.Incident
    card: IncidentCard
    attempts: int
    result: dict[str, Any]

    @property
    def number(self) -> int:
        return self.card.number

    @property
    def retrying(self) -> bool:
        """A previous attempt may have reached Slack even though we never saw its answer."""
        return self.attempts > 1


@dataclass
class Recipients:
    """Who the incident reaches, groups already expanded (done while the channel is created)."""

    responders: list[str] = field(default_factory=list)
    notify_channels: list[Target] = field(default_factory=list)
    notify_people: dict[str, list[str]] = field(default_factory=dict)  # target → user ids


def incident_metadata(number: int, kind: str) -> dict[str, Any]:
    return {"event_type": METADATA_EVENT, "event_payload": {"incident": number, "kind": kind}}


class ProvisioningSteps:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        policy: Policy,
        slack: SlackPort,
        render: IncidentRenderer,
        clock: Clock,
    ) -> None:
        self.sessions = sessions
        self.policy = policy
        self.slack = slack
        self.render = render
        self.clock = clock

    # -- people --------------------------------------------------------------------------------
    async def recipients(self, card: IncidentCard) -> Recipients:
        """Responders to invite and notify targets, every group expanded concurrently."""
        severity = self.policy.find_severity(card.severity_id)
        kind = self.policy.find_incident_type(card.type_id) if card.type_id else None
        invite = [*(severity.invite if severity else ()), *(kind.invite if kind else ())]
        announce = self.policy.announce_channel
        notify: dict[str, Target] = {}
        if not card.private and not card.drill:
            for target in (*(severity.notify if severity else ()), *(kind.notify if kind else ())):
                if target != announce:  # already announced there
                    notify.setdefault(str(target), target)
        people = [t for t in notify.values() if t.kind != "channel"]
        expanded = await asyncio.gather(*(self._users_of(card.number, t) for t in invite + people))
        responders = [card.declared_by, *([card.commander] if card.commander else [])]
        for users in expanded[: len(invite)]:
            responders.extend(users)
        return Recipients(
            responders=list(dict.fromkeys(responders)),
            notify_channels=[t for t in notify.values() if t.kind == "channel"],
            notify_people={
                str(t): users for t, users in zip(people, expanded[len(invite) :], strict=True)
            },
        )

    async def _users_of(self, number: int, target: Target) -> list[str]:
        if target.kind == "user":
            return [target.value]
        if target.kind != "group":
            return []
        try:
            return await self.slack.group_members(
                group=target.value if target.is_id else "@" + target.value
            )
        except SlackFailure as failure:
            if failure.transient:
                raise  # retried with the step
            await note_unreachable(
                self.sessions, self.clock, number=number, target=target, failure=failure
            )
            return []

    async def save(self, number: int, **changes: Any) -> None:
        async with self.sessions() as session:
            await store.update_incident(
                session, number=number, expected_version=None, now=self.clock.now(), **changes
            )
            await session.commit()

    async def remember(self, context: StepContext, step: str, **progress: Any) -> None:
        """Store partial progress before a Slack call, so a retry knows what was intended."""
        context.result.update(progress)
        async with self.sessions() as session:
            await store.record_step_result(
                session,
                incident_number=context.number,
                step=step,
                now=self.clock.now(),
                result=json.dumps(context.result),
            )
            await session.commit()

    # -- the steps -----------------------------------------------------------------------------
    async def create_channel(self, context: StepContext) -> dict[str, Any]:
        incident = context.incident
        if incident.channel_id:
            return {"channel_id": incident.channel_id}
        suffix: int | None = context.result.get("suffix")
        for _ in range(MAX_NAME_SUFFIX):
            name = incident_channel_name(
                self.policy,
                number=context.number,
                title=incident.title,
                severity=incident.severity,
                type_id=incident.type,
                on=incident.declared_at.date(),
                suffix=suffix,
            )
            if context.retrying and (adopted := await self._ours(name, context)) is not None:
                return await self._adopt_channel(context, adopted)
            await self.remember(context, "create_channel", name=name, suffix=suffix)
            try:
                created = await self.slack.create_channel(name=name, private=incident.private)
            except SlackFailure as failure:
                if failure.error != "name_taken":
                    raise
                adopted = await self._ours(name, context)
                if adopted is not None:
                    return await self._adopt_channel(context, adopted)
                suffix = (suffix or 1) + 1  # a foreign channel has the name: -2, -3 …
                continue
            return await self._adopt_channel(context, created)
        raise SlackFailure("conversations.create", "name_taken")

    async def _ours(self, name: str, context: StepContext) -> ChannelRef | None:
        """The channel called `name` if this bot created it for this incident (crash recovery)."""
        found = await self.slack.find_channel(name=name)
        if found is None or found.creator != self.slack.bot_user_id:
            return None
        declared = context.incident.declared_at.timestamp()
        if found.created is not None and found.created < declared - 60:
            return None  # an old channel of the same name, e.g. from a previous database
        async with self.sessions() as session:
            owner = await store.get_incident_by_channel(session, channel_id=found.id)
        return found if owner is None or owner.number == context.number else None

    async def _adopt_channel(self, context: StepContext, channel: ChannelRef) -> dict[str, Any]:
        await self.save(context.number, channel_id=channel.id, channel_name=channel.name)
        return {"channel_id": channel.id, "name": channel.name}

    async def set_topic(self, context: StepContext) -> None:
        await self.slack.set_topic(channel=_channel(context), topic=self.render.topic(context.card))

    async def set_purpose(self, context: StepContext) -> None:
        await self.slack.set_purpose(
            channel=_channel(context), purpose=self.render.purpose(context.card)
        )

    async def invite(self, context: StepContext, recipients: Recipients) -> dict[str, Any]:
        await self.slack.invite(channel=_channel(context), users=recipients.responders)
        return {"invited": recipients.responders}

    async def post_panel(self, context: StepContext) -> dict[str, Any]:
        posted = await self._post_once(
            context, _channel(context), "panel", self.render.panel(context.card)
        )
        await self.save(context.number, panel_ts=posted.ts)
        return {"ts": posted.ts}

    async def bookmark_runbook(self, context: StepContext) -> None:
        if context.card.runbook:
            await self.slack.add_bookmark(
                channel=_channel(context), title="Runbook", link=context.card.runbook
            )

    async def announce(self, context: StepContext) -> dict[str, Any]:
        posted = await self._post_once(
            context,
            str(self.policy.announce_channel),
            "announcement",
            self.render.announcement(context.card),
        )
        await self.save(
            context.number, announcement_channel_id=posted.channel, announcement_ts=posted.ts
        )
        return {"channel": posted.channel, "ts": posted.ts}

    async def notify(self, context: StepContext, recipients: Recipients) -> dict[str, Any]:
        """The severity's and type's `notify` targets: channels get the announcement, people
        a DM. All at once; progress is kept per target so a retry skips what was sent."""
        done: list[str] = list(context.result.get("done", []))
        message = self.render.announcement(context.card)
        jobs: dict[str, Any] = {}
        for target in recipients.notify_channels:
            if str(target) not in done:
                channel = target.value if target.is_id else "#" + target.value
                jobs[str(target)] = self._post_once(context, channel, "notify", message)
        for key, users in recipients.notify_people.items():
            if key not in done:
                jobs[key] = asyncio.gather(
                    *(
                        self.slack.dm(user=u, text=message.text, blocks=message.blocks)
                        for u in users
                    )
                )
        outcomes = await asyncio.gather(*jobs.values(), return_exceptions=True)
        failure: BaseException | None = None
        for key, outcome in zip(jobs, outcomes, strict=True):
            if isinstance(outcome, SlackFailure) and not outcome.transient:
                target = Target.parse(key)
                await note_unreachable(
                    self.sessions, self.clock, number=context.number, target=target, failure=outcome
                )
            elif isinstance(outcome, BaseException):
                failure = failure or outcome
                continue
            done.append(key)
        await self.remember(context, "notify", done=done)
        if failure is not None:
            raise failure
        return {"done": done}

    async def pin_panel(self, context: StepContext) -> None:
        if context.incident.panel_ts is None:
            raise SlackFailure("pins.add", "panel_not_posted_yet")
        await self.slack.pin(channel=_channel(context), ts=context.incident.panel_ts)

    async def _post_once(
        self, context: StepContext, channel: str, kind: str, message: RenderedMessage
    ) -> PostedMessage:
        """Post `message` unless a previous attempt already did (found by its metadata)."""
        if context.retrying:
            channel_id = await self.slack.resolve_channel(channel=channel)
            found = await self.slack.find_posted(
                channel=channel_id,
                event_type=METADATA_EVENT,
                match={"incident": context.number, "kind": kind},
            )
            if found is not None:
                return found
        return await self.slack.post(
            channel=channel,
            text=message.text,
            blocks=message.blocks,
            metadata=incident_metadata(context.number, kind),
        )


def _channel(context: StepContext) -> str:
    if context.incident.channel_id is None:
        raise SlackFailure("provisioning", "channel_not_created_yet")
    return context.incident.channel_id
