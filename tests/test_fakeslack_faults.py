"""The fake Slack: rate limits, injected faults, latency, holds, timing waves, response_urls
and what users saw."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from sandbox.slack import FakeSlack


@pytest.fixture
def channel(fake: FakeSlack) -> str:
    return fake.channel_id("incident-response")


def slack_error(call: Callable[[], Any]) -> SlackApiError:
    with pytest.raises(SlackApiError) as raised:
        call()
    return raised.value


def post_json(url: str, body: Any) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return int(error.code), json.loads(error.read())


# -- rate limits --


def test_post_message_allows_a_burst_then_429_with_retry_after(
    fake: FakeSlack, client: WebClient, channel: str
) -> None:
    for i in range(5):
        client.chat_postMessage(channel=channel, text=f"burst {i}")
    error = slack_error(lambda: client.chat_postMessage(channel=channel, text="one too many"))
    assert error.response.status_code == 429
    assert error.response.data == {"ok": False, "error": "ratelimited"}
    retry_after = error.response.headers["Retry-After"]
    assert retry_after.isdigit()
    assert int(retry_after) >= 1
    # Per channel: another channel is not affected, nor is the same channel by name later.
    client.chat_postMessage(channel="#leadership", text="elsewhere")
    assert slack_error(lambda: client.chat_postMessage(channel="#incident-response", text="x"))
    fake.advance_time(1.0)
    client.chat_postMessage(channel=channel, text="one per second")
    assert [c.status for c in fake.calls("chat.postMessage")].count(429) == 2
    assert fake.violations == []  # being rate limited is not a rule break by itself


def test_rate_limits_can_be_switched_off_or_overridden(
    fake: FakeSlack, client: WebClient, channel: str
) -> None:
    fake.set_rate_limits(False)
    for i in range(12):
        client.chat_postMessage(channel=channel, text=f"{i}")
    fake.set_rate_limits(True)
    fake.set_rate_limit("users.info", 2)
    client.users_info(user="U_ALICE")
    client.users_info(user="U_BOB")
    error = slack_error(lambda: client.users_info(user="U_CAROL"))
    assert error.response.status_code == 429
    assert 1 <= int(error.response.headers["Retry-After"]) <= 60
    fake.advance_time(61)
    client.users_info(user="U_CAROL")


def test_tier_two_allows_twenty_per_minute(fake: FakeSlack, client: WebClient) -> None:
    for i in range(20):
        client.conversations_create(name=f"inc-{i}")
    error = slack_error(lambda: client.conversations_create(name="inc-20"))
    assert error.response.status_code == 429
    assert "inc-20" not in [c.name for c in fake.channels()]


async def test_slack_sdk_retry_handler_recovers_from_429(fake: FakeSlack, channel: str) -> None:
    client = AsyncWebClient(
        base_url=fake.api_url,
        token=fake.bot_token,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)],
    )
    for i in range(6):
        await client.chat_postMessage(channel=channel, text=f"m{i}")
    statuses = [c.status for c in fake.calls("chat.postMessage")]
    assert statuses == [200] * 5 + [429, 200]
    assert [m.text for m in fake.channel(channel).messages] == [f"m{i}" for i in range(6)]


# -- injected faults, latency, holds --


def test_fail_next_status_codes_and_errors(
    fake: FakeSlack, client: WebClient, channel: str
) -> None:
    fake.fail_next("chat.postMessage", status=500)
    fake.fail_next("chat.postMessage", status=503, error="service_unavailable")
    fake.fail_next("chat.postMessage", n=2)
    expected = [(500, "fatal_error"), (503, "service_unavailable")] + [(200, "fatal_error")] * 2
    for status, error in expected:
        failed = slack_error(lambda: client.chat_postMessage(channel=channel, text="lost"))
        assert (failed.response.status_code, failed.response["error"]) == (status, error)
    client.chat_postMessage(channel=channel, text="finally")
    assert [m.text for m in fake.channel(channel).messages] == ["finally"]
    assert [(c.status, c.error) for c in fake.calls("chat.postMessage")] == [*expected, (200, None)]
    fake.fail_next("auth.test", status=500, error=None)
    assert slack_error(client.auth_test).response["error"] == "internal_error"
    assert fake.violations == []


async def test_fail_next_hang_outlasts_the_client_timeout(fake: FakeSlack, channel: str) -> None:
    client = AsyncWebClient(base_url=fake.api_url, token=fake.bot_token, timeout=1)
    fake.fail_next("chat.postMessage", hang=1.5)
    with pytest.raises(asyncio.TimeoutError):
        await client.chat_postMessage(channel=channel, text="lost")
    # A slow success: the client gives up but Slack did post it.
    fake.fail_next("chat.postMessage", hang=1.5, error=None)
    with pytest.raises(asyncio.TimeoutError):
        await client.chat_postMessage(channel=channel, text="posted anyway")
    for _ in range(100):
        if all(c.done for c in fake.calls()):
            break
        await asyncio.sleep(0.05)
    assert [c.error for c in fake.calls("chat.postMessage")] == ["fatal_error", None]
    assert [m.text for m in fake.channel(channel).messages] == ["posted anyway"]


def test_latency_is_added_to_every_call(fake: FakeSlack, client: WebClient) -> None:
    fake.latency = 0.2
    started = time.monotonic()
    client.auth_test()
    assert time.monotonic() - started >= 0.2
    [call] = fake.calls("auth.test")
    assert call.duration is not None
    assert call.duration >= 0.2


async def test_hold_blocks_a_call_until_released(fake: FakeSlack, channel: str) -> None:
    client = AsyncWebClient(base_url=fake.api_url, token=fake.bot_token)
    hold = fake.hold("chat.postMessage")
    task = asyncio.create_task(client.chat_postMessage(channel=channel, text="held"))
    assert await hold.wait_arrived_async(5)
    [in_flight] = fake.calls("chat.postMessage")
    assert in_flight.ok is None
    assert not in_flight.done
    assert fake.channel(channel).messages == []  # no state change yet
    await client.chat_postMessage(channel=channel, text="overtakes")  # only the next call held
    hold.release()
    response = await task
    assert response["ok"] is True
    assert [m.text for m in fake.channel(channel).messages] == ["overtakes", "held"]


def test_hold_from_sync_code_and_stop_releases_holds(fake: FakeSlack, client: WebClient) -> None:
    hold = fake.hold("auth.test")
    results: list[Any] = []
    worker = threading.Thread(target=lambda: results.append(client.auth_test()["ok"]))
    worker.start()
    assert hold.wait_arrived(5)
    assert hold.call_index == fake.calls("auth.test")[0].index
    fake.clear_hold()
    worker.join(5)
    assert results == [True]
    second = fake.hold("users.info")
    worker = threading.Thread(target=lambda: results.append(_quietly(client.users_info)))
    worker.start()
    assert second.wait_arrived(5)
    fake.stop()  # must not hang on the held call
    worker.join(5)
    assert not worker.is_alive()


def _quietly(call: Callable[..., Any]) -> Any:
    try:
        return call(user="U_ALICE")["ok"]
    except Exception as exc:  # the server went away while holding the call
        return type(exc).__name__


async def test_critical_path_groups_overlapping_calls_into_waves(fake: FakeSlack) -> None:
    client = AsyncWebClient(base_url=fake.api_url, token=fake.bot_token)
    fake.latency = 0.1
    since = time.monotonic()
    await asyncio.gather(*(client.users_info(user=u) for u in ("U_ALICE", "U_BOB", "U_CAROL")))
    await client.auth_test()
    await asyncio.gather(client.users_info(user="U_DAVE"), client.usergroups_list())
    waves = fake.critical_path(since=since)
    assert [len(w) for w in waves] == [3, 1, 2]
    assert [c.method for c in waves[1]] == ["auth.test"]
    assert fake.critical_path(since=since, until=waves[0][-1].started_at) == waves[:1]
    assert fake.critical_path(since=time.monotonic()) == []


# -- response_urls, acks, seen_by --


def test_response_url_posts_are_what_the_user_saw(fake: FakeSlack, channel: str) -> None:
    url = fake.new_response_url(user_id="U_ALICE", channel_id=channel)
    assert url.startswith(fake.base_url)
    assert post_json(url, {"text": "only you see this"}) == (200, {"ok": True})
    assert post_json(url, {"text": "replaced", "replace_original": True})[0] == 200
    assert post_json(url, {"text": "Incident declared", "response_type": "in_channel"})[0] == 200
    seen = fake.seen_by("U_ALICE")
    assert [(s.kind, s.response_type, s.action, s.text) for s in seen] == [
        ("response_url", "ephemeral", "post", "only you see this"),
        ("response_url", "ephemeral", "replace", "replaced"),
        ("response_url", "in_channel", "post", "Incident declared"),
    ]
    assert [m.text for m in fake.channel(channel).messages] == ["Incident declared"]
    assert fake.seen_by("U_BOB") == []
    assert [c.method for c in fake.calls()] == ["response_url"] * 3


def test_response_url_replaces_and_deletes_the_original_channel_message(
    fake: FakeSlack, client: WebClient, channel: str
) -> None:
    ts = client.chat_postMessage(channel=channel, text="Ack?")["ts"]
    url = fake.new_response_url(user_id="U_BOB", channel_id=channel, message_ts=ts)
    post_json(url, {"text": "Acked by Bob", "replace_original": True})
    message = fake.message(channel, ts)
    assert (message.text, message.edited) == ("Acked by Bob", True)
    post_json(url, {"delete_original": True})
    assert fake.channel(channel).messages == []


def test_response_url_rules(fake: FakeSlack, channel: str) -> None:
    url = fake.new_response_url(user_id="U_ALICE", channel_id=channel)
    status, body = post_json(url, {"text": "x", "blocks": [{"type": "section"}]})
    assert (status, body["error"]) == (400, "invalid_blocks")
    for i in range(5):
        assert post_json(url, {"text": f"{i}"})[0] == 200
    assert post_json(url, {"text": "sixth"}) == (404, {"ok": False, "error": "used_url"})
    old = fake.new_response_url(user_id="U_ALICE", channel_id=channel)
    fake.advance_time(31 * 60)
    assert post_json(old, {"text": "late"})[1]["error"] == "expired_url"
    assert [v.rule for v in fake.take_violations()] == ["block_kit", "response_url", "response_url"]


async def test_response_url_accepts_slack_sdk_style_posts(fake: FakeSlack, channel: str) -> None:
    url = fake.new_response_url(user_id="U_CAROL", channel_id=channel)
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json={"text": "from bolt's respond()"}) as response,
    ):
        assert response.status == 200
    assert [s.text for s in fake.seen_by("U_CAROL")] == ["from bolt's respond()"]


def test_acks_dms_views_and_channel_messages_in_seen_by(
    fake: FakeSlack, client: WebClient, channel: str
) -> None:
    fake.record_ack(user_id="U_ALICE", body={"response_type": "ephemeral", "text": "Working…"})
    fake.record_ack(user_id="U_ALICE", body="plain ack")
    client.chat_postMessage(channel="U_ALICE", text="dm")
    client.views_open(
        trigger_id=fake.issue_trigger_id("U_ALICE"),
        view={
            "type": "modal",
            "title": {"type": "plain_text", "text": "T"},
            "blocks": [{"type": "divider"}],
        },
    )
    client.chat_postMessage(channel=channel, text="to everyone")
    kinds = [(s.kind, s.text) for s in fake.seen_by("U_ALICE")]
    assert kinds == [("ack", "Working…"), ("ack", "plain ack"), ("dm", "dm"), ("view", "T")]
    everything = fake.seen_by("U_ALICE", include_channels=True)
    assert (everything[-1].kind, everything[-1].text) == ("channel_message", "to everyone")
    assert "Working…" in fake.render_texts()
    fake.record_ack(
        user_id="U_ALICE",
        body={"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "no fallback"}}]},
    )
    assert [v.rule for v in fake.take_violations()] == ["missing_text_fallback"]


def test_calls_record_arguments_results_and_times(fake: FakeSlack, client: WebClient) -> None:
    before = time.monotonic()
    client.conversations_create(name="inc-rec")
    slack_error(lambda: client.conversations_create(name="inc-rec"))
    ok, taken = fake.calls("conversations.create")
    assert (ok.args, ok.ok, ok.status) == ({"name": "inc-rec"}, True, 200)
    assert (taken.ok, taken.error, taken.response) == (
        False,
        "name_taken",
        {"ok": False, "error": "name_taken"},
    )
    assert before <= ok.started_at <= ok.ended_at <= taken.started_at  # type: ignore[operator]
    assert ok.wall_started_at > 1_600_000_000
    fake.reset_calls()
    assert fake.calls() == []


def test_hold_can_wait_for_a_matching_call(fake: FakeSlack, client: WebClient) -> None:
    """`hold(method, where=...)` holds only the call whose arguments match."""
    leadership = fake.channel_id("leadership")
    hold = fake.hold("chat.postMessage", where=lambda args: args.get("channel") == leadership)
    client.chat_postMessage(channel=fake.channel_id("incident-response"), text="not held")
    assert not hold.arrived
    sender = threading.Thread(
        target=lambda: client.chat_postMessage(channel=leadership, text="held")
    )
    sender.start()
    assert hold.wait_arrived(5)
    assert fake.channel("leadership").messages == []
    hold.release()
    sender.join(5)
    assert [m.text for m in fake.channel("leadership").messages] == ["held"]


def test_injected_429_carries_retry_after(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next("conversations.create", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as raised:
        client.conversations_create(name="inc-429")
    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "7"
    assert raised.value.response.data == {"ok": False, "error": "ratelimited"}
    assert client.conversations_create(name="inc-429")["ok"] is True


# -- faults after the fact: the call takes effect, then fails --


def async_client(fake: FakeSlack) -> AsyncWebClient:
    """No retry handlers: slack_sdk's built-in connection-error retry would hide the fault."""
    return AsyncWebClient(base_url=fake.api_url, token=fake.bot_token, retry_handlers=[])


async def test_fail_after_500_keeps_the_message(fake: FakeSlack, channel: str) -> None:
    client = async_client(fake)
    fake.fail_after("chat.postMessage")
    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel=channel, text="posted, then 500")
    assert raised.value.response.status_code == 500
    assert raised.value.response.data == {"ok": False, "error": "internal_error"}
    [message] = fake.channel(channel).messages
    assert message.text == "posted, then 500"
    [call] = fake.calls("chat.postMessage")
    assert (call.status, call.ok, call.error) == (500, False, "internal_error")
    assert call.response == {"ok": False, "error": "internal_error"}
    assert call.applied is True
    assert call.dropped is False
    assert call.suppressed_response is not None
    assert call.suppressed_response["ts"] == message.ts
    # Used up: the next call answers normally.
    assert (await client.chat_postMessage(channel=channel, text="next"))["ok"] is True
    assert [m.text for m in fake.channel(channel).messages] == ["posted, then 500", "next"]
    assert [c.applied for c in fake.calls("chat.postMessage")] == [True, True]
    assert fake.violations == []


async def test_fail_after_drop_closes_the_connection(fake: FakeSlack, channel: str) -> None:
    client = async_client(fake)
    fake.fail_after("chat.postMessage", drop=True)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await asyncio.wait_for(client.chat_postMessage(channel=channel, text="lost answer"), 5)
    assert [m.text for m in fake.channel(channel).messages] == ["lost answer"]
    [call] = fake.calls("chat.postMessage")
    assert call.done
    assert (call.dropped, call.applied, call.ok) == (True, True, False)
    assert (call.status, call.response, call.error) == (None, None, "connection_closed")
    assert call.suppressed_response is not None
    assert call.suppressed_response["ok"] is True
    # The server keeps serving; conversations.create too creates the channel it never confirms.
    fake.fail_after("conversations.create", drop=True)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await asyncio.wait_for(client.conversations_create(name="inc-dropped"), 5)
    assert fake.channel("inc-dropped").members == {fake.bot_user_id}
    with pytest.raises(SlackApiError) as retried:  # a blind retry finds the name taken
        await client.conversations_create(name="inc-dropped")
    assert retried.value.response["error"] == "name_taken"


async def test_fail_after_status_200_with_an_error(fake: FakeSlack, channel: str) -> None:
    client = async_client(fake)
    fake.fail_after("chat.postMessage", status=200, error="fatal_error")
    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel=channel, text="posted, then fatal_error")
    assert raised.value.response.status_code == 200
    assert raised.value.response.data == {"ok": False, "error": "fatal_error"}
    assert len(fake.channel(channel).find("posted, then fatal_error")) == 1
    [call] = fake.calls("chat.postMessage")
    assert (call.status, call.error, call.applied) == (200, "fatal_error", True)


def test_fail_after_where_matches_only_some_calls(
    fake: FakeSlack, client: WebClient, channel: str
) -> None:
    leadership = fake.channel_id("leadership")
    fake.fail_after("chat.postMessage", where=lambda args: args.get("channel") == leadership)
    client.chat_postMessage(channel=channel, text="not matched")
    failed = slack_error(lambda: client.chat_postMessage(channel=leadership, text="matched"))
    assert failed.response.status_code == 500
    client.chat_postMessage(channel=leadership, text="after")
    assert [m.text for m in fake.channel(channel).messages] == ["not matched"]
    assert [m.text for m in fake.channel(leadership).messages] == ["matched", "after"]
    calls = fake.calls("chat.postMessage")
    assert [(c.args["channel"], c.status, c.applied) for c in calls] == [
        (channel, 200, True),
        (leadership, 500, True),
        (leadership, 200, True),
    ]


def test_fail_after_waits_for_a_call_that_takes_effect(fake: FakeSlack, client: WebClient) -> None:
    """Rate-limited, refused and injected-failure calls change nothing: the fault stays."""
    fake.set_rate_limit("conversations.create", 1)
    client.conversations_create(name="inc-a")
    fake.fail_after("conversations.create", n=2, status=503, error="service_unavailable")
    assert slack_error(lambda: client.conversations_create(name="inc-b")).response.status_code == (
        429
    )
    fake.advance_time(61)
    fake.fail_next("conversations.create", status=500)
    assert slack_error(lambda: client.conversations_create(name="inc-b")).response["error"] == (
        "fatal_error"
    )
    fake.reset_rate_limits()
    assert slack_error(lambda: client.conversations_create(name="inc-a")).response["error"] == (
        "name_taken"
    )
    fake.reset_rate_limits()
    failed = slack_error(lambda: client.conversations_create(name="inc-b"))
    assert (failed.response.status_code, failed.response["error"]) == (503, "service_unavailable")
    assert "inc-b" in [c.name for c in fake.channels()]
    calls = fake.calls("conversations.create")
    assert [(c.status, c.error, c.applied) for c in calls] == [
        (200, None, True),
        (429, "ratelimited", False),
        (500, "fatal_error", False),
        (200, "name_taken", False),
        (503, "service_unavailable", True),
    ]


async def test_fail_after_on_a_held_call(fake: FakeSlack, channel: str) -> None:
    client = async_client(fake)
    hold = fake.hold("chat.postMessage")
    fake.fail_after("chat.postMessage", status=502)
    task = asyncio.create_task(client.chat_postMessage(channel=channel, text="held"))
    assert await hold.wait_arrived_async(5)
    assert fake.channel(channel).messages == []
    hold.release()
    with pytest.raises(SlackApiError) as raised:
        await task
    assert raised.value.response.status_code == 502
    assert [m.text for m in fake.channel(channel).messages] == ["held"]


def test_fail_after_response_url(fake: FakeSlack, channel: str) -> None:
    url = fake.new_response_url(user_id="U_ALICE", channel_id=channel)
    fake.fail_after("response_url")
    assert post_json(url, {"text": "seen anyway"}) == (
        500,
        {"ok": False, "error": "internal_error"},
    )
    assert [s.text for s in fake.seen_by("U_ALICE")] == ["seen anyway"]
    [call] = fake.calls("response_url")
    assert (call.status, call.applied) == (500, True)


# -- losing access, DMs, unknown users --


def test_remove_member_takes_the_bot_out_of_a_private_channel(
    fake: FakeSlack, client: WebClient
) -> None:
    private = fake.add_channel(name="sec-incident", private=True, members=["U_ALICE"])
    assert set(client.conversations_members(channel=private)["members"]) == {
        "U_ALICE",
        fake.bot_user_id,
    }
    fake.remove_member("sec-incident", fake.bot_user_id)
    assert fake.channel(private).members == {"U_ALICE"}
    for read in (
        lambda: client.conversations_members(channel=private),
        lambda: client.conversations_info(channel=private),
        lambda: client.conversations_history(channel=private),
    ):
        assert slack_error(read).response.data == {"ok": False, "error": "channel_not_found"}
    for write in (
        lambda: client.chat_postMessage(channel=private, text="still here?"),
        lambda: client.conversations_setTopic(channel=private, topic="x"),
    ):
        assert slack_error(write).response.data == {"ok": False, "error": "not_in_channel"}
    listed = client.conversations_list(types="private_channel")["channels"]
    assert private not in [c["id"] for c in listed]
    assert fake.channel(private).messages == []
    assert fake.violations == []


def test_remove_member_of_a_person_and_misuse(fake: FakeSlack, client: WebClient) -> None:
    channel = fake.channel_id("incident-response")
    fake.remove_member(channel, "U_BOB")
    assert "U_BOB" not in client.conversations_members(channel=channel)["members"]
    history = client.conversations_history(channel=channel)["messages"]
    assert (history[0]["subtype"], history[0]["user"]) == ("channel_leave", "U_BOB")
    with pytest.raises(ValueError, match="not a member"):
        fake.remove_member(channel, "U_BOB")
    client.chat_postMessage(channel="U_BOB", text="dm")
    with pytest.raises(ValueError, match="direct message"):
        fake.remove_member("U_BOB", fake.bot_user_id)


def test_dm_with_metadata_is_found_again_by_user_id(fake: FakeSlack, client: WebClient) -> None:
    assert fake.dms("U_ALICE") == []
    metadata = {"event_type": "page_sent", "event_payload": {"incident": 42, "round": 1}}
    first = client.chat_postMessage(channel="U_ALICE", text="you are paged", metadata=metadata)
    dm = first["channel"]
    assert dm.startswith("D")
    assert first["message"]["metadata"] == metadata
    second = client.chat_postMessage(channel="U_ALICE", text="reminder")["ts"]
    fake.post_as_user("U_ALICE", "U_ALICE", "on it")
    third = client.chat_postMessage(channel=dm, text="thanks")["ts"]

    opened = client.conversations_open(users="U_ALICE")
    assert opened["channel"]["id"] == dm
    assert opened["already_open"] is True
    history = client.conversations_history(channel=dm, include_all_metadata=True)
    assert [m["text"] for m in history["messages"]] == [
        "thanks",
        "on it",
        "reminder",
        "you are paged",
    ]
    found = [
        m for m in history["messages"] if m.get("metadata", {}).get("event_type") == "page_sent"
    ]
    assert [(m["ts"], m["metadata"]) for m in found] == [(first["ts"], metadata)]
    assert found[0]["bot_id"] == fake.bot_id
    assert history["has_more"] is False
    assert (history["channel_actions_ts"], history["channel_actions_count"]) == (None, 0)
    plain = client.conversations_history(channel=dm)["messages"]
    assert all("metadata" not in m for m in plain)

    after_first = client.conversations_history(channel=dm, oldest=first["ts"], limit=2)
    assert [m["ts"] for m in after_first["messages"]] == [third, after_first["messages"][1]["ts"]]
    assert [m["text"] for m in after_first["messages"]] == ["thanks", "on it"]
    assert after_first["has_more"] is True
    rest = client.conversations_history(
        channel=dm,
        oldest=first["ts"],
        limit=2,
        cursor=after_first["response_metadata"]["next_cursor"],
    )
    assert [m["ts"] for m in rest["messages"]] == [second]
    assert rest["has_more"] is False
    until = client.conversations_history(channel=dm, latest=second, inclusive=True, limit=1)
    assert [m["ts"] for m in until["messages"]] == [second]
    assert until["latest"] == second

    dms = fake.dms("U_ALICE")
    assert [m.text for m in dms] == ["you are paged", "reminder", "thanks"]
    assert dms[0].metadata == metadata
    assert all(m.channel == dm for m in dms)
    assert fake.dms("U_BOB") == []
    assert fake.violations == []


async def test_default_slack_sdk_retry_repeats_a_dropped_post(
    fake: FakeSlack, channel: str
) -> None:
    """slack_sdk's default AsyncConnectionErrorRetryHandler retries a dropped connection once:
    the retry succeeds, and the message is posted twice."""
    client = AsyncWebClient(base_url=fake.api_url, token=fake.bot_token)
    fake.fail_after("chat.postMessage", drop=True)
    assert (await client.chat_postMessage(channel=channel, text="twice"))["ok"] is True
    assert [m.text for m in fake.channel(channel).messages] == ["twice", "twice"]
    assert [(c.dropped, c.applied) for c in fake.calls("chat.postMessage")] == [
        (True, True),
        (False, True),
    ]
