"""`/incident`: the one listener for every subcommand.

One Bolt listener and a table, rather than one listener per subcommand with matchers: Bolt
evaluates every listener's matchers (and builds their arguments) before the one that answers,
and a matcher that reads the database runs on every command. Here a subcommand costs one
dictionary lookup, and only the subcommands that work in an incident's channel read the
incident (one query). Nothing here calls Slack before the ack.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.commands import declare, followups, incident_ops, stats
from bot.commands.catalogue import BY_NAME, COMMAND, SUBCOMMANDS, split_subcommand
from bot.commands.common import elsewhere, incident_here
from bot.commands.surface import Surface
from bot.logs import get_logger
from bot.services import Services
from bot.templates.help import help_message
from bot.templates.text import safe_mrkdwn

log = get_logger(__name__)


# Every subcommand that works in an incident's channel, by its word.
HANDLERS = {**incident_ops.HANDLERS, **followups.HANDLERS}


def register(surface: Surface, services: Services) -> None:
    help_answer = help_message(SUBCOMMANDS, command=COMMAND)  # the same every time

    @surface.command(COMMAND)
    async def incident_command(
        ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond
    ) -> None:
        word, rest = split_subcommand(str(command.get("text", "")))
        user = str(command["user_id"])
        if word == "help":
            await ack(**help_answer)
        elif word in ("declare", "drill"):
            await declare.open_form(
                services, ack, respond, command, drill=word == "drill", title=rest
            )
        elif word == "stats":
            await stats.answer(services, ack, respond, user=user, text=rest)
        elif word == "list":
            await ack(**await incident_ops.list_answer(services, user=user))
        elif word == "" or word in HANDLERS:
            incident = await incident_here(services, str(command.get("channel_id", "")))
            if incident is not None:
                handler = HANDLERS[word]
                await incident_ops.run(
                    services, incident, handler, word, rest, ack, command, respond
                )
            elif word == "actions":  # outside an incident: the caller's own, everywhere
                await ack(**await followups.my_actions(services, user=user))
            elif word == "":  # bare `/incident` outside an incident channel declares
                await declare.open_form(services, ack, respond, command, drill=False, title="")
            else:
                await ack(**await elsewhere(services, user=user, subcommand=word))
        elif word in BY_NAME:
            known = BY_NAME[word]
            log.info("subcommand_not_available", subcommand=word)
            await ack(
                response_type="ephemeral",
                text=(
                    f"`{COMMAND} {known.name}` ({known.summary.lower()}) is not available "
                    f"in this version of warroom yet. `{COMMAND} help` lists what is."
                ),
            )
        else:
            log.info("unknown_subcommand", subcommand=safe_mrkdwn(word, 60))
            await ack(**help_message(SUBCOMMANDS, command=COMMAND, unknown=word))
