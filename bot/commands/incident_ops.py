"""`/incident ack|assign|update|severity|resolve|close|reopen|status|list`, as dispatched by
`bot/commands/incident.py` (the timeline and follow-up subcommands are in `followups.py`).

Each subcommand: call the flow with the incident of this channel, ack with the answer, then,
after the ack, open the form or deliver the effects in Slack. Nothing before the ack calls
Slack; what must ask Slack (is `U0ABC` a real user?) does so after the ack.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

import store
from bot.commands.common import already_acknowledged, ephemeral, number_of, refused
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
from bot.flows.effects import Effect
from bot.flows.permissions import Refused
from bot.flows.ports import SlackFailure
from bot.flows.queries import status_summary, visible_open_incidents
from bot.flows.resolution import CloseNeedsConfirmation
from bot.logs import bind_request, get_logger
from bot.services import Services
from bot.templates import operations as ops

log = get_logger(__name__)

# A Slack mention: `<@U123>` or `<@U123|alice>` (what Slack sends with `should_escape`).
USER_MENTION = re.compile(r"<@([UW][A-Z0-9_]{2,})(?:\|[^>]*)?>")
# A bare user id typed by hand: believed only once Slack confirms it (users.info, after the ack).
BARE_USER_ID = re.compile(r"^[UW][A-Z0-9_]{2,}$")
# Bare `/incident` declares, except in an incident's channel, where it shows the status.
BARE = ""


@dataclass(frozen=True)
class Outcome:
    answer: dict[str, Any] | None = None  # the ephemeral ack, if any
    effects: list[Effect] = field(default_factory=list)  # delivered after the ack
    form: View | None = None  # opened after the ack
    later: Callable[[], Awaitable[Outcome]] | None = None  # work that needs Slack: after the ack


Handler = Callable[[Services, store.Incident, dict[str, Any], str], Awaitable[Outcome]]


@dataclass(frozen=True)
class Assignment:
    role: str  # the words naming the role
    user: str | None  # from a mention: a real user
    unconfirmed: str | None  # a bare id-looking word: to be confirmed with Slack


def parse_assignment(text: str) -> Assignment:
    """`"tech lead <@U1|bob>"` → role `"tech lead"`, user `"U1"`, in either order. A word
    shaped like a user id (`U0ABC`) is only a candidate: uppercase words (`USA`, `WEST`) look
    the same, so Slack is asked before anyone's role changes."""
    match = USER_MENTION.search(text)
    if match is not None:
        role = text[: match.start()] + " " + text[match.end() :]
        return Assignment(" ".join(role.split()), match.group(1), None)
    words = text.split()
    bare = [w for w in words if BARE_USER_ID.match(w)]
    if bare:
        role_words = [w for w in words if w != bare[-1]]
        return Assignment(" ".join(role_words), None, bare[-1])
    return Assignment(" ".join(words), None, None)


async def list_answer(services: Services, *, user: str) -> dict[str, Any]:
    """`/incident list`: one query, no Slack call."""
    incidents = await visible_open_incidents(services.sessions, services.policy, user=user)
    return ephemeral(ops.incident_list(incidents, now=services.clock.now()))


async def run(
    services: Services,
    incident: store.Incident,
    handler: Handler,
    word: str,
    rest: str,
    ack: AsyncAck,
    command: dict[str, Any],
    respond: AsyncRespond,
) -> None:
    """A subcommand typed in an incident's channel."""
    bind_request(incident=number_of(incident))
    try:
        outcome = await handler(services, incident, command, rest)
    except Refused as refusal:
        log.info("subcommand_refused", subcommand=word, reason=str(refusal))
        await ack(**refused(str(refusal)))
        return
    await ack(**(outcome.answer or {}))
    # After the ack: Slack has its answer within 3 s; Bolt keeps this task running.
    if outcome.later is not None:
        try:
            outcome = await outcome.later()
        except Refused as refusal:
            outcome = Outcome(refused(str(refusal)))
        except SlackFailure as failure:
            log.warning("subcommand_failed_after_ack", subcommand=word, error=failure.error)
            text = f"I could not check that with Slack ({failure.plain_words()}). Try again."
            outcome = Outcome(refused(text))
        if outcome.answer is not None:
            await respond(**outcome.answer)
    if outcome.form is not None:
        try:
            await open_form(services, str(command["trigger_id"]), outcome.form)
        except FormNotOpened as problem:
            await respond(**refused(str(problem)))
    await services.deliver(outcome.effects)


async def _ack(
    services: Services, incident: store.Incident, command: dict[str, Any], rest: str
) -> Outcome:
    number = number_of(incident)
    user = str(command["user_id"])
    effects = await services.operations.acknowledge(number, user=user)
    if not effects:
        return Outcome(await already_acknowledged(services, number, user=user))
    return Outcome(effects=effects)


async def _assign(
    services: Services, incident: store.Incident, command: dict[str, Any], rest: str
) -> Outcome:
    number, by = number_of(incident), str(command["user_id"])
    wanted = parse_assignment(rest)
    role = services.policy.find_role(wanted.role) if wanted.role else None
    if role is None:
        raise Refused(
            services.operations.unknown_role_text(wanted.role or "(none)")
            + " Usage: `/incident assign <role> @person`."
        )
    if wanted.user is None and wanted.unconfirmed is None:
        raise Refused(
            f"Who should be the {role.name}? Mention them: `/incident assign {role.id} @person`."
        )

    async def assign(user: str) -> Outcome:
        effects = await services.operations.assign_roles(number, assignments={role.id: user}, by=by)
        if not effects:
            return Outcome(refused(f"That person already is the {role.name} of INC-{number}."))
        return Outcome(effects=effects)

    if wanted.user is not None:
        return await assign(wanted.user)
    candidate = wanted.unconfirmed or ""
    await services.operations.authorize(incident, by, "assign")  # refuse before the ack

    async def confirmed() -> Outcome:
        if not await services.gateway.user_exists(user=candidate):
            raise Refused(
                f"`{candidate}` is not a Slack user I can find, so nothing changed. "
                f"Mention the person: `/incident assign {role.id} @person`."
            )
        return await assign(candidate)

    return Outcome(later=confirmed)


def _form(prepare: FormPreparer) -> Handler:
    """A subcommand that opens a form: `/incident update`, `/incident resolve`."""

    async def prepared(
        services: Services, incident: store.Incident, command: dict[str, Any], rest: str
    ) -> Outcome:
        user = str(command["user_id"])
        return Outcome(form=await prepare(services, number=number_of(incident), user=user))

    return prepared


async def _severity(
    services: Services, incident: store.Incident, command: dict[str, Any], rest: str
) -> Outcome:
    number, user = number_of(incident), str(command["user_id"])
    if not rest:
        return Outcome(form=await severity_form(services, number=number, user=user))
    effects = await services.operations.change_severity(number, new=rest.split()[0], by=user)
    if not effects:
        return Outcome(refused(f"INC-{number} already is {rest.split()[0]}."))
    return Outcome(effects=effects)


async def close_outcome(services: Services, number: int, *, user: str) -> Outcome:
    """Closing, by command or by the panel's button: asks first when action items are open."""
    outcome = await services.resolution.close(number, by=user)
    if isinstance(outcome, CloseNeedsConfirmation):
        form = await close_confirmation_form(services, number=number, open_items=outcome.open_items)
        return Outcome(form=form)
    if not outcome:
        return Outcome(refused(f"INC-{number} is already closed."))
    return Outcome(effects=outcome)


async def _close(
    services: Services, incident: store.Incident, command: dict[str, Any], rest: str
) -> Outcome:
    return await close_outcome(services, number_of(incident), user=str(command["user_id"]))


async def _reopen(
    services: Services, incident: store.Incident, command: dict[str, Any], rest: str
) -> Outcome:
    number = number_of(incident)
    effects = await services.resolution.reopen(number, by=str(command["user_id"]))
    if not effects:
        return Outcome(refused(f"INC-{number} is already open."))
    return Outcome(effects=effects)


async def _status(
    services: Services, incident: store.Incident, command: dict[str, Any], rest: str
) -> Outcome:
    summary = await status_summary(
        services.sessions, services.policy, incident, now=services.clock.now()
    )
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
