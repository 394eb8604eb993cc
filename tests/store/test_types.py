"""Datetimes are aware UTC on every backend; naive ones are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

import store
from tests.store.conftest import NOW, MakeIncident


async def test_aware_datetimes_round_trip_as_utc(
    sessions: async_sessionmaker[AsyncSession], make_incident: MakeIncident
) -> None:
    plus_two = timezone(timedelta(hours=2))
    local = datetime(2025, 6, 1, 14, 30, 15, 250000, tzinfo=plus_two)
    incident = await make_incident(declared_at=local, started_at=NOW)
    assert incident.number is not None
    async with sessions() as s:
        loaded = await store.get_incident(s, number=incident.number)
    assert loaded is not None
    assert loaded.declared_at == local
    assert loaded.declared_at.tzinfo is UTC
    assert loaded.declared_at.hour == 12
    assert loaded.started_at == NOW
    assert loaded.started_at is not None
    assert loaded.started_at.tzinfo is UTC
    assert loaded.updated_at == local


async def test_naive_datetimes_are_refused_by_the_repository(session: AsyncSession) -> None:
    with pytest.raises(store.NaiveDatetimeError):
        await store.create_incident(
            session, title="t", severity="s", declared_by="U", declared_at=datetime(2025, 1, 1)
        )
    with pytest.raises(store.NaiveDatetimeError):
        await store.create_incident(
            session,
            title="t",
            severity="s",
            declared_by="U",
            declared_at=NOW,
            started_at=datetime(2025, 1, 1),
        )


async def test_naive_datetimes_are_refused_by_the_column_type(session: AsyncSession) -> None:
    session.add(
        store.Incident(
            title="t",
            severity="s",
            declared_by="U",
            declared_at=datetime(2025, 1, 1),  # naive
            updated_at=NOW,
        )
    )
    with pytest.raises(StatementError) as info:
        await session.flush()
    assert isinstance(info.value.orig, store.NaiveDatetimeError)
    await session.rollback()


async def test_comparisons_use_utc(session: AsyncSession, make_incident: MakeIncident) -> None:
    """A lease compared with an aware "now" in another zone compares the same instant."""
    incident = await make_incident()
    assert incident.number is not None
    key = f"utc:{incident.number}"
    await store.enqueue_job(
        session, key=key, kind="x", incident_number=incident.number, due_at=NOW, now=NOW
    )
    minus_five = timezone(timedelta(hours=-5))
    claimed = await store.claim_job(
        session, key=key, now=NOW.astimezone(minus_five), lease=timedelta(minutes=1)
    )
    assert claimed is not None
    assert claimed.due_at == NOW + timedelta(minutes=1)
    await session.commit()
    later = (NOW + timedelta(seconds=59)).astimezone(minus_five)
    assert key not in {j.key for j in await store.due_jobs(session, now=later, limit=10_000)}
    much_later = (NOW + timedelta(seconds=61)).astimezone(minus_five)
    assert key in {j.key for j in await store.due_jobs(session, now=much_later, limit=10_000)}
