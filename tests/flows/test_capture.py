"""📌 reactions, pins and the shortcut as holds on one timeline entry per message."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

import store
from bot.flows.capture import PIN_HOLDER, SHORTCUT_HOLDER, CapturedSource, capture_key
from tests.flows.conftest import Flows

MESSAGE_TS = "1741089600.000100"  # 2025-03-04 12:00:00.0001 UTC
MESSAGE_AT = datetime.fromtimestamp(float(MESSAGE_TS), tz=UTC)


def source(n: int, **given: str) -> CapturedSource:
    return CapturedSource(channel=f"C_INC{n}", ts=MESSAGE_TS, **given)


async def captured(flows: Flows, n: int) -> list[store.TimelineEvent]:
    return [e for e in await flows.timeline(n) if e.kind == "message"]


async def test_the_first_hold_schedules_one_capture_and_later_holds_none(flows: Flows) -> None:
    n = await flows.declare()
    first = await flows.capture.hold(n, source=source(n), holder="U_A")
    assert first == capture_key(n, MESSAGE_TS)
    await flows.capture.record(n, source=source(n), text="DB is at 100% CPU", author="U_B")

    again = await flows.capture.hold(n, source=source(n), holder="U_C")

    assert again is None
    [entry] = await captured(flows, n)
    assert (entry.at, entry.actor, entry.text) == (MESSAGE_AT, "U_B", "DB is at 100% CPU")
    assert entry.message_ts == MESSAGE_TS


async def test_the_entry_goes_with_its_last_reaction(flows: Flows) -> None:
    n = await flows.declare()
    await flows.capture.hold(n, source=source(n), holder="U_A")
    await flows.capture.hold(n, source=source(n), holder="U_B")
    await flows.capture.record(n, source=source(n), text="Rolled back", author="U_A")

    assert await flows.capture.release(n, ts=MESSAGE_TS, holder="U_A") is False
    assert len(await captured(flows, n)) == 1
    assert await flows.capture.release(n, ts=MESSAGE_TS, holder="U_B") is True
    assert await captured(flows, n) == []


async def test_an_unpin_keeps_an_entry_a_reaction_still_holds(flows: Flows) -> None:
    n = await flows.declare()
    await flows.capture.hold(n, source=source(n, text="x"), holder=PIN_HOLDER)
    await flows.capture.hold(n, source=source(n), holder="U_A")
    await flows.capture.record(n, source=source(n), text="x", author="U_A")

    await flows.capture.release(n, ts=MESSAGE_TS, holder=PIN_HOLDER)

    assert len(await captured(flows, n)) == 1


async def test_the_shortcut_holds_for_good(flows: Flows) -> None:
    n = await flows.declare()
    await flows.capture.hold(n, source=source(n, text="x"), holder=SHORTCUT_HOLDER)
    await flows.capture.hold(n, source=source(n), holder="U_A")
    await flows.capture.record(n, source=source(n), text="x", author="U_A")

    await flows.capture.release(n, ts=MESSAGE_TS, holder="U_A")

    assert len(await captured(flows, n)) == 1


async def test_a_reaction_removed_before_the_capture_ran_leaves_nothing(flows: Flows) -> None:
    n = await flows.declare()
    await flows.capture.hold(n, source=source(n), holder="U_A")
    await flows.capture.release(n, ts=MESSAGE_TS, holder="U_A")

    recorded = await flows.capture.record(n, source=source(n), text="late", author="U_A")

    assert recorded is False
    assert await captured(flows, n) == []


async def test_released_then_held_again_captures_again(flows: Flows) -> None:
    n = await flows.declare()
    await flows.capture.hold(n, source=source(n), holder="U_A")
    await flows.capture.record(n, source=source(n), text="first", author="U_A")
    await flows.capture.release(n, ts=MESSAGE_TS, holder="U_A")

    key = await flows.capture.hold(n, source=source(n), holder="U_A")

    assert key == capture_key(n, MESSAGE_TS)
    async with flows.sessions() as session:
        job = await store.get_job(session, key=key)
    assert job is not None
    assert job.state == "pending"


async def test_a_ts_that_is_no_time_is_not_held(flows: Flows) -> None:
    n = await flows.declare()
    bad = CapturedSource(channel=f"C_INC{n}", ts="not-a-ts")
    assert await flows.capture.hold(n, source=bad, holder="U_A") is None


def test_the_job_payload_round_trips() -> None:
    given = CapturedSource(channel="C1", ts=MESSAGE_TS, thread_ts="1.2", user="U1", text="t")
    assert CapturedSource.decode(given.encode()) == given


async def test_capturing_costs_the_same_few_statements_however_busy_the_incident(
    flows: Flows, engine: AsyncEngine
) -> None:
    statements: list[str] = []

    def count(_conn: object, _cursor: object, sql: str, *_args: object) -> None:
        statements.append(sql)

    async def cost(step: Callable[[], Awaitable[object]]) -> int:
        statements.clear()
        event.listen(engine.sync_engine, "before_cursor_execute", count)
        try:
            await step()
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", count)
        return len(
            [s for s in statements if not s.lstrip().upper().startswith(("BEGIN", "COMMIT"))]
        )

    n = await flows.declare()
    first = await cost(lambda: flows.capture.hold(n, source=source(n), holder="U_A"))
    second = await cost(lambda: flows.capture.hold(n, source=source(n), holder="U_Z"))
    await flows.capture.release(n, ts=MESSAGE_TS, holder="U_Z")
    for i in range(200):
        ts = f"1741089{i:03d}.000100"
        other = CapturedSource(channel=f"C_INC{n}", ts=ts)
        await flows.capture.hold(n, source=other, holder="U_A")
        await flows.capture.record(n, source=other, text="busy", author="U_A")
    again = await cost(lambda: flows.capture.hold(n, source=source(n), holder="U_B"))
    held = CapturedSource(channel=f"C_INC{n}", ts="1741089000.000100")
    known = await cost(lambda: flows.capture.hold(n, source=held, holder="U_B"))
    released = await cost(lambda: flows.capture.release(n, ts=MESSAGE_TS, holder="U_B"))

    assert first <= 5
    assert again == second <= 5  # 200 captured messages later: the same
    assert known <= first  # already on the timeline: no job
    assert released <= 5
