"""`load_draft`: everything the post-mortem shows, read back in order, in a fixed number of
statements."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

import store
from bot.flows.operations import UpdateRequest
from bot.flows.postmortem import (
    ActionLine,
    PostmortemDraft,
    RoleHolding,
    TimelineLine,
    UpdateLine,
    load_draft,
)
from tests.flows.conftest import DECLARER, NOW, RESPONDER, Flows

SCRIBE = "U_SCRIBE"
NEW_COMMANDER = "U_NEW_IC"
PERMALINK = "https://example.slack.com/archives/C_INC1/p1741089720000100"


async def draft_of(flows: Flows, number: int) -> PostmortemDraft | None:
    async with flows.sessions() as session:
        return await load_draft(session, flows.policy, number=number)


async def add_events(flows: Flows, number: int, count: int, *, start: datetime) -> None:
    async with flows.sessions() as session:
        for i in range(count):
            await store.add_timeline_event(
                session,
                incident_number=number,
                kind="note",
                at=start + timedelta(seconds=i),
                actor=RESPONDER,
                text=f"note {i}",
            )
        await session.commit()


async def capture(flows: Flows, number: int, *, ts: str, at: datetime, text: str) -> None:
    async with flows.sessions() as session:
        await store.add_timeline_hold(
            session, incident_number=number, message_ts=ts, holder=RESPONDER, now=flows.clock.now()
        )
        await store.add_captured_message(
            session,
            incident_number=number,
            message_ts=ts,
            at=at,
            actor=RESPONDER,
            text=text,
            permalink=PERMALINK,
            now=flows.clock.now(),
        )
        await session.commit()


def update(status: str, impact: str, actions: str) -> UpdateRequest:
    return UpdateRequest(status=status, impact=impact, actions=actions, next_in=None, share=False)


async def test_everything_comes_back_in_order(flows: Flows) -> None:
    number = await flows.declare(
        "Checkout is down",
        severity="P1",
        type_id="outage",
        started_at=NOW - timedelta(minutes=9),
        members=(RESPONDER, SCRIBE, NEW_COMMANDER),
    )
    t_ack = flows.advance(timedelta(minutes=2))
    await flows.ops.acknowledge(number, user=RESPONDER)
    await flows.ops.assign_roles(number, assignments={"scribe": SCRIBE}, by=DECLARER)
    t_handover = flows.advance(timedelta(minutes=5))
    await flows.ops.assign_roles(number, assignments={"commander": NEW_COMMANDER}, by=DECLARER)
    t_update1 = flows.advance(timedelta(minutes=3))
    await flows.ops.post_update(
        number,
        by=NEW_COMMANDER,
        request=update("identified", "All checkouts fail", "Roll back"),
        key="u1",
    )
    # A message written before the update, captured after it: it sits at its own time.
    await capture(flows, number, ts="1741089720.000100", at=t_ack, text="Is the DB <!here>?")
    t_update2 = flows.advance(timedelta(minutes=10))
    await flows.ops.post_update(
        number, by=NEW_COMMANDER, request=update("monitoring", "Recovering", "Watching"), key="u2"
    )
    async with flows.sessions() as session:
        first = await store.add_action_item(
            session,
            incident_number=number,
            text="Alert on pool usage",
            now=flows.clock.now(),
            owner=SCRIBE,
            due_at=datetime(2025, 3, 11, tzinfo=UTC),
            category="detection",
            priority=1,
        )
        await store.add_action_item(
            session, incident_number=number, text="Load test", now=flows.clock.now()
        )
        assert first.id is not None
        await store.set_action_item_done(session, item_id=first.id, now=flows.clock.now())
        await session.commit()
    await flows.resolution.resolve(
        number, by=NEW_COMMANDER, summary="Rolled back", root_cause="Pool", impact_ended_at=None
    )
    t_resolved = flows.clock.now()

    draft = await draft_of(flows, number)

    assert draft is not None
    assert (draft.number, draft.title, draft.status) == (number, "Checkout is down", "resolved")
    assert (draft.severity_id, draft.severity_name, draft.type_name) == (
        "P1",
        "Critical",
        "Service Outage",
    )
    assert (draft.declared_by, draft.declared_at, draft.started_at) == (
        DECLARER,
        NOW,
        NOW - timedelta(minutes=9),
    )
    assert (draft.acknowledged_by, draft.acknowledged_at) == (RESPONDER, t_ack)
    assert draft.resolved_at == t_resolved
    assert (draft.summary, draft.root_cause) == ("Rolled back", "Pool")
    assert draft.impact == "Recovering"  # the latest update's
    assert draft.roles == (
        RoleHolding("commander", "Incident Commander", DECLARER, NOW, t_handover),
        RoleHolding("commander", "Incident Commander", NEW_COMMANDER, t_handover, None),
        RoleHolding("scribe", "Scribe", SCRIBE, t_ack, None),
    )
    assert draft.updates == (
        UpdateLine(1, t_update1, "identified", "All checkouts fail", "Roll back", NEW_COMMANDER),
        UpdateLine(2, t_update2, "monitoring", "Recovering", "Watching", NEW_COMMANDER),
    )
    times = [line.at for line in draft.timeline]
    assert times == sorted(times)
    captured = [line for line in draft.timeline if line.kind == "message"]
    assert captured == [TimelineLine(t_ack, "message", RESPONDER, "Is the DB <!here>?", PERMALINK)]
    assert draft.timeline[0].kind == "declared"
    assert draft.action_items == (
        ActionLine("Alert on pool usage", SCRIBE, date(2025, 3, 11), True, "detection", 1),
        ActionLine("Load test", None, None, False, None, None),
    )
    assert all(at.tzinfo is not None and at.utcoffset() == timedelta(0) for at in times)


async def test_a_fresh_incident_has_empty_records(flows: Flows) -> None:
    number = await flows.declare("Quiet", severity="P3")
    draft = await draft_of(flows, number)
    assert draft is not None
    assert (draft.impact, draft.updates, draft.action_items) == ("", (), ())
    assert draft.type_name is None
    assert [h.role_id for h in draft.roles] == ["commander"]


async def test_an_unknown_number_is_none(flows: Flows) -> None:
    assert await draft_of(flows, 999) is None


async def test_names_fall_back_to_the_ids_the_policy_no_longer_has(flows: Flows) -> None:
    number = await flows.declare()
    await flows.set_fields(number, severity="SEV-9", type="retired")
    async with flows.sessions() as session:
        await store.add_role_holder(
            session,
            incident_number=number,
            role="oracle",
            user_id=SCRIBE,
            assigned_by=None,
            now=NOW,
        )
        await session.commit()
    draft = await draft_of(flows, number)
    assert draft is not None
    assert (draft.severity_name, draft.type_name) == ("SEV-9", "retired")
    # The policy's roles first, in its order; unknown ones after them.
    assert [(h.role_id, h.role_name) for h in draft.roles] == [
        ("commander", "Incident Commander"),
        ("oracle", "oracle"),
    ]


@contextmanager
def counting(engine: AsyncEngine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: object, _cursor: object, sql: str, *_args: object) -> None:
        statements.append(sql)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


async def test_the_load_costs_the_same_statements_however_long_the_timeline(
    flows: Flows, engine: AsyncEngine
) -> None:
    short = await flows.declare("Short")
    long = await flows.declare("Long")
    await add_events(flows, long, 300, start=NOW)
    for n in (short, long):
        await flows.add_action_item(n, "Something")
        await flows.ops.post_update(
            n, by=DECLARER, request=update("identified", "x", "y"), key=f"{n}"
        )

    with counting(engine) as short_cost:
        assert await draft_of(flows, short) is not None
    with counting(engine) as long_cost:
        draft = await draft_of(flows, long)

    assert draft is not None
    assert len(draft.timeline) > 300
    assert len(short_cost) == len(long_cost) == 5
    with counting(engine) as missing_cost:
        assert await draft_of(flows, 12345) is None
    assert len(missing_cost) == 1
