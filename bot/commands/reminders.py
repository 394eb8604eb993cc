"""The update reminder's Snooze buttons: a one-off delay of the pending reminder."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.commands.common import card, ephemeral, refused
from bot.commands.surface import Surface
from bot.flows.permissions import Refused
from bot.logs import bind_request, get_logger
from bot.services import Services
from bot.templates import reminders

log = get_logger(__name__)


def register(surface: Surface, services: Services) -> None:
    async def snooze(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        user = str(body["user"]["id"])
        value = str(((body.get("actions") or [{}])[0]).get("value") or "")
        number, seconds = reminders.parse_snooze_value(value)
        if number is None or seconds is None:
            log.warning("click_refused", reason="not a snooze", value=value[:40])
            return
        bind_request(incident=number)
        try:
            await services.alarms.snooze(number, by=user, seconds=seconds)
        except Refused as refusal:
            await respond(replace_original=False, **refused(str(refusal)))
            return
        until = services.clock.now() + timedelta(seconds=seconds)
        message = reminders.snoozed_reminder(await card(services, number), by=user, until=until)
        await respond(replace_original=True, **ephemeral(message) | {"response_type": "in_channel"})

    for i in range(reminders.SNOOZE_BUTTONS):
        surface.action(f"{reminders.SNOOZE_ACTION}:{i}")(snooze)
