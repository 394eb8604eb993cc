"""Keeping channel membership current from Slack's events, so that permission checks and
`/incident list` answer from the database, never from a Slack call before the ack."""

from __future__ import annotations

from typing import Any

import store
from bot.commands.surface import Surface
from bot.flows.queries import incident_in_channel
from bot.logs import get_logger
from bot.services import Services

log = get_logger(__name__)


def register(surface: Surface, services: Services) -> None:
    async def incident_channel(event: dict[str, Any]) -> str | None:
        channel = str(event.get("channel") or "")
        if not channel or await incident_in_channel(services.sessions, channel) is None:
            return None  # only incident channels' members matter to warroom
        return channel

    @surface.event("member_joined_channel")
    async def member_joined(event: dict[str, Any]) -> None:
        channel = await incident_channel(event)
        if channel is None or not event.get("user"):
            return
        async with services.sessions() as session:
            await store.add_channel_members(
                session, channel_id=channel, user_ids=[str(event["user"])], now=services.clock.now()
            )
            await session.commit()
        log.info("channel_member_joined", channel=channel)

    @surface.event("member_left_channel")
    async def member_left(event: dict[str, Any]) -> None:
        channel = await incident_channel(event)
        if channel is None or not event.get("user"):
            return
        async with services.sessions() as session:
            await store.remove_channel_member(
                session, channel_id=channel, user_id=str(event["user"])
            )
            await session.commit()
        log.info("channel_member_left", channel=channel)
