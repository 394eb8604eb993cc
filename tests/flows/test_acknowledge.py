"""Acknowledging: the first acknowledgement wins and stops escalation; later ones are noted."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.flows.effects import Acknowledged, Refresh
from bot.flows.permissions import Refused
from tests.flows.conftest import DECLARER, NOW, OUTSIDER, RESPONDER, Flows


async def test_first_acknowledgement(flows: Flows) -> None:
    n = await flows.declare(severity="P1")
    await flows.set_fields(n, next_escalation_at=NOW + timedelta(minutes=15))
    at = flows.advance(timedelta(minutes=3))

    effects = await flows.ops.acknowledge(n, user=RESPONDER)

    assert effects == [Acknowledged(n, by=RESPONDER, at=at, first=True), Refresh(n)]
    incident = await flows.incident(n)
    assert incident.acknowledged_at == at
    assert incident.acknowledged_by == RESPONDER
    assert incident.next_escalation_at is None
    events = await flows.timeline(n)
    assert [(e.kind, e.actor, e.at) for e in events[1:]] == [("acknowledged", RESPONDER, at)]


async def test_same_user_again_changes_nothing(flows: Flows) -> None:
    n = await flows.declare()
    await flows.ops.acknowledge(n, user=RESPONDER)
    version = (await flows.incident(n)).version
    flows.advance(timedelta(minutes=1))

    assert await flows.ops.acknowledge(n, user=RESPONDER) == []

    incident = await flows.incident(n)
    assert incident.version == version
    assert incident.acknowledged_at == NOW
    assert await flows.kinds(n) == ["declared", "acknowledged"]


async def test_another_user_is_noted_once(flows: Flows) -> None:
    n = await flows.declare()
    await flows.ops.acknowledge(n, user=RESPONDER)
    flows.advance(timedelta(minutes=2))

    # Noted on the timeline, nothing for the channel: the caller answers the person privately.
    assert await flows.ops.acknowledge(n, user=DECLARER) == []
    assert await flows.ops.acknowledge(n, user=DECLARER) == []

    incident = await flows.incident(n)
    assert (incident.acknowledged_by, incident.acknowledged_at) == (RESPONDER, NOW)
    events = await flows.timeline(n)
    assert [(e.kind, e.actor) for e in events] == [
        ("declared", DECLARER),
        ("acknowledged", RESPONDER),
        ("acknowledged_again", DECLARER),
    ]


async def test_non_member_is_refused(flows: Flows) -> None:
    n = await flows.declare()
    with pytest.raises(Refused) as refused:
        await flows.ops.acknowledge(n, user=OUTSIDER)
    assert str(refused.value) == f"Only members of the incident channel can acknowledge INC-{n}."
    incident = await flows.incident(n)
    assert incident.acknowledged_at is None
    assert incident.acknowledged_by is None
    assert await flows.kinds(n) == ["declared"]


async def test_unknown_incident_is_refused(flows: Flows) -> None:
    with pytest.raises(Refused, match=r"^INC-999 does not exist\.$"):
        await flows.ops.acknowledge(999, user=RESPONDER)


async def test_concurrent_acknowledgements_have_one_winner(flows: Flows) -> None:
    n = await flows.declare()
    results = await asyncio.gather(
        flows.ops.acknowledge(n, user=RESPONDER), flows.ops.acknowledge(n, user=DECLARER)
    )
    firsts = [e for effects in results for e in effects if isinstance(e, Acknowledged) and e.first]
    assert len(firsts) == 1
    incident = await flows.incident(n)
    assert incident.acknowledged_by == firsts[0].by
    assert sorted(await flows.kinds(n)) == ["acknowledged", "acknowledged_again", "declared"]
