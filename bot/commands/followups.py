"""`/incident note|timeline|action|actions|postmortem`, the action item buttons and form.

Parsing here, rules in `bot.flows.followups`; nothing calls Slack before the ack (an owner
named by mention is confirmed with Slack after it, before anything is stored).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

import store
from bot.commands.common import card, ephemeral, number_of, refused
from bot.commands.forms import FormNotOpened, open_form
from bot.commands.home import publish_home
from bot.commands.incident_ops import Handler, Outcome
from bot.commands.surface import Surface
from bot.commands.timeline import timeline_page
from bot.flows.followups import ActionRequest, action_view
from bot.flows.permissions import Refused
from bot.logs import bind_request, get_logger
from bot.services import Services
from bot.templates import followups as views
from bot.templates import operations as ops
from bot.templates import timeline as timeline_views
from bot.templates.incident import ADD_ACTION_ACTION

log = get_logger(__name__)

MENTION = re.compile(r"<@([UW][A-Z0-9_]{2,})(?:\|[^>]*)?>")
DUE = re.compile(r"(?i)\bdue:(\S*)")
CATEGORY = re.compile(r"(?i)\bcategory:(\S*)")
PRIORITY = re.compile(r"(?i)\bpriority:(\S*)")
UNKNOWN_AT = re.compile(r"(?<![<\w])@([\w.\-]+)")
LINK = re.compile(r"^<?(https?://[^|>\s]+)(?:\|[^>]*)?>?$")
USAGE = "`/incident action <what to do> [@owner] [due:YYYY-MM-DD]`"


def parse_action(text: str) -> ActionRequest:
    """`"Add a canary <@U1|bob> due:2026-12-24"` → text, owner U1, due 2026-12-24. Raises
    `Refused` for what cannot be right: two owners, an @name Slack did not recognise, a
    malformed date."""
    owners = MENTION.findall(text)
    if len(set(owners)) > 1:
        raise Refused(f"Name one owner per action item. Usage: {USAGE}.")
    rest = MENTION.sub(" ", text)
    due_on = None
    due = DUE.search(rest)
    if due is not None:
        try:
            due_on = date.fromisoformat(due.group(1))
        except ValueError:
            raise Refused(
                f"`due:{due.group(1)[:20]}` is not a date; write it as due:YYYY-MM-DD."
            ) from None
        rest = DUE.sub(" ", rest)
    category = None
    found = CATEGORY.search(rest)
    if found is not None:
        category = found.group(1).lower()
        rest = CATEGORY.sub(" ", rest)
    priority = None
    found = PRIORITY.search(rest)
    if found is not None:
        value = found.group(1).upper().removeprefix("P")
        if not value.isdigit():
            raise Refused("Priority is a number from 1 (immediate) to 4.")
        priority = int(value)
        rest = PRIORITY.sub(" ", rest)
    stray = UNKNOWN_AT.search(rest)
    if stray is not None:
        raise Refused(
            f"I can't find @{stray.group(1)[:40]} in this workspace, so nothing was added. "
            f"Mention the owner so Slack completes the name. Usage: {USAGE}."
        )
    return ActionRequest(
        text=" ".join(rest.split()),
        owner=owners[0] if owners else None,
        due_on=due_on,
        category=category,
        priority=priority,
    )


async def add_action(
    services: Services, incident: store.Incident, command: dict[str, Any], rest: str
) -> Outcome:
    number, by = number_of(incident), str(command["user_id"])
    request = parse_action(rest)
    await services.followups.authorize(incident, by, "action")
    services.followups.check_action(request, today=services.clock.now().date())

    async def store_it() -> Outcome:
        if request.owner is not None and not await services.gateway.user_exists(user=request.owner):
            raise Refused(
                f"I can't find that owner in this workspace, so nothing was added. Usage: {USAGE}."
            )
        item, effects = await services.followups.add_action(number, by=by, request=request)
        answer = ephemeral(views.action_added(item)) if item is not None else None
        return Outcome(answer, effects=effects)

    if request.owner is None:
        return await store_it()
    return Outcome(later=store_it)


async def incident_actions(services: Services, number: int) -> dict[str, Any]:
    async with services.sessions() as session:
        items = await store.list_action_items(session, incident_number=number)
    listed = [action_view(item, title=None) for item in items]
    return ephemeral(
        views.action_items_message(
            listed,
            heading=f"Action items of INC-{number}",
            with_incident=False,
            empty=f"No action items yet. Add one: {USAGE}.",
        )
    )


async def my_actions(services: Services, *, user: str) -> dict[str, Any]:
    """The caller's open items across incidents; a private incident's title stays out."""
    async with services.sessions() as session:
        owned, more = await store.list_owned_action_items(session, owner=user)
    listed = [
        action_view(o.item, title=None if o.incident_private else o.incident_title) for o in owned
    ]
    heading = "Your open action items" + (" (the first 100)" if more else "")
    return ephemeral(
        views.action_items_message(
            listed, heading=heading, with_incident=True, empty="You own no open action items."
        )
    )


async def list_actions(
    services: Services, incident: store.Incident, command: dict[str, Any], rest: str
) -> Outcome:
    return Outcome(await incident_actions(services, number_of(incident)))


async def note(
    services: Services, incident: store.Incident, command: dict[str, Any], rest: str
) -> Outcome:
    number, by = number_of(incident), str(command["user_id"])
    if not rest.strip():
        await services.followups.authorize(incident, by, "note")
        return Outcome(form=timeline_views.note_modal(await card(services, number)))
    await services.followups.add_note(number, by=by, text=rest)
    return Outcome(
        ephemeral(timeline_views.timeline_done(f"Added to the timeline of INC-{number}."))
    )


async def timeline(
    services: Services, incident: store.Incident, command: dict[str, Any], rest: str
) -> Outcome:
    user = str(command["user_id"])
    return Outcome(await timeline_page(services, incident, user=user, offset=0))


async def postmortem(
    services: Services, incident: store.Incident, command: dict[str, Any], rest: str
) -> Outcome:
    number, by = number_of(incident), str(command["user_id"])
    words = rest.split(maxsplit=1)
    if words and words[0].lower() == "done":
        link = LINK.match(words[1].strip()) if len(words) > 1 else None
        if link is None:
            raise Refused(
                "Give the link of the final post-mortem: `/incident postmortem done https://…`."
            )
        effects = await services.followups.postmortem_done(number, by=by, link=link.group(1))
        text = f"Recorded the final post-mortem of INC-{number}; it is on the panel now."
        if not effects:
            text = f"INC-{number} already has that post-mortem link."
        return Outcome(ephemeral(timeline_views.timeline_done(text)), effects=effects)
    effects = await services.followups.request_postmortem(number, by=by)
    text = f"Posting a fresh post-mortem draft of INC-{number} in this channel."
    return Outcome(ephemeral(timeline_views.timeline_done(text)), effects=effects)


HANDLERS: dict[str, Handler] = {
    "note": note,
    "timeline": timeline,
    "action": add_action,
    "actions": list_actions,
    "postmortem": postmortem,
}


def register(surface: Surface, services: Services) -> None:
    async def toggle(body: dict[str, Any], respond: AsyncRespond, *, done: bool) -> None:
        user = str(body["user"]["id"])
        value = str(((body.get("actions") or [{}])[0]).get("value") or "")
        if not value.isdigit() or len(value) > 10:
            return
        container = body.get("container") or {}
        # A click in the App Home tab (a view, not a message): it has no response_url.
        in_home = container.get("type") == "view" and (body.get("view") or {}).get("type") == "home"
        try:
            item, effects = await services.followups.set_action_done(int(value), by=user, done=done)
        except Refused as refusal:
            if in_home:  # no response_url there: the tab, drawn again, shows how things are
                await publish_home(services, user=user)
            else:
                await respond(replace_original=False, **refused(str(refusal)))
            return
        bind_request(incident=item.incident_number)
        if in_home:
            await publish_home(services, user=user)
        elif container.get("is_ephemeral"):
            in_channel = (body.get("channel") or {}).get("id")
            async with services.sessions() as session:
                incident = await store.get_incident(session, number=item.incident_number)
            if incident is not None and in_channel == incident.channel_id:
                await respond(
                    replace_original=True,
                    **await incident_actions(services, item.incident_number),
                )
            else:
                await respond(replace_original=True, **await my_actions(services, user=user))
        else:  # the owner's DM: show the item as it is now
            async with services.sessions() as session:
                incident = await store.get_incident(session, number=item.incident_number)
            title = None if incident is None or incident.private else incident.title
            view = action_view(item, title=title)
            await respond(
                replace_original=True,
                **ephemeral(views.action_item_dm(view, by=item.created_by or user)),
            )
        await services.deliver(effects)

    @surface.action(views.ACTION_DONE_ACTION)
    async def item_done(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        await toggle(body, respond, done=True)

    @surface.action(views.ACTION_REOPEN_ACTION)
    async def item_reopened(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        await toggle(body, respond, done=False)

    @surface.action(ADD_ACTION_ACTION)
    async def add_clicked(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        user = str(body["user"]["id"])
        value = str(((body.get("actions") or [{}])[0]).get("value") or "")
        number = ops.parse_incident_number(value)
        if number is None:
            return
        bind_request(incident=number)
        try:
            incident = await services.followups.incident(number)
            await services.followups.authorize(incident, user, "action")
            form = views.action_modal(await card(services, number))
            await open_form(services, str(body["trigger_id"]), form)
        except (Refused, FormNotOpened) as problem:
            await respond(replace_original=False, **refused(str(problem)))

    @surface.view(views.ACTION_CALLBACK)
    async def submit_action(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        values = view.get("state", {}).get("values", {})
        number, _channel = ops.parse_modal_metadata(view.get("private_metadata"))
        if number is None:
            await ack(
                response_action="errors", errors={views.ACTION_TEXT_BLOCK: "This form is broken."}
            )
            return
        bind_request(incident=number)
        request = _action_answers(values)
        try:
            _item, effects = await services.followups.add_action(
                number, by=str(body["user"]["id"]), request=request, key=f"action:{view.get('id')}"
            )
        except Refused as refusal:
            block = views.DUE_BLOCK if "due date" in str(refusal) else views.ACTION_TEXT_BLOCK
            await ack(response_action="errors", errors={block: str(refusal)[:2000]})
            return
        await ack()
        await services.deliver(effects)


def _action_answers(values: dict[str, Any]) -> ActionRequest:
    def element(block: str) -> dict[str, Any]:
        found = (values.get(block) or {}).get(block)
        return found if isinstance(found, dict) else {}

    due = element(views.DUE_BLOCK).get("selected_date")
    category = (element(views.CATEGORY_BLOCK).get("selected_option") or {}).get("value")
    priority = (element(views.PRIORITY_BLOCK).get("selected_option") or {}).get("value")
    try:
        due_on = date.fromisoformat(due) if isinstance(due, str) else None
    except ValueError:
        due_on = None
    owner = element(views.OWNER_BLOCK).get("selected_user")
    return ActionRequest(
        text=str(element(views.ACTION_TEXT_BLOCK).get("value") or ""),
        owner=owner if isinstance(owner, str) and owner else None,
        due_on=due_on,
        category=category if isinstance(category, str) else None,
        priority=int(priority) if isinstance(priority, str) and priority.isdigit() else None,
    )
