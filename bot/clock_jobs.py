"""The time-driven jobs: `clock` (one per incident, due at its next alarm) and `action_due`
(one per action item with a due date: the owner's DM at 09:00 in their own time zone).

Both only read the database to decide, then deliver through the effect path or the
`Messenger`, so a reminder is sent once however many replicas tick and whatever restarts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

import store
from bot.clock import Clock
from bot.flows.alarms import OWNER_REMINDER_HOUR
from bot.flows.clock import IncidentClock
from bot.flows.delivery import Messenger
from bot.gateway import SlackGateway
from bot.jobs import JobRun
from bot.logs import get_logger
from bot.policy import Policy
from bot.templates import reminders

log = get_logger(__name__)


class RingClock:
    """Kind `clock`: ring what is due, deliver it at once, then sleep until the next alarm."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        policy: Policy,
        clock: Clock,
        deliver: Callable[[Sequence[str]], Awaitable[None]],
    ) -> None:
        self.incidents = IncidentClock(sessions=sessions, policy=policy, clock=clock)
        # The runner's `run_now`: a reminder goes out now, not a tick later (the tick would
        # pick it up anyway should this process die first).
        self.deliver = deliver

    def describe(self, job: JobRun) -> str:
        return "Checking the incident's reminders"

    async def run(self, job: JobRun) -> None:
        rung = await self.incidents.ring(job.incident_number or 0)
        if rung.next_at is not None:
            job.repeat_at(rung.next_at)
        await self.deliver([str(effect.job) for effect in rung.effects if effect.job])


class RemindActionOwner:
    """Kind `action_due`: on the due date at 09:00 in the owner's time zone, then daily while
    the item is open; a late run sends one reminder, never one per missed day."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        gateway: SlackGateway,
        clock: Clock,
    ) -> None:
        self.sessions = sessions
        self.gateway = gateway
        self.clock = clock
        self.messenger = Messenger(gateway)

    def describe(self, job: JobRun) -> str:
        return "Reminding the owner of an action item"

    async def run(self, job: JobRun) -> None:
        item_id = int((job.payload or "0").strip() or 0)
        async with self.sessions() as session:
            item = await store.get_action_item(session, item_id=item_id)
            incident = (
                await store.get_incident(session, number=item.incident_number) if item else None
            )
        if item is None or incident is None or item.done or item.owner is None:
            return  # done, deleted or nobody's: nothing more to remind
        if item.due_at is None:
            return
        zone = await self._zone(item.owner)
        now = self.clock.now()
        due_on = item.due_at.astimezone(UTC).date()
        today = now.astimezone(zone).date()
        slot = _nine(max(due_on, today), zone)
        if now < slot:
            job.repeat_at(slot)  # not yet 09:00 where the owner is
            return
        message = reminders.action_item_due(
            number=item.incident_number,
            title=None if incident.private else incident.title,
            text=item.text,
            due_on=due_on.isoformat(),
            overdue=today > due_on,
        )
        await self.messenger.dm_once(
            job,
            f"due:{today.isoformat()}",
            number=item.incident_number,
            user=item.owner,
            message=message,
        )
        job.repeat_at(_nine(today + timedelta(days=1), zone))

    async def _zone(self, user: str) -> ZoneInfo:
        name = await self.gateway.user_timezone(user=user)
        try:
            return ZoneInfo(name) if name else ZoneInfo("UTC")
        except (ZoneInfoNotFoundError, ValueError):
            log.warning("unknown_time_zone", user=user, tz=(name or "")[:60])
            return ZoneInfo("UTC")


def _nine(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, OWNER_REMINDER_HOUR, tzinfo=zone).astimezone(UTC)
