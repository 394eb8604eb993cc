"""Declaring: `/incident`, `/incident declare|drill [title]` (dispatched by `incident.py`), the
message shortcut, the modal."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

import store
from bot.commands.surface import Surface
from bot.flows.cards import Choice, DeclareForm, SeverityGuide
from bot.flows.declare import DeclareRequest, NotTriage, declare, provision_key, validate
from bot.flows.intake import mapped_severity
from bot.flows.ports import SlackFailure
from bot.logs import bind_request, get_logger
from bot.policy import Policy, format_duration
from bot.services import Services
from bot.templates.declare import (
    COMMANDER_BLOCK,
    DECLARE_CALLBACK,
    DESCRIPTION_BLOCK,
    SERVICES_BLOCK,
    SEVERITY_BLOCK,
    STARTED_BLOCK,
    TITLE_BLOCK,
    TYPE_BLOCK,
    declare_modal,
    declaring_view,
    parse_declare_metadata,
    parse_declare_submission,
    parse_triage_number,
)
from bot.templates.text import plain_from_slack

DECLARE_SHORTCUT = "declare_incident_from_message"
# Field names of `DeclareRequest` validation → the modal's block ids.
FIELD_BLOCKS = {
    "title": TITLE_BLOCK,
    "severity": SEVERITY_BLOCK,
    "type": TYPE_BLOCK,
    "description": DESCRIPTION_BLOCK,
    "affected_services": SERVICES_BLOCK,
    "commander": COMMANDER_BLOCK,
    "started_at": STARTED_BLOCK,
}
TRIGGER_EXPIRED_TEXT = (
    "Slack did not let me open the declare form in time. Please run `/incident` again."
)
SAVE_FAILED_TEXT = "I could not save the incident just now. Please press Declare again."

log = get_logger(__name__)


def declare_form(policy: Policy, *, declarer: str, **prefill: Any) -> DeclareForm:
    return DeclareForm(
        severities=tuple(
            SeverityGuide(
                id=s.id,
                name=s.name,
                description=s.description,
                respond_within=format_duration(s.respond_within) if s.respond_within else None,
            )
            for s in policy.severities
        ),
        types=tuple(Choice(value=t.id, label=t.name) for t in policy.types),
        private_types=frozenset(t.id for t in policy.types if t.private),
        declarer=declarer,
        **prefill,
    )


async def open_form(
    services: Services,
    ack: AsyncAck,
    respond: AsyncRespond,
    command: dict[str, Any],
    *,
    drill: bool,
    title: str,
) -> None:
    """`/incident`, `/incident declare|drill [title]`: ack, then open the declare modal."""
    await ack()
    form = declare_form(
        services.policy,
        declarer=str(command["user_id"]),
        title=title,
        drill=drill,
        origin_channel=command.get("channel_id"),
    )
    await _open(services, str(command["trigger_id"]), form, respond)


def register(surface: Surface, services: Services) -> None:
    @surface.message_shortcut(DECLARE_SHORTCUT)
    async def declare_from_message(
        ack: AsyncAck, shortcut: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        channel = str(shortcut["channel"]["id"])
        message = shortcut.get("message") or {}
        link = await services.gateway.message_link(
            channel=channel,
            ts=str(message.get("ts", "")),
            thread_ts=str(message["thread_ts"]) if message.get("thread_ts") else None,
        )
        form = declare_form(
            services.policy,
            declarer=str(shortcut["user"]["id"]),
            description=plain_from_slack(str(message.get("text", ""))),
            source_link=link,
            origin_channel=channel,
        )
        await _open(services, str(shortcut["trigger_id"]), form, respond)

    @surface.view(DECLARE_CALLBACK)
    async def submit_declaration(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        answers = parse_declare_submission(view.get("state", {}).get("values", {}))
        source_link, origin_channel, _drill = parse_declare_metadata(
            str(view.get("private_metadata") or "")
        )
        request = DeclareRequest(
            declarer=str(body["user"]["id"]),
            title=answers.title,
            severity=answers.severity,
            type_id=answers.type_id,
            description=answers.description,
            affected_services=answers.affected_services,
            commander=answers.commander,
            started_at=answers.started_at,
            private=answers.private,
            drill=answers.drill,
            source_link=source_link,
            origin_channel=origin_channel,
            triage_number=parse_triage_number(str(view.get("private_metadata") or "")),
        )
        now = services.clock.now()
        errors = validate(request, services.policy, now=now)
        if errors:
            await ack(
                response_action="errors",
                errors={FIELD_BLOCKS.get(field, TITLE_BLOCK): msg for field, msg in errors.items()},
            )
            return
        try:
            declared = await declare(
                services.sessions,
                services.policy,
                request,
                idempotency_key=f"declare:{view['id']}",
                now=now,
            )
        except NotTriage:
            text = "This alert was declared or declined by someone else just now."
            await ack(response_action="errors", errors={TITLE_BLOCK: text})
            return
        except Exception:
            log.exception("declare_failed")
            await ack(response_action="errors", errors={TITLE_BLOCK: SAVE_FAILED_TEXT})
            return
        bind_request(incident=declared.number)
        await ack(
            response_action="update",
            view=declaring_view(number=declared.number, title=request.title.strip()),
        )
        log.info("incident_declared", duplicate=declared.duplicate, drill=request.drill)
        if not declared.duplicate:
            # After the ack: Slack has its answer, the incident is stored, now the Slack work.
            await services.jobs.run_now([provision_key(declared.number)])


async def open_triage_form(
    services: Services, trigger_id: str, respond: AsyncRespond, *, user: str, number: int
) -> None:
    """Declare an alert's triage incident: the form prefilled from the alert."""
    async with services.sessions() as session:
        incident = await store.get_incident(session, number=number)
        alert = await store.alert_of_incident(session, incident_number=number)
    if incident is None or incident.status != "triage":
        state = incident.status if incident is not None else "gone"
        await respond(
            response_type="ephemeral",
            replace_original=False,
            text=f"INC-{number} is {state} already.",
        )
        return
    form = declare_form(
        services.policy,
        declarer=user,
        title=incident.title,
        description=incident.description,
        severity=mapped_severity(services.policy, alert.severity_value if alert else None),
        triage_number=number,
    )
    await _open(services, trigger_id, form, respond)


async def _open(
    services: Services, trigger_id: str, form: DeclareForm, respond: AsyncRespond
) -> None:
    try:
        await services.gateway.open_view(trigger_id=trigger_id, view=declare_modal(form))
    except SlackFailure as failure:
        log.warning("declare_form_not_opened", error=failure.error)
        await respond(response_type="ephemeral", text=TRIGGER_EXPIRED_TEXT)
