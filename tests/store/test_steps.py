"""Provisioning steps: ensure, claim (exactly once, leases), complete, fail, reconcile."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

import store
from tests.store.conftest import NOW, MakeIncident

STEPS = ["create_channel", "set_topic", "invite", "post_panel", "announce"]
LEASE = timedelta(minutes=2)


async def test_ensure_steps_inserts_missing_steps_only(
    session: AsyncSession, make_incident: MakeIncident
) -> None:
    incident = await make_incident()
    n = incident.number
    assert n is not None
    steps = await store.ensure_steps(session, incident_number=n, steps=STEPS[:2], now=NOW)
    assert sorted(steps) == sorted(STEPS[:2])
    assert {(s.state, s.attempts, s.updated_at) for s in steps.values()} == {("pending", 0, NOW)}
    claimed = await store.claim_step(
        session, incident_number=n, step="create_channel", now=NOW, lease=LEASE
    )
    assert claimed is not None
    await session.commit()
    steps = await store.ensure_steps(session, incident_number=n, steps=STEPS, now=NOW)
    assert sorted(steps) == sorted(STEPS)
    assert steps["create_channel"].state == "running"
    assert steps["announce"].state == "pending"


async def test_step_lifecycle(session: AsyncSession, make_incident: MakeIncident) -> None:
    incident = await make_incident()
    n = incident.number
    assert n is not None
    await store.ensure_steps(session, incident_number=n, steps=["create_channel"], now=NOW)

    claimed = await store.claim_step(
        session, incident_number=n, step="create_channel", now=NOW, lease=LEASE
    )
    assert claimed is not None
    assert (claimed.state, claimed.attempts, claimed.lease_until) == ("running", 1, NOW + LEASE)
    again = await store.claim_step(
        session, incident_number=n, step="create_channel", now=NOW, lease=LEASE
    )
    assert again is None

    partial = json.dumps({"channel_id": "C1"})
    recorded = await store.record_step_result(
        session, incident_number=n, step="create_channel", now=NOW, result=partial
    )
    assert recorded is not None
    assert recorded.state == "running"
    assert recorded.result == partial

    retry_at = NOW + timedelta(seconds=30)
    failed = await store.fail_step(
        session,
        incident_number=n,
        step="create_channel",
        now=NOW,
        error="ratelimited",
        retry_at=retry_at,
    )
    assert failed is not None
    assert (failed.state, failed.last_error, failed.lease_until) == ("failed", "ratelimited", None)
    assert failed.next_attempt_at == retry_at
    too_early = NOW + timedelta(seconds=29)
    assert (
        await store.claim_step(
            session, incident_number=n, step="create_channel", now=too_early, lease=LEASE
        )
        is None
    )
    retried = await store.claim_step(
        session, incident_number=n, step="create_channel", now=retry_at, lease=LEASE
    )
    assert retried is not None
    assert retried.attempts == 2
    assert retried.result == partial

    done = await store.complete_step(
        session, incident_number=n, step="create_channel", now=retry_at, result=None
    )
    assert done is not None
    assert (done.state, done.lease_until, done.last_error, done.result) == (
        "done",
        None,
        None,
        partial,
    )
    assert (
        await store.claim_step(
            session,
            incident_number=n,
            step="create_channel",
            now=NOW + timedelta(days=1),
            lease=LEASE,
        )
        is None
    )
    await session.commit()
    assert (await store.get_steps(session, incident_number=n))["create_channel"].state == "done"
    assert (
        await store.claim_step(session, incident_number=n, step="nope", now=NOW, lease=LEASE)
        is None
    )


async def test_claim_step_exactly_once_under_concurrency(
    migrated_url: str, engine: AsyncEngine, make_incident: MakeIncident
) -> None:
    incident = await make_incident()
    n = incident.number
    assert n is not None
    other_engine = store.make_engine(migrated_url)
    factories = [store.session_factory(engine), store.session_factory(other_engine)]
    async with factories[0]() as s:
        await store.ensure_steps(s, incident_number=n, steps=["post_panel"], now=NOW)
        await s.commit()

    async def claim(i: int, now_offset: timedelta) -> bool:
        async with factories[i % 2]() as s:
            got = await store.claim_step(
                s, incident_number=n, step="post_panel", now=NOW + now_offset, lease=LEASE
            )
            await s.commit()
            return got is not None

    try:
        first_round = await asyncio.gather(*(claim(i, timedelta(0)) for i in range(12)))
        assert sum(first_round) == 1
        # Before the lease expires nobody else gets it.
        assert not await claim(0, LEASE - timedelta(seconds=1))
        # The worker "crashed": after the lease, exactly one process re-claims it.
        expired = LEASE + timedelta(seconds=1)
        second_round = await asyncio.gather(*(claim(i, expired) for i in range(12)))
        assert sum(second_round) == 1
    finally:
        await other_engine.dispose()
    async with factories[0]() as s:
        step = (await store.get_steps(s, incident_number=n))["post_panel"]
    assert (step.state, step.attempts) == ("running", 2)
    assert step.lease_until == NOW + expired + LEASE


async def test_due_steps_lists_work_for_the_reconciler(
    sessions: async_sessionmaker[AsyncSession], make_incident: MakeIncident
) -> None:
    a = await make_incident()
    b = await make_incident()
    assert a.number is not None
    assert b.number is not None
    async with sessions() as s:
        await store.ensure_steps(s, incident_number=a.number, steps=STEPS, now=NOW)
        await store.ensure_steps(s, incident_number=b.number, steps=["announce"], now=NOW)
        await store.complete_step(
            s, incident_number=a.number, step="create_channel", now=NOW, result='{"c": "C1"}'
        )
        await store.claim_step(s, incident_number=a.number, step="set_topic", now=NOW, lease=LEASE)
        await store.fail_step(
            s,
            incident_number=a.number,
            step="invite",
            now=NOW,
            error="boom",
            retry_at=NOW + timedelta(minutes=1),
        )
        await s.commit()

        due_now = {(x.incident_number, x.step) for x in await store.due_steps(s, now=NOW)}
        assert due_now == {
            (a.number, "post_panel"),
            (a.number, "announce"),
            (b.number, "announce"),
        }
        later = NOW + LEASE + timedelta(seconds=1)
        due_later = {(x.incident_number, x.step) for x in await store.due_steps(s, now=later)}
        assert due_later == due_now | {(a.number, "set_topic"), (a.number, "invite")}
        assert len(await store.due_steps(s, now=later, limit=2)) == 2


async def test_heartbeat_extends_only_a_running_lease(
    session: AsyncSession, make_incident: MakeIncident
) -> None:
    incident = await make_incident()
    n = incident.number
    assert n is not None
    await store.ensure_steps(session, incident_number=n, steps=["announce"], now=NOW)
    short = timedelta(seconds=10)
    assert not await store.extend_step_lease(
        session, incident_number=n, step="announce", now=NOW, lease=short
    )
    await store.claim_step(session, incident_number=n, step="announce", now=NOW, lease=short)
    later = NOW + timedelta(seconds=8)
    assert await store.extend_step_lease(
        session, incident_number=n, step="announce", now=later, lease=short
    )
    await session.commit()
    # The old lease would have expired at NOW + 10 s; the renewed one holds until later + 10 s.
    past_old_lease = NOW + timedelta(seconds=12)
    assert (
        await store.claim_step(
            session, incident_number=n, step="announce", now=past_old_lease, lease=short
        )
        is None
    )
    retaken = await store.claim_step(
        session, incident_number=n, step="announce", now=later + short + short, lease=short
    )
    assert retaken is not None
    assert retaken.attempts == 2
