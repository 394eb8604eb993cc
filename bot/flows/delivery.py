"""Exactly-once posts and DMs for jobs: the one place a job's message reaches Slack.

Every message a job sends carries message metadata naming the incident and a mark unique to
the job and the message. A mark recorded in the job's progress is never sent again; a retried
attempt (which may have reached Slack without seeing the answer: a 500 after Slack acted, a
dropped connection, a kill -9) first looks for the mark in the channel, the thread or the DM
conversation, and only posts when it is not there. When the earlier attempt is known to have
done nothing (Slack answered 429: it acted on nothing), the retry does not search: under a
rate limit, searches would only add calls to the limited methods.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from bot.flows.cards import RenderedMessage
from bot.flows.ports import PostedMessage, SlackFailure, SlackPort
from bot.jobs import JobRun

METADATA_EVENT = "warroom_incident"


def incident_metadata(number: int, kind: str) -> dict[str, Any]:
    return {"event_type": METADATA_EVENT, "event_payload": {"incident": number, "kind": kind}}


@dataclass
class Messenger:
    slack: SlackPort

    async def post_once(
        self,
        job: JobRun,
        mark: str,
        *,
        number: int,
        channel: str,
        message: RenderedMessage,
        kind: str | None = None,
        thread_ts: str | None = None,
        broadcast: bool = False,
    ) -> PostedMessage:
        """Post `message` unless this job already did (`mark`). `kind` is the metadata kind
        (default: unique to the job and mark)."""
        sent = job.recalled(mark)
        if isinstance(sent, dict):
            return PostedMessage(channel=str(sent["channel"]), ts=str(sent["ts"]))
        metadata = incident_metadata(number, kind or f"{job.key}#{mark}")
        found = None
        if await _uncertain(job, mark):
            found = await self.slack.find_posted(
                channel=await self.slack.resolve_channel(channel=channel),
                event_type=METADATA_EVENT,
                match=metadata["event_payload"],
                thread_ts=thread_ts,
            )
        if found is None:
            async with _unsent_on_429(job, mark):
                found = await self.slack.post(
                    channel=channel,
                    text=message.text,
                    blocks=message.blocks,
                    metadata=metadata,
                    thread_ts=thread_ts,
                    reply_broadcast=broadcast,
                )
        await job.remember(mark, {"channel": found.channel, "ts": found.ts})
        return found

    async def dm_once(
        self, job: JobRun, mark: str, *, number: int, user: str, message: RenderedMessage
    ) -> None:
        """DM `user` unless this job already did; a retry looks in the DM conversation."""
        if job.done(mark):
            return
        metadata = incident_metadata(number, f"{job.key}#{mark}")
        found = None
        if await _uncertain(job, mark):
            found = await self.slack.find_dm(
                user=user, event_type=METADATA_EVENT, match=metadata["event_payload"]
            )
        if found is None:
            async with _unsent_on_429(job, mark):
                await self.slack.dm(
                    user=user, text=message.text, blocks=message.blocks, metadata=metadata
                )
        await job.remember(mark)


async def _uncertain(job: JobRun, mark: str) -> bool:
    """Whether an earlier attempt may have sent `mark` without us knowing: a retry, unless
    that attempt was told 429 (Slack did nothing). The note is dropped before sending again,
    so an attempt that then fails after Slack acted leaves the next one searching."""
    if not job.retrying:
        return False
    if job.recalled(f"unsent:{mark}"):
        await job.forget(f"unsent:{mark}")
        return False
    return True


@asynccontextmanager
async def _unsent_on_429(job: JobRun, mark: str) -> AsyncIterator[None]:
    try:
        yield
    except SlackFailure as failure:
        if failure.rate_limited:
            await job.remember(f"unsent:{mark}")
        raise
