"""Changing the severity: up or down, cadence and escalation recomputed, refusals."""

from __future__ import annotations

from datetime import timedelta

import pytest

import store
from bot.flows.effects import Refresh, SeverityChanged
from bot.flows.permissions import Refused
from tests.flows.conftest import DECLARER, NOW, RESPONDER, Flows


async def test_upgrade(flows: Flows) -> None:
    n = await flows.declare(severity="P2")
    flows.advance(timedelta(minutes=20))

    effects = await flows.ops.change_severity(n, new="P1", by=DECLARER)

    assert effects == [
        SeverityChanged(
            n,
            old="P2",
            new="P1",
            by=DECLARER,
            upgrade=True,
            notify=True,
            fresh=("#leadership",),  # P1's channel hears of it for the first time
        ),
        Refresh(n, topic=True),
    ]
    incident = await flows.incident(n)
    assert incident.severity == "P1"
    # P1's 15-minute cadence, counted from the declaration (no update yet): already due.
    assert incident.next_update_due_at == NOW + timedelta(minutes=15)
    # unacknowledged: the P1 chain's first step, counted from the declaration
    assert incident.next_escalation_at == NOW + timedelta(minutes=15)
    events = await flows.timeline(n)
    assert (events[-1].kind, events[-1].text, events[-1].actor) == (
        "severity_changed",
        "Severity P2 → P1",
        DECLARER,
    )


async def test_downgrade(flows: Flows) -> None:
    n = await flows.declare(severity="P1")
    await flows.ops.acknowledge(n, user=RESPONDER)
    await flows.ops.assign_roles(n, assignments={"tech_lead": "U_TL"}, by=DECLARER)

    effects = await flows.ops.change_severity(n, new="p3", by="U_TL")

    assert effects == [
        SeverityChanged(
            n,
            old="P1",
            new="P3",
            by="U_TL",
            upgrade=False,
            fresh=("#engineering",),  # P3's channel
            leaving=("#leadership",),  # no longer P1: told, then nothing more
        ),
        Refresh(n, topic=True),
    ]
    incident = await flows.incident(n)
    assert incident.severity == "P3"
    assert incident.next_update_due_at is None  # P3 has no cadence
    assert incident.next_escalation_at is None  # acknowledged: no escalation


async def test_same_severity_changes_nothing(flows: Flows) -> None:
    n = await flows.declare(severity="P2")
    version = (await flows.incident(n)).version
    assert await flows.ops.change_severity(n, new="P2", by=DECLARER) == []
    assert await flows.ops.change_severity(n, new="p2", by=DECLARER) == []
    assert (await flows.incident(n)).version == version
    assert await flows.kinds(n) == ["declared"]


async def test_unknown_severity_is_refused(flows: Flows) -> None:
    n = await flows.declare(severity="P2")
    with pytest.raises(Refused) as refused:
        await flows.ops.change_severity(n, new="P9", by=DECLARER)
    assert str(refused.value) == "Unknown severity `P9`. Severities: P1, P2, P3, P4."
    assert (await flows.incident(n)).severity == "P2"


async def test_closed_incident_is_refused(flows: Flows) -> None:
    n = await flows.declare(severity="P2")
    await flows.resolution.resolve(
        n, by=DECLARER, summary="Fixed", root_cause=None, impact_ended_at=None
    )
    await flows.resolution.close(n, by=DECLARER)
    with pytest.raises(Refused) as refused:
        await flows.ops.change_severity(n, new="P1", by=DECLARER)
    assert str(refused.value) == f"INC-{n} is closed; reopen it first."
    assert (await flows.incident(n)).severity == "P2"


async def test_resolved_incident_keeps_no_update_reminder(flows: Flows) -> None:
    n = await flows.declare(severity="P2")
    await flows.resolution.resolve(
        n, by=DECLARER, summary="Fixed", root_cause=None, impact_ended_at=None
    )
    effects = await flows.ops.change_severity(n, new="P1", by=DECLARER)
    assert effects[0] == SeverityChanged(
        n, old="P2", new="P1", by=DECLARER, upgrade=True, notify=True, fresh=("#leadership",)
    )  # a P1 after all: its audience hears of it (the message shows it resolved)
    incident = await flows.incident(n)
    assert (incident.severity, incident.next_update_due_at) == ("P1", None)


async def test_each_severity_audience_hears_of_an_upgrade_once(flows: Flows) -> None:
    n = await flows.declare(severity="P3")
    up = await flows.ops.change_severity(n, new="P1", by=DECLARER)
    down = await flows.ops.change_severity(n, new="P2", by=DECLARER)
    again = await flows.ops.change_severity(n, new="P1", by=DECLARER)
    notified = [e.notify for e in (up[0], down[0], again[0]) if isinstance(e, SeverityChanged)]
    assert notified == [True, False, False]
    declared_p1 = await flows.declare(severity="P1")
    await flows.ops.change_severity(declared_p1, new="P2", by=DECLARER)
    back = await flows.ops.change_severity(declared_p1, new="P1", by=DECLARER)
    assert back[0] == SeverityChanged(
        declared_p1,
        old="P2",
        new="P1",
        by=DECLARER,
        upgrade=True,
        notify=False,  # its people were DM'd at the declaration already
        following=("#leadership",),  # in the thread of what it heard at the declaration
    )


async def test_member_without_role_is_refused(flows: Flows) -> None:
    n = await flows.declare(severity="P2")
    with pytest.raises(Refused) as refused:
        await flows.ops.change_severity(n, new="P1", by=RESPONDER)
    assert str(refused.value) == (
        f"Only the Incident Commander or the Technical Lead can change the severity of INC-{n}."
    )


async def test_a_notified_channel_hears_of_each_move_across_what_it_follows(
    flows: Flows,
) -> None:
    """#leadership follows P1 (#engineering P3): declared P2 it has not heard; raised to P1 it
    hears first (fresh); lowered to P2 it hears once that it no longer follows (leaving); at P3
    nothing more (while #engineering hears first); raised to P1 again it hears in its thread
    (following), never a second first message, and #engineering hears it leave P3."""
    n = await flows.declare(severity="P2")

    async def shifts(new: str) -> tuple[tuple[str, ...], ...]:
        effects = await flows.ops.change_severity(n, new=new, by=DECLARER)
        changed = effects[0]
        assert isinstance(changed, SeverityChanged)
        return changed.fresh, changed.following, changed.leaving

    assert await shifts("P1") == (("#leadership",), (), ())
    assert await shifts("P2") == ((), (), ("#leadership",))
    assert await shifts("P3") == (("#engineering",), (), ())
    assert await shifts("P1") == ((), ("#leadership",), ("#engineering",))
    async with flows.sessions() as session:
        told = await store.list_audiences(session, incident_number=n)
    assert sorted((a.target, a.message_ts) for a in told) == [
        ("#engineering", None),
        ("#leadership", None),
    ]


async def test_private_incidents_and_drills_have_no_audience(flows: Flows) -> None:
    private = await flows.declare(severity="P2", private=True)
    for n in (private, await flows.declare(severity="P2", drill=True)):
        effects = await flows.ops.change_severity(n, new="P1", by=DECLARER)
        changed = effects[0]
        assert isinstance(changed, SeverityChanged)
        assert (changed.fresh, changed.following, changed.leaving, changed.notify) == (
            (),
            (),
            (),
            False,
        )
