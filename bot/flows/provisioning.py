"""Provisioning a declared incident in Slack, step by step, durably.

Each step is a row in the database: claimed with a lease, done or failed with a retry time.
A crash at any point leaves the rows behind and the reconciler (or the next start) finishes
the job. Steps that post recognise their earlier post by its message metadata, so a post
whose response was lost is adopted, not repeated.

Critical path, in sequential Slack round trips:
    1. create the channel (responder groups are expanded at the same time)
    2. topic, purpose, invitations, panel, runbook bookmark, announcement, notifications
    3. pin the panel, tell the declarer
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

import store
from bot.clock import Clock
from bot.flows.cards import IncidentCard, IncidentRenderer
from bot.flows.naming import incident_channel_name
from bot.flows.ports import ChannelRef, SlackFailure, SlackPort
from bot.flows.snapshot import load_card
from bot.policy import Policy, Target

log = structlog.stdlib.get_logger(__name__)

CREATE_CHANNEL = "create_channel"
SET_TOPIC = "set_topic"
SET_PURPOSE = "set_purpose"
INVITE = "invite"
POST_PANEL = "post_panel"
BOOKMARK_RUNBOOK = "bookmark_runbook"
ANNOUNCE = "announce"
NOTIFY = "notify"
PIN_PANEL = "pin_panel"
TELL_DECLARER = "tell_declarer"

SECOND_WAVE = (SET_TOPIC, SET_PURPOSE, INVITE, POST_PANEL, BOOKMARK_RUNBOOK, ANNOUNCE, NOTIFY)
THIRD_WAVE = (PIN_PANEL, TELL_DECLARER)

METADATA_EVENT = "warroom_incident"
MAX_NAME_SUFFIX = 50
LEASE = timedelta(seconds=15)
HEARTBEAT_SECONDS = 5.0
# A pending step younger than this belongs to the request that declared the incident.
RECONCILE_GRACE = timedelta(seconds=10)


def planned_steps(policy: Policy, incident: store.Incident) -> list[str]:
    """The steps this incident needs: private incidents and drills stay in their channel."""
    kind = policy.find_incident_type(incident.type) if incident.type else None
    steps = [CREATE_CHANNEL, SET_TOPIC, SET_PURPOSE, INVITE, POST_PANEL, PIN_PANEL]
    if kind is not None and kind.runbook:
        steps.append(BOOKMARK_RUNBOOK)
    if not incident.private and not incident.drill:
        steps += [ANNOUNCE, NOTIFY]
    steps.append(TELL_DECLARER)
    return steps


def backoff(attempts: int) -> timedelta:
    """2 s, 4 s, 8 s … capped at 2 minutes."""
    return timedelta(seconds=min(2 ** max(attempts, 1), 120))


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


StepAction = Callable[[StepContext], Awaitable[dict[str, Any] | None]]


class Provisioner:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        policy: Policy,
        slack: SlackPort,
        render: IncidentRenderer,
        clock: Clock,
        lease: timedelta = LEASE,
    ) -> None:
        self.sessions = sessions
        self.policy = policy
        self.slack = slack
        self.render = render
        self.clock = clock
        self.lease = lease
        self._actions: dict[str, StepAction] = {
            CREATE_CHANNEL: self._create_channel,
            SET_TOPIC: self._set_topic,
            SET_PURPOSE: self._set_purpose,
            INVITE: self._invite,
            POST_PANEL: self._post_panel,
            BOOKMARK_RUNBOOK: self._bookmark_runbook,
            ANNOUNCE: self._announce,
            NOTIFY: self._notify,
            PIN_PANEL: self._pin_panel,
            TELL_DECLARER: self._tell_declarer,
        }
        self._responders: dict[int, asyncio.Task[list[str]]] = {}

    # -- the job ------------------------------------------------------------------------------
    async def run(self, number: int) -> None:
        """Do every step of incident `number` that is due and not claimed by someone else."""
        structlog.contextvars.bind_contextvars(incident=number)
        card = await self._card(number)
        if card is None:
            return
        # Expanding responder groups does not need the channel: do it during the create.
        responders = asyncio.create_task(self._responder_ids(card))
        self._responders[number] = responders
        try:
            await self._step(number, CREATE_CHANNEL)
            if not await self._is_done(number, CREATE_CHANNEL):
                await self._tell_delay(number)
                return
            await asyncio.gather(*(self._step(number, step) for step in SECOND_WAVE))
            await asyncio.gather(*(self._step(number, step) for step in THIRD_WAVE))
            await self._tell_completion(number)
        finally:
            if self._responders.get(number) is responders:
                del self._responders[number]
            responders.cancel()
            if responders.done() and not responders.cancelled():
                responders.exception()  # retrieved: a failure here is the invite step's to report

    async def reconcile(self) -> int:
        """Finish what crashed or failed; returns how many incidents were worked on."""
        now = self.clock.now()
        async with self.sessions() as session:
            due = await store.due_steps(session, now=now, limit=500)
        numbers = sorted(
            {
                step.incident_number
                for step in due
                if step.state != "pending" or step.updated_at <= now - RECONCILE_GRACE
            }
        )
        for number in numbers:
            try:
                await self.run(number)
            except Exception:
                # One broken incident must not stop the others; it is retried next tick.
                log.exception("reconcile_failed", incident=number)
        return len(numbers)

    # -- one step ------------------------------------------------------------------------------
    async def _step(self, number: int, step: str) -> None:
        now = self.clock.now()
        async with self.sessions() as session:
            steps = await store.get_steps(session, incident_number=number)
            if step not in steps or steps[step].state == "done":
                return
            claimed = await store.claim_step(
                session, incident_number=number, step=step, now=now, lease=self.lease
            )
            await session.commit()
        if claimed is None:
            return
        heartbeat = asyncio.create_task(self._heartbeat(number, step))
        try:
            async with self.sessions() as session:
                incident = await store.get_incident(session, number=number)
                card = await load_card(session, self.policy, number)
            if incident is None or card is None:
                return
            context = StepContext(
                incident=incident,
                card=card,
                attempts=claimed.attempts,
                result=json.loads(claimed.result) if claimed.result else {},
            )
            outcome = await self._actions[step](context)
        except SlackFailure as failure:
            await self._failed(number, step, claimed.attempts, failure)
            return
        except Exception as error:
            log.exception("provisioning_step_crashed", step=step)
            await self._failed(
                number, step, claimed.attempts, SlackFailure(step, type(error).__name__)
            )
            return
        finally:
            heartbeat.cancel()
        await self._done(number, step, outcome)

    async def _heartbeat(self, number: int, step: str) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            async with self.sessions() as session:
                await store.extend_step_lease(
                    session,
                    incident_number=number,
                    step=step,
                    now=self.clock.now(),
                    lease=self.lease,
                )
                await session.commit()

    async def _done(self, number: int, step: str, outcome: dict[str, Any] | None) -> None:
        now = self.clock.now()
        async with self.sessions() as session:
            await store.complete_step(
                session,
                incident_number=number,
                step=step,
                now=now,
                result=json.dumps(outcome) if outcome is not None else None,
            )
            await store.add_timeline_event(
                session,
                incident_number=number,
                kind="provisioning",
                at=now,
                text=STEP_EVENTS.get(step, step),
                dedupe_key=f"{number}:provision:{step}",
            )
            await session.commit()
        log.info("provisioning_step_done", step=step)

    async def _failed(self, number: int, step: str, attempts: int, failure: SlackFailure) -> None:
        now = self.clock.now()
        wait = (
            timedelta(seconds=failure.retry_after)
            if failure.retry_after is not None
            else backoff(attempts)
        )
        async with self.sessions() as session:
            await store.fail_step(
                session,
                incident_number=number,
                step=step,
                now=now,
                error=f"{failure.plain_words()} ({failure.error})",
                retry_at=now + wait,
            )
            await session.commit()
        log.warning(
            "provisioning_step_failed",
            step=step,
            error=failure.error,
            attempts=attempts,
            retry_in_s=wait.total_seconds(),
        )

    async def _is_done(self, number: int, step: str) -> bool:
        async with self.sessions() as session:
            steps = await store.get_steps(session, incident_number=number)
        return step in steps and steps[step].state == "done"

    async def _card(self, number: int) -> IncidentCard | None:
        async with self.sessions() as session:
            return await load_card(session, self.policy, number)

    async def _save(self, number: int, **changes: Any) -> None:
        async with self.sessions() as session:
            await store.update_incident(
                session, number=number, expected_version=None, now=self.clock.now(), **changes
            )
            await session.commit()

    async def _remember(self, context: StepContext, step: str, **progress: Any) -> None:
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

    def _metadata(self, number: int, kind: str) -> dict[str, Any]:
        return {"event_type": METADATA_EVENT, "event_payload": {"incident": number, "kind": kind}}

    # -- the steps -------------------------------------------------------------------------
    async def _create_channel(self, context: StepContext) -> dict[str, Any]:
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
            await self._remember(context, CREATE_CHANNEL, name=name, suffix=suffix)
            try:
                created = await self.slack.create_channel(name=name, private=incident.private)
            except SlackFailure as failure:
                if failure.error != "name_taken":
                    raise
                adopted = await self._ours(name, context)
                if adopted is not None:
                    return await self._adopt_channel(context, adopted)
                suffix = (suffix or 1) + 1
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
        await self._save(context.number, channel_id=channel.id, channel_name=channel.name)
        return {"channel_id": channel.id, "name": channel.name}

    async def _set_topic(self, context: StepContext) -> None:
        await self.slack.set_topic(
            channel=self._channel(context), topic=self.render.topic(context.card)
        )

    async def _set_purpose(self, context: StepContext) -> None:
        await self.slack.set_purpose(
            channel=self._channel(context), purpose=self.render.purpose(context.card)
        )

    async def _invite(self, context: StepContext) -> dict[str, Any]:
        task = self._responders.get(context.number)
        users = await task if task is not None else await self._responder_ids(context.card)
        await self.slack.invite(channel=self._channel(context), users=users)
        return {"invited": users}

    async def _post_panel(self, context: StepContext) -> dict[str, Any]:
        channel = self._channel(context)
        posted = None
        if context.retrying:
            posted = await self.slack.find_posted(
                channel=channel,
                event_type=METADATA_EVENT,
                match={"incident": context.number, "kind": "panel"},
            )
        if posted is None:
            panel = self.render.panel(context.card)
            posted = await self.slack.post(
                channel=channel,
                text=panel.text,
                blocks=panel.blocks,
                metadata=self._metadata(context.number, "panel"),
            )
        await self._save(context.number, panel_ts=posted.ts)
        return {"ts": posted.ts}

    async def _bookmark_runbook(self, context: StepContext) -> None:
        if context.card.runbook:
            await self.slack.add_bookmark(
                channel=self._channel(context), title="Runbook", link=context.card.runbook
            )

    async def _announce(self, context: StepContext) -> dict[str, Any]:
        channel = str(self.policy.announce_channel)
        posted = None
        if context.retrying:
            channel_id = await self.slack.resolve_channel(channel=channel)
            posted = await self.slack.find_posted(
                channel=channel_id,
                event_type=METADATA_EVENT,
                match={"incident": context.number, "kind": "announcement"},
            )
        if posted is None:
            message = self.render.announcement(context.card)
            posted = await self.slack.post(
                channel=channel,
                text=message.text,
                blocks=message.blocks,
                metadata=self._metadata(context.number, "announcement"),
            )
        await self._save(
            context.number, announcement_channel_id=posted.channel, announcement_ts=posted.ts
        )
        return {"channel": posted.channel, "ts": posted.ts}

    async def _notify(self, context: StepContext) -> dict[str, Any]:
        """Severity and type `notify` targets: channels get the announcement, people a DM."""
        done: list[str] = list(context.result.get("done", []))
        message = self.render.announcement(context.card)
        for target in self._notify_targets(context):
            key = str(target)
            if key in done:
                continue
            try:
                if target.kind == "channel":
                    await self._notify_channel(context, target, message.text, message.blocks)
                else:
                    for user in await self._users_of(target):
                        await self.slack.dm(user=user, text=message.text, blocks=message.blocks)
            except SlackFailure as failure:
                if not failure.permanent:
                    raise
                await self._unreachable(context.number, target, failure)
            done.append(key)
            await self._remember(context, NOTIFY, done=done)
        return {"done": done}

    async def _notify_channel(
        self, context: StepContext, target: Target, text: str, blocks: Any
    ) -> None:
        channel = target.value if target.is_id else "#" + target.value
        if context.retrying:
            channel_id = await self.slack.resolve_channel(channel=channel)
            found = await self.slack.find_posted(
                channel=channel_id,
                event_type=METADATA_EVENT,
                match={"incident": context.number, "kind": "notify"},
            )
            if found is not None:
                return
        await self.slack.post(
            channel=channel,
            text=text,
            blocks=blocks,
            metadata=self._metadata(context.number, "notify"),
        )

    def _notify_targets(self, context: StepContext) -> list[Target]:
        severity = self.policy.find_severity(context.incident.severity)
        kind = (
            self.policy.find_incident_type(context.incident.type) if context.incident.type else None
        )
        targets = [*(severity.notify if severity else ()), *(kind.notify if kind else ())]
        unique: dict[str, Target] = {}
        for target in targets:
            if target == self.policy.announce_channel:
                continue  # already announced there
            unique.setdefault(str(target), target)
        return list(unique.values())

    async def _pin_panel(self, context: StepContext) -> None:
        if context.incident.panel_ts is None:
            raise SlackFailure("pins.add", "panel_not_posted_yet")
        await self.slack.pin(channel=self._channel(context), ts=context.incident.panel_ts)

    async def _tell_declarer(self, context: StepContext) -> None:
        pending = await self._pending(context.number, ignore=THIRD_WAVE)
        if pending:
            await self._tell_delay(context.number, card=context.card, pending=pending)
            return
        message = self.render.declarer_ready(context.card)
        await self.slack.dm(
            user=context.incident.declared_by, text=message.text, blocks=message.blocks
        )
        await self._note(context.number, "ready")

    # -- telling the declarer what is late -----------------------------------------------------
    async def _pending(self, number: int, *, ignore: tuple[str, ...] = ()) -> dict[str, str]:
        async with self.sessions() as session:
            steps = await store.get_steps(session, incident_number=number)
        return {
            name: step.last_error or "in progress"
            for name, step in steps.items()
            if step.state != "done" and name not in ignore
        }

    async def _tell_delay(
        self,
        number: int,
        *,
        card: IncidentCard | None = None,
        pending: dict[str, str] | None = None,
    ) -> None:
        """Tell the declarer, once per incident, what is delayed and why, in plain words."""
        if await self._noted(number, "delayed"):
            return
        card = card or await self._card(number)
        if card is None:
            return
        pending = pending if pending is not None else await self._pending(number)
        async with self.sessions() as session:
            steps = await store.get_steps(session, incident_number=number)
        done = tuple(name for name, step in steps.items() if step.state == "done")
        message = self.render.declarer_delayed(card, done=done, pending=pending)
        await self.slack.dm(user=card.declared_by, text=message.text, blocks=message.blocks)
        await self._note(number, "delayed")

    async def _tell_completion(self, number: int) -> None:
        """After a delay, say once that everything is now in place."""
        if await self._pending(number) or not await self._noted(number, "delayed"):
            return
        if await self._noted(number, "ready"):
            return
        card = await self._card(number)
        if card is None:
            return
        message = self.render.declarer_ready(card)
        await self.slack.dm(user=card.declared_by, text=message.text, blocks=message.blocks)
        await self._note(number, "ready")

    async def _noted(self, number: int, what: str) -> bool:
        async with self.sessions() as session:
            events = await store.list_timeline(
                session, incident_number=number, kinds=["declarer_notice"]
            )
        return any(event.dedupe_key == f"{number}:notice:{what}" for event in events)

    async def _note(self, number: int, what: str) -> None:
        async with self.sessions() as session:
            await store.add_timeline_event(
                session,
                incident_number=number,
                kind="declarer_notice",
                at=self.clock.now(),
                text=f"Declarer told: {what}",
                dedupe_key=f"{number}:notice:{what}",
            )
            await session.commit()

    # -- helpers -------------------------------------------------------------------------------
    def _channel(self, context: StepContext) -> str:
        if context.incident.channel_id is None:
            raise SlackFailure("provisioning", "channel_not_created_yet")
        return context.incident.channel_id

    async def _responder_ids(self, card: IncidentCard) -> list[str]:
        """Declarer, commander and the severity's and type's responders, groups expanded."""
        severity = self.policy.find_severity(card.severity_id)
        kind = self.policy.find_incident_type(card.type_id) if card.type_id else None
        users = [card.declared_by, *([card.commander] if card.commander else [])]
        for target in (*(severity.invite if severity else ()), *(kind.invite if kind else ())):
            try:
                users.extend(await self._users_of(target))
            except SlackFailure as failure:
                if not failure.permanent:
                    raise
                await self._unreachable(card.number, target, failure)
        return list(dict.fromkeys(users))

    async def _users_of(self, target: Target) -> list[str]:
        if target.kind == "user":
            return [target.value]
        if target.kind == "group":
            return await self.slack.group_members(group=_group_ref(target))
        return []

    async def _unreachable(self, number: int, target: Target, failure: SlackFailure) -> None:
        """A policy target Slack does not know: say so on the timeline, carry on without it."""
        log.warning("policy_target_unreachable", target=str(target), error=failure.error)
        async with self.sessions() as session:
            await store.add_timeline_event(
                session,
                incident_number=number,
                kind="policy_problem",
                at=self.clock.now(),
                text=f"Could not reach {target} ({failure.error}); check the policy",
                dedupe_key=f"{number}:unreachable:{target}",
            )
            await session.commit()


def _group_ref(target: Target) -> str:
    return target.value if target.is_id else "@" + target.value


STEP_EVENTS = {
    CREATE_CHANNEL: "Incident channel created",
    SET_TOPIC: "Channel topic set",
    SET_PURPOSE: "Channel purpose set",
    INVITE: "Responders invited",
    POST_PANEL: "Incident panel posted",
    PIN_PANEL: "Incident panel pinned",
    BOOKMARK_RUNBOOK: "Runbook bookmarked",
    ANNOUNCE: "Incident announced",
    NOTIFY: "Stakeholders notified",
    TELL_DECLARER: "Declarer told where to go",
}
