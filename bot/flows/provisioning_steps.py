"""The provisioning steps themselves: each one Slack change, safe to run again.

Posts and DMs go through the `Messenger`, which recognises what an earlier attempt of the job
already sent (job progress, then message metadata in Slack), because a previous attempt may
have reached Slack without us seeing the answer.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

import store
from bot.clock import Clock
from bot.flows.audiences import record_first_news
from bot.flows.cards import IncidentCard, IncidentRenderer, RenderedMessage
from bot.flows.delivery import Messenger
from bot.flows.naming import incident_channel_name
from bot.flows.ports import ChannelRef, PostedMessage, SlackFailure, SlackPort
from bot.flows.timeline import note_unreachable
from bot.jobs import JobRun
from bot.policy import Policy, Target

log = structlog.stdlib.get_logger(__name__)

MAX_NAME_SUFFIX = 50
MEMBERS_JOB = "members"
# A private channel's members are re-read from Slack this soon after the invitations (and
# then periodically, see bot/channel_jobs.py): people join and leave outside warroom too.
MEMBERS_FIRST_REFRESH = timedelta(minutes=1)


@dataclass
class StepContext:
    """What a step sees: the incident as stored now, and the provisioning job."""

    incident: store.Incident
    card: IncidentCard
    job: JobRun
    step: str

    @property
    def number(self) -> int:
        return self.card.number

    @property
    def retrying(self) -> bool:
        """A previous attempt may have reached Slack even though we never saw its answer."""
        return self.job.retrying

    @property
    def partial(self) -> dict[str, Any]:
        """What this step noted before its Slack call on an earlier attempt."""
        found = self.job.recalled(f"partial:{self.step}")
        return dict(found) if isinstance(found, dict) else {}


@dataclass
class Recipients:
    """Who the incident reaches, groups already expanded (done while the channel is created)."""

    responders: list[str] = field(default_factory=list)
    notify_channels: list[Target] = field(default_factory=list)
    notify_people: dict[str, list[str]] = field(default_factory=dict)  # target → user ids


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
        self.messenger = Messenger(slack)

    # -- people --------------------------------------------------------------------------------
    async def recipients(self, card: IncidentCard) -> Recipients:
        """Responders to invite and notify targets, every group expanded concurrently."""
        severity = self.policy.find_severity(card.severity_id)
        kind = self.policy.find_incident_type(card.type_id) if card.type_id else None
        invite = [*(severity.invite if severity else ()), *(kind.invite if kind else ())]
        if card.drill and not self.policy.drills.invite_responders:
            invite = []  # practice: the declarer and the commander they named
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
            return await self.slack.group_members(group=str(target))
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

    async def remember(self, context: StepContext, **progress: Any) -> None:
        """Store partial progress before a Slack call, so a retry knows what was intended."""
        await context.job.remember(f"partial:{context.step}", context.partial | progress)

    # -- the steps -----------------------------------------------------------------------------
    async def create_channel(self, context: StepContext) -> dict[str, Any]:
        incident = context.incident
        if incident.channel_id:
            return {"channel_id": incident.channel_id}
        suffix: int | None = context.partial.get("suffix")
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
            await self.remember(context, name=name, suffix=suffix)
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
        channel = _channel(context)
        await self.slack.invite(channel=channel, users=recipients.responders)
        # Known members from now on: permission checks and lists never ask Slack.
        now = self.clock.now()
        async with self.sessions() as session:
            await store.add_channel_members(
                session, channel_id=channel, user_ids=recipients.responders, now=now
            )
            if context.incident.private:
                await store.enqueue_job(
                    session,
                    key=f"{MEMBERS_JOB}:{context.number}",
                    kind=MEMBERS_JOB,
                    incident_number=context.number,
                    due_at=now + MEMBERS_FIRST_REFRESH,
                    now=now,
                )
            await session.commit()
        return {"invited": recipients.responders}

    async def post_panel(self, context: StepContext) -> dict[str, Any]:
        posted = await self._post_once(
            context, _channel(context), "panel", self.render.panel(context.card)
        )
        await self.save(context.number, panel_ts=posted.ts)
        return {"ts": posted.ts}

    async def bookmark_runbook(self, context: StepContext) -> None:
        link = context.card.runbook
        if not link:
            return
        channel = _channel(context)
        if context.retrying and await self.slack.has_bookmark(channel=channel, link=link):
            return  # an earlier attempt added it before we saw the answer
        await self.slack.add_bookmark(channel=channel, title="Runbook", link=link)

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

    async def notify(self, context: StepContext, recipients: Recipients) -> None:
        """The severity's and type's `notify` targets: channels get the announcement, people
        a DM. All at once; each post and DM is sent once, a retry skips what was sent."""
        message = self.render.announcement(context.card)
        sends: dict[str, Any] = {}
        for target in recipients.notify_channels:
            channel = str(target)
            sends[str(target)] = self.messenger.post_once(
                context.job,
                f"notify:{target}",
                number=context.number,
                channel=channel,
                message=message,
                kind="notify",
            )
        for key, users in recipients.notify_people.items():
            sends[key] = asyncio.gather(
                *(
                    self.messenger.dm_once(
                        context.job,
                        f"notify-dm:{user}",
                        number=context.number,
                        user=user,
                        message=message,
                    )
                    for user in users
                )
            )
        outcomes = dict(
            zip(sends, await asyncio.gather(*sends.values(), return_exceptions=True), strict=True)
        )
        channels = {str(t) for t in recipients.notify_channels}
        posted = {
            k: o for k, o in outcomes.items() if k in channels and isinstance(o, PostedMessage)
        }
        refused = [
            k for k, o in outcomes.items() if isinstance(o, SlackFailure) and not o.transient
        ]
        await record_first_news(
            self.sessions,
            number=context.number,
            posted=posted,
            refused=[k for k in refused if k in channels],
            now=self.clock.now(),
        )
        failure: BaseException | None = None
        for key, outcome in outcomes.items():
            if key in refused and isinstance(outcome, SlackFailure):
                await note_unreachable(
                    self.sessions,
                    self.clock,
                    number=context.number,
                    target=Target.parse(key),
                    failure=outcome,
                )
            elif isinstance(outcome, BaseException):
                failure = failure or outcome
        if failure is not None:
            raise failure

    async def pin_panel(self, context: StepContext) -> None:
        if context.incident.panel_ts is None:
            raise SlackFailure("pins.add", "panel_not_posted_yet")
        await self.slack.pin(channel=_channel(context), ts=context.incident.panel_ts)

    async def _post_once(
        self, context: StepContext, channel: str, kind: str, message: RenderedMessage
    ) -> PostedMessage:
        """Post `message` unless a previous attempt already did (found by its metadata)."""
        return await self.messenger.post_once(
            context.job,
            f"post:{kind}",
            number=context.number,
            channel=channel,
            message=message,
            kind=kind,
        )


def _channel(context: StepContext) -> str:
    if context.incident.channel_id is None:
        raise SlackFailure("provisioning", "channel_not_created_yet")
    return context.incident.channel_id
