"""The timeline from Slack: 📌 reactions, pins, the "Add to timeline" shortcut, notes, and
`/incident timeline` with its paging and corrections.

Events are acknowledged before anything here runs (`bot.inbound`); a reaction that is not
the timeline emoji is dropped without touching the database. Capturing reads the database
here and leaves the one Slack read (the message's text) to the `capture` job.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

import store
from bot.commands.common import card, ephemeral, incident_here, number_of, refused
from bot.commands.forms import FormNotOpened, open_form
from bot.commands.surface import Surface
from bot.flows.capture import PIN_HOLDER, SHORTCUT_HOLDER, CapturedSource
from bot.flows.cards import TimelineEntry, TimelinePage
from bot.flows.permissions import Refused
from bot.flows.timeline import plain_mentions
from bot.logs import bind_request, get_logger
from bot.services import Services
from bot.templates import operations as ops
from bot.templates import timeline as views

log = get_logger(__name__)

ADD_TO_TIMELINE = "add_to_timeline"


def _emoji(name: object) -> str:
    """`pushpin::skin-tone-2` → `pushpin`."""
    return str(name).split("::", 1)[0] if isinstance(name, str) else ""


def _message_item(event: dict[str, Any]) -> dict[str, Any] | None:
    item = event.get("item")
    if not isinstance(item, dict) or item.get("type") != "message":
        return None
    return item


def _text(value: object) -> str | None:
    return str(value) if isinstance(value, str) and value else None


async def _incident(services: Services, channel: str | None) -> store.Incident | None:
    return await incident_here(services, channel) if channel else None


async def may_read(services: Services, incident: store.Incident, user: str) -> bool:
    """A private incident's timeline is for its channel's members only."""
    if not incident.private:
        return True
    async with services.sessions() as session:
        return await store.is_channel_member(
            session, channel_id=incident.channel_id or "", user_id=user
        )


async def timeline_page(
    services: Services, incident: store.Incident, *, user: str, offset: int
) -> dict[str, Any]:
    """One page of `/incident timeline` for `user` (one query for the page and the count)."""
    number = number_of(incident)
    async with services.sessions() as session:
        events, total = await store.page_timeline(
            session, incident_number=number, offset=offset, limit=views.TIMELINE_PAGE_SIZE
        )
    try:
        await services.followups.authorize(incident, user, "timeline")
        can_edit = True
    except Refused:
        can_edit = False
    entries = tuple(
        TimelineEntry(e.id or 0, e.at, e.kind, e.actor, plain_mentions(e.text), e.permalink)
        for e in events
    )
    page = TimelinePage(number, entries, max(offset, 0), total, can_edit)
    return ephemeral(views.timeline_message(await card(services, number), page))


def register(surface: Surface, services: Services) -> None:
    emoji = services.policy.timeline_emoji

    def timeline_reaction(event: dict[str, Any]) -> bool:
        item = _message_item(event)
        return item is not None and _emoji(event.get("reaction")) == emoji and bool(item.get("ts"))

    def pinned_message(event: dict[str, Any]) -> bool:
        return _message_item(event) is not None

    async def hold(incident: store.Incident, source: CapturedSource, holder: str) -> None:
        number = number_of(incident)
        bind_request(incident=number)
        key = await services.capture.hold(number, source=source, holder=holder)
        if key is not None:
            await services.jobs.run_now([key])

    @surface.event("reaction_added", relevant=timeline_reaction)
    async def reaction_added(event: dict[str, Any]) -> None:
        item = _message_item(event) or {}
        channel, ts = _text(item.get("channel")), _text(item.get("ts"))
        incident = await _incident(services, channel)
        if incident is None or channel is None or ts is None:
            return  # a 📌 outside an incident channel is nobody's business
        source = CapturedSource(channel=channel, ts=ts, user=_text(event.get("item_user")))
        await hold(incident, source, holder=str(event.get("user") or "someone"))

    @surface.event("reaction_removed", relevant=timeline_reaction)
    async def reaction_removed(event: dict[str, Any]) -> None:
        item = _message_item(event) or {}
        incident = await _incident(services, _text(item.get("channel")))
        ts = _text(item.get("ts"))
        if incident is None or ts is None:
            return
        holder = str(event.get("user") or "someone")
        await services.capture.release(number_of(incident), ts=ts, holder=holder)

    def pinned(event: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
        item = _message_item(event) or {}
        message = item.get("message")
        message = message if isinstance(message, dict) else {}
        channel = _text(event.get("channel_id")) or _text(item.get("channel"))
        return channel, message

    @surface.event("pin_added", relevant=pinned_message)
    async def pin_added(event: dict[str, Any]) -> None:
        if event.get("user") == services.gateway.bot_user_id:
            return  # warroom pinning its own panel is not a moment of the incident
        channel, message = pinned(event)
        ts = _text(message.get("ts")) or _text((event.get("item") or {}).get("ts"))
        incident = await _incident(services, channel)
        if incident is None or channel is None or ts is None:
            return
        source = CapturedSource(
            channel=channel,
            ts=ts,
            thread_ts=_text(message.get("thread_ts")),
            user=_text(message.get("user")) or _text(event.get("item_user")),
            # The event carries the message: no Slack read needed (unless it has no text).
            text=message.get("text") if isinstance(message.get("text"), str) else None,
            permalink=_text(message.get("permalink")),
        )
        await hold(incident, source, holder=PIN_HOLDER)

    @surface.event("pin_removed", relevant=pinned_message)
    async def pin_removed(event: dict[str, Any]) -> None:
        channel, message = pinned(event)
        ts = _text(message.get("ts")) or _text((event.get("item") or {}).get("ts"))
        incident = await _incident(services, channel)
        if incident is None or ts is None:
            return
        await services.capture.release(number_of(incident), ts=ts, holder=PIN_HOLDER)

    @surface.message_shortcut(ADD_TO_TIMELINE)
    async def add_to_timeline(
        ack: AsyncAck, shortcut: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        channel = _text((shortcut.get("channel") or {}).get("id"))
        message = shortcut.get("message") or {}
        user = str((shortcut.get("user") or {}).get("id") or "")
        incident = await _incident(services, channel)
        ts = _text(message.get("ts"))
        if incident is None or channel is None or ts is None:
            await respond(
                **refused(
                    "“Add to timeline” works on messages in an incident's channel. "
                    "Use it there, or `/incident note` in the incident channel."
                )
            )
            return
        number = number_of(incident)
        try:
            await services.followups.authorize(incident, user, "note")
        except Refused as refusal:
            await respond(**refused(str(refusal)))
            return
        source = CapturedSource(
            channel=channel,
            ts=ts,
            thread_ts=_text(message.get("thread_ts")),
            user=_text(message.get("user")),
            text=str(message.get("text") or ""),
        )
        await hold(incident, source, holder=SHORTCUT_HOLDER)
        await respond(**ephemeral(views.timeline_done(f"Added to the timeline of INC-{number}.")))

    @surface.view(views.NOTE_CALLBACK)
    async def submit_note(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        values = view.get("state", {}).get("values", {})
        number, _channel = ops.parse_modal_metadata(view.get("private_metadata"))
        text = str(
            (values.get(views.NOTE_BLOCK, {}).get(views.NOTE_BLOCK) or {}).get("value") or ""
        )
        when = _picked(values)
        if number is None:
            await ack(response_action="errors", errors={views.NOTE_BLOCK: "This form is broken."})
            return
        bind_request(incident=number)
        try:
            await services.followups.add_note(
                number, by=str(body["user"]["id"]), text=text, at=when, key=str(view.get("id"))
            )
        except Refused as refusal:
            block = views.WHEN_BLOCK if "future" in str(refusal) else views.NOTE_BLOCK
            await ack(response_action="errors", errors={block: str(refusal)[:2000]})
            return
        await ack()

    @surface.view(views.RETIME_CALLBACK)
    async def submit_retime(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        values = view.get("state", {}).get("values", {})
        number, _channel = ops.parse_modal_metadata(view.get("private_metadata"))
        entry = views.parse_entry_metadata(view.get("private_metadata"))
        when = _picked(values)
        if number is None or entry is None or when is None:
            await ack(response_action="errors", errors={views.WHEN_BLOCK: "Pick a date and time."})
            return
        bind_request(incident=number)
        try:
            await services.followups.retime_entry(
                number, by=str(body["user"]["id"]), event_id=entry, at=when
            )
        except Refused as refusal:
            await ack(response_action="errors", errors={views.WHEN_BLOCK: str(refusal)[:2000]})
            return
        await ack()

    async def page_clicked(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        user = str(body["user"]["id"])
        action = (body.get("actions") or [{}])[0]
        number, offset = views.parse_timeline_value(str(action.get("value") or ""))
        incident = await _incident_by_number(services, number)
        if incident is None or not await may_read(services, incident, user):
            return
        await respond(
            replace_original=True,
            **await timeline_page(services, incident, user=user, offset=offset),
        )

    surface.action(views.TIMELINE_PAGE_ACTION)(page_clicked)
    surface.action(f"{views.TIMELINE_PAGE_ACTION}_next")(page_clicked)

    @surface.action(views.TIMELINE_ENTRY_ACTION)
    async def entry_chosen(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        user = str(body["user"]["id"])
        action = (body.get("actions") or [{}])[0]
        selected = action.get("selected_option") or {}
        choice = views.parse_entry_value(str(selected.get("value") or ""))
        if choice is None:
            return
        incident = await _incident_by_number(services, choice.number)
        if incident is None:
            return
        bind_request(incident=choice.number)
        try:
            if choice.verb == "delete":
                await services.followups.delete_entry(
                    choice.number, by=user, event_id=choice.entry_id
                )
                page = await timeline_page(services, incident, user=user, offset=choice.offset)
                await respond(replace_original=True, **page)
                return
            await services.followups.authorize(incident, user, "timeline")
            async with services.sessions() as session:
                event = await store.get_timeline_event(
                    session, incident_number=choice.number, event_id=choice.entry_id
                )
            if event is None:
                raise Refused("That entry is no longer on the timeline.")
            form = views.retime_modal(
                await card(services, choice.number),
                entry_id=choice.entry_id,
                at=event.at,
                text=event.text,
            )
            await open_form(services, str(body["trigger_id"]), form)
        except (Refused, FormNotOpened) as problem:
            await respond(replace_original=False, **refused(str(problem)))


def _picked(values: dict[str, Any]) -> datetime | None:
    """The date-time picker's choice (epoch seconds, chosen in the user's own time zone)."""
    picked = (values.get(views.WHEN_BLOCK, {}).get(views.WHEN_BLOCK) or {}).get(
        "selected_date_time"
    )
    if not isinstance(picked, int | float) or not 0 < picked < 2**35:
        return None
    return datetime.fromtimestamp(picked, tz=UTC)


async def _incident_by_number(services: Services, number: int | None) -> store.Incident | None:
    if number is None:
        return None
    async with services.sessions() as session:
        return await store.get_incident(session, number=number)
