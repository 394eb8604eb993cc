"""Read-only questions: visible open incidents, the status summary, channel lookups."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

import store
from bot.flows.cards import ListedIncident, UpdateCard
from bot.flows.operations import UpdateRequest
from bot.flows.queries import (
    incident_in_channel,
    status_summary,
    visible_open_incidents,
)
from tests.flows.conftest import DECLARER, NOW, OUTSIDER, RESPONDER, Flows


async def listed(flows: Flows, user: str) -> list[ListedIncident]:
    return await visible_open_incidents(flows.sessions, flows.policy, user=user)


async def test_private_incidents_only_for_members_most_severe_first(flows: Flows) -> None:
    minor = await flows.declare("Typo on pricing page", severity="P3")
    breach = await flows.declare(
        "Leaked keys", severity=None, type_id="security", declarer="U_SEC", members=()
    )
    slow = await flows.declare("Slow search", severity="P2", commander="U_BOSS")
    done = await flows.declare("Old thing", severity="P1")
    await flows.resolution.resolve(
        done, by=DECLARER, summary="Fixed", root_cause=None, impact_ended_at=None
    )

    assert [i.number for i in await listed(flows, OUTSIDER)] == [slow, minor]
    assert [i.number for i in await listed(flows, RESPONDER)] == [slow, minor]
    everything = await listed(flows, "U_SEC")
    assert [i.number for i in everything] == [breach, slow, minor]
    assert everything[0] == ListedIncident(
        number=breach,
        title="Leaked keys",
        severity_id="P1",
        severity_name="Critical",
        status="investigating",
        channel_id=f"C_INC{breach}",
        private=True,
        commander="U_SEC",
        declared_at=NOW,
    )
    assert everything[1].commander == "U_BOSS"
    assert everything[2].severity_name == "Medium"


async def test_a_private_incident_without_a_channel_is_hidden(flows: Flows) -> None:
    n = await flows.declare("Quiet", private=True)
    await flows.set_fields(n, channel_id=None)
    assert await listed(flows, DECLARER) == []


async def test_same_severity_in_number_order(flows: Flows) -> None:
    a = await flows.declare("A", severity="P2")
    b = await flows.declare("B", severity="P1")
    c = await flows.declare("C", severity="P2")
    assert [i.number for i in await listed(flows, OUTSIDER)] == [b, a, c]


async def test_status_summary(flows: Flows) -> None:
    n = await flows.declare(
        "Checkout is down",
        severity="P2",
        started_at=NOW - timedelta(minutes=10),
        affected_services="checkout, payments",
    )
    await flows.ops.acknowledge(n, user=RESPONDER)
    update = UpdateRequest(
        status="identified",
        impact="All checkouts fail",
        actions="Rollback",
        next_in=None,
        share=True,
    )
    await flows.ops.post_update(n, by=RESPONDER, request=update, key="u1")
    t2 = flows.advance(timedelta(minutes=5))
    update = UpdateRequest(
        status="monitoring",
        impact="Recovering",
        actions="Watching",
        next_in=timedelta(minutes=20),
        share=True,
    )
    await flows.ops.post_update(n, by=DECLARER, request=update, key="u2")
    await flows.add_action_item(n, "Add a canary")
    now = flows.advance(timedelta(minutes=5))

    summary = await status_summary(flows.sessions, flows.policy, await flows.incident(n), now=now)

    assert summary.card.number == n
    assert summary.card.title == "Checkout is down"
    assert (summary.card.severity_id, summary.card.severity_name) == ("P2", "High")
    assert summary.card.status == "monitoring"
    assert summary.card.commander == DECLARER
    assert summary.card.affected_services == "checkout, payments"
    assert summary.card.channel_id == f"C_INC{n}"
    assert summary.age == timedelta(minutes=20)
    assert summary.last_update == UpdateCard(
        seq=2,
        status="monitoring",
        impact="Recovering",
        actions="Watching",
        next_update_at=t2 + timedelta(minutes=20),
        author=DECLARER,
        posted_at=t2,
    )
    assert summary.next_update_due_at == t2 + timedelta(minutes=20)
    assert summary.open_action_items == ("Add a canary",)
    assert (summary.acknowledged_by, summary.acknowledged_at) == (RESPONDER, NOW)


async def test_status_summary_of_a_fresh_and_a_missing_incident(flows: Flows) -> None:
    n = await flows.declare()
    summary = await status_summary(flows.sessions, flows.policy, await flows.incident(n), now=NOW)
    assert (summary.last_update, summary.open_action_items, summary.acknowledged_by) == (
        None,
        (),
        None,
    )
    assert summary.age == timedelta(0)


async def test_membership_events_show_and_hide_a_private_incident(flows: Flows) -> None:
    n = await flows.declare("Leaked keys", type_id="security", severity=None, members=())
    assert await listed(flows, RESPONDER) == []
    await flows.membership.add(f"C_INC{n}", RESPONDER)
    assert [i.number for i in await listed(flows, RESPONDER)] == [n]
    await flows.membership.remove(f"C_INC{n}", RESPONDER)
    assert await listed(flows, RESPONDER) == []


async def test_incident_in_channel(flows: Flows) -> None:
    n = await flows.declare()
    found = await incident_in_channel(flows.sessions, f"C_INC{n}")
    assert isinstance(found, store.Incident)
    assert found.number == n
    assert await incident_in_channel(flows.sessions, "C_GENERAL") is None
    assert await incident_in_channel(flows.sessions, "") is None


async def test_list_and_summary_cost_one_statement_however_many_incidents(
    flows: Flows, engine: AsyncEngine
) -> None:
    """O(1) per request: `/incident list` is one statement with 1 or 12 incidents (private
    ones among them), a status summary one statement after the incident itself."""
    statements: list[str] = []

    def count(_conn: object, _cursor: object, sql: str, *_args: object) -> None:
        statements.append(sql)

    async def cost(read: Callable[[], Awaitable[object]]) -> int:
        statements.clear()
        event.listen(engine.sync_engine, "before_cursor_execute", count)
        try:
            await read()
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", count)
        return len(statements)

    first = await flows.declare("One", severity="P2")
    assert await cost(lambda: listed(flows, RESPONDER)) == 1
    for i in range(11):
        await flows.declare(f"More {i}", private=i % 3 == 0)
    await flows.ops.assign_roles(first, assignments={"scribe": RESPONDER}, by=DECLARER)
    assert await cost(lambda: listed(flows, RESPONDER)) == 1
    incident = await flows.incident(first)

    async def summary() -> object:
        return await status_summary(flows.sessions, flows.policy, incident, now=NOW)

    assert await cost(summary) == 1
