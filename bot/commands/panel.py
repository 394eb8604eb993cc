"""The incident panel's buttons. Acting on them arrives with the run-the-incident features;
until then each click gets an honest answer instead of silence."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.commands.surface import Surface
from bot.logs import get_logger
from bot.services import Services
from bot.templates.incident import PANEL_ACTIONS

NOT_YET_TEXT = (
    "That button is not available in this version of warroom yet. "
    "The incident is declared and its channel is set up; carry on here in the channel."
)

log = get_logger(__name__)


def register(surface: Surface, services: Services) -> None:
    for action_id in PANEL_ACTIONS:

        @surface.action(action_id)
        async def not_yet_available(
            ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond
        ) -> None:
            await ack()
            action = (body.get("actions") or [{}])[0]
            log.info("panel_action_not_available", action=action.get("action_id"))
            await respond(response_type="ephemeral", replace_original=False, text=NOT_YET_TEXT)
