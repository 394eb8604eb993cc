"""Jobs: enqueue once, claim exactly once (leases, early claims), fencing, due-only reads."""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

import store
from tests.store.conftest import NOW, MakeIncident

LEASE = timedelta(seconds=15)
_ids = itertools.count()


def unique(kind: str) -> str:
    # The store suite shares one database per backend: keys are unique per test.
    return f"{kind}:test:{next(_ids)}:{id(object())}"


async def test_enqueue_is_once_per_key(session: AsyncSession, make_incident: MakeIncident) -> None:
    incident = await make_incident()
    key = unique("effect")
    args = {"key": key, "kind": "effect", "incident_number": incident.number, "now": NOW}
    assert await store.enqueue_job(session, due_at=NOW, payload="{}", **args)
    assert not await store.enqueue_job(session, due_at=NOW + LEASE, payload="other", **args)
    job = await store.get_job(session, key=key)
    assert job is not None
    assert (job.state, job.due_at, job.payload, job.attempts) == ("pending", NOW, "{}", 0)
    assert [
        j.key for j in await store.list_jobs(session, incident_number=incident.number or 0)
    ] == [key]


async def test_lifecycle_claim_progress_retry_finish(session: AsyncSession) -> None:
    key = unique("provision")
    await store.enqueue_job(session, key=key, kind="provision", due_at=NOW + LEASE, now=NOW)
    # Not due yet: a tick cannot claim it, the request that enqueued it can (early).
    assert await store.claim_job(session, key=key, now=NOW, lease=LEASE) is None
    claimed = await store.claim_job(session, key=key, now=NOW, lease=LEASE, early=True)
    assert claimed is not None
    assert claimed.id is not None
    assert (claimed.state, claimed.attempts, claimed.due_at) == ("running", 1, NOW + LEASE)
    job_id = claimed.id
    assert await store.record_job_progress(
        session, job_id=job_id, attempts=1, now=NOW, progress='{"done": {"a": true}}'
    )
    # Running: neither a tick nor another early claim gets it before the lease runs out.
    assert await store.claim_job(session, key=key, now=NOW, lease=LEASE, early=True) is None
    retry_at = NOW + timedelta(seconds=30)
    assert await store.retry_job(
        session, job_id=job_id, attempts=1, now=NOW, retry_at=retry_at, error="ratelimited"
    )
    job = await store.get_job(session, key=key)
    assert job is not None
    assert (job.state, job.due_at, job.last_error) == ("pending", retry_at, "ratelimited")
    assert job.progress == '{"done": {"a": true}}'  # kept for the retry
    again = await store.claim_job(session, key=key, now=retry_at, lease=LEASE)
    assert again is not None
    assert again.attempts == 2
    # The first attempt's worker is fenced out: its late answer changes nothing.
    assert not await store.finish_job(session, job_id=job_id, attempts=1, now=retry_at)
    assert await store.finish_job(session, job_id=job_id, attempts=2, now=retry_at)
    job = await store.get_job(session, key=key)
    assert job is not None
    assert (job.state, job.due_at) == ("done", None)
    assert await store.claim_job(session, key=key, now=NOW + timedelta(days=9), lease=LEASE) is None


async def test_fail_repeat_cancel_and_reschedule(session: AsyncSession) -> None:
    failing, periodic, archive = unique("effect"), unique("members"), unique("archive")
    for key in (failing, periodic, archive):
        await store.enqueue_job(session, key=key, kind="x", due_at=NOW, now=NOW)
    claimed = await store.claim_job(session, key=failing, now=NOW, lease=LEASE)
    assert claimed is not None
    assert claimed.id is not None
    assert await store.fail_job(
        session, job_id=claimed.id, attempts=1, now=NOW, error="missing_scope"
    )
    failed = await store.get_job(session, key=failing)
    assert failed is not None
    assert (failed.state, failed.due_at) == ("failed", None)

    claimed = await store.claim_job(session, key=periodic, now=NOW, lease=LEASE)
    assert claimed is not None
    assert claimed.id is not None
    later = NOW + timedelta(minutes=15)
    assert await store.repeat_job(session, job_id=claimed.id, attempts=1, now=NOW, due_at=later)
    repeated = await store.get_job(session, key=periodic)
    assert repeated is not None
    assert (repeated.state, repeated.due_at, repeated.attempts) == ("pending", later, 0)

    assert await store.cancel_job(session, key=archive, now=NOW)
    cancelled = await store.get_job(session, key=archive)
    assert cancelled is not None
    assert (cancelled.state, cancelled.due_at) == ("cancelled", None)
    moved = NOW + timedelta(days=7)
    await store.reschedule_job(session, key=archive, kind="archive", due_at=moved, now=NOW)
    rescheduled = await store.get_job(session, key=archive)
    assert rescheduled is not None
    assert (rescheduled.state, rescheduled.due_at) == ("pending", moved)


async def test_undecodable_job_fails_without_a_claim(session: AsyncSession) -> None:
    key = unique("effect")
    await store.enqueue_job(session, key=key, kind="effect", due_at=NOW, now=NOW, payload="{")
    job = await store.get_job(session, key=key)
    assert job is not None
    assert job.id is not None
    assert await store.fail_job(session, job_id=job.id, attempts=None, now=NOW, error="bad json")
    failed = await store.get_job(session, key=key)
    assert failed is not None
    assert failed.state == "failed"


async def test_claim_is_exactly_once_across_engines(migrated_url: str, engine: AsyncEngine) -> None:
    key = unique("effect")
    other_engine = store.make_engine(migrated_url)
    factories = [store.session_factory(engine), store.session_factory(other_engine)]
    async with factories[0]() as s:
        await store.enqueue_job(s, key=key, kind="effect", due_at=NOW, now=NOW)
        await s.commit()

    async def claim(i: int, at: timedelta) -> bool:
        async with factories[i % 2]() as s:
            got = await store.claim_job(s, key=key, now=NOW + at, lease=LEASE, early=i % 3 == 0)
            await s.commit()
            return got is not None

    try:
        assert sum(await asyncio.gather(*(claim(i, timedelta(0)) for i in range(12)))) == 1
        assert not await claim(1, LEASE - timedelta(seconds=1))
        # The worker "crashed": once its lease runs out exactly one process takes it over.
        expired = LEASE + timedelta(seconds=1)
        assert sum(await asyncio.gather(*(claim(i, expired) for i in range(12)))) == 1
    finally:
        await other_engine.dispose()


async def test_due_jobs_reads_only_due_rows_through_the_index(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    later = NOW + timedelta(days=365 * 50)  # beyond any other test's rows
    due_key, future_key, done_key = unique("a"), unique("b"), unique("c")
    async with sessions() as s:
        await store.enqueue_job(s, key=due_key, kind="x", due_at=later, now=NOW)
        await store.enqueue_job(s, key=future_key, kind="x", due_at=later + LEASE, now=NOW)
        await store.enqueue_job(s, key=done_key, kind="x", due_at=later, now=NOW)
        done = await store.claim_job(s, key=done_key, now=later, lease=LEASE)
        assert done is not None
        assert done.id is not None
        await store.finish_job(s, job_id=done.id, attempts=1, now=later)
        await s.commit()
    async with sessions() as s:
        due = await store.due_jobs(s, now=later, limit=10_000)
        keys = {job.key for job in due}
        assert due_key in keys
        assert future_key not in keys
        assert done_key not in keys
        assert all(job.due_at is not None and job.due_at <= later for job in due)
        plan = await _plan(s, "SELECT id FROM jobs WHERE due_at <= :now ORDER BY due_at LIMIT 100")
    assert "ix_jobs_due_at" in plan, plan


async def _plan(session: AsyncSession, sql: str) -> str:
    connection = await session.connection()
    if connection.dialect.name == "sqlite":
        rows = await connection.execute(text(f"EXPLAIN QUERY PLAN {sql}"), {"now": NOW})
        return " ".join(str(row[-1]) for row in rows)
    # A tiny test table is cheaper to scan; what matters is that the index serves the query.
    await connection.execute(text("SET LOCAL enable_seqscan = off"))
    rows = await connection.execute(text(f"EXPLAIN {sql}"), {"now": NOW})
    return " ".join(str(row[0]) for row in rows)
