"""The gateway against the fake Slack: retries, error mapping, idempotent helpers."""

from __future__ import annotations

import time

import pytest

from bot.flows.ports import SlackFailure
from bot.gateway import SlackGateway
from bot.slack_client import build_web_client
from sandbox.slack import FakeSlack


@pytest.fixture
async def gateway(fake: FakeSlack) -> SlackGateway:
    gateway = SlackGateway(build_web_client(token=fake.bot_token, base_url=fake.api_url))
    await gateway.identify()
    return gateway


async def test_identify_uses_the_configured_api_url(fake: FakeSlack, gateway: SlackGateway) -> None:
    assert gateway.bot_user_id == fake.bot_user_id
    assert [c.method for c in fake.calls()] == ["auth.test"]


async def test_a_short_429_is_waited_out_and_retried(
    fake: FakeSlack, gateway: SlackGateway
) -> None:
    fake.fail_next("conversations.create", status=429, retry_after=1)
    started = time.monotonic()
    channel = await gateway.create_channel(name="inc-9-x", private=False)
    assert time.monotonic() - started >= 1.0  # Retry-After honoured
    assert channel.name == "inc-9-x"
    assert [c.status for c in fake.calls("conversations.create")] == [429, 200]


async def test_a_long_429_goes_back_to_the_caller_with_retry_after(
    fake: FakeSlack, gateway: SlackGateway
) -> None:
    fake.fail_next("conversations.create", status=429, retry_after=30)
    with pytest.raises(SlackFailure) as failure:
        await gateway.create_channel(name="inc-9-y", private=False)
    assert failure.value.rate_limited
    assert failure.value.retry_after == 30
    assert failure.value.plain_words() == "Slack is rate-limiting"


@pytest.mark.parametrize(("status", "error"), [(500, None), (503, None), (200, "fatal_error")])
async def test_transient_errors_of_reads_are_retried_once(
    fake: FakeSlack, gateway: SlackGateway, status: int, error: str | None
) -> None:
    fake.fail_next("conversations.history", status=status, error=error)
    channel = fake.channel_id("incident-response")
    assert await gateway.find_posted(channel=channel, event_type="x", match={}) is None
    assert len(fake.calls("conversations.history")) == 2


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 500},
        {"status": 200, "error": "fatal_error"},
        {"drop": True},
    ],
)
async def test_a_post_that_took_effect_is_never_retried_blind(
    fake: FakeSlack, gateway: SlackGateway, fault: dict[str, object]
) -> None:
    """Slack posted, then answered 500 (or dropped the connection): slack_sdk's built-in
    retry would post it again. The failure goes back to the job, whose retry recognises it."""
    fake.fail_after("chat.postMessage", **fault)  # type: ignore[arg-type]
    with pytest.raises(SlackFailure) as failure:
        await gateway.post(channel="#incident-response", text="Update #3")
    assert failure.value.transient
    assert len(fake.calls("chat.postMessage")) == 1
    assert [m.text for m in fake.channel("incident-response").messages].count("Update #3") == 1


async def test_a_dropped_channel_creation_is_not_retried_blind(
    fake: FakeSlack, gateway: SlackGateway
) -> None:
    fake.fail_after("conversations.create", drop=True)
    with pytest.raises(SlackFailure):
        await gateway.create_channel(name="inc-12-once", private=False)
    assert len(fake.calls("conversations.create")) == 1
    assert [c.name for c in fake.channels()].count("inc-12-once") == 1


async def test_a_dm_is_found_again_in_the_dm_conversation(
    fake: FakeSlack, gateway: SlackGateway
) -> None:
    meta = {"event_type": "warroom_incident", "event_payload": {"incident": 5, "kind": "dm"}}
    await gateway.dm(user="U_CAROL", text="You are the Scribe", metadata=meta)
    fresh = SlackGateway(gateway.client)  # a restarted process: no cached DM ids
    found = await fresh.find_dm(user="U_CAROL", event_type="warroom_incident", match={"kind": "dm"})
    assert found is not None
    other = {"kind": "other"}
    assert await fresh.find_dm(user="U_CAROL", event_type="warroom_incident", match=other) is None


async def test_persistent_failure_is_mapped_to_slacks_code(
    fake: FakeSlack, gateway: SlackGateway
) -> None:
    fake.fail_next("chat.postMessage", 3, status=500, error=None)
    with pytest.raises(SlackFailure) as failure:
        await gateway.post(channel="#incident-response", text="hello")
    assert failure.value.status == 500
    assert failure.value.plain_words() == "Slack is having trouble"


async def test_invite_tolerates_members_and_batches_by_100(
    fake: FakeSlack, gateway: SlackGateway
) -> None:
    users = [fake.add_user(id=f"U_X{i:03d}", name=f"x{i}") for i in range(150)]
    channel = await gateway.create_channel(name="inc-10-big", private=False)
    await gateway.invite(channel=channel.id, users=["U_ALICE", *users, "U_ALICE"])
    await gateway.invite(channel=channel.id, users=["U_ALICE", "U_BOB"])  # alice is in already
    members = fake.channel(channel.id).members
    assert {"U_ALICE", "U_BOB", *users} <= members
    sizes = [len(str(c.args["users"]).split(",")) for c in fake.calls("conversations.invite")]
    assert max(sizes) <= 100


async def test_group_members_and_unknown_groups(fake: FakeSlack, gateway: SlackGateway) -> None:
    await gateway.warm_up()
    assert sorted(await gateway.group_members(group="@oncall")) == ["U_BOB", "U_CAROL"]
    with pytest.raises(SlackFailure) as failure:
        await gateway.group_members(group="@nobody")
    assert not failure.value.transient  # retrying will not make the group exist


async def test_find_posted_recognises_metadata(fake: FakeSlack, gateway: SlackGateway) -> None:
    metadata = {"event_type": "warroom_incident", "event_payload": {"incident": 3, "kind": "x"}}
    posted = await gateway.post(channel="#incident-response", text="t", metadata=metadata)
    channel = await gateway.resolve_channel(channel="#incident-response")
    found = await gateway.find_posted(
        channel=channel, event_type="warroom_incident", match={"incident": 3, "kind": "x"}
    )
    assert found is not None
    assert found.ts == posted.ts
    other = await gateway.find_posted(
        channel=channel, event_type="warroom_incident", match={"incident": 4, "kind": "x"}
    )
    assert other is None


async def test_membership_archive_and_unarchive(fake: FakeSlack, gateway: SlackGateway) -> None:
    channel = await gateway.create_channel(name="inc-11-z", private=False)
    assert await gateway.members(channel=channel.id) == [fake.bot_user_id]
    assert await gateway.user_exists(user="U_DAVE")
    assert not await gateway.user_exists(user="UEVIL999")
    await gateway.archive(channel=channel.id)
    await gateway.archive(channel=channel.id)  # already archived: fine
    assert fake.channel(channel.id).is_archived
    await gateway.unarchive(channel=channel.id)
    await gateway.unarchive(channel=channel.id)
    assert not fake.channel(channel.id).is_archived
