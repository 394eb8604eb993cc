"""Kind `capture`: read a 📌'd (or pinned, or shortcut) message from Slack and put it on the
timeline with its own time, author and permalink.

One Slack call at most (conversations.replies, for a reaction, whose event carries no text);
the permalink is built from the workspace URL. A message deleted meanwhile is not captured.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import Clock
from bot.flows.capture import CapturedSource, TimelineCapture
from bot.gateway import SlackGateway
from bot.jobs import JobRun
from bot.logs import get_logger
from bot.policy import Policy

log = get_logger(__name__)


class CaptureMessage:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        policy: Policy,
        gateway: SlackGateway,
        clock: Clock,
    ) -> None:
        self.capture = TimelineCapture(sessions=sessions, policy=policy, clock=clock)
        self.gateway = gateway

    def describe(self, job: JobRun) -> str:
        return "Adding a message to the timeline"

    async def run(self, job: JobRun) -> None:
        source = CapturedSource.decode(job.payload or "")  # unreadable: fails, never loops
        number = job.incident_number or 0
        text, author, thread_ts = source.text, source.user, source.thread_ts
        if text is None:
            found = await self.gateway.fetch_message(channel=source.channel, ts=source.ts)
            if found is None:
                log.info("captured_message_gone", incident=number, ts=source.ts)
                return
            text, author, thread_ts = found.text, found.user or author, found.thread_ts
        link = source.permalink or await self.gateway.message_link(
            channel=source.channel, ts=source.ts, thread_ts=thread_ts
        )
        source = CapturedSource(
            channel=source.channel, ts=source.ts, thread_ts=thread_ts, permalink=link
        )
        recorded = await self.capture.record(
            number, source=source, text=text or "(a message without text)", author=author
        )
        log.info("message_captured", incident=number, ts=source.ts, recorded=recorded)
