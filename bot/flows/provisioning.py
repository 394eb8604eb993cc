"""Provisioning a declared incident in Slack, step by step, durably.

Each step is a row in the database: claimed with a lease (renewed while it runs), then done, or
failed with a retry time. A crash at any point leaves the rows behind and the reconciler (or
the next start) finishes the job; the steps themselves (`provisioning_steps.py`) recognise
what an earlier attempt already did, so nothing is created or posted twice.

Critical path, in sequential Slack round trips:
    1. create the channel (responder and notify groups are expanded at the same time)
    2. topic, purpose, invitations, panel, runbook bookmark, announcement, notifications
    3. pin the panel, tell the declarer
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

import store
from bot.clock import Clock
from bot.flows.cards import IncidentCard, IncidentRenderer
from bot.flows.effects import is_effect_step
from bot.flows.ports import SlackFailure, SlackPort
from bot.flows.provisioning_steps import ProvisioningSteps, Recipients, StepContext
from bot.flows.snapshot import load_card
from bot.flows.timeline import record_event
from bot.policy import Policy

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

LEASE = timedelta(seconds=15)
HEARTBEAT_SECONDS = 5.0
# A pending step younger than this belongs to the request that declared the incident.
RECONCILE_GRACE = timedelta(seconds=10)

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

# Recipients arrive as a task: only the steps that need them wait for the group expansion.
StepAction = Callable[[StepContext, "asyncio.Task[Recipients]"], Awaitable[dict[str, Any] | None]]


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


async def _with_recipients(
    action: Callable[[StepContext, Recipients], Awaitable[dict[str, Any]]],
    context: StepContext,
    recipients: asyncio.Task[Recipients],
) -> dict[str, Any]:
    return await action(context, await recipients)


async def keep_lease(
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    *,
    number: int,
    step: str,
    lease: timedelta,
) -> None:
    """Heartbeat for a claimed step: renew its lease until cancelled, so the lease can be
    short (a crashed worker's step is taken over quickly) yet a slow Slack call keeps it."""
    while True:
        await asyncio.sleep(HEARTBEAT_SECONDS)
        async with sessions() as session:
            await store.extend_step_lease(
                session, incident_number=number, step=step, now=clock.now(), lease=lease
            )
            await session.commit()


def backoff(attempts: int) -> timedelta:
    """2 s, 4 s, 8 s … capped at 2 minutes."""
    return timedelta(seconds=min(2 ** max(attempts, 1), 120))


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
        steps = ProvisioningSteps(
            sessions=sessions, policy=policy, slack=slack, render=render, clock=clock
        )
        self.steps = steps
        self._actions: dict[str, StepAction] = {
            CREATE_CHANNEL: lambda c, _r: steps.create_channel(c),
            SET_TOPIC: lambda c, _r: steps.set_topic(c),
            SET_PURPOSE: lambda c, _r: steps.set_purpose(c),
            INVITE: lambda c, r: _with_recipients(steps.invite, c, r),
            POST_PANEL: lambda c, _r: steps.post_panel(c),
            BOOKMARK_RUNBOOK: lambda c, _r: steps.bookmark_runbook(c),
            ANNOUNCE: lambda c, _r: steps.announce(c),
            NOTIFY: lambda c, r: _with_recipients(steps.notify, c, r),
            PIN_PANEL: lambda c, _r: steps.pin_panel(c),
            TELL_DECLARER: lambda c, _r: self._tell_declarer(c),
        }

    # -- the job ------------------------------------------------------------------------------
    async def run(self, number: int) -> None:
        """Do every step of incident `number` that is due and not claimed by someone else."""
        structlog.contextvars.bind_contextvars(incident=number)
        card = await self._card(number)
        if card is None:
            return
        # Expanding groups does not need the channel: do it while the channel is created.
        recipients = asyncio.create_task(self.steps.recipients(card))
        try:
            await self._step(number, CREATE_CHANNEL, recipients)
            if not await self._is_done(number, CREATE_CHANNEL):
                await self._tell_delay(number)
                return
            await asyncio.gather(*(self._step(number, s, recipients) for s in SECOND_WAVE))
            await asyncio.gather(*(self._step(number, s, recipients) for s in THIRD_WAVE))
            await self._tell_completion(number)
        finally:
            recipients.cancel()
            if recipients.done() and not recipients.cancelled():
                recipients.exception()  # a failure there is reported by the step that needed it

    async def reconcile(self) -> int:
        """Finish what crashed or failed; returns how many incidents were worked on."""
        now = self.clock.now()
        async with self.sessions() as session:
            due = await store.due_steps(session, now=now, limit=500)
        numbers = sorted(
            {
                step.incident_number
                for step in due
                if not is_effect_step(step.step)  # delivered by the effect runner
                and (step.state != "pending" or step.updated_at <= now - RECONCILE_GRACE)
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
    async def _step(self, number: int, step: str, recipients: asyncio.Task[Recipients]) -> None:
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
        heartbeat = asyncio.create_task(
            keep_lease(self.sessions, self.clock, number=number, step=step, lease=self.lease)
        )
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
            outcome = await self._actions[step](context, recipients)
        except SlackFailure as failure:
            await self._failed(number, step, claimed.attempts, failure)
            return
        except Exception as error:
            log.exception("provisioning_step_crashed", step=step)
            crash = SlackFailure(step, type(error).__name__)
            await self._failed(number, step, claimed.attempts, crash)
            return
        finally:
            heartbeat.cancel()
        await self._done(number, step, outcome)

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

    # -- telling the declarer where to go, and what is late --------------------------------
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

    async def _pending(self, number: int, *, ignore: tuple[str, ...] = ()) -> dict[str, str]:
        async with self.sessions() as session:
            steps = await store.get_steps(session, incident_number=number)
        return {
            name: step.last_error or "in progress"
            for name, step in steps.items()
            if step.state != "done" and name not in ignore and not is_effect_step(name)
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
        await record_event(
            self.sessions,
            self.clock,
            number=number,
            kind="declarer_notice",
            text=f"Declarer told: {what}",
            dedupe_key=f"{number}:notice:{what}",
        )
