"""Closing (confirmation for open action items, archive date), reopening, archive claims."""

from __future__ import annotations

from datetime import timedelta

import pytest

import store
from bot.flows.effects import Closed, Refresh, Reopened
from bot.flows.permissions import Refused
from bot.flows.resolution import CloseNeedsConfirmation
from tests.flows.conftest import DECLARER, NOW, RESPONDER, Flows, archiving_policy


async def resolved_incident(flows: Flows, severity: str = "P2") -> int:
    n = await flows.declare(severity=severity)
    await flows.resolution.resolve(
        n, by=DECLARER, summary="Fixed", root_cause=None, impact_ended_at=None
    )
    return n


def test_archiving_policy_differs_only_in_archive_after(flows: Flows) -> None:
    policy = archiving_policy()
    assert policy.archive_after == timedelta(days=7)
    assert flows.policy.archive_after is None
    assert policy.model_copy(update={"archive_after": None}) == flows.policy


async def test_close_from_investigating_is_refused(flows: Flows) -> None:
    n = await flows.declare()
    with pytest.raises(Refused) as refused:
        await flows.resolution.close(n, by=DECLARER)
    assert str(refused.value) == (
        f"INC-{n} is investigating: it cannot move to closed. "
        "From investigating it can go to: identified, monitoring, resolved."
    )
    assert (await flows.incident(n)).status == "investigating"


async def test_close_needs_confirmation_for_open_action_items(flows: Flows) -> None:
    n = await resolved_incident(flows)
    await flows.add_action_item(n, "Write the post-mortem")
    done = await flows.add_action_item(n, "Page the vendor")
    await flows.add_action_item(n, "Add an alert on error rate")
    async with flows.sessions() as session:
        assert done.id is not None
        await store.set_action_item_done(session, item_id=done.id, now=NOW)
        await session.commit()

    answer = await flows.resolution.close(n, by=DECLARER)

    assert answer == CloseNeedsConfirmation(("Write the post-mortem", "Add an alert on error rate"))
    incident = await flows.incident(n)
    assert (incident.status, incident.closed_at) == ("resolved", None)

    now = flows.advance(timedelta(hours=1))
    effects = await flows.resolution.close(n, by=DECLARER, confirmed=True)

    assert effects == [Closed(n, by=DECLARER, archive_at=None), Refresh(n, topic=True)]
    incident = await flows.incident(n)
    assert (incident.status, incident.closed_at, incident.archive_at) == ("closed", now, None)
    assert incident.next_update_due_at is None
    assert (await flows.kinds(n))[-1] == "closed"


async def test_close_without_open_items_needs_no_confirmation(flows: Flows) -> None:
    n = await resolved_incident(flows)
    effects = await flows.resolution.close(n, by=DECLARER)
    assert effects == [Closed(n, by=DECLARER, archive_at=None), Refresh(n, topic=True)]
    assert await flows.resolution.close(n, by=DECLARER) == []
    assert (await flows.kinds(n)).count("closed") == 1


async def test_close_sets_archive_at_when_the_policy_archives(flows: Flows) -> None:
    flows.use_policy(archiving_policy())
    n = await resolved_incident(flows)
    now = flows.advance(timedelta(hours=2))
    effects = await flows.resolution.close(n, by=DECLARER)
    assert effects == [
        Closed(n, by=DECLARER, archive_at=now + timedelta(days=7)),
        Refresh(n, topic=True),
    ]
    assert (await flows.incident(n)).archive_at == now + timedelta(days=7)


async def test_member_without_role_may_not_close(flows: Flows) -> None:
    n = await resolved_incident(flows)
    with pytest.raises(Refused) as refused:
        await flows.resolution.close(n, by=RESPONDER)
    assert str(refused.value) == (
        f"Only the Incident Commander or the Technical Lead can close INC-{n}."
    )


async def test_reopen_from_closed(flows: Flows) -> None:
    flows.use_policy(archiving_policy())
    n = await resolved_incident(flows, severity="P1")
    await flows.resolution.close(n, by=DECLARER)
    assert (await flows.incident(n)).archive_at is not None
    now = flows.advance(timedelta(days=1))

    effects = await flows.resolution.reopen(n, by=DECLARER)

    assert effects == [Reopened(n, by=DECLARER), Refresh(n, topic=True)]
    incident = await flows.incident(n)
    assert incident.status == "investigating"
    assert (incident.resolved_at, incident.closed_at, incident.archive_at) == (None, None, None)
    assert incident.next_update_due_at == now + timedelta(minutes=15)
    events = await flows.timeline(n)
    assert (events[-1].kind, events[-1].text) == ("reopened", "Reopened from closed")
    with pytest.raises(Refused):  # a second reopen finds it open
        await flows.resolution.reopen(n, by=DECLARER)


async def test_reopen_from_resolved_then_resolve_again(flows: Flows) -> None:
    n = await resolved_incident(flows)
    assert await flows.resolution.reopen(n, by=DECLARER) == [
        Reopened(n, by=DECLARER),
        Refresh(n, topic=True),
    ]
    later = flows.advance(timedelta(hours=1))
    await flows.resolution.resolve(
        n, by=DECLARER, summary="Really fixed", root_cause=None, impact_ended_at=None
    )
    incident = await flows.incident(n)
    assert (incident.status, incident.resolved_at) == ("resolved", later)
    assert [k for k in await flows.kinds(n) if k != "declared"] == [
        "resolved",
        "reopened",
        "resolved",
    ]


async def test_reopen_an_open_incident_is_refused(flows: Flows) -> None:
    n = await flows.declare()
    with pytest.raises(Refused) as refused:
        await flows.resolution.reopen(n, by=DECLARER)
    assert str(refused.value) == (
        f"INC-{n} is investigating: only a resolved or closed incident can be reopened."
    )


async def test_reopen_needs_resolve_permission(flows: Flows) -> None:
    n = await resolved_incident(flows)
    with pytest.raises(Refused) as refused:
        await flows.resolution.reopen(n, by=RESPONDER)
    assert str(refused.value) == (
        f"Only the Incident Commander or the Technical Lead can resolve INC-{n}."
    )
    assert (await flows.incident(n)).status == "resolved"


async def test_closing_schedules_the_archive_and_reopening_cancels_it(flows: Flows) -> None:
    flows.use_policy(archiving_policy())
    n = await resolved_incident(flows)
    await flows.resolution.close(n, by=DECLARER)
    due = NOW + timedelta(days=7)
    assert (await flows.incident(n)).archive_at == due
    async with flows.sessions() as session:
        job = await store.get_job(session, key=f"archive:{n}")
    assert job is not None
    assert (job.kind, job.state, job.due_at) == ("archive", "pending", due)

    await flows.resolution.reopen(n, by=DECLARER)
    async with flows.sessions() as session:
        job = await store.get_job(session, key=f"archive:{n}")
    assert job is not None
    assert (job.state, job.due_at) == ("cancelled", None)
    assert (await flows.incident(n)).archive_at is None

    await flows.resolution.resolve(
        n, by=DECLARER, summary="Fixed again", root_cause=None, impact_ended_at=None
    )
    later = flows.advance(timedelta(days=1))
    await flows.resolution.close(n, by=DECLARER)
    async with flows.sessions() as session:
        job = await store.get_job(session, key=f"archive:{n}")
    assert job is not None
    assert (job.state, job.due_at) == ("pending", later + timedelta(days=7))


async def test_nothing_to_archive_without_archive_after(flows: Flows) -> None:
    n = await resolved_incident(flows)
    await flows.resolution.close(n, by=DECLARER)
    assert (await flows.incident(n)).archive_at is None
    async with flows.sessions() as session:
        assert await store.get_job(session, key=f"archive:{n}") is None
