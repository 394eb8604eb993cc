"""Threaded news for notified channels (bot/flows/audiences.py) against the fake Slack with a
fixed clock: a reply waits for the channel's first message, and never waits forever."""

from __future__ import annotations

from datetime import timedelta

import store
from bot.flows.resolution import Resolution
from bot.policy import default_policy
from tests.world import World


async def _run(world: World, seconds: float) -> None:
    world.later(seconds)  # past the request's grace: the tick runs the effect
    await world.jobs.tick()
    await world.jobs.drain()


async def _told(world: World, number: int) -> None:
    """#leadership is being told (its first message not posted yet), as a declaration or a
    severity change records it."""
    async with world.sessions() as session:
        await store.add_audiences(
            session, incident_number=number, targets=["#leadership"], now=world.clock.now()
        )
        await session.commit()


async def _resolve(world: World, number: int) -> None:
    resolution = Resolution(sessions=world.sessions, policy=default_policy(), clock=world.clock)
    await resolution.resolve(
        number, by="U_ALICE", summary="Freed disk", root_cause=None, impact_ended_at=None
    )


async def test_the_resolution_waits_for_the_first_message_then_threads_under_it(
    world: World,
) -> None:
    n = await world.incident()
    leadership = world.fake.channel_id("leadership")
    await _told(world, n)
    await _resolve(world, n)

    await _run(world, 11)
    assert world.fake.channel(leadership).messages == []  # nothing to reply under yet
    (resolved,) = [j for j in await world.jobs_of(n) if '"kind":"resolved"' in (j.payload or "")]
    assert resolved.state == "pending"  # waiting, not given up

    first = world.fake.post_as_user(leadership, "U_BOB", "INC-1 declared")
    async with world.sessions() as session:
        await store.set_audience_message(
            session,
            incident_number=n,
            target="#leadership",
            channel_id=leadership,
            message_ts=first,
            now=world.clock.now(),
        )
        await session.commit()
    await _run(world, 60)
    await _run(world, 600)
    (only,) = world.fake.channel(leadership).messages
    replies = world.fake.message(leadership, only.ts).replies
    assert len(replies) == 1
    assert "resolved" in replies[0].text


async def test_a_first_message_that_never_came_is_not_waited_for(world: World) -> None:
    n = await world.incident()
    await _told(world, n)
    world.later(timedelta(minutes=11).total_seconds())
    await _resolve(world, n)
    await _run(world, 11)
    assert {j.state for j in await world.jobs_of(n)} == {"done"}
    assert world.fake.channel("leadership").messages == []
