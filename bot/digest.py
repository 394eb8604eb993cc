"""The periodic digest (the policy's `digest`: `cron` in `timezone`, posted to `channel`).

One job per scheduled time, keyed by it (`digest:<slot>`), so a time is posted exactly once
across replicas and restarts: the key is unique, the job runner's claim is exclusive and the
post is sent once (`Messenger`). Each run schedules the next time after *now*: a time missed
while warroom was down is posted once when it is back, and the ones before it are not
repeated. Start-up schedules the next time (a no-op when it is already there).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

import store
from bot.clock import Clock
from bot.flows.delivery import Messenger
from bot.flows.metrics import Period, read_metrics
from bot.gateway import SlackGateway
from bot.jobs import JobRun
from bot.logs import get_logger
from bot.policy import Digest, Policy
from bot.templates.digest import digest_message

log = get_logger(__name__)

DIGEST_JOB = "digest"
LIST_LIMIT = 25  # per list; the message says how many more


def next_digest_at(digest: Digest, after: datetime) -> datetime:
    """The first scheduled time strictly after `after` (aware UTC)."""
    trigger = CronTrigger.from_crontab(digest.cron, timezone=ZoneInfo(digest.timezone))
    found: datetime | None = trigger.get_next_fire_time(None, after + timedelta(microseconds=1))
    if found is None:  # pragma: no cover - a five-field cron always fires again
        raise ValueError(f"cron {digest.cron!r} never fires")
    return found.astimezone(UTC).replace(microsecond=0)


def digest_key(slot: datetime) -> str:
    return f"{DIGEST_JOB}:{slot.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}"


def slot_of(key: str) -> datetime:
    return datetime.strptime(key.removeprefix(f"{DIGEST_JOB}:"), "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=UTC
    )


def digest_period(digest: Digest, slot: datetime) -> Period:
    """The period a scheduled time reports on: one schedule interval, ending at it."""
    length = next_digest_at(digest, slot) - slot
    zone = ZoneInfo(digest.timezone)
    start, end = (slot - length).astimezone(zone), slot.astimezone(zone)
    name = f"{start:%a %Y-%m-%d %H:%M} to {end:%a %Y-%m-%d %H:%M} ({digest.timezone})"
    return Period(slot - length, slot, name)


async def schedule_digest(
    sessions: async_sessionmaker[AsyncSession], policy: Policy, *, now: datetime
) -> None:
    """Make sure the next scheduled time has its job (start-up, and after each digest)."""
    if policy.digest is None:
        return
    slot = next_digest_at(policy.digest, now)
    async with sessions() as session:
        await store.enqueue_job(
            session, key=digest_key(slot), kind=DIGEST_JOB, due_at=slot, now=now
        )
        await session.commit()


class PostDigest:
    """Kind `digest`: post the figures of the period ending at the job's time, once."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        policy: Policy,
        gateway: SlackGateway,
        clock: Clock,
    ) -> None:
        self.sessions = sessions
        self.policy = policy
        self.clock = clock
        self.messenger = Messenger(gateway)

    def describe(self, job: JobRun) -> str:
        return "Posting the incident digest"

    async def run(self, job: JobRun) -> None:
        digest, now = self.policy.digest, self.clock.now()
        if digest is None:
            return  # the policy no longer asks for one
        slot = slot_of(job.key)
        if next_digest_at(digest, slot - timedelta(seconds=1)) != slot:
            # Scheduled under a schedule the policy no longer has: the new one posts instead.
            log.info("digest_skipped_old_schedule", slot=slot.isoformat())
        else:
            await self._post(job, digest, slot, now)
        await schedule_digest(self.sessions, self.policy, now=now)

    async def _post(self, job: JobRun, digest: Digest, slot: datetime, now: datetime) -> None:
        period = digest_period(digest, slot)
        metrics = await read_metrics(self.sessions, self.policy, period)
        previous = await read_metrics(self.sessions, self.policy, period.previous)
        async with self.sessions() as session:
            lists = await store.digest_lists(
                session, since=period.since, until=period.until, now=now, limit=LIST_LIMIT
            )
        message = digest_message(metrics, previous, lists, period_name=period.name, now=now)
        channel = digest.channel
        await self.messenger.post_once(
            job,
            "digest",
            number=0,
            channel=str(channel),
            message=message,
            kind=job.key,
        )
