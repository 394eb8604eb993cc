"""The action item's due-date reminder: 09:00 in the owner's own time zone (from Slack), once
a day while open, one DM after a long sleep, none once done; and the clock job's repeat."""

from __future__ import annotations

from datetime import timedelta

import store
from bot.flows.alarms import action_due_key
from bot.flows.followups import ActionRequest, Followups
from bot.policy import default_policy
from tests.world import START, World


async def _item_due_today(world: World, owner: str) -> int:
    number = await world.incident()
    followups = Followups(sessions=world.sessions, policy=default_policy(), clock=world.clock)
    request = ActionRequest("Rotate the keys", owner=owner, due_on=START.date())
    item, _effects = await followups.add_action(number, by="U_ALICE", request=request)
    assert item is not None
    return item.id


def _due_dms(world: World, user: str) -> list[str]:
    return [m.text for m in world.fake.dms(user) if "is due" in m.text or "was due" in m.text]


async def _tick_at(world: World, hours: float) -> None:
    world.clock.set(START + timedelta(hours=hours))
    await world.jobs.tick()
    await world.jobs.drain()


async def test_the_owner_is_reminded_at_nine_in_their_own_zone_once_a_day(world: World) -> None:
    item_id = await _item_due_today(world, "U_BOB")  # America/New_York: 09:00 is 14:00 UTC
    await _tick_at(world, 0)  # 09:00 UTC, 04:00 in New York: not yet
    await _tick_at(world, 4.9)
    assert _due_dms(world, "U_BOB") == []

    await _tick_at(world, 5.01)  # 09:00 in New York
    await _tick_at(world, 5.5)
    assert len(_due_dms(world, "U_BOB")) == 1
    assert "is due today" in _due_dms(world, "U_BOB")[0]

    await _tick_at(world, 24 + 5.01)  # the next day: overdue, once more
    assert len(_due_dms(world, "U_BOB")) == 2
    assert "was due" in _due_dms(world, "U_BOB")[1]

    async with world.sessions() as session:
        await store.set_action_item_done(session, item_id=item_id, now=world.clock.now())
        await session.commit()
    await _tick_at(world, 48 + 5.01)
    assert len(_due_dms(world, "U_BOB")) == 2  # done: no more
    async with world.sessions() as session:
        job = await store.get_job(session, key=action_due_key(item_id))
    assert job is not None
    assert job.state == "done"


async def test_after_a_long_sleep_one_reminder_not_one_per_missed_day(world: World) -> None:
    await _item_due_today(world, "U_DAVE")  # UTC
    await _tick_at(world, 24 * 5)  # the first tick in five days
    await _tick_at(world, 24 * 5 + 1)
    assert len(_due_dms(world, "U_DAVE")) == 1
