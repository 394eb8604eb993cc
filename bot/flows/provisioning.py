"""Provisioning a declared incident in Slack: one durable job per incident (kind `provision`).

The job runs the steps in three waves; each finished step is recorded in the job's progress,
so a retry (after a transient failure, or a crash and the lease running out) does only what
is left, and the steps themselves (`provisioning_steps.py`) recognise what an earlier attempt
already did in Slack, so nothing is created or posted twice. A step Slack refuses for good is
recorded, told to the declarer once and not retried; a transient failure makes the whole job
retry later under the job runner's one rule (`bot/jobs.py`).

Critical path, in sequential Slack round trips:
    1. create the channel (responder and notify groups are expanded at the same time)
    2. topic, purpose, invitations, panel, runbook bookmark, announcement, notifications
    3. pin the panel, tell the declarer
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

import store
from bot.clock import Clock
from bot.flows.cards import IncidentCard, IncidentRenderer
from bot.flows.ports import SlackPort
from bot.flows.provisioning_steps import ProvisioningSteps, Recipients, StepContext
from bot.flows.snapshot import card_of
from bot.flows.timeline import NOTICE, TimelineKind, record_event
from bot.jobs import Failure, JobRun
from bot.policy import Policy, Target

log = structlog.stdlib.get_logger(__name__)

PROVISION_JOB = "provision"

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

# The steps worth a line on the incident's timeline (the rest is bookkeeping).
TIMELINE: dict[str, tuple[TimelineKind, str]] = {
    CREATE_CHANNEL: (TimelineKind.CHANNEL_CREATED, "Incident channel created"),
    INVITE: (TimelineKind.RESPONDERS_INVITED, "Responders invited"),
    ANNOUNCE: (TimelineKind.ANNOUNCED, "Incident announced"),
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
    action: Callable[[StepContext, Recipients], Awaitable[dict[str, Any] | None]],
    context: StepContext,
    recipients: asyncio.Task[Recipients],
) -> dict[str, Any] | None:
    return await action(context, await recipients)


class Provisioner:
    """The job handler of kind `provision`."""

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
        steps = ProvisioningSteps(
            sessions=sessions, policy=policy, slack=slack, render=render, clock=clock
        )
        self.steps = steps
        self.messenger = steps.messenger
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
        }

    def describe(self, job: JobRun) -> str:
        return "Setting up the incident channel"

    # -- the job ------------------------------------------------------------------------------
    async def run(self, job: JobRun) -> None:
        number = job.incident_number
        if number is None:
            return
        loaded = await self._load(number)
        if loaded is None:
            return
        incident, card = loaded
        planned = planned_steps(self.policy, incident)
        # Expanding groups does not need the channel: do it while the channel is created.
        recipients = asyncio.create_task(self._recipients(job, card))
        try:
            failures = await self._step(job, CREATE_CHANNEL, recipients)
            if failures:
                await self._report(job, failures, planned)  # transient: raises, retried later
                return  # refused for good: recorded and told; nothing else can be done
            outcomes = await asyncio.gather(
                *(self._step(job, step, recipients) for step in SECOND_WAVE if step in planned)
            )
            failures = {k: v for outcome in outcomes for k, v in outcome.items()}
            # Third wave: pin the panel while the declarer is told (one round trip, not two).
            # Both finish before the job returns, even when the report re-raises a failure: no
            # part of an attempt may outlive it (the next attempt could run beside it).
            pinned, told = await asyncio.gather(
                self._step(job, PIN_PANEL, recipients),
                self._report(job, failures, planned),
                return_exceptions=True,
            )
            if isinstance(pinned, BaseException):
                raise pinned
            if isinstance(told, BaseException):
                raise told
            if pinned:
                await self._report(job, pinned, planned)
        finally:
            recipients.cancel()
            if recipients.done() and not recipients.cancelled():
                recipients.exception()  # a failure there is reported by the step that needed it

    async def _recipients(self, job: JobRun, card: IncidentCard) -> Recipients:
        """Who to invite and notify: expanded once per incident (user groups are a rate-limited
        call), kept in the job's progress for its retries."""
        known = job.recalled("recipients")
        if isinstance(known, dict):
            return Recipients(
                responders=list(known["responders"]),
                notify_channels=[Target.parse(t) for t in known["notify_channels"]],
                notify_people={k: list(v) for k, v in known["notify_people"].items()},
            )
        if job.done(INVITE) and job.done(NOTIFY):
            return Recipients()
        found = await self.steps.recipients(card)
        await job.remember(
            "recipients",
            {
                "responders": found.responders,
                "notify_channels": [str(t) for t in found.notify_channels],
                "notify_people": found.notify_people,
            },
        )
        return found

    # -- one step ------------------------------------------------------------------------------
    async def _step(
        self, job: JobRun, step: str, recipients: asyncio.Task[Recipients]
    ) -> dict[str, Exception]:
        """Run `step` unless done; its failure, if any, is returned (the others go on)."""
        if job.done(step) or job.recalled(f"failed:{step}"):
            return {}
        number = job.incident_number or 0
        loaded = await self._load(number)
        if loaded is None:
            return {}
        incident, card = loaded
        context = StepContext(incident=incident, card=card, job=job, step=step)
        try:
            await self._actions[step](context, recipients)
        except Exception as error:
            failure = Failure.of(error)
            if not failure.transient:
                # Refused for good: recorded once, not retried, told to the declarer below.
                log.error("provisioning_step_refused", step=step, error=failure.error)
                await job.remember(f"failed:{step}", failure.words)
                await record_event(
                    self.sessions,
                    self.clock,
                    number=number,
                    kind=TimelineKind.SLACK_FAILURE,
                    text=f"Provisioning could not {step.replace('_', ' ')}: {failure.words}",
                    dedupe_key=f"{number}:provision-failed:{step}",
                )
            else:
                log.warning("provisioning_step_failed", step=step, error=failure.error)
            return {step: error}
        await job.remember(step)
        if step in TIMELINE:
            kind, text = TIMELINE[step]
            await record_event(
                self.sessions,
                self.clock,
                number=number,
                kind=kind,
                text=text,
                dedupe_key=f"{number}:provision:{step}",
            )
        log.info("provisioning_step_done", step=step)
        return {}

    # -- telling the declarer where to go, and what is late --------------------------------
    async def _report(
        self, job: JobRun, failures: dict[str, Exception], planned: list[str]
    ) -> None:
        """Tell the declarer once where to go, or once what is delayed or refused and why;
        re-raise a transient failure so that the job runner retries the job."""
        number = job.incident_number or 0
        card = await self._card(number)
        if card is None:
            return
        transient = {s: e for s, e in failures.items() if Failure.of(e).transient}
        refused = {
            step: str(job.recalled(f"failed:{step}"))
            for step in planned
            if job.recalled(f"failed:{step}")
        }
        done = tuple(s for s in planned if job.done(s))
        if card.declared_by == self.slack.bot_user_id:
            # Declared by the policy on an alert: no declarer to tell; the announcement and the
            # triage message say where it is, and a refusal is on the timeline.
            if transient:
                raise next(iter(transient.values()))
            await job.remember(TELL_DECLARER)
            return
        if transient or refused:
            pending = {s: Failure.of(e).words for s, e in transient.items()}
            message = self.render.declarer_delayed(card, done=done, pending=pending, failed=refused)
            await self.messenger.dm_once(
                job, "tell:delayed", number=number, user=card.declared_by, message=message
            )
        if transient:
            raise next(iter(transient.values()))
        if refused:
            await job.remember(TELL_DECLARER)
            return
        # Everything is in place: where to go (and, after a delay, that it is all done now),
        # and which of the policy's targets could not be reached (never an "all set" that
        # hides them).
        async with self.sessions() as session:
            notices = await store.list_jobs(session, incident_number=number, kind=NOTICE)
        missed = [
            (str(told["target"]), str(told["why"]))
            for told in (json.loads(n.payload or "{}") for n in notices)
            if "target" in told
        ]
        await self.messenger.dm_once(
            job,
            "tell:ready",
            number=number,
            user=card.declared_by,
            message=self.render.declarer_ready(card, missed=missed),
        )
        await job.remember(TELL_DECLARER)

    async def _card(self, number: int) -> IncidentCard | None:
        loaded = await self._load(number)
        return loaded[1] if loaded is not None else None

    async def _load(self, number: int) -> tuple[store.Incident, IncidentCard] | None:
        """The incident as stored now and its card, in one read (the incident and its roles)."""
        async with self.sessions() as session:
            incident = await store.get_incident(session, number=number)
            if incident is None:
                return None
            roles = await store.current_roles(session, incident_number=number)
        return incident, card_of(self.policy, incident, roles)
