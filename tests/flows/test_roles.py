"""Assigning and taking roles: history is kept, repeats change nothing, permissions hold."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.flows.effects import Refresh, RoleAssigned
from bot.flows.permissions import Refused
from tests.flows.conftest import DECLARER, NOW, OUTSIDER, RESPONDER, Flows

UNKNOWN_ROLE = (
    "Unknown role `ghost`. Roles: `commander` (Incident Commander), `tech_lead` (Technical Lead),"
    " `comms` (Communications Lead), `scribe` (Scribe)."
)


async def test_declarer_is_commander(flows: Flows) -> None:
    n = await flows.declare()
    assert await flows.roles(n) == {"commander": DECLARER}


async def test_assign_a_vacant_role(flows: Flows) -> None:
    n = await flows.declare()
    effects = await flows.ops.assign_roles(n, assignments={"tech_lead": "U_TL"}, by=DECLARER)
    assert effects == [
        RoleAssigned(n, role_id="tech_lead", user="U_TL", previous=None, by=DECLARER),
        Refresh(n, topic=False),
    ]
    assert await flows.roles(n) == {"commander": DECLARER, "tech_lead": "U_TL"}
    events = await flows.timeline(n)
    assert (events[-1].kind, events[-1].text, events[-1].actor) == (
        "role_assigned",
        "Technical Lead: <@U_TL>",
        DECLARER,
    )


async def test_new_holder_ends_the_old_one(flows: Flows) -> None:
    n = await flows.declare()
    await flows.ops.assign_roles(n, assignments={"tech_lead": "U_TL"}, by=DECLARER)
    later = flows.advance(timedelta(minutes=10))

    effects = await flows.ops.assign_roles(n, assignments={"tech_lead": "U_TL2"}, by=DECLARER)

    assert effects == [
        RoleAssigned(n, role_id="tech_lead", user="U_TL2", previous="U_TL", by=DECLARER),
        Refresh(n, topic=False),
    ]
    history = await flows.role_history(n, "tech_lead")
    assert [(a.user_id, a.assigned_at, a.ended_at) for a in history] == [
        ("U_TL", NOW, later),
        ("U_TL2", later, None),
    ]


async def test_same_user_again_changes_nothing(flows: Flows) -> None:
    n = await flows.declare()
    await flows.ops.assign_roles(n, assignments={"tech_lead": "U_TL"}, by=DECLARER)
    assert await flows.ops.assign_roles(n, assignments={"tech_lead": "U_TL"}, by=DECLARER) == []
    assert await flows.ops.assign_roles(n, assignments={"tl": "U_TL"}, by=DECLARER) == []
    assert len(await flows.role_history(n, "tech_lead")) == 1
    assert (await flows.kinds(n)).count("role_assigned") == 1


async def test_lead_role_change_refreshes_the_topic(flows: Flows) -> None:
    n = await flows.declare()
    effects = await flows.ops.assign_roles(
        n, assignments={"ic": "U_NEW", "scribe": "U_SCRIBE"}, by=DECLARER
    )
    assert effects == [
        RoleAssigned(n, role_id="commander", user="U_NEW", previous=DECLARER, by=DECLARER),
        RoleAssigned(n, role_id="scribe", user="U_SCRIBE", previous=None, by=DECLARER),
        Refresh(n, topic=True),
    ]
    history = await flows.role_history(n, "commander")
    assert [(a.user_id, a.ended_at is None) for a in history] == [
        (DECLARER, False),
        ("U_NEW", True),
    ]
    # the former commander holds no role any more, so may not assign
    with pytest.raises(Refused):
        await flows.ops.assign_roles(n, assignments={"scribe": "U_X"}, by=DECLARER)


async def test_tech_lead_may_assign(flows: Flows) -> None:
    n = await flows.declare()
    await flows.ops.assign_roles(n, assignments={"tech_lead": "U_TL"}, by=DECLARER)
    effects = await flows.ops.assign_roles(n, assignments={"comms": "U_COMMS"}, by="U_TL")
    assert effects[0] == RoleAssigned(n, role_id="comms", user="U_COMMS", previous=None, by="U_TL")


async def test_unknown_role_is_refused_and_nothing_is_stored(flows: Flows) -> None:
    n = await flows.declare()
    with pytest.raises(Refused) as refused:
        await flows.ops.assign_roles(
            n, assignments={"tech_lead": "U_TL", "ghost": "U_G"}, by=DECLARER
        )
    assert str(refused.value) == UNKNOWN_ROLE
    assert await flows.roles(n) == {"commander": DECLARER}
    assert await flows.kinds(n) == ["declared"]


@pytest.mark.parametrize("user", [RESPONDER, OUTSIDER])
async def test_non_permitted_user_is_refused(flows: Flows, user: str) -> None:
    n = await flows.declare()
    with pytest.raises(Refused) as refused:
        await flows.ops.assign_roles(n, assignments={"tech_lead": user}, by=user)
    assert str(refused.value) == (
        f"Only the Incident Commander or the Technical Lead can assign roles in INC-{n}."
    )
    assert await flows.roles(n) == {"commander": DECLARER}


async def test_member_takes_a_vacant_role(flows: Flows) -> None:
    n = await flows.declare()
    effects = await flows.ops.take_role(n, role_id="Scribe", user=RESPONDER)
    assert effects == [
        RoleAssigned(n, role_id="scribe", user=RESPONDER, previous=None, by=RESPONDER),
        Refresh(n, topic=False),
    ]
    assert (await flows.roles(n))["scribe"] == RESPONDER
    assert await flows.ops.take_role(n, role_id="scribe", user=RESPONDER) == []


async def test_non_member_may_not_take_a_vacant_role(flows: Flows) -> None:
    n = await flows.declare()
    with pytest.raises(Refused) as refused:
        await flows.ops.take_role(n, role_id="scribe", user=OUTSIDER)
    assert (
        str(refused.value) == f"Only members of the incident channel can post updates to INC-{n}."
    )
    assert "scribe" not in await flows.roles(n)


async def test_taking_a_held_role_needs_assign_permission(flows: Flows) -> None:
    n = await flows.declare(members=(RESPONDER, "U_OTHER"))
    await flows.ops.take_role(n, role_id="scribe", user=RESPONDER)

    with pytest.raises(Refused) as refused:
        await flows.ops.take_role(n, role_id="scribe", user="U_OTHER")
    assert str(refused.value) == (
        f"Only the Incident Commander or the Technical Lead can assign roles in INC-{n}."
    )
    assert (await flows.roles(n))["scribe"] == RESPONDER

    effects = await flows.ops.take_role(n, role_id="scribe", user=DECLARER)
    assert effects == [
        RoleAssigned(n, role_id="scribe", user=DECLARER, previous=RESPONDER, by=DECLARER),
        Refresh(n, topic=False),
    ]


async def test_take_unknown_role(flows: Flows) -> None:
    n = await flows.declare()
    with pytest.raises(Refused) as refused:
        await flows.ops.take_role(n, role_id="ghost", user=DECLARER)
    assert str(refused.value) == UNKNOWN_ROLE


async def test_take_the_lead_role_refreshes_the_topic(flows: Flows) -> None:
    n = await flows.declare()
    await flows.ops.assign_roles(n, assignments={"tech_lead": "U_TL"}, by=DECLARER)
    await flows.membership.add(f"C_INC{n}", "U_TL")
    effects = await flows.ops.take_role(n, role_id="commander", user="U_TL")
    assert effects == [
        RoleAssigned(n, role_id="commander", user="U_TL", previous=DECLARER, by="U_TL"),
        Refresh(n, topic=True),
    ]


async def test_identical_concurrent_assignments_change_once(flows: Flows) -> None:
    """Five copies of the same assignment (double submits, two replicas): one change, one
    post and DM to come (one RoleAssigned effect), one timeline row."""
    n = await flows.declare()
    results = await asyncio.gather(
        *(
            flows.ops.assign_roles(n, assignments={"scribe": "U_CAROL"}, by=DECLARER)
            for _ in range(5)
        )
    )
    assigned = [e for effects in results for e in effects if isinstance(e, RoleAssigned)]
    assert len(assigned) == 1
    assert (await flows.kinds(n)).count("role_assigned") == 1
    assert await flows.roles(n) == {"commander": DECLARER, "scribe": "U_CAROL"}
    # Already the holder: no effect at all.
    assert await flows.ops.assign_roles(n, assignments={"scribe": "U_CAROL"}, by=DECLARER) == []
