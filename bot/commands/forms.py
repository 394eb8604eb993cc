"""The incident modals, from a subcommand or a panel button alike.

A form is *prepared* first — permission and state checked (nobody fills a form only to be
refused; the submission is checked again) and the view built — which needs only the database,
so it happens before Slack's ack. It is *opened* (views.open, a Slack round trip) after the ack.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from slack_sdk.models.blocks import Block

import store
from bot.commands.common import card
from bot.flows.cards import Choice, RoleLine
from bot.flows.lifecycle import WORKING, Status, legal_next
from bot.flows.permissions import Refused
from bot.flows.ports import SlackFailure
from bot.flows.publishing import OPERATIONAL, component_choices, offers_status_page
from bot.logs import get_logger
from bot.policy import PermissionAction
from bot.services import Services
from bot.statuspage import StatuspageSettings
from bot.templates import operations as ops
from bot.templates import statuspage as statuspage_fields

log = get_logger(__name__)


View = dict[str, object]
FormPreparer = Callable[..., Awaitable[View]]  # (services, *, number, user) -> view


class FormNotOpened(Exception):
    """Slack would not open the form (expired trigger); `str()` is for the user."""


async def open_form(services: Services, trigger_id: str, view: View) -> None:
    try:
        await services.gateway.open_view(trigger_id=trigger_id, view=view)
    except SlackFailure as failure:
        log.warning("form_not_opened", error=failure.error)
        raise FormNotOpened(
            "Slack did not let me open the form in time. Please try again."
        ) from failure


async def _allowed(
    services: Services, number: int, user: str, action: PermissionAction
) -> store.Incident:
    """The incident, once `user` is known to be allowed to do `action` to it."""
    incident = await services.operations.incident(number)
    await services.operations.authorize(incident, user, action)
    return incident


async def update_form(services: Services, *, number: int, user: str) -> View:
    incident = await _allowed(services, number, user, "update")
    current = Status(incident.status)
    if current not in (Status.TRIAGE, *WORKING):
        raise Refused(
            f"INC-{number} is {current.value}: updates are for open incidents. "
            "`/incident reopen` brings it back."
        )
    choices = [current, *(s for s in legal_next(current) if s in WORKING)]
    severity = services.policy.find_severity(incident.severity)
    cadence = severity.update_every if severity is not None else None
    async with services.sessions() as session:
        updates = await store.list_status_updates(session, incident_number=number)
    last = updates[-1] if updates else None
    return ops.update_modal(
        card=await card(services, number),
        legal_statuses=[(s.value, s.label) for s in choices],
        default_next_minutes=int(cadence.total_seconds() // 60) if cadence else None,
        share_default=services.policy.share_updates,
        can_share=not incident.private and not incident.drill,
        impact=last.impact if last else "",
        actions=last.actions if last else "",
        extra=await _status_page_fields(services, incident, resolving=False),
    )


async def resolve_form(services: Services, *, number: int, user: str) -> View:
    incident = await _allowed(services, number, user, "resolve")
    if incident.status == Status.RESOLVED.value:
        raise Refused(f"INC-{number} is already resolved.")
    if Status(incident.status) not in (Status.TRIAGE, *WORKING):
        raise Refused(
            f"INC-{number} is {incident.status}: it cannot move to resolved. "
            "`/incident reopen` first."
        )
    return ops.resolve_modal(
        card=await card(services, number),
        extra=await _status_page_fields(services, incident, resolving=True),
    )


async def _status_page_fields(
    services: Services, incident: store.Incident, *, resolving: bool
) -> list[Block]:
    """The status page's fields when this incident may publish (resolving: when it has)."""
    if not StatuspageSettings.of(services.settings).configured:
        return []
    async with services.sessions() as session:
        last = await store.last_status_page_post(session, incident_number=incident.number or 0)
    if not offers_status_page(services.policy, incident, published=last is not None):
        return []
    if resolving and last is None:
        return []  # never published: nothing to resolve on the page
    shown = last.components if last is not None else {}
    still = [
        name
        for name, component_id in services.policy.statuspage.components.items()
        if shown.get(component_id, OPERATIONAL) != OPERATIONAL
    ]
    return statuspage_fields.public_blocks(
        message="" if resolving or last is None else last.body,
        components=component_choices(services.policy),
        chosen=still,
        resolving=resolving,
    )


async def assign_form(services: Services, *, number: int, user: str) -> View:
    await _allowed(services, number, user, "assign")
    incident_card = await card(services, number)
    lead = services.policy.lead_role
    roles = [RoleLine(lead.id, lead.name, incident_card.commander), *incident_card.roles]
    return ops.assign_modal(card=incident_card, roles=roles)


async def severity_form(services: Services, *, number: int, user: str) -> View:
    await _allowed(services, number, user, "severity")
    choices = [Choice(value=s.id, label=f"{s.id} · {s.name}") for s in services.policy.severities]
    return ops.severity_modal(card=await card(services, number), severities=choices)


async def close_confirmation_form(
    services: Services, *, number: int, open_items: tuple[str, ...]
) -> View:
    return ops.close_confirm_modal(card=await card(services, number), open_items=open_items)
