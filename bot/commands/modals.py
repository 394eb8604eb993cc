"""Submissions of the incident modals: update, resolve, assign roles, severity, close.

Problems come back on the form's field (`response_action: errors`); on success the modal
closes and the effects are applied after the ack.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck

from bot.commands.surface import Surface
from bot.flows.effects import Effect
from bot.flows.operations import UpdateRequest
from bot.flows.permissions import Refused
from bot.flows.publishing import PublicUpdate, component_choices
from bot.flows.resolution import Reflections
from bot.logs import bind_request, get_logger
from bot.services import Services
from bot.templates import operations as ops
from bot.templates import statuspage as statuspage_fields
from bot.templates.text import safe_mrkdwn
from bot.templates.unhandled import stale_form_view

log = get_logger(__name__)

Submission = Callable[[int, str, dict[str, Any]], Awaitable[list[Effect]]]


class FieldProblem(Exception):
    def __init__(self, block_id: str, message: str) -> None:
        super().__init__(message)
        self.block_id = block_id


def _problem(values: dict[str, Any], block_id: str, message: str) -> dict[str, Any]:
    """The answer to a refused submission: an error on the field when the form has that input
    (Slack rejects errors on anything else), else the form replaced by the message."""
    if block_id in values:
        return {"response_action": "errors", "errors": {block_id: message}}
    return {"response_action": "update", "view": stale_form_view(safe_mrkdwn(message, 2900))}


def register(surface: Surface, services: Services) -> None:
    def on_submit(callback_id: str, main_block: str, submit: Submission) -> None:
        @surface.view(callback_id)
        async def handle(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
            values = view.get("state", {}).get("values", {})
            number, _channel = ops.parse_modal_metadata(view.get("private_metadata"))
            if number is None:
                await ack(**_problem(values, main_block, "This form is broken."))
                return
            bind_request(incident=number)
            try:
                effects = await submit(number, str(body["user"]["id"]), {**view, "values": values})
            except FieldProblem as problem:
                await ack(**_problem(values, problem.block_id, str(problem)))
                return
            except Refused as refusal:
                log.info("submission_refused", form=callback_id, reason=str(refusal))
                await ack(**_problem(values, main_block, str(refusal)))
                return
            await ack()
            await services.deliver(effects)

    def public_update(values: dict[str, Any]) -> PublicUpdate | None:
        """The status page publication the form asks for (None: none); a ticked "Publish"
        needs its public message."""
        choices = component_choices(services.policy)
        answers = statuspage_fields.parse_public(values, components=choices)
        if answers is None or not answers.publish:
            return None
        if not answers.message.strip():
            raise FieldProblem(
                statuspage_fields.PUBLIC_MESSAGE_BLOCK,
                "Write what the status page should say, or untick “Publish to status page”.",
            )
        return PublicUpdate(message=answers.message.strip(), components=answers.components)

    async def update(number: int, user: str, view: dict[str, Any]) -> list[Effect]:
        answers = ops.parse_update_submission(view["values"])
        if not answers.impact.strip():
            raise FieldProblem(ops.IMPACT_BLOCK, "Say what the impact is now.")
        if not answers.actions.strip():
            raise FieldProblem(ops.ACTIONS_BLOCK, "Say what is being done.")
        minutes = answers.next_in_minutes
        # Empty means the severity's cadence; anything else typed must be a cadence itself.
        if not answers.next_in_valid:
            raise FieldProblem(
                ops.NEXT_UPDATE_BLOCK,
                f"A whole number of minutes from 1 to {ops.NEXT_UPDATE_MAX_MINUTES}, "
                "or leave it empty for the severity's usual cadence.",
            )
        incident = await services.operations.incident(number)
        request = UpdateRequest(
            status=answers.status or incident.status,
            impact=answers.impact.strip(),
            actions=answers.actions.strip(),
            next_in=timedelta(minutes=minutes) if minutes else None,
            share=answers.share,
            public=public_update(view["values"]),
        )
        return await services.operations.post_update(
            number, by=user, request=request, key=f"update:{view['id']}"
        )

    async def resolve(number: int, user: str, view: dict[str, Any]) -> list[Effect]:
        answers = ops.parse_resolve_submission(view["values"])
        if not answers.summary.strip():
            raise FieldProblem(ops.SUMMARY_BLOCK, "Summarise how it was resolved.")
        ended = answers.impact_ended_at
        if ended is not None and ended > services.clock.now() + timedelta(minutes=2):
            raise FieldProblem(ops.IMPACT_ENDED_BLOCK, "The impact cannot end in the future.")
        public = public_update(view["values"])
        return await services.resolution.resolve(
            number,
            public=public,
            by=user,
            summary=answers.summary.strip(),
            root_cause=answers.root_cause.strip() or None,
            impact_ended_at=ended,
            reflections=Reflections(
                contributing_factors=answers.contributing_factors.strip() or None,
                went_well=answers.went_well.strip() or None,
                went_badly=answers.went_badly.strip() or None,
            ),
        )

    async def assign(number: int, user: str, view: dict[str, Any]) -> list[Effect]:
        chosen = ops.parse_assign_submission(view["values"])
        return await services.operations.assign_roles(number, assignments=chosen, by=user)

    async def severity(number: int, user: str, view: dict[str, Any]) -> list[Effect]:
        chosen = ops.parse_severity_submission(view["values"])
        if chosen is None:
            raise FieldProblem(ops.SEVERITY_BLOCK, "Pick a severity.")
        return await services.operations.change_severity(number, new=chosen, by=user)

    async def close(number: int, user: str, view: dict[str, Any]) -> list[Effect]:
        outcome = await services.resolution.close(number, by=user, confirmed=True)
        return outcome if isinstance(outcome, list) else []

    first_role_block = ops.role_block_id(services.policy.lead_role.id)
    on_submit(ops.UPDATE_CALLBACK, ops.STATUS_BLOCK, update)
    on_submit(ops.RESOLVE_CALLBACK, ops.SUMMARY_BLOCK, resolve)
    on_submit(ops.ASSIGN_CALLBACK, first_role_block, assign)
    on_submit(ops.SEVERITY_CALLBACK, ops.SEVERITY_BLOCK, severity)
    on_submit(ops.CLOSE_CONFIRM_CALLBACK, "close", close)
