"""Small pieces every incident listener uses: find the incident, answer privately."""

from __future__ import annotations

from typing import Any

import store
from bot.flows.cards import IncidentCard, RenderedMessage
from bot.flows.queries import incident_in_channel, visible_open_incidents
from bot.flows.snapshot import load_card
from bot.services import Services
from bot.templates import operations as ops


def ephemeral(message: RenderedMessage) -> dict[str, Any]:
    """Keyword arguments for `ack()`/`respond()`: only the person who asked sees it."""
    return {"response_type": "ephemeral", "text": message.text, "blocks": list(message.blocks)}


def refused(text: str) -> dict[str, Any]:
    return ephemeral(ops.refusal(text))


async def incident_here(services: Services, channel_id: str) -> store.Incident | None:
    return await incident_in_channel(services.sessions, channel_id)


async def elsewhere(services: Services, *, user: str, subcommand: str) -> dict[str, Any]:
    """The answer outside an incident channel: say so, list what the user can see."""
    incidents = await visible_open_incidents(services.sessions, services.policy, user=user)
    return ephemeral(
        ops.not_in_incident_channel(incidents, subcommand=subcommand, now=services.clock.now())
    )


async def card(services: Services, number: int) -> IncidentCard:
    async with services.sessions() as session:
        found = await load_card(session, services.policy, number)
    if found is None:
        raise LookupError(f"INC-{number} vanished")
    return found


def number_of(incident: store.Incident) -> int:
    if incident.number is None:
        raise ValueError("a stored incident has a number")
    return incident.number


async def already_acknowledged(services: Services, number: int, *, user: str) -> dict[str, Any]:
    """Why an acknowledgement changed nothing, privately, for the person who tried."""
    incident = await services.operations.incident(number)
    return ephemeral(
        ops.already_acknowledged_message(
            number,
            by=incident.acknowledged_by,
            at=incident.acknowledged_at,
            you=incident.acknowledged_by == user,
        )
    )
