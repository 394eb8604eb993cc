"""Action items: the follow-ups an incident leaves, tracked until done."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import not_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from store.models import ActionItem, Incident
from store.repo_common import RETURNING_OPTIONS, require_aware

__all__ = [
    "OwnedActionItem",
    "add_action_item",
    "get_action_item",
    "list_action_items",
    "list_owned_action_items",
    "set_action_item_done",
]


async def add_action_item(
    session: AsyncSession,
    *,
    incident_number: int,
    text: str,
    now: datetime,
    owner: str | None = None,
    due_at: datetime | None = None,
    created_by: str | None = None,
    category: str | None = None,
    priority: int | None = None,
) -> ActionItem:
    """Add a follow-up item created at ``now``."""
    require_aware("now", now)
    require_aware("due_at", due_at)
    item = ActionItem(
        incident_number=incident_number,
        text=text,
        owner=owner,
        due_at=due_at,
        created_at=now,
        created_by=created_by,
        category=category,
        priority=priority,
    )
    session.add(item)
    await session.flush()
    return item


async def get_action_item(session: AsyncSession, *, item_id: int) -> ActionItem | None:
    return (await session.exec(select(ActionItem).where(col(ActionItem.id) == item_id))).first()


async def list_action_items(
    session: AsyncSession, *, incident_number: int | None = None, include_done: bool = True
) -> list[ActionItem]:
    """Action items of one incident (or all), oldest first."""
    stmt = select(ActionItem).order_by(col(ActionItem.id))
    if incident_number is not None:
        stmt = stmt.where(col(ActionItem.incident_number) == incident_number)
    if not include_done:
        stmt = stmt.where(not_(col(ActionItem.done)))
    return list((await session.exec(stmt)).all())


@dataclass(frozen=True)
class OwnedActionItem:
    """An open item of someone's, with what the list needs of its incident."""

    item: ActionItem
    incident_title: str
    incident_private: bool
    incident_channel_id: str | None


async def list_owned_action_items(
    session: AsyncSession, *, owner: str, limit: int = 100
) -> tuple[list[OwnedActionItem], bool]:
    """The owner's open items across incidents, soonest due first (one query); and whether
    there were more than ``limit``."""
    stmt = (
        select(ActionItem, Incident.title, Incident.private, Incident.channel_id)
        .join(Incident, col(Incident.number) == col(ActionItem.incident_number))
        .where(col(ActionItem.owner) == owner, not_(col(ActionItem.done)))
        .order_by(col(ActionItem.due_at).is_(None), col(ActionItem.due_at), col(ActionItem.id))
        .limit(limit + 1)
    )
    rows: Sequence[Any] = (await session.exec(stmt)).all()
    owned = [OwnedActionItem(row[0], row[1], bool(row[2]), row[3]) for row in rows[:limit]]
    return owned, len(rows) > limit


async def set_action_item_done(
    session: AsyncSession,
    *,
    item_id: int,
    now: datetime,
    done: bool = True,
    by: str | None = None,
) -> ActionItem | None:
    """Mark an item done (``done_at = now``) or not done again; None when it does not exist or
    already is in that state (so a double click changes it once)."""
    require_aware("now", now)
    result = await session.exec(
        update(ActionItem)
        .where(col(ActionItem.id) == item_id, col(ActionItem.done) == (not done))
        .values(done=done, done_at=now if done else None, done_by=by if done else None)
        .returning(ActionItem)
        .execution_options(**RETURNING_OPTIONS)
    )
    return cast(ActionItem | None, result.scalars().one_or_none())
