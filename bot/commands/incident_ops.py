"""`/incident ack|assign|update|severity|resolve|close|reopen|status|list`.

Each listener: find the incident of this channel (or say where to go), call the flow, ack
with the answer, then apply the effects in Slack after the ack.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.commands.catalogue import COMMAND, split_subcommand
from bot.commands.common import elsewhere, ephemeral, incident_here, number_of, refused
from bot.commands.forms import (
    FormNotOpened,
    FormPreparer,
    View,
    close_confirmation_form,
    open_form,
    resolve_form,
    severity_form,
    update_form,
)
from bot.commands.surface import Surface
from bot.flows.effects import Effect
from bot.flows.permissions import Refused
from bot.flows.queries import status_summary, visible_open_incidents
from bot.flows.resolution import CloseNeedsConfirmation
from bot.logs import bind_request, get_logger
from bot.services import Services
from bot.templates import operations as ops

log = get_logger(__name__)

# `<@U123>`, `<@U123|alice>` (escaped mentions), or a bare user id.
USER_MENTION = re.compile(r"<@([UW][A-Z0-9_]+)(?:\|[^>]*)?>|\b([UW][A-Z0-9_]{2,})\b")
IN_CHANNEL = ("ack", "assign", "update", "severity", "resolve", "close", "reopen", "status")
# Bare `/incident` declares, except in an incident's channel, where it shows the status.
BARE = ""


@dataclass(frozen=True)
class Outcome:
    answer: dict[str, Any] | None = None  # the ephemeral ack, if any
    effects: list[Effect] = field(default_factory=list)  # applied after the ack
    form: View | None = None  # opened after the ack


Handler = Callable[[Services, int, dict[str, Any], str], Awaitable[Outcome]]


def parse_assignment(text: str) -> tuple[str, str | None]:
    """`"tech lead <@U1|bob>"` → (`"tech lead"`, `"U1"`), in either order."""
    match = USER_MENTION.search(text)
    if match is None:
        return text.strip(), None
    user = match.group(1) or match.group(2)
    role = (text[: match.start()] + " " + text[match.end() :]).strip()
    return " ".join(role.split()), user


def register(surface: Surface, services: Services) -> None:
    def subcommand(*words: str) -> Callable[[dict[str, Any]], Awaitable[bool]]:
        async def matches(command: dict[str, Any]) -> bool:
            return split_subcommand(str(command.get("text", "")))[0] in words

        return matches

    @surface.command(COMMAND, matchers=[subcommand("list")])
    async def list_incidents(ack: AsyncAck, command: dict[str, Any]) -> None:
        incidents = await visible_open_incidents(
            services.sessions, services.policy, services.gateway, user=str(command["user_id"])
        )
        await ack(**ephemeral(ops.incident_list(incidents, now=services.clock.now())))

    @surface.command(COMMAND, matchers=[subcommand(*IN_CHANNEL, BARE)])
    async def incident_subcommand(
        ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond
    ) -> None:
        word, rest = split_subcommand(str(command.get("text", "")))
        user = str(command["user_id"])
        incident = await incident_here(services, str(command.get("channel_id", "")))
        if incident is None:
            await ack(**await elsewhere(services, user=user, subcommand=word))
            return
        number = number_of(incident)
        bind_request(incident=number)
        handler = HANDLERS[word]
        try:
            outcome = await handler(services, number, command, rest)
        except Refused as refusal:
            log.info("subcommand_refused", subcommand=word, reason=str(refusal))
            await ack(**refused(str(refusal)))
            return
        await ack(**(outcome.answer or {}))
        # After the ack: Slack has its answer within 3 s; Bolt keeps this task running.
        if outcome.form is not None:
            try:
                await open_form(services, str(command["trigger_id"]), outcome.form)
            except FormNotOpened as problem:
                await respond(**refused(str(problem)))
        await services.effects.apply(outcome.effects)


async def _ack(services: Services, number: int, command: dict[str, Any], rest: str) -> Outcome:
    effects = await services.operations.acknowledge(number, user=str(command["user_id"]))
    if not effects:
        return Outcome(refused(f"You already acknowledged INC-{number}."))
    return Outcome(effects=effects)


async def _assign(services: Services, number: int, command: dict[str, Any], rest: str) -> Outcome:
    role_text, user = parse_assignment(rest)
    role = services.policy.find_role(role_text) if role_text else None
    if role is None:
        raise Refused(
            services.operations.unknown_role_text(role_text or "(none)")
            + " Usage: `/incident assign <role> @person`."
        )
    if user is None:
        raise Refused(
            f"Who should be the {role.name}? Usage: `/incident assign {role.id} @person`."
        )
    effects = await services.operations.assign_roles(
        number, assignments={role.id: user}, by=str(command["user_id"])
    )
    if not effects:
        return Outcome(refused(f"That person already is the {role.name} of INC-{number}."))
    return Outcome(effects=effects)


def _form(prepare: FormPreparer) -> Handler:
    """A subcommand that opens a form: `/incident update`, `/incident resolve`."""

    async def prepared(
        services: Services, number: int, command: dict[str, Any], rest: str
    ) -> Outcome:
        return Outcome(form=await prepare(services, number=number, user=str(command["user_id"])))

    return prepared


async def _severity(services: Services, number: int, command: dict[str, Any], rest: str) -> Outcome:
    user = str(command["user_id"])
    if not rest:
        return Outcome(form=await severity_form(services, number=number, user=user))
    effects = await services.operations.change_severity(number, new=rest.split()[0], by=user)
    if not effects:
        return Outcome(refused(f"INC-{number} already is {rest.split()[0]}."))
    return Outcome(effects=effects)


async def _close(services: Services, number: int, command: dict[str, Any], rest: str) -> Outcome:
    outcome = await services.resolution.close(number, by=str(command["user_id"]))
    if isinstance(outcome, CloseNeedsConfirmation):
        form = await close_confirmation_form(services, number=number, open_items=outcome.open_items)
        return Outcome(form=form)
    if not outcome:
        return Outcome(refused(f"INC-{number} is already closed."))
    return Outcome(effects=outcome)


async def _reopen(services: Services, number: int, command: dict[str, Any], rest: str) -> Outcome:
    effects = await services.resolution.reopen(number, by=str(command["user_id"]))
    if not effects:
        return Outcome(refused(f"INC-{number} is already open."))
    return Outcome(effects=effects)


async def _status(services: Services, number: int, command: dict[str, Any], rest: str) -> Outcome:
    summary = await status_summary(
        services.sessions, services.policy, number, now=services.clock.now()
    )
    if summary is None:
        raise Refused(f"INC-{number} does not exist.")
    return Outcome(
        ephemeral(ops.status_summary(summary, lead_role_id=services.policy.lead_role.id))
    )


HANDLERS: dict[str, Handler] = {
    BARE: _status,
    "ack": _ack,
    "assign": _assign,
    "update": _form(update_form),
    "severity": _severity,
    "resolve": _form(resolve_form),
    "close": _close,
    "reopen": _reopen,
    "status": _status,
}
