"""The App Home tab, published afresh each time someone opens it (`app_home_opened`).

Bolt acknowledges the event before this runs (`bot.inbound`); the page is read from the
database in a fixed number of statements (`store.home_records`, then the period's figures),
whatever the number of incidents, and published with the one Slack call, `views.publish`.
The action items' Done buttons are the ones lists and DMs have (`bot.commands.followups`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

import store
from bot.commands.surface import Surface
from bot.flows.cards import ActionItemView
from bot.flows.lifecycle import OPEN_STATUSES
from bot.flows.metrics import parse_period, read_metrics
from bot.flows.ports import SlackFailure
from bot.logs import get_logger
from bot.policy import Policy
from bot.services import Services
from bot.templates import home as views

log = get_logger(__name__)

HOME_TAB = "home"
FIGURES_PERIOD = "30d"


def _home_tab(event: dict[str, Any]) -> bool:
    """Only the Home tab is warroom's to draw (its Messages tab is the DM)."""
    return event.get("tab") == HOME_TAB and isinstance(event.get("user"), str)


def _role_names(policy: Policy, role_ids: tuple[str, ...]) -> tuple[str, ...]:
    names = {role.id: role.name for role in policy.roles}
    return tuple(names.get(role_id, role_id) for role_id in role_ids)


def _incident(policy: Policy, found: store.HomeIncident) -> views.HomeIncident:
    return views.HomeIncident(
        number=found.number,
        title=found.title,
        severity_id=found.severity,
        status=found.status,
        channel_id=found.channel_id,
        private=found.private,
        drill=found.drill,
        declared_at=found.declared_at,
        roles=_role_names(policy, found.roles),
    )


def _action_item(item: store.HomeActionItem) -> ActionItemView:
    return ActionItemView(
        id=item.id,
        number=item.incident_number,
        text=item.text,
        owner=item.owner,
        due_on=item.due_at.date() if item.due_at else None,
        done=False,
        category=item.category,
        priority=item.priority,
        incident_title=item.incident_title,
    )


async def home_page(
    sessions: async_sessionmaker[AsyncSession], policy: Policy, *, user: str, now: datetime
) -> views.HomePage:
    """What `user`'s home shows at `now`: seven statements, however many incidents there are
    (four for the lists, three for the figures)."""
    async with sessions() as session:
        records = await store.home_records(
            session,
            user_id=user,
            open_statuses=sorted(s.value for s in OPEN_STATUSES),
            incidents_limit=views.INCIDENTS_SHOWN,
            action_items_limit=views.ACTION_ITEMS_SHOWN,
            recent_limit=views.RECENT_SHOWN,
        )
    period = parse_period(FIGURES_PERIOD, now=now)
    metrics = await read_metrics(sessions, policy, period)
    overall = metrics.overall
    return views.HomePage(
        user=user,
        now=now,
        incidents=tuple(_incident(policy, found) for found in records.incidents),
        incidents_total=records.incidents_total,
        action_items=tuple(_action_item(item) for item in records.action_items),
        action_items_total=records.action_items_total,
        recent=tuple(_incident(policy, found) for found in records.recent),
        figures=views.HomeFigures(
            period=period.name,
            incidents=overall.count,
            mtta_median=overall.spread("tta").median,
            mttr_median=overall.spread("ttr").median,
            update_adherence=overall.update_adherence,
        ),
    )


async def publish_home(services: Services, *, user: str) -> None:
    """Read `user`'s home from the database and publish it (a failure is logged: there is
    nobody to tell, and the next opening of the tab tries again)."""
    page = await home_page(services.sessions, services.policy, user=user, now=services.clock.now())
    try:
        await services.gateway.publish_home(user=user, view=views.home_view(page))
    except SlackFailure as failure:
        log.warning("home_not_published", error=failure.error)
        return
    log.info("home_published", incidents=len(page.incidents), action_items=len(page.action_items))


def register(surface: Surface, services: Services) -> None:
    @surface.event("app_home_opened", relevant=_home_tab)
    async def app_home_opened(event: dict[str, Any]) -> None:
        if not _home_tab(event):
            return
        await publish_home(services, user=str(event["user"]))
