"""Channel membership and the one-query reads built on it: visible incidents, summaries."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

import store
from tests.store.conftest import NOW, MakeIncident


def channel() -> str:
    return f"C{uuid.uuid4().hex[:10].upper()}"  # the suite shares one database per backend


async def test_membership_add_remove_replace(session: AsyncSession) -> None:
    c = channel()
    await store.add_channel_members(session, channel_id=c, user_ids=["U1", "U2", "U1"], now=NOW)
    await store.add_channel_members(session, channel_id=c, user_ids=["U2"], now=NOW)
    assert await store.channel_members(session, channel_id=c) == ["U1", "U2"]
    assert await store.is_channel_member(session, channel_id=c, user_id="U1")
    await store.remove_channel_member(session, channel_id=c, user_id="U1")
    assert not await store.is_channel_member(session, channel_id=c, user_id="U1")
    await store.replace_channel_members(session, channel_id=c, user_ids=["U3", "U2"], now=NOW)
    assert await store.channel_members(session, channel_id=c) == ["U2", "U3"]
    await store.replace_channel_members(session, channel_id=c, user_ids=[], now=NOW)
    assert await store.channel_members(session, channel_id=c) == []


async def test_visible_incidents_in_one_query(
    session: AsyncSession, make_incident: MakeIncident
) -> None:
    public, private, unknown, done = channel(), channel(), channel(), channel()
    tag = uuid.uuid4().hex  # only this test's incidents
    a = await make_incident(title=tag, status="investigating", channel_id=public)
    b = await make_incident(title=tag, status="monitoring", channel_id=private, private=True)
    c = await make_incident(title=tag, status="identified", channel_id=unknown, private=True)
    await make_incident(title=tag, status="resolved", channel_id=done)
    await make_incident(title=tag, status="triage", private=True)  # no channel: fails closed
    assert a.number is not None
    assert b.number is not None
    assert c.number is not None
    await store.add_role_holder(
        session, incident_number=a.number, role="commander", user_id="U_IC", assigned_by=None,
        now=NOW,
    )  # fmt: skip
    await store.add_channel_members(session, channel_id=private, user_ids=["U_IN"], now=NOW)
    await session.commit()

    async def visible(user: str) -> list[tuple[int | None, str | None]]:
        found = await store.list_visible_incidents(
            session,
            user_id=user,
            statuses=["triage", "investigating", "identified", "monitoring"],
            lead_role="commander",
        )
        return [(v.number, v.lead) for v in found if v.title == tag]

    assert await visible("U_OUT") == [(a.number, "U_IC")]
    assert await visible("U_IN") == [(a.number, "U_IC"), (b.number, None)]


async def test_incident_records_reads_roles_last_update_and_open_items(
    session: AsyncSession, make_incident: MakeIncident
) -> None:
    incident = await make_incident()
    n = incident.number
    assert n is not None
    empty = await store.incident_records(session, incident_number=n)
    assert (empty.roles, empty.last_update, empty.open_items) == ({}, None, [])
    await store.add_role_holder(
        session, incident_number=n, role="commander", user_id="U_IC", assigned_by=None, now=NOW
    )
    await store.assign_role(
        session, incident_number=n, role="scribe", user_id="U_S", assigned_by="U_IC", now=NOW
    )
    for seq, status in enumerate(("investigating", "identified"), 1):
        await store.add_status_update(
            session,
            incident_number=n,
            status=status,
            impact=f"impact {seq}",
            actions=f"actions {seq}",
            next_update_at=NOW + timedelta(minutes=30),
            author="U_IC",
            now=NOW + timedelta(minutes=seq),
        )
    first = await store.add_action_item(session, incident_number=n, text="Add a canary", now=NOW)
    await store.add_action_item(session, incident_number=n, text="Write a runbook", now=NOW)
    assert first.id is not None
    await store.set_action_item_done(session, item_id=first.id, done=True, now=NOW)
    records = await store.incident_records(session, incident_number=n)
    assert records.roles == {"commander": "U_IC", "scribe": "U_S"}
    last = records.last_update
    assert last is not None
    assert (last.seq, last.status, last.impact, last.actions, last.author) == (
        2,
        "identified",
        "impact 2",
        "actions 2",
        "U_IC",
    )
    assert last.posted_at == NOW + timedelta(minutes=2)
    assert last.next_update_at == NOW + timedelta(minutes=30)
    assert records.open_items == ["Write a runbook"]
