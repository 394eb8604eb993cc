"""Status updates: status stamps, cadence, numbering, idempotency keys, sharing."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from bot.flows.effects import Refresh, UpdatePosted
from bot.flows.operations import UpdateRequest
from bot.flows.permissions import Refused
from tests.flows.conftest import DECLARER, NOW, OUTSIDER, RESPONDER, Flows


def request(
    status: str = "investigating",
    *,
    next_in: timedelta | None = None,
    share: bool = True,
    impact: str = "Checkout fails for 20% of users",
    actions: str = "Rolling back",
) -> UpdateRequest:
    return UpdateRequest(
        status=status, impact=impact, actions=actions, next_in=next_in, share=share
    )


async def test_first_update_with_status_change(flows: Flows) -> None:
    n = await flows.declare(severity="P2")
    effects = await flows.ops.post_update(n, by=RESPONDER, request=request("identified"), key="k1")

    assert effects == [UpdatePosted(n, seq=1, share=True), Refresh(n, topic=True)]
    incident = await flows.incident(n)
    assert incident.status == "identified"
    assert incident.identified_at == NOW
    assert incident.mitigated_at is None
    assert incident.update_count == 1
    assert incident.next_update_due_at == NOW + timedelta(minutes=30)  # P2 cadence
    assert incident.reminder_sent_for is None
    (update,) = await flows.updates(n)
    assert (update.seq, update.status, update.author, update.shared) == (
        1,
        "identified",
        RESPONDER,
        True,
    )
    assert (update.impact, update.actions) == ("Checkout fails for 20% of users", "Rolling back")
    assert update.next_update_at == NOW + timedelta(minutes=30)
    assert update.posted_at == NOW
    events = await flows.timeline(n)
    assert [(e.kind, e.text) for e in events[1:]] == [
        ("status_update", "Update #1: Checkout fails for 20% of users"),
        ("status_changed", "Status investigating → identified"),
    ]


async def test_stamps_once_and_numbers_in_order(flows: Flows) -> None:
    n = await flows.declare(severity="P2")
    await flows.ops.post_update(n, by=RESPONDER, request=request("identified"), key="k1")
    t2 = flows.advance(timedelta(minutes=5))
    effects = await flows.ops.post_update(
        n, by=RESPONDER, request=request("identified", next_in=timedelta(minutes=10)), key="k2"
    )
    assert effects == [UpdatePosted(n, seq=2, share=True), Refresh(n, topic=False)]
    incident = await flows.incident(n)
    assert incident.next_update_due_at == t2 + timedelta(minutes=10)

    t3 = flows.advance(timedelta(minutes=5))
    effects = await flows.ops.post_update(n, by=DECLARER, request=request("monitoring"), key="k3")
    assert effects == [UpdatePosted(n, seq=3, share=True), Refresh(n, topic=True)]

    flows.advance(timedelta(minutes=5))
    await flows.ops.post_update(n, by=DECLARER, request=request("identified"), key="k4")
    flows.advance(timedelta(minutes=5))
    await flows.ops.post_update(n, by=DECLARER, request=request("monitoring"), key="k5")

    incident = await flows.incident(n)
    assert incident.identified_at == NOW  # stamped the first time only
    assert incident.mitigated_at == t3
    assert incident.update_count == 5
    assert [(u.seq, u.status) for u in await flows.updates(n)] == [
        (1, "identified"),
        (2, "identified"),
        (3, "monitoring"),
        (4, "identified"),
        (5, "monitoring"),
    ]
    assert (await flows.kinds(n)).count("status_changed") == 4


@pytest.mark.parametrize(("severity", "cadence"), [("P1", 15), ("P2", 30), ("P3", None)])
async def test_next_update_defaults_to_the_severity_cadence(
    flows: Flows, severity: str, cadence: int | None
) -> None:
    n = await flows.declare(severity=severity)
    await flows.ops.post_update(n, by=RESPONDER, request=request(), key="k")
    expected = NOW + timedelta(minutes=cadence) if cadence else None
    assert (await flows.incident(n)).next_update_due_at == expected
    assert (await flows.updates(n))[0].next_update_at == expected


async def test_given_minutes_win_over_the_cadence(flows: Flows) -> None:
    n = await flows.declare(severity="P3")
    await flows.ops.post_update(
        n, by=RESPONDER, request=request(next_in=timedelta(minutes=45)), key="k"
    )
    assert (await flows.incident(n)).next_update_due_at == NOW + timedelta(minutes=45)


async def test_update_clears_a_sent_reminder(flows: Flows) -> None:
    n = await flows.declare(severity="P1")
    await flows.set_fields(n, reminder_sent_for=NOW)
    await flows.ops.post_update(n, by=RESPONDER, request=request(), key="k")
    assert (await flows.incident(n)).reminder_sent_for is None


async def test_same_key_twice_stores_once(flows: Flows) -> None:
    n = await flows.declare()
    await flows.ops.post_update(n, by=RESPONDER, request=request("identified"), key="same")
    before = await flows.incident(n)
    kinds = await flows.kinds(n)
    flows.advance(timedelta(minutes=1))

    again = await flows.ops.post_update(n, by=RESPONDER, request=request("monitoring"), key="same")

    assert again == []
    after = await flows.incident(n)
    assert (after.status, after.update_count, after.version) == (
        "identified",
        1,
        before.version,
    )
    assert after.mitigated_at is None
    assert after.next_update_due_at == before.next_update_due_at
    assert len(await flows.updates(n)) == 1
    assert await flows.kinds(n) == kinds


async def test_illegal_status_is_refused_naming_legal_ones(flows: Flows) -> None:
    n = await flows.declare()
    await flows.resolution.resolve(
        n, by=DECLARER, summary="Rolled back", root_cause=None, impact_ended_at=None
    )
    with pytest.raises(Refused) as refused:
        await flows.ops.post_update(n, by=RESPONDER, request=request("monitoring"), key="k")
    assert str(refused.value) == (
        f"INC-{n} is resolved: it cannot move to monitoring. "
        "From resolved it can go to: investigating, closed."
    )
    assert await flows.updates(n) == []
    assert (await flows.incident(n)).update_count == 0


async def test_unknown_status_is_refused(flows: Flows) -> None:
    n = await flows.declare()
    with pytest.raises(Refused) as refused:
        await flows.ops.post_update(n, by=RESPONDER, request=request("fixed"), key="k")
    assert str(refused.value) == (
        f"Unknown status `fixed` for INC-{n}. Statuses: triage, investigating, identified,"
        " monitoring, resolved, closed, declined."
    )


async def test_non_member_is_refused(flows: Flows) -> None:
    n = await flows.declare()
    with pytest.raises(Refused) as refused:
        await flows.ops.post_update(n, by=OUTSIDER, request=request(), key="k")
    assert (
        str(refused.value) == f"Only members of the incident channel can post updates to INC-{n}."
    )
    assert await flows.updates(n) == []


@pytest.mark.parametrize(
    ("declared", "asked", "shared"),
    [
        ({}, True, True),
        ({}, False, False),
        ({"private": True}, True, False),
        ({"type_id": "security"}, True, False),
        ({"drill": True}, True, False),
    ],
)
async def test_share_is_forced_off_for_private_and_drill(
    flows: Flows, declared: dict[str, Any], asked: bool, shared: bool
) -> None:
    n = await flows.declare(**declared)
    effects = await flows.ops.post_update(n, by=RESPONDER, request=request(share=asked), key="k")
    assert effects[0] == UpdatePosted(n, seq=1, share=shared)
    assert (await flows.updates(n))[0].shared is shared


async def test_concurrent_double_submit_is_stored_once(flows: Flows) -> None:
    n = await flows.declare()
    results = await asyncio.gather(
        *(
            flows.ops.post_update(n, by=RESPONDER, request=request("identified"), key="double")
            for _ in range(3)
        )
    )
    assert sorted(len(r) for r in results) == [0, 0, 2]
    assert [u.seq for u in await flows.updates(n)] == [1]
    assert (await flows.incident(n)).update_count == 1


async def test_concurrent_updates_get_distinct_numbers(flows: Flows) -> None:
    n = await flows.declare()
    results = await asyncio.gather(
        flows.ops.post_update(n, by=RESPONDER, request=request(), key="a"),
        flows.ops.post_update(n, by=DECLARER, request=request(), key="b"),
    )
    posted = sorted(e.seq for r in results for e in r if isinstance(e, UpdatePosted))
    assert posted == [1, 2]
    assert [u.seq for u in await flows.updates(n)] == [1, 2]
    assert (await flows.incident(n)).update_count == 2


async def test_an_update_cannot_resolve_or_close_the_incident(flows: Flows) -> None:
    """Resolving and closing have their own flows, permissions and records."""
    n = await flows.declare(severity="P1")
    with pytest.raises(Refused, match="use `/incident resolve`"):
        await flows.ops.post_update(n, by=RESPONDER, request=request("resolved"), key="r1")
    with pytest.raises(Refused, match="investigating: it cannot move to closed"):
        await flows.ops.post_update(n, by=RESPONDER, request=request("closed"), key="c1")
    incident = await flows.incident(n)
    assert (incident.status, incident.update_count) == ("investigating", 0)
    assert await flows.updates(n) == []


async def test_a_stale_update_form_cannot_bring_back_a_finished_incident(flows: Flows) -> None:
    n = await flows.declare(severity="P1")
    await flows.set_fields(n, status="closed", closed_at=NOW, resolved_at=NOW)
    with pytest.raises(Refused, match="closed: `/incident reopen` brings it back"):
        await flows.ops.post_update(n, by=DECLARER, request=request("investigating"), key="s1")
    with pytest.raises(Refused, match="closed: it cannot move to monitoring"):
        await flows.ops.post_update(n, by=DECLARER, request=request("monitoring"), key="s2")
    incident = await flows.incident(n)
    assert incident.status == "closed"
    assert incident.closed_at == NOW
    assert await flows.updates(n) == []
