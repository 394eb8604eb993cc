"""`authorize`: role grantees, "members" (of the incident channel), "anyone"; refusal texts.

`authorize` is pure: the caller passes whether the user is a recorded member of the incident
channel. `Pairs` stands for that record here; the flow tests cover reading it from the
database."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from bot.flows.permissions import ACTION_WORDS, Refused, authorize, who_may
from bot.policy import (
    PERMISSION_ACTIONS,
    PermissionAction,
    Policy,
    default_policy,
    policy_from_data,
)
from tests.flows.conftest import default_policy_text

ROLES = {"commander": "U_IC", "tech_lead": "U_TL", "scribe": "U_SCRIBE"}


def policy_with(**permissions: list[str]) -> Policy:
    data: dict[str, Any] = yaml.safe_load(default_policy_text())
    data["permissions"] = {**data["permissions"], **permissions}
    return policy_from_data(data)


class Pairs:
    """Recorded (channel, user) memberships."""

    def __init__(self) -> None:
        self.pairs: set[tuple[str, str]] = set()

    def add(self, channel: str, user: str) -> None:
        self.pairs.add((channel, user))

    def remove(self, channel: str, user: str) -> None:
        self.pairs.discard((channel, user))


@pytest.fixture
def membership() -> Pairs:
    return Pairs()


async def check(
    policy: Policy,
    membership: Pairs,
    action: PermissionAction,
    user: str,
    *,
    channel: str | None = "C1",
    roles: dict[str, str] = ROLES,
) -> None:
    member = channel is not None and (channel, user) in membership.pairs
    authorize(policy, action=action, user=user, roles=roles, label="INC-1", member=member)


@pytest.mark.parametrize("user", ["U_IC", "U_TL"])
async def test_role_holders_may_resolve(membership: Pairs, user: str) -> None:
    await check(default_policy(), membership, "resolve", user)


@pytest.mark.parametrize("user", ["U_SCRIBE", "U_NOBODY"])
async def test_others_may_not_resolve(membership: Pairs, user: str) -> None:
    membership.add("C1", user)  # being in the channel does not help for a role-only action
    with pytest.raises(Refused) as refused:
        await check(default_policy(), membership, "resolve", user)
    assert (
        str(refused.value) == "Only the Incident Commander or the Technical Lead can resolve INC-1."
    )


@pytest.mark.parametrize(
    ("action", "text"),
    [
        ("close", "Only the Incident Commander or the Technical Lead can close INC-1."),
        (
            "severity",
            "Only the Incident Commander or the Technical Lead can change the severity of INC-1.",
        ),
        ("assign", "Only the Incident Commander or the Technical Lead can assign roles in INC-1."),
        ("update", "Only members of the incident channel can post updates to INC-1."),
        ("note", "Only members of the incident channel can add notes to INC-1."),
        ("ack", "Only members of the incident channel can acknowledge INC-1."),
        ("action", "Only members of the incident channel can add action items to INC-1."),
    ],
)
async def test_refusal_names_who_may(
    membership: Pairs, action: PermissionAction, text: str
) -> None:
    with pytest.raises(Refused) as refused:
        await check(default_policy(), membership, action, "U_NOBODY")
    assert str(refused.value) == text


async def test_members_may_act_when_membership_says_so(membership: Pairs) -> None:
    membership.add("C1", "U_MEMBER")
    await check(default_policy(), membership, "update", "U_MEMBER")
    membership.remove("C1", "U_MEMBER")
    with pytest.raises(Refused):
        await check(default_policy(), membership, "update", "U_MEMBER")


async def test_membership_of_another_channel_does_not_count(membership: Pairs) -> None:
    membership.add("C_OTHER", "U_MEMBER")
    with pytest.raises(Refused):
        await check(default_policy(), membership, "ack", "U_MEMBER")


async def test_members_without_a_channel_are_refused(membership: Pairs) -> None:
    membership.add("C1", "U_MEMBER")
    with pytest.raises(Refused):
        await check(default_policy(), membership, "update", "U_MEMBER", channel=None)


async def test_a_role_holder_outside_the_channel_is_not_a_member(
    membership: Pairs,
) -> None:
    with pytest.raises(Refused, match="Only members of the incident channel"):
        await check(default_policy(), membership, "update", "U_IC")


async def test_anyone(membership: Pairs) -> None:
    policy = policy_with(ack=["anyone"])
    await check(policy, membership, "ack", "U_STRANGER", channel=None, roles={})


async def test_mixed_grantees_role_or_member(membership: Pairs) -> None:
    policy = policy_with(resolve=["commander", "members"])
    await check(policy, membership, "resolve", "U_IC")
    membership.add("C1", "U_MEMBER")
    await check(policy, membership, "resolve", "U_MEMBER")
    with pytest.raises(Refused) as refused:
        await check(policy, membership, "resolve", "U_TL")
    assert str(refused.value) == (
        "Only the Incident Commander or members of the incident channel can resolve INC-1."
    )


def test_who_may_wording() -> None:
    policy = default_policy()
    assert who_may(policy, ()) == "nobody"
    assert who_may(policy, ("members",)) == "members of the incident channel"
    assert who_may(policy, ("scribe",)) == "the Scribe"
    assert who_may(policy, ("commander", "tech_lead", "members")) == (
        "the Incident Commander, the Technical Lead or members of the incident channel"
    )
    assert who_may(policy, ("ghost",)) == "ghost"


def test_every_permission_action_has_words() -> None:
    assert set(ACTION_WORDS) == set(PERMISSION_ACTIONS)
