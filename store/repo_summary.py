"""One read of everything an incident summary shows besides the incident itself."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Integer, Text, literal, not_, null, union_all
from sqlalchemy import cast as cast_
from sqlalchemy import select as core_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from store.models import ActionItem, RoleAssignment, StatusUpdate
from store.types import UTCDateTime

__all__ = ["IncidentRecords", "incident_records"]


@dataclass(frozen=True)
class IncidentRecords:
    roles: dict[str, str]  # role → current holder
    last_update: StatusUpdate | None
    open_items: list[str]  # texts of the action items not done


async def incident_records(session: AsyncSession, *, incident_number: int) -> IncidentRecords:
    """Current roles, the latest status update and the open action items in ONE query (a
    ``UNION ALL`` of three narrow selects), so a summary costs one round trip after the
    incident itself."""
    text_ = Text()
    none_text = cast_(null(), text_)
    none_time = cast_(null(), UTCDateTime())
    roles = core_select(
        literal("role").label("src"),
        cast_(col(RoleAssignment.role), text_).label("a"),
        cast_(col(RoleAssignment.user_id), text_).label("b"),
        none_text.label("c"),
        none_text.label("d"),
        cast_(null(), Integer()).label("seq"),
        none_time.label("t1"),
        none_time.label("t2"),
    ).where(
        col(RoleAssignment.incident_number) == incident_number,
        col(RoleAssignment.ended_at).is_(None),
    )
    latest = (
        select(StatusUpdate)
        .where(col(StatusUpdate.incident_number) == incident_number)
        .order_by(col(StatusUpdate.seq).desc())
        .limit(1)
        .subquery()
    )
    update_row = core_select(
        literal("update"),
        cast_(latest.c.status, text_),
        cast_(latest.c.impact, text_),
        cast_(latest.c.actions, text_),
        cast_(latest.c.author, text_),
        latest.c.seq,
        latest.c.posted_at,
        latest.c.next_update_at,
    )
    items = core_select(
        literal("item"),
        cast_(col(ActionItem.text), text_),
        none_text,
        none_text,
        none_text,
        cast_(col(ActionItem.id), Integer()),
        none_time,
        none_time,
    ).where(col(ActionItem.incident_number) == incident_number, not_(col(ActionItem.done)))
    connection = await session.connection()  # a core UNION: rows, not models
    rows = (await connection.execute(union_all(roles, update_row, items))).all()
    found: dict[str, str] = {}
    last: StatusUpdate | None = None
    open_items: list[tuple[int, str]] = []
    for src, a, b, c, d, seq, t1, t2 in rows:
        if src == "role":
            found[a] = b
        elif src == "update":
            last = StatusUpdate(
                incident_number=incident_number,
                seq=seq,
                status=a,
                impact=b or "",
                actions=c or "",
                author=d,
                posted_at=t1,
                next_update_at=t2,
            )
        else:
            open_items.append((seq, a))
    return IncidentRecords(
        roles=found, last_update=last, open_items=[text for _, text in sorted(open_items)]
    )
