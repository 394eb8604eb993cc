"""`/incident help`, and the catch-all for subcommands nobody else handled."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck

from bot.commands.catalogue import BY_NAME, COMMAND, SUBCOMMANDS, split_subcommand
from bot.commands.surface import Surface
from bot.logs import get_logger
from bot.services import Services
from bot.templates.help import help_message
from bot.templates.text import safe_mrkdwn

log = get_logger(__name__)


def register(surface: Surface, services: Services) -> None:
    # Registered last: Bolt hands a command to the first listener whose matchers accept it,
    # so this one sees only what no feature module claimed.
    @surface.command(COMMAND)
    async def incident_fallback(ack: AsyncAck, command: dict[str, Any]) -> None:
        word, _ = split_subcommand(str(command.get("text", "")))
        if word in ("", "help"):
            await ack(**help_message(SUBCOMMANDS, command=COMMAND))
            return
        known = BY_NAME.get(word)
        if known is not None:
            log.info("subcommand_not_available", subcommand=word)
            await ack(
                response_type="ephemeral",
                text=(
                    f"`{COMMAND} {known.name}` ({known.summary.lower()}) is not available "
                    f"in this version of warroom yet. `{COMMAND} help` lists what is."
                ),
            )
            return
        log.info("unknown_subcommand", subcommand=safe_mrkdwn(word, 60))
        await ack(**help_message(SUBCOMMANDS, command=COMMAND, unknown=word))
