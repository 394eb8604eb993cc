"""What the listeners and the scheduler share, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import Clock
from bot.flows.capture import TimelineCapture
from bot.flows.clock import IncidentClock
from bot.flows.effects import Effect
from bot.flows.followups import Followups
from bot.flows.intake import AlertIntake
from bot.flows.operations import IncidentOperations
from bot.flows.resolution import Resolution
from bot.gateway import SlackGateway
from bot.jobs import JobRunner
from bot.policy import Policy
from bot.settings import Settings


@dataclass
class Services:
    settings: Settings
    policy: Policy
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    gateway: SlackGateway
    clock: Clock
    jobs: JobRunner
    operations: IncidentOperations
    resolution: Resolution
    capture: TimelineCapture
    followups: Followups
    alarms: IncidentClock
    intake: AlertIntake

    async def deliver(self, effects: list[Effect]) -> None:
        """After the ack: run the jobs of these effects now (the tick would, a little later)."""
        await self.jobs.run_now([effect.job for effect in effects if effect.job is not None])
