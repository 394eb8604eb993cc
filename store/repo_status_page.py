"""An incident's publications to the public status page (see `StatusPagePost`), and the status
page incident they created. Stored with the change that asks for them; published in `seq`
order by one job each."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from store.models import Incident, StatusPagePost
from store.repo_common import (
    RETURNING_OPTIONS,
    insert_numbered,
    require_aware,
)

__all__ = [
    "add_status_page_post",
    "get_status_page_post",
    "last_status_page_post",
    "set_status_page_incident",
    "set_status_page_post_published",
]


async def add_status_page_post(
    session: AsyncSession,
    *,
    incident_number: int,
    status: str,
    body: str,
    components: dict[str, str],
    author: str,
    now: datetime,
) -> StatusPagePost:
    """The incident's next publication (numbered as status updates are)."""
    require_aware("now", now)
    values: dict[str, Any] = {
        "incident_number": incident_number,
        "status": status,
        "body": body,
        "components": components,
        "author": author,
        "created_at": now,
    }
    return await insert_numbered(session, StatusPagePost, values, what="status page post")


async def get_status_page_post(
    session: AsyncSession, *, incident_number: int, seq: int
) -> StatusPagePost | None:
    return await session.get(StatusPagePost, (incident_number, seq))


async def last_status_page_post(
    session: AsyncSession, *, incident_number: int
) -> StatusPagePost | None:
    """The newest publication asked for (published or not): the next one's starting point."""
    stmt = (
        select(StatusPagePost)
        .where(col(StatusPagePost.incident_number) == incident_number)
        .order_by(col(StatusPagePost.seq).desc())
        .limit(1)
    )
    return (await session.exec(stmt)).first()


async def set_status_page_post_published(
    session: AsyncSession, *, incident_number: int, seq: int, now: datetime
) -> bool:
    """Mark it out; False when it already was."""
    require_aware("now", now)
    result = await session.exec(
        update(StatusPagePost)
        .where(
            col(StatusPagePost.incident_number) == incident_number,
            col(StatusPagePost.seq) == seq,
            col(StatusPagePost.published_at).is_(None),
        )
        .values(published_at=now)
        .returning(col(StatusPagePost.seq))
        .execution_options(**RETURNING_OPTIONS)
    )
    return result.first() is not None


async def set_status_page_incident(
    session: AsyncSession, *, number: int, incident_id: str, link: str | None
) -> None:
    """Remember the status page incident the first publication created. Not a change of the
    incident's state (no version bump): nothing decided on the incident depends on it."""
    await session.exec(
        update(Incident)
        .where(col(Incident.number) == number)
        .values(statuspage_incident_id=incident_id, statuspage_link=link)
    )
