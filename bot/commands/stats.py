"""`/incident stats [period]`: the period's incident figures, privately, anywhere.

The period's syntax is checked before the ack (a bad one is refused at once); the reader's
time zone comes from Slack after the ack, then the figures (three SQL statements) are sent
with `respond`.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.commands.common import refused
from bot.flows.metrics import PeriodError, parse_period, read_metrics
from bot.flows.ports import SlackFailure
from bot.logs import get_logger
from bot.services import Services
from bot.templates.stats import stats_message

log = get_logger(__name__)


async def answer(
    services: Services, ack: AsyncAck, respond: AsyncRespond, *, user: str, text: str
) -> None:
    try:
        parse_period(text, now=services.clock.now())
    except PeriodError as problem:
        await ack(**refused(f"{problem}. Try `/incident stats 30d`."))
        return
    await ack()
    zone_name = "UTC"
    try:
        zone_name = await services.gateway.user_timezone(user=user) or "UTC"
    except SlackFailure as failure:
        log.warning("stats_timezone_unknown", error=failure.error)  # UTC it is, said so
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        zone_name, zone = "UTC", ZoneInfo("UTC")
    period = parse_period(text, now=services.clock.now(), zone=zone)
    metrics = await read_metrics(services.sessions, services.policy, period)
    answer: dict[str, Any] = stats_message(metrics, period=period, zone_name=zone_name)
    await respond(**answer)
