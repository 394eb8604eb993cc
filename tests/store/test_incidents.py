"""Incidents: numbering, lookups, compare-and-set updates; idempotency keys."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

import store
from tests.store.conftest import NOW, MakeIncident

# --- create / get / list ----------------------------------------------------------------------


async def test_create_incident_sets_defaults(session: AsyncSession) -> None:
    incident = await store.create_incident(
        session,
        title="Checkout 500s",
        severity="sev2",
        declared_by="U1",
        declared_at=NOW,
        description="Customers cannot pay",
        affected_services=["checkout", "payments"],
    )
    await session.commit()
    assert incident.number is not None
    assert incident.number > 0
    assert incident.status == "triage"
    assert incident.version == 1
    assert incident.escalation_level == 0
    assert incident.update_count == 0
    assert incident.updated_at == NOW
    assert incident.private is False
    assert incident.drill is False
    loaded = await store.get_incident(session, number=incident.number)
    assert loaded is not None
    assert loaded.affected_services == ["checkout", "payments"]
    assert loaded.description == "Customers cannot pay"


async def test_create_incident_refuses_bad_fields(session: AsyncSession) -> None:
    common: dict[str, Any] = {"title": "t", "severity": "s", "declared_by": "U", "declared_at": NOW}
    with pytest.raises(TypeError, match="no field"):
        await store.create_incident(session, **common, colour="red")
    with pytest.raises(TypeError, match="set by the store"):
        await store.create_incident(session, **common, number=7)
    with pytest.raises(ValueError, match="status"):
        await store.create_incident(session, **common, status="on fire")


async def test_numbers_increase_and_are_never_reused(
    sessions: async_sessionmaker[AsyncSession], make_incident: MakeIncident
) -> None:
    first = await make_incident()
    second = await make_incident()
    assert first.number is not None
    assert second.number is not None
    assert second.number > first.number
    async with sessions() as s:
        doomed = await store.get_incident(s, number=second.number)
        await s.delete(doomed)
        await s.commit()
    third = await make_incident()
    assert third.number is not None
    assert third.number > second.number


async def test_numbers_unique_and_increasing_across_concurrent_creators(
    migrated_url: str, engine: AsyncEngine
) -> None:
    other_engine = store.make_engine(migrated_url)
    factories = [store.session_factory(engine), store.session_factory(other_engine)]

    async def create(i: int) -> int:
        async with factories[i % 2]() as s:
            incident = await store.create_incident(
                s, title=f"#{i}", severity="sev3", declared_by="U", declared_at=NOW
            )
            await s.commit()
            assert incident.number is not None
            return incident.number

    try:
        numbers = await asyncio.gather(*(create(i) for i in range(20)))
    finally:
        await other_engine.dispose()
    assert len(set(numbers)) == 20
    async with factories[0]() as s:
        listed = [i.number for i in await store.list_incidents(s)]
    assert listed == sorted(numbers)
    # Increasing in creation order within one creator.
    later = await create_one(factories[0])
    assert later > max(numbers)


async def create_one(factory: async_sessionmaker[AsyncSession]) -> int:
    async with factory() as s:
        incident = await store.create_incident(
            s, title="later", severity="sev3", declared_by="U", declared_at=NOW
        )
        await s.commit()
    assert incident.number is not None
    return incident.number


async def test_get_incident_by_channel_and_channel_uniqueness(
    session: AsyncSession, make_incident: MakeIncident
) -> None:
    incident = await make_incident(channel_id="C123", channel_name="inc-1-checkout")
    await make_incident()  # no channel yet: NULLs do not collide
    await make_incident()
    found = await store.get_incident_by_channel(session, channel_id="C123")
    assert found is not None
    assert found.number == incident.number
    assert await store.get_incident_by_channel(session, channel_id="C999") is None
    with pytest.raises(IntegrityError):
        await store.create_incident(
            session, title="dup", severity="s", declared_by="U", declared_at=NOW, channel_id="C123"
        )
    await session.rollback()


async def test_list_incidents_filters(session: AsyncSession, make_incident: MakeIncident) -> None:
    a = await make_incident(status="investigating")
    b = await make_incident(status="resolved")
    c = await make_incident(status="investigating", drill=True)
    every = await store.list_incidents(session)
    assert [i.number for i in every] == [a.number, b.number, c.number]
    active = await store.list_incidents(session, statuses={"investigating", "triage"})
    assert [i.number for i in active] == [a.number, c.number]
    real = await store.list_incidents(session, statuses=["investigating"], include_drills=False)
    assert [i.number for i in real] == [a.number]
    assert await store.list_incidents(session, statuses=[]) == []


# --- compare-and-set ---------------------------------------------------------------------------


async def test_update_incident_bumps_version_and_refuses_stale_versions(
    sessions: async_sessionmaker[AsyncSession], make_incident: MakeIncident
) -> None:
    incident = await make_incident()
    assert incident.number is not None
    later = NOW + timedelta(minutes=5)
    async with sessions() as s:
        updated = await store.update_incident(
            s,
            number=incident.number,
            expected_version=1,
            now=later,
            status="investigating",
            acknowledged_at=later,
            acknowledged_by="U2",
        )
        await s.commit()
    assert updated is not None
    assert (updated.version, updated.status, updated.updated_at) == (2, "investigating", later)
    assert updated.acknowledged_by == "U2"

    async with sessions() as s:
        stale = await store.update_incident(
            s, number=incident.number, expected_version=1, now=later, status="identified"
        )
        assert stale is None
        unconditional = await store.update_incident(
            s, number=incident.number, expected_version=None, now=later, escalation_level=1
        )
        assert unconditional is not None
        assert unconditional.version == 3
        await s.commit()
        fresh = await store.get_incident(s, number=incident.number)
    assert fresh is not None
    assert (fresh.status, fresh.escalation_level, fresh.version) == ("investigating", 1, 3)


async def test_update_incident_refreshes_the_copy_in_the_session(
    session: AsyncSession, make_incident: MakeIncident
) -> None:
    incident = await make_incident()
    assert incident.number is not None
    held = await store.get_incident(session, number=incident.number)
    assert held is not None
    updated = await store.update_incident(
        session, number=incident.number, expected_version=1, now=NOW, title="New title"
    )
    assert updated is held
    assert held.title == "New title"
    assert held.version == 2


async def test_update_incident_refuses_bad_changes(session: AsyncSession) -> None:
    with pytest.raises(TypeError):
        await store.update_incident(session, number=1, expected_version=1, now=NOW, version=9)
    with pytest.raises(TypeError):
        await store.update_incident(session, number=1, expected_version=1, now=NOW, nope=1)
    with pytest.raises(ValueError, match="status"):
        await store.update_incident(session, number=1, expected_version=1, now=NOW, status="x")
    assert (
        await store.update_incident(session, number=424242, expected_version=None, now=NOW) is None
    )


async def test_a_tick_claims_a_due_reminder_exactly_once(
    sessions: async_sessionmaker[AsyncSession], make_incident: MakeIncident
) -> None:
    """The pattern of a scheduler tick on several replicas: read, decide, compare-and-set."""
    due = NOW + timedelta(minutes=30)
    incident = await make_incident(next_update_due_at=due)
    assert incident.number is not None
    number = incident.number

    async def tick() -> bool:
        async with sessions() as s:
            seen = await store.get_incident(s, number=number)
            assert seen is not None
            if seen.reminder_sent_for == seen.next_update_due_at:
                return False  # already reminded
            claimed = await store.update_incident(
                s, number=number, expected_version=seen.version, now=due, reminder_sent_for=due
            )
            await s.commit()
            return claimed is not None

    wins = await asyncio.gather(*(tick() for _ in range(10)))
    assert sum(wins) == 1
    async with sessions() as s:
        final = await store.get_incident(s, number=number)
    assert final is not None
    assert (final.version, final.reminder_sent_for) == (2, due)


async def test_compare_and_set_from_the_same_version_has_one_winner(
    sessions: async_sessionmaker[AsyncSession], make_incident: MakeIncident
) -> None:
    incident = await make_incident()
    assert incident.number is not None
    number = incident.number

    async def claim() -> bool:
        async with sessions() as s:
            won = await store.update_incident(
                s, number=number, expected_version=1, now=NOW, escalation_level=1
            )
            await s.commit()
            return won is not None

    wins = await asyncio.gather(*(claim() for _ in range(10)))
    assert sum(wins) == 1


# --- idempotency keys --------------------------------------------------------------------------


async def test_idempotency_key_is_claimed_once(
    session: AsyncSession, make_incident: MakeIncident
) -> None:
    incident = await make_incident()
    key = "view_submission:V1:abc"
    assert await store.claim_idempotency_key(session, key=key, now=NOW) is True
    assert await store.claim_idempotency_key(session, key=key, now=NOW) is False
    await session.commit()
    assert await store.claim_idempotency_key(session, key=key, now=NOW) is False
    stored = await store.set_idempotency_result(
        session, key=key, result='{"ok": true}', incident_number=incident.number
    )
    assert stored is not None
    await session.commit()
    found = await store.get_idempotency_key(session, key=key)
    assert found is not None
    assert (found.result, found.incident_number, found.created_at) == (
        '{"ok": true}',
        incident.number,
        NOW,
    )
    assert await store.get_idempotency_key(session, key="other") is None
    assert await store.set_idempotency_result(session, key="other", result="x") is None


async def test_a_rolled_back_claim_frees_the_key(session: AsyncSession) -> None:
    assert await store.claim_idempotency_key(session, key="k", now=NOW) is True
    await session.rollback()
    assert await store.claim_idempotency_key(session, key="k", now=NOW) is True


async def test_idempotency_key_claimed_once_under_concurrency(
    migrated_url: str, engine: AsyncEngine
) -> None:
    other_engine = store.make_engine(migrated_url)
    factories = [store.session_factory(engine), store.session_factory(other_engine)]

    async def claim(i: int) -> bool:
        async with factories[i % 2]() as s:
            won = await store.claim_idempotency_key(s, key="action:C1:1700000000.1", now=NOW)
            await s.commit()
            return won

    try:
        results = await asyncio.gather(*(claim(i) for i in range(20)))
    finally:
        await other_engine.dispose()
    assert sum(results) == 1


async def test_old_idempotency_keys_can_be_purged(session: AsyncSession) -> None:
    await store.claim_idempotency_key(session, key="old", now=NOW - timedelta(days=8))
    await store.claim_idempotency_key(session, key="new", now=NOW)
    assert await store.delete_idempotency_keys(session, before=NOW - timedelta(days=7)) == 1
    assert await store.get_idempotency_key(session, key="old") is None
    assert await store.get_idempotency_key(session, key="new") is not None
