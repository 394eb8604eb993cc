"""The triage message's buttons: *Declare* (the declare form, prefilled from the alert) and
*Decline* (a reason, then the message says who declined it and why)."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.commands.declare import open_triage_form
from bot.commands.surface import Surface
from bot.flows.permissions import Refused
from bot.flows.ports import SlackFailure
from bot.logs import bind_request, get_logger
from bot.services import Services
from bot.templates.alerts import (
    ALERT_DECLARE_ACTION,
    ALERT_DECLINE_ACTION,
    DECLINE_CALLBACK,
    REASON_BLOCK,
    decline_modal,
)
from bot.templates.ops_common import parse_incident_number

log = get_logger(__name__)


def _number(body: dict[str, Any]) -> int | None:
    action = (body.get("actions") or [{}])[0]
    return parse_incident_number(action.get("value"))


def register(surface: Surface, services: Services) -> None:
    @surface.action(ALERT_DECLARE_ACTION)
    async def declare_alert(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        number = _number(body)
        if number is None:
            return
        bind_request(incident=number)
        await open_triage_form(
            services,
            str(body["trigger_id"]),
            respond,
            user=str(body["user"]["id"]),
            number=number,
        )

    @surface.action(ALERT_DECLINE_ACTION)
    async def decline_alert(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        number = _number(body)
        if number is None:
            return
        try:
            await services.gateway.open_view(
                trigger_id=str(body["trigger_id"]), view=decline_modal(number)
            )
        except SlackFailure as failure:
            log.warning("decline_form_not_opened", error=failure.error)
            await respond(
                response_type="ephemeral",
                replace_original=False,
                text="Slack did not let me open the form in time. Press Decline again.",
            )

    @surface.view(DECLINE_CALLBACK)
    async def submit_decline(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        number = parse_incident_number(view.get("private_metadata"))
        values = view.get("state", {}).get("values", {})
        reason = str((values.get(REASON_BLOCK, {}).get(REASON_BLOCK) or {}).get("value") or "")
        if number is None:
            await ack()
            return
        bind_request(incident=number)
        try:
            job = await services.intake.decline(
                number, by=str(body["user"]["id"]), reason=" ".join(reason.split())[:1000]
            )
        except Refused as refusal:
            await ack(response_action="errors", errors={REASON_BLOCK: str(refusal)[:2000]})
            return
        await ack()
        if job is not None:
            await services.jobs.run_now([job])
