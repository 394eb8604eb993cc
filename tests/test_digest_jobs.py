"""The periodic digest, with a fixed clock, the real job runner and the fake Slack: once per
scheduled time across two replicas and a restart, a missed time posted once, the figures of
its period, private incidents only counted."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.digest import next_digest_at, schedule_digest
from bot.flows.declare import DeclareRequest, declare
from bot.jobs import JobRunner
from bot.policy import Policy, parse_policy
from tests.flows.conftest import default_policy_text
from tests.world import START, World


def _minutely() -> Policy:
    text = default_policy_text().replace('cron: "0 9 * * MON"', 'cron: "* * * * *"')
    policy = parse_policy(text, "minutely digest")
    assert policy.digest is not None
    return policy


def _digests(world: World) -> list[str]:
    return [
        m.text
        for m in world.fake.channel("incident-response").messages
        if m.text.startswith("Incident digest")
    ]


async def _tick(world: World, *runners: JobRunner, minutes: float) -> None:
    world.clock.set(START + timedelta(minutes=minutes))
    await asyncio.gather(*(runner.tick() for runner in runners))
    await asyncio.gather(*(runner.drain() for runner in runners))


async def test_once_per_minute_across_two_replicas_and_a_restart(world: World) -> None:
    policy = _minutely()
    await world.incident()  # P2, declared at START (09:00)
    secret = await declare(
        world.sessions,
        policy,
        DeclareRequest(declarer="U_BOB", title="Leaked key", severity="P1", type_id="security"),
        idempotency_key="declare:secret",
        now=START,
    )
    assert secret.number == 2
    one, two = world.runner(policy), world.runner(policy)
    for _ in (one, two):  # each replica schedules at start-up
        await schedule_digest(world.sessions, policy, now=START)

    await _tick(world, one, two, minutes=1.01)
    (first,) = _digests(world)
    assert "2 incidents" in first  # the period 09:00-09:01 holds both
    blocks = str(world.fake.channel("incident-response").messages[-1].blocks)
    assert "Disk full" in blocks
    assert "Leaked key" not in blocks  # private: counted only
    assert "1 private" in blocks
    await _tick(world, one, two, minutes=1.5)
    await _tick(world, one, two, minutes=2.01)
    assert len(_digests(world)) == 2
    assert "0 incidents" in _digests(world)[1]  # nothing new in 09:01-09:02

    restarted = world.runner(policy)  # a restart: a new process, the same database
    await schedule_digest(world.sessions, policy, now=world.clock.now())
    await _tick(world, restarted, two, minutes=2.5)
    assert len(_digests(world)) == 2

    # Down from 09:02 to 09:12: the missed times are one digest on return, then the schedule.
    await _tick(world, restarted, two, minutes=12.2)
    assert len(_digests(world)) == 3
    await _tick(world, restarted, two, minutes=12.6)
    assert len(_digests(world)) == 3
    await _tick(world, restarted, two, minutes=13.01)
    assert len(_digests(world)) == 4


def test_the_next_time_is_in_the_policys_time_zone() -> None:
    text = default_policy_text().replace("timezone: UTC", "timezone: America/New_York")
    policy = parse_policy(text, "new york digest")
    assert policy.digest is not None
    # Monday 09:00 in New York is 14:00 UTC in winter.
    assert next_digest_at(policy.digest, START).isoformat() == "2026-11-23T14:00:00+00:00"
    assert next_digest_at(policy.digest, START.replace(hour=14)).isoformat() == (
        "2026-11-30T14:00:00+00:00"
    )
