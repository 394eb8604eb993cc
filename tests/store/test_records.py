"""Timeline events, role assignments, status updates and action items."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

import store
from tests.store.conftest import NOW, MakeIncident

# --- timeline ---------------------------------------------------------------------------------


async def test_timeline_is_ordered_by_time_then_insertion(
    session: AsyncSession, make_incident: MakeIncident
) -> None:
    incident = await make_incident()
    n = incident.number
    assert n is not None
    await store.add_timeline_event(session, incident_number=n, kind="note", at=NOW, text="b")
    await store.add_timeline_event(
        session, incident_number=n, kind="declared", at=NOW - timedelta(minutes=1), actor="U1"
    )
    await store.add_timeline_event(session, incident_number=n, kind="note", at=NOW, text="c")
    await session.commit()
    events = await store.list_timeline(session, incident_number=n)
    assert [(e.kind, e.text) for e in events] == [("declared", ""), ("note", "b"), ("note", "c")]
    assert events[0].actor == "U1"
    assert events[0].at.tzinfo is not None
    notes = await store.list_timeline(session, incident_number=n, kinds=["note"])
    assert [e.text for e in notes] == ["b", "c"]


async def test_timeline_dedupe_key_records_an_event_once(
    session: AsyncSession, make_incident: MakeIncident
) -> None:
    incident = await make_incident()
    n = incident.number
    assert n is not None
    first = await store.add_timeline_event(
        session,
        incident_number=n,
        kind="note",
        at=NOW,
        text="pinned message",
        permalink="https://example.slack.com/archives/C1/p1",
        dedupe_key="1:pin:1700000000.000100",
    )
    assert first is not None
    assert first.id is not None
    again = await store.add_timeline_event(
        session, incident_number=n, kind="note", at=NOW, dedupe_key="1:pin:1700000000.000100"
    )
    assert again is None
    await session.commit()
    events = await store.list_timeline(session, incident_number=n)
    assert [(e.text, e.permalink) for e in events] == [
        ("pinned message", "https://example.slack.com/archives/C1/p1")
    ]


async def test_timeline_dedupe_under_concurrency(
    sessions: async_sessionmaker[AsyncSession], make_incident: MakeIncident
) -> None:
    incident = await make_incident()
    n = incident.number
    assert n is not None

    async def record() -> bool:
        async with sessions() as s:
            event = await store.add_timeline_event(
                s, incident_number=n, kind="retry", at=NOW, dedupe_key=f"{n}:event:Ev1"
            )
            await s.commit()
            return event is not None

    assert sum(await asyncio.gather(*(record() for _ in range(10)))) == 1


# --- roles ------------------------------------------------------------------------------------


async def test_role_assignment_history(session: AsyncSession, make_incident: MakeIncident) -> None:
    incident = await make_incident()
    n = incident.number
    assert n is not None
    t1, t2, t3 = NOW, NOW + timedelta(minutes=1), NOW + timedelta(minutes=2)

    alice, previous = await store.assign_role(
        session, incident_number=n, role="commander", user_id="UA", assigned_by="U0", now=t1
    )
    assert previous is None
    assert alice.ended_at is None
    assert alice.assigned_at == t1
    await store.assign_role(
        session, incident_number=n, role="scribe", user_id="UC", assigned_by="U0", now=t1
    )
    bob, previous = await store.assign_role(
        session, incident_number=n, role="commander", user_id="UB", assigned_by="UA", now=t2
    )
    assert previous is not None
    assert previous.id == alice.id
    assert previous.ended_at == t2
    same, previous = await store.assign_role(
        session, incident_number=n, role="commander", user_id="UB", assigned_by="UA", now=t3
    )
    assert same.id == bob.id
    assert previous is None
    assert same.assigned_at == t2
    await session.commit()

    assert await store.current_roles(session, incident_number=n) == {
        "commander": "UB",
        "scribe": "UC",
    }
    history = await store.role_history(session, incident_number=n, role="commander")
    assert [(a.user_id, a.assigned_at, a.ended_at) for a in history] == [
        ("UA", t1, t2),
        ("UB", t2, None),
    ]
    assert len(await store.role_history(session, incident_number=n)) == 3

    ended = await store.end_role(session, incident_number=n, role="scribe", now=t3)
    assert ended is not None
    assert ended.user_id == "UC"
    assert ended.ended_at == t3
    assert await store.end_role(session, incident_number=n, role="scribe", now=t3) is None
    assert await store.current_roles(session, incident_number=n) == {"commander": "UB"}


async def test_partial_unique_index_allows_one_current_holder(
    session: AsyncSession, make_incident: MakeIncident
) -> None:
    incident = await make_incident()
    n = incident.number
    assert n is not None
    for user in ("U1", "U2"):  # ended assignments may repeat freely
        session.add(
            store.RoleAssignment(
                incident_number=n, role="lead", user_id=user, assigned_at=NOW, ended_at=NOW
            )
        )
    session.add(store.RoleAssignment(incident_number=n, role="lead", user_id="U3", assigned_at=NOW))
    await session.commit()
    session.add(store.RoleAssignment(incident_number=n, role="lead", user_id="U4", assigned_at=NOW))
    with pytest.raises(IntegrityError):
        await session.commit()
    await session.rollback()


async def test_concurrent_assignments_leave_one_current_holder(
    sessions: async_sessionmaker[AsyncSession], make_incident: MakeIncident
) -> None:
    incident = await make_incident()
    n = incident.number
    assert n is not None

    async def assign(i: int) -> None:
        async with sessions() as s:
            await store.assign_role(
                s, incident_number=n, role="commander", user_id=f"U{i}", assigned_by="U0", now=NOW
            )
            await s.commit()

    await asyncio.gather(*(assign(i) for i in range(8)))
    async with sessions() as s:
        history = await store.role_history(s, incident_number=n)
        current = await store.current_roles(s, incident_number=n)
    assert sorted(a.user_id for a in history) == sorted(f"U{i}" for i in range(8))
    assert [a.user_id for a in history if a.ended_at is None] == [current["commander"]]


# --- status updates ---------------------------------------------------------------------------


async def test_status_update_sequence_is_per_incident(
    session: AsyncSession, make_incident: MakeIncident
) -> None:
    a = await make_incident()
    b = await make_incident()
    assert a.number is not None
    assert b.number is not None

    async def post(number: int, impact: str) -> store.StatusUpdate:
        return await store.add_status_update(
            session,
            incident_number=number,
            status="investigating",
            impact=impact,
            actions="Rolling back",
            next_update_at=NOW + timedelta(minutes=30),
            author="U1",
            now=NOW,
            shared=True,
        )

    assert [(await post(a.number, f"a{i}")).seq for i in range(3)] == [1, 2, 3]
    assert (await post(b.number, "b0")).seq == 1
    await session.commit()
    listed = await store.list_status_updates(session, incident_number=a.number)
    assert [(u.seq, u.impact) for u in listed] == [(1, "a0"), (2, "a1"), (3, "a2")]
    first = listed[0]
    assert first.shared is True
    assert first.posted_at == NOW
    assert first.message_ts is None
    assert first.next_update_at == NOW + timedelta(minutes=30)
    assert first.id is not None
    posted = await store.set_status_update_message(
        session, update_id=first.id, message_ts="1700000000.000200"
    )
    assert posted is not None
    assert posted.message_ts == "1700000000.000200"


async def test_status_update_sequence_under_concurrency(
    sessions: async_sessionmaker[AsyncSession], make_incident: MakeIncident
) -> None:
    incident = await make_incident()
    n = incident.number
    assert n is not None

    async def post(i: int) -> int:
        async with sessions() as s:
            update = await store.add_status_update(
                s,
                incident_number=n,
                status="monitoring",
                impact=f"#{i}",
                actions="",
                next_update_at=None,
                author="U",
                now=NOW,
                shared=False,
            )
            await s.commit()
            return update.seq

    seqs = await asyncio.gather(*(post(i) for i in range(10)))
    assert sorted(seqs) == list(range(1, 11))


# --- action items -----------------------------------------------------------------------------


async def test_action_items(session: AsyncSession, make_incident: MakeIncident) -> None:
    incident = await make_incident()
    other = await make_incident()
    n = incident.number
    assert n is not None
    assert other.number is not None
    due = NOW + timedelta(days=5)
    first = await store.add_action_item(
        session,
        incident_number=n,
        text="Add alert",
        owner="U1",
        due_at=due,
        created_by="U2",
        now=NOW,
    )
    second = await store.add_action_item(session, incident_number=n, text="Write runbook", now=NOW)
    await store.add_action_item(session, incident_number=other.number, text="Elsewhere", now=NOW)
    await session.commit()
    assert first.id is not None
    assert second.id is not None
    assert (first.done, first.due_at, first.created_at) == (False, due, NOW)

    later = NOW + timedelta(hours=1)
    done = await store.set_action_item_done(session, item_id=first.id, now=later)
    assert done is not None
    assert done.done is True
    assert done.done_at == later
    await session.commit()
    items = await store.list_action_items(session, incident_number=n)
    assert [i.text for i in items] == ["Add alert", "Write runbook"]
    open_items = await store.list_action_items(session, incident_number=n, include_done=False)
    assert [i.text for i in open_items] == ["Write runbook"]
    assert len(await store.list_action_items(session)) == 3

    undone = await store.set_action_item_done(session, item_id=first.id, now=later, done=False)
    assert undone is not None
    assert undone.done is False
    assert undone.done_at is None
    assert await store.set_action_item_done(session, item_id=999999, now=later) is None


async def test_records_need_an_existing_incident(session: AsyncSession) -> None:
    with pytest.raises(IntegrityError):
        await store.add_action_item(session, incident_number=999999, text="orphan", now=NOW)
    await session.rollback()
