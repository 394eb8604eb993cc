"""Resolving: what is stored, the post-mortem due date, duration, repeats and refusals."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.flows.effects import PostmortemRequested, Refresh, Resolved
from bot.flows.operations import UpdateRequest
from bot.flows.permissions import Refused
from tests.flows.conftest import DECLARER, NOW, RESPONDER, Flows


@pytest.mark.parametrize(
    ("severity", "postmortem_in"),
    [("P1", timedelta(hours=48)), ("P2", timedelta(hours=48)), ("P3", None), ("P4", None)],
)
async def test_resolve(flows: Flows, severity: str, postmortem_in: timedelta | None) -> None:
    n = await flows.declare(severity=severity, started_at=NOW - timedelta(hours=1))
    now = flows.advance(timedelta(minutes=30))

    effects = await flows.resolution.resolve(
        n, by=DECLARER, summary="Rolled back v2.3", root_cause="Bad deploy", impact_ended_at=None
    )

    due = now + postmortem_in if postmortem_in else None
    assert effects == [
        Resolved(
            n,
            by=DECLARER,
            summary="Rolled back v2.3",
            root_cause="Bad deploy",
            duration=timedelta(hours=1, minutes=30),
            postmortem_due_at=due,
        ),
        Refresh(n, topic=True),
        # The severities that require a post-mortem get the draft posted.
        *([PostmortemRequested(n, by=DECLARER, reason="resolved")] if postmortem_in else []),
    ]
    incident = await flows.incident(n)
    assert incident.status == "resolved"
    assert incident.resolved_at == now
    assert incident.resolution_summary == "Rolled back v2.3"
    assert incident.root_cause == "Bad deploy"
    assert incident.impact_ended_at == now
    assert incident.postmortem_due_at == due
    assert incident.next_update_due_at is None
    events = await flows.timeline(n)
    assert (events[-1].kind, events[-1].text, events[-1].actor) == (
        "resolved",
        "Resolved: Rolled back v2.3",
        DECLARER,
    )


async def test_resolve_clears_the_update_reminder(flows: Flows) -> None:
    n = await flows.declare(severity="P1")
    update = UpdateRequest(
        status="investigating", impact="i", actions="a", next_in=None, share=False
    )
    await flows.ops.post_update(n, by=RESPONDER, request=update, key="k")
    assert (await flows.incident(n)).next_update_due_at is not None
    await flows.resolution.resolve(
        n, by=DECLARER, summary="Fixed", root_cause="", impact_ended_at=None
    )
    incident = await flows.incident(n)
    assert incident.next_update_due_at is None
    assert incident.root_cause is None  # empty text is no root cause


async def test_impact_end_is_kept_in_the_past_and_clamped_to_now(flows: Flows) -> None:
    n = await flows.declare(severity="P3")
    now = flows.advance(timedelta(hours=1))
    await flows.resolution.resolve(
        n,
        by=DECLARER,
        summary="Fixed",
        root_cause=None,
        impact_ended_at=now - timedelta(minutes=20),
    )
    assert (await flows.incident(n)).impact_ended_at == now - timedelta(minutes=20)

    m = await flows.declare(severity="P3")
    await flows.resolution.resolve(
        m, by=DECLARER, summary="Fixed", root_cause=None, impact_ended_at=now + timedelta(hours=1)
    )
    assert (await flows.incident(m)).impact_ended_at == now


async def test_duration_counts_from_declaration_when_start_is_now(flows: Flows) -> None:
    n = await flows.declare(severity="P4")
    flows.advance(timedelta(minutes=42))
    (resolved, _refresh) = await flows.resolution.resolve(
        n, by=DECLARER, summary="Fixed", root_cause=None, impact_ended_at=None
    )
    assert isinstance(resolved, Resolved)
    assert resolved.duration == timedelta(minutes=42)


async def test_resolve_twice(flows: Flows) -> None:
    n = await flows.declare()
    await flows.resolution.resolve(
        n, by=DECLARER, summary="First", root_cause=None, impact_ended_at=None
    )
    before = await flows.incident(n)
    flows.advance(timedelta(minutes=5))

    again = await flows.resolution.resolve(
        n, by=DECLARER, summary="Second", root_cause=None, impact_ended_at=None
    )

    assert again == []
    after = await flows.incident(n)
    assert (after.version, after.resolved_at, after.resolution_summary) == (
        before.version,
        NOW,
        "First",
    )
    assert (await flows.kinds(n)).count("resolved") == 1


async def test_tech_lead_may_resolve(flows: Flows) -> None:
    n = await flows.declare()
    await flows.ops.assign_roles(n, assignments={"tech_lead": "U_TL"}, by=DECLARER)
    effects = await flows.resolution.resolve(
        n, by="U_TL", summary="Fixed", root_cause=None, impact_ended_at=None
    )
    assert isinstance(effects[0], Resolved)
    assert effects[0].by == "U_TL"


async def test_member_without_role_is_refused(flows: Flows) -> None:
    n = await flows.declare()
    with pytest.raises(Refused) as refused:
        await flows.resolution.resolve(
            n, by=RESPONDER, summary="Fixed", root_cause=None, impact_ended_at=None
        )
    assert str(refused.value) == (
        f"Only the Incident Commander or the Technical Lead can resolve INC-{n}."
    )
    incident = await flows.incident(n)
    assert (incident.status, incident.resolved_at) == ("investigating", None)


async def test_closed_incident_cannot_be_resolved(flows: Flows) -> None:
    n = await flows.declare()
    await flows.resolution.resolve(
        n, by=DECLARER, summary="Fixed", root_cause=None, impact_ended_at=None
    )
    await flows.resolution.close(n, by=DECLARER)
    with pytest.raises(Refused) as refused:
        await flows.resolution.resolve(
            n, by=DECLARER, summary="Again", root_cause=None, impact_ended_at=None
        )
    assert str(refused.value) == (
        f"INC-{n} is closed: it cannot move to resolved. From closed it can go to: investigating."
    )
    assert (await flows.incident(n)).status == "closed"
