"""The incident panel's buttons, and "Take role" from `/incident status`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.commands.common import already_acknowledged, refused
from bot.commands.forms import (
    FormNotOpened,
    FormPreparer,
    assign_form,
    open_form,
    resolve_form,
    severity_form,
    update_form,
)
from bot.commands.incident_ops import close_outcome
from bot.commands.surface import Surface
from bot.flows.effects import Effect
from bot.flows.permissions import Refused
from bot.logs import bind_request, get_logger
from bot.services import Services
from bot.templates import operations as ops
from bot.templates.incident import (
    ACK_ACTION,
    ASSIGN_ACTION,
    CLOSE_ACTION,
    REOPEN_ACTION,
    RESOLVE_ACTION,
    SEVERITY_ACTION,
    UPDATE_ACTION,
)

log = get_logger(__name__)

FORMS: dict[str, FormPreparer] = {
    UPDATE_ACTION: update_form,
    ASSIGN_ACTION: assign_form,
    SEVERITY_ACTION: severity_form,
    RESOLVE_ACTION: resolve_form,
}


def _clicked(body: dict[str, Any]) -> tuple[str, str]:
    action = (body.get("actions") or [{}])[0]
    return str(body["user"]["id"]), str(action.get("value") or "")


def _clicked_incident(body: dict[str, Any]) -> tuple[str, int | None]:
    """(clicker, incident number) of a panel button; None when the value is no incident
    number (a 40-digit value would otherwise reach the database and fail there)."""
    user, value = _clicked(body)
    number = ops.parse_incident_number(value)
    if number is None:
        log.warning("click_refused", reason="not an incident number", value=value[:40])
    return user, number


def register(surface: Surface, services: Services) -> None:
    async def answer(respond: AsyncRespond, text: str) -> None:
        await respond(replace_original=False, **refused(text))

    async def act(
        respond: AsyncRespond,
        number: int,
        action: Callable[[], Awaitable[list[Effect]]],
        *,
        nothing_to_do: Callable[[], Awaitable[dict[str, Any]]] | None = None,
    ) -> None:
        """Run a click's flow; a refusal goes privately to the clicker, effects to Slack. A
        click that changes nothing (a stale panel) is told why, never met with silence."""
        bind_request(incident=number)
        try:
            effects = await action()
        except Refused as refusal:
            await answer(respond, str(refusal))
            return
        if not effects and nothing_to_do is not None:
            await respond(replace_original=False, **await nothing_to_do())
        await services.deliver(effects)

    def flow_button(
        action_id: str,
        flow: Callable[[int, str], Awaitable[list[Effect]]],
        nothing_to_do: Callable[[int, str], Awaitable[dict[str, Any]]],
    ) -> None:
        """A panel button that runs one flow on the clicked incident."""

        @surface.action(action_id)
        async def clicked(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
            await ack()
            user, number = _clicked_incident(body)
            if number is not None:
                await act(
                    respond,
                    number,
                    lambda: flow(number, user),
                    nothing_to_do=lambda: nothing_to_do(number, user),
                )

    async def already_open(number: int, _user: str) -> dict[str, Any]:
        return refused(f"INC-{number} is already open.")

    flow_button(
        ACK_ACTION,
        lambda number, user: services.operations.acknowledge(number, user=user),
        lambda number, user: already_acknowledged(services, number, user=user),
    )
    flow_button(
        REOPEN_ACTION,
        lambda number, user: services.resolution.reopen(number, by=user),
        already_open,
    )

    @surface.action(CLOSE_ACTION)
    async def close(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        user, number = _clicked_incident(body)
        if number is None:
            return
        bind_request(incident=number)
        try:
            outcome = await close_outcome(services, number, user=user)
            if outcome.form is not None:
                await open_form(services, str(body["trigger_id"]), outcome.form)
        except (Refused, FormNotOpened) as problem:
            await answer(respond, str(problem))
            return
        if outcome.answer is not None:
            await respond(replace_original=False, **outcome.answer)
        await services.deliver(outcome.effects)

    def form_button(action_id: str, prepare: FormPreparer) -> None:
        @surface.action(action_id)
        async def form_clicked(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
            await ack()
            user, number = _clicked_incident(body)
            if number is None:
                return
            bind_request(incident=number)
            try:
                view = await prepare(services, number=number, user=user)
                await open_form(services, str(body["trigger_id"]), view)
            except (Refused, FormNotOpened) as problem:
                await answer(respond, str(problem))

    for action_id, prepare in FORMS.items():
        form_button(action_id, prepare)

    @surface.action(ops.TAKE_ROLE_ACTION)
    async def take_role(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        user, value = _clicked(body)
        number, role_id = ops.parse_take_role_value(value)
        if number is None or role_id is None:
            log.warning("click_refused", reason="not an incident and role", value=value[:80])
        else:
            await act(
                respond,
                number,
                lambda: services.operations.take_role(number, role_id=role_id, user=user),
            )
