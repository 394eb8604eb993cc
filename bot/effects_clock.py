"""Effect handler of the clock (`AlarmRang`): the reminder, notice, escalation or nudge of one
alarm slot, sent once through the `Messenger` like every other message.

Registered into the effect registry on import (the composition root imports it).
"""

from __future__ import annotations

import store
from bot.effects import DESCRIPTIONS, Delivery, handles, tell
from bot.flows.alarms import AlarmKind
from bot.flows.deadlines import deadlines
from bot.flows.effects import AlarmRang
from bot.flows.ports import SlackFailure
from bot.flows.timeline import note_unreachable
from bot.policy import Target, format_duration
from bot.templates import reminders

DESCRIPTIONS[AlarmRang] = "Sending a reminder"


@handles(AlarmRang)
async def _alarm_rang(d: Delivery, effect: AlarmRang) -> None:
    match AlarmKind(effect.alarm):
        case AlarmKind.UPDATE:
            await _update_reminder(d)
        case AlarmKind.ACK:
            since = d.runner.clock.now() - d.incident.declared_at
            await d.say(reminders.ack_overdue(d.card, since=since, remind=[d.card.commander]))
        case AlarmKind.ESCALATION:
            await _escalate(d, effect.step or 0)
        case AlarmKind.ROLES:
            lead = d.runner.policy.lead_role
            await d.say(reminders.roles_nudge(d.card, lead_role=lead.name, lead_role_id=lead.id))
        case AlarmKind.POSTMORTEM:
            await _postmortem_reminder(d)
        case AlarmKind.STALE:
            open_for = d.runner.clock.now() - d.incident.declared_at
            await d.say(reminders.stale_nudge(d.card, open_for=open_for, remind=[d.card.commander]))


async def _update_reminder(d: Delivery) -> None:
    """Mention the commander (and the comms lead); the previous reminder is edited to say it
    was superseded, so only the newest carries buttons."""
    runner, incident = d.runner, d.incident
    async with runner.sessions() as session:
        updates = await store.list_status_updates(session, incident_number=d.number)
    comms = next((r.user_id for r in d.card.roles if r.role_id == "comms"), None)
    message = reminders.update_reminder(
        d.card,
        since=runner.clock.now() - (incident.cadence_from_at or incident.declared_at),
        last_update=updates[-1].seq if updates else None,
        remind=[d.card.commander, comms],
        snooze=[(format_duration(delay), delay) for delay in runner.policy.snooze],
    )
    ts = await d.say(message, mark="reminder")
    previous = incident.reminder_ts
    if previous and previous != ts and not d.job.done("superseded"):
        superseded = reminders.superseded_reminder(d.card)
        try:
            await runner.gateway.update_message(
                channel=d.channel, ts=previous, text=superseded.text, blocks=superseded.blocks
            )
        except SlackFailure as failure:
            if failure.transient:
                raise
        await d.job.remember("superseded")
    async with runner.sessions() as session:
        await store.update_incident(
            session, number=d.number, expected_version=None, now=runner.clock.now(), reminder_ts=ts
        )
        await session.commit()


async def _escalate(d: Delivery, step_index: int) -> None:
    """Notify and invite the step's targets; the incident channel hears who was paged (groups
    by mention, so they see it there too)."""
    runner = d.runner
    severity = runner.policy.severity(d.incident.severity)
    if step_index >= len(severity.escalation):
        return
    step = severity.escalation[step_index]
    number = step_index + 1
    notice = reminders.escalation_notice(d.card, step=number)
    mentions: list[str] = []
    invitees: list[str] = []
    for target in (*step.notify, *step.invite):
        try:
            mentions.append(await _mention(d, target))
            if target in step.notify and not (target.kind == "channel" and d.incident.private):
                await tell(d, target, notice, mark=f"escalate:{number}:{target}")
            if target.kind == "user":
                invitees.append(target.value)
            elif target.kind == "group":
                invitees += await runner.gateway.group_members(group=str(target))
        except SlackFailure as failure:
            if failure.transient:
                raise
            await note_unreachable(
                runner.sessions, runner.clock, number=d.number, target=target, failure=failure
            )
    await d.say(reminders.escalated_in_channel(d.card, step=number, mentions=mentions))
    wanted = sorted(set(invitees) - {runner.gateway.bot_user_id})
    if wanted and not d.job.done("invited"):
        await runner.gateway.invite(channel=d.channel, users=wanted)
        async with runner.sessions() as session:
            await store.add_channel_members(
                session, channel_id=d.channel, user_ids=wanted, now=runner.clock.now()
            )
            await session.commit()
        await d.job.remember("invited")


async def _mention(d: Delivery, target: Target) -> str:
    if target.kind == "user":
        return f"<@{target.value}>"
    if target.kind == "group":
        return f"<!subteam^{await d.runner.gateway.group_id(str(target))}>"
    return f"<#{target.value}>" if target.is_id else f"#{target.value}"


async def _postmortem_reminder(d: Delivery) -> None:
    """To the commander by DM (the channel when nobody leads)."""
    due = deadlines(d.incident, d.runner.policy).postmortem_due_at
    if due is None:
        return  # recorded as written meanwhile
    message = reminders.postmortem_reminder(d.card, due_at=due, now=d.runner.clock.now())
    if d.card.commander:
        await d.dm(d.card.commander, message)
    else:
        await d.say(message, mark="postmortem_reminder")
