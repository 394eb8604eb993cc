"""What the listeners and the scheduler share, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import Clock
from bot.effects import EffectRunner
from bot.flows.operations import IncidentOperations
from bot.flows.provisioning import Provisioner
from bot.flows.resolution import Resolution
from bot.gateway import SlackGateway
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
    provisioner: Provisioner
    operations: IncidentOperations
    resolution: Resolution
    effects: EffectRunner
