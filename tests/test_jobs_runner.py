"""The job runner with the real job kinds, against the fake Slack: outbox delivery, crashes,
recognition after a lost answer (channel posts and DMs), the one retry rule, bad rows."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

import store
from bot.jobs import MAX_ATTEMPTS
from tests.world import START, World


async def test_what_a_crash_left_behind_is_run_by_a_tick_once(world: World) -> None:
    number = await world.incident()
    await world.ops.acknowledge(number, user="U_BOB")  # stored, never run: the request died
    assert await world.jobs.tick() == 0  # within the request's grace: not due for ticks
    world.later(30)
    assert await world.jobs.tick() == 2  # the acknowledgement and the refresh
    assert len(world.acks_posted()) == 1
    assert {job.state for job in await world.jobs_of(number)} == {"done"}
    assert await world.jobs.tick() == 0


async def test_a_retry_recognises_a_post_whose_answer_was_lost(world: World) -> None:
    number = await world.incident()
    effects = await world.ops.acknowledge(number, user="U_BOB")
    # Slack posts the acknowledgement, then answers 500: no blind retry, no second post.
    world.fake.fail_after("chat.postMessage", status=500)
    await world.jobs.run_now([str(e.job) for e in effects])
    assert len(world.acks_posted()) == 1
    (ack_job,) = [j for j in await world.jobs_of(number) if j.key == effects[0].job]
    assert (ack_job.state, ack_job.attempts) == ("pending", 1)
    world.later(5)
    await world.jobs.tick()
    assert len(world.acks_posted()) == 1  # found by its metadata, not posted again
    assert {j.state for j in await world.jobs_of(number)} == {"done"}


async def test_a_dropped_connection_after_a_dm_does_not_dm_twice(world: World) -> None:
    number = await world.incident()
    effects = await world.ops.assign_roles(number, assignments={"scribe": "U_CAROL"}, by="U_ALICE")
    world.fake.fail_after(
        "chat.postMessage", drop=True, where=lambda args: args.get("channel") == "U_CAROL"
    )
    await world.jobs.run_now([str(e.job) for e in effects])
    assert len(world.fake.dms("U_CAROL")) == 1
    world.later(10)
    await world.jobs.tick()
    assert len(world.fake.dms("U_CAROL")) == 1
    assert {j.state for j in await world.jobs_of(number)} == {"done"}


async def test_a_429_is_retried_after_retry_after_and_sends_each_message_once(
    world: World,
) -> None:
    number = await world.incident()
    effects = await world.ops.assign_roles(number, assignments={"scribe": "U_DAVE"}, by="U_ALICE")
    world.fake.fail_next("chat.postMessage", status=429, retry_after=20)
    await world.jobs.run_now([str(e.job) for e in effects])
    assert world.fake.dms("U_DAVE") == []
    (job,) = [j for j in await world.jobs_of(number) if j.key == effects[0].job]
    assert job.due_at == START + timedelta(seconds=20)  # Slack's Retry-After
    world.later(20)
    await world.jobs.tick()
    assert len(world.fake.dms("U_DAVE")) == 1
    assignment_posts = [m for m in world.fake.channel(world.channel).messages if "Scribe" in m.text]
    assert len(assignment_posts) == 1


async def test_a_crashing_effect_is_given_up_recorded_and_told_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    number = await world.incident()
    effects = await world.ops.acknowledge(number, user="U_BOB")
    from bot import effects as effect_handlers

    async def boom(_delivery: object, _effect: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setitem(effect_handlers.HANDLERS, type(effects[0]), boom)
    await world.jobs.run_now([str(effects[0].job)])
    (failed,) = [j for j in await world.jobs_of(number) if j.key == effects[0].job]
    assert (failed.state, failed.due_at) == ("failed", None)
    async with world.sessions() as session:
        events = await store.list_timeline(session, incident_number=number)
    assert [e.text for e in events if e.kind == "slack_failure"] == [
        "Posting the acknowledgement failed: warroom hit an internal error (it has been logged)"
    ]
    await world.jobs.run_now([f"notice:{effects[0].job}"])
    await world.jobs.tick()
    notices = [m for m in world.fake.channel(world.channel).messages if "did not work" in m.text]
    assert len(notices) == 1
    world.later(3600)
    await world.jobs.tick()
    assert (
        len([m for m in world.fake.channel(world.channel).messages if "did not work" in m.text])
        == 1
    )


async def test_a_permanent_slack_refusal_is_not_retried(world: World) -> None:
    number = await world.incident()
    effects = await world.ops.acknowledge(number, user="U_BOB")
    world.fake.fail_next("chat.postMessage", error="missing_scope")
    await world.jobs.run_now([str(effects[0].job)])
    (job,) = [j for j in await world.jobs_of(number) if j.key == effects[0].job]
    assert job.state == "failed"
    assert "missing_scope" in (job.last_error or "")
    assert job.attempts == 1


async def test_transient_failures_give_up_by_the_one_rule(world: World) -> None:
    number = await world.incident()
    effects = await world.ops.acknowledge(number, user="U_BOB")
    key = str(effects[0].job)
    world.fake.fail_next("chat.postMessage", MAX_ATTEMPTS + 5, status=503, error=None)
    for _ in range(MAX_ATTEMPTS):
        await world.jobs.run_now([key]) if _ == 0 else await world.jobs.tick()
        world.later(600)
    (job,) = [j for j in await world.jobs_of(number) if j.key == key]
    assert (job.state, job.attempts) == ("failed", MAX_ATTEMPTS)
    assert world.acks_posted() == []


async def test_an_undecodable_job_is_failed_and_the_next_one_runs(world: World) -> None:
    number = await world.incident()
    async with world.sessions() as session:
        await store.enqueue_job(
            session, key="effect:broken", kind="effect", incident_number=number,
            due_at=START, now=START, payload='{"kind": "no_such_effect"}',
        )  # fmt: skip
        await store.enqueue_job(
            session, key="mystery:1", kind="no_such_kind", due_at=START, now=START
        )
        await session.commit()
    await world.ops.acknowledge(number, user="U_BOB")
    world.later(30)
    assert await world.jobs.tick() == 4
    async with world.sessions() as session:
        broken = await store.get_job(session, key="effect:broken")
        mystery = await store.get_job(session, key="mystery:1")
    assert broken is not None
    assert broken.state == "failed"
    assert mystery is not None
    assert mystery.state == "failed"
    assert len(world.acks_posted()) == 1  # the job behind them was delivered
    async with world.sessions() as session:
        left = await store.due_jobs(session, now=world.clock.now())
    assert [job.kind for job in left] == ["notice"]  # the broken effect's, told once


async def test_a_job_whose_lease_ran_out_is_taken_over(world: World) -> None:
    number = await world.incident()
    effects = await world.ops.acknowledge(number, user="U_BOB")
    key = str(effects[0].job)
    async with world.sessions() as session:  # a worker claimed it and was killed
        assert await store.claim_job(
            session, key=key, now=START, lease=timedelta(seconds=15), early=True
        )
        await session.commit()
    world.later(10)
    await world.jobs.tick()
    assert world.acks_posted() == []  # still leased
    world.later(6)
    await world.jobs.tick()
    assert len(world.acks_posted()) == 1
    (job,) = [j for j in await world.jobs_of(number) if j.key == key]
    assert (job.state, job.attempts, json.loads(job.progress or "{}") != {}) == ("done", 2, True)


async def test_a_private_channels_members_are_refreshed_and_the_refresh_repeats(
    world: World,
) -> None:
    number = await world.incident()
    await world.gateway.invite(channel=world.channel, users=["U_DAVE"])  # joined outside warroom
    async with world.sessions() as session:
        await store.update_incident(
            session, number=number, expected_version=None, now=START, private=True
        )
        await store.enqueue_job(
            session, key=f"members:{number}", kind="members", incident_number=number,
            due_at=START, now=START,
        )  # fmt: skip
        await session.commit()
    await world.jobs.tick()
    async with world.sessions() as session:
        members = await store.channel_members(session, channel_id=world.channel)
        job = await store.get_job(session, key=f"members:{number}")
    assert members == sorted(["U_ALICE", "U_BOB", "U_DAVE", world.fake.bot_user_id])
    assert job is not None
    assert (job.state, job.due_at) == ("pending", START + timedelta(minutes=15))
