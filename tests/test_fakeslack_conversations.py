"""The fake Slack: auth, request formats, and conversations.* rules, driven through slack_sdk."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sandbox.slack import FakeSlack


def slack_error(call: Callable[[], Any]) -> dict[str, Any]:
    """The body of the Slack error `call()` raises."""
    with pytest.raises(SlackApiError) as raised:
        call()
    return dict(raised.value.response.data)


def rules(fake: FakeSlack) -> list[str]:
    return [v.rule for v in fake.take_violations()]


# -- auth, methods, arguments --


def test_auth_test_identifies_the_bot(fake: FakeSlack, client: WebClient) -> None:
    data = client.auth_test().data
    assert isinstance(data, dict)
    assert data["user_id"] == fake.bot_user_id
    assert data["bot_id"] == fake.bot_id
    assert data["team_id"] == fake.team_id
    assert fake.api_url.endswith("/api/")
    assert fake.api_url.startswith(fake.base_url)
    assert fake.bot_token.startswith("xoxb-fake-")
    assert fake.violations == []


def test_wrong_or_missing_token_is_refused(fake: FakeSlack) -> None:
    wrong = WebClient(base_url=fake.api_url, token="xoxb-not-the-bot")
    assert slack_error(wrong.auth_test)["error"] == "invalid_auth"
    anonymous = WebClient(base_url=fake.api_url)
    assert slack_error(anonymous.auth_test)["error"] == "not_authed"
    assert rules(fake) == ["auth", "auth"]


def test_unknown_method_is_refused_and_recorded(fake: FakeSlack, client: WebClient) -> None:
    body = slack_error(lambda: client.api_call("chat.postMesage", json={"channel": "C1"}))
    assert body["error"] == "unknown_method"
    [violation] = fake.take_violations()
    assert (violation.method, violation.rule) == ("chat.postMesage", "unknown_method")
    assert violation.call_index == fake.calls("chat.postMesage")[0].index


def test_required_arguments_follow_the_methods_reference(
    fake: FakeSlack, client: WebClient
) -> None:
    channel = fake.channel_id("incident-response")
    body = slack_error(lambda: client.api_call("conversations.setTopic", json={"channel": channel}))
    assert body["error"] == "invalid_arguments"
    assert body["response_metadata"]["messages"] == ["[ERROR] missing required field: topic"]
    body = slack_error(lambda: client.api_call("conversations.invite", json={"channel": channel}))
    assert body["error"] == "no_user"
    body = slack_error(lambda: client.api_call("chat.postMessage", json={"text": "hi"}))
    assert body["error"] == "channel_not_found"
    assert rules(fake) == ["missing_argument"] * 3
    assert fake.channel(channel).topic == ""


def test_form_json_and_query_arguments_are_all_understood(
    fake: FakeSlack, client: WebClient
) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*form*"}}]
    channel = fake.channel_id("incident-response")
    form = client.api_call(
        "chat.postMessage",
        data={"channel": channel, "text": "form", "blocks": json.dumps(blocks)},
    )
    as_json = client.api_call(
        "chat.postMessage", json={"channel": channel, "text": "json", "blocks": blocks}
    )
    query = client.api_call("conversations.info", http_verb="GET", params={"channel": channel})
    assert query["channel"]["name"] == "incident-response"
    for response in (form, as_json):
        assert fake.message(channel, response["ts"]).blocks == blocks
    assert fake.calls("chat.postMessage")[0].args["blocks"] == blocks  # JSON string decoded
    assert fake.violations == []


# -- names, topic, purpose --


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("Inc-1", "invalid_name_specials"),
        ("inc 1", "invalid_name_specials"),
        ("inc.1", "invalid_name_specials"),
        ("a" * 81, "invalid_name_maxlength"),
        ("", "invalid_name_required"),
        ("---", "invalid_name_punctuation"),
    ],
)
def test_bad_channel_names_are_refused(
    fake: FakeSlack, client: WebClient, name: str, error: str
) -> None:
    body = slack_error(lambda: client.api_call("conversations.create", json={"name": name}))
    assert body["error"] == error
    assert rules(fake) == ["channel_name"]
    assert all(ch.name != name for ch in fake.channels())


def test_good_channel_names_are_accepted_and_duplicates_are_name_taken(
    fake: FakeSlack, client: WebClient
) -> None:
    for name in ("inc-2024-01-01_db", "a" * 80, "42"):
        created = client.conversations_create(name=name)["channel"]
        assert created["name"] == name
        assert created["id"].startswith("C")
        assert fake.bot_user_id in fake.channel(created["id"]).members
    assert slack_error(lambda: client.conversations_create(name="42"))["error"] == "name_taken"
    assert slack_error(lambda: client.conversations_create(name="general"))["error"] == (
        "name_taken"
    )
    private = client.conversations_create(name="inc-secret", is_private=True)["channel"]
    assert private["id"].startswith("G")
    assert private["is_private"] is True
    assert fake.violations == []  # name_taken is a normal answer, not a rule break


def test_topic_and_purpose_are_capped_at_250(fake: FakeSlack, client: WebClient) -> None:
    channel = fake.channel_id("incident-response")
    client.conversations_setTopic(channel=channel, topic="t" * 250)
    client.conversations_setPurpose(channel=channel, purpose="p" * 250)
    view = fake.channel(channel)
    assert (view.topic, view.purpose) == ("t" * 250, "p" * 250)
    assert (
        slack_error(lambda: client.conversations_setTopic(channel=channel, topic="t" * 251))[
            "error"
        ]
        == "too_long"
    )
    too_long = slack_error(
        lambda: client.conversations_setPurpose(channel=channel, purpose="x" * 251)
    )
    assert too_long["error"] == "too_long"
    assert rules(fake) == ["topic_length", "purpose_length"]
    assert fake.channel(channel).topic == "t" * 250


# -- membership --


def test_invite_rules(fake: FakeSlack, client: WebClient) -> None:
    channel = client.conversations_create(name="inc-invite")["channel"]["id"]
    client.conversations_invite(channel=channel, users=["U_BOB"])
    assert (
        slack_error(lambda: client.conversations_invite(channel=channel, users="U_BOB"))["error"]
        == "already_in_channel"
    )
    # One member among the invitees fails the whole call; nobody is invited.
    mixed = slack_error(lambda: client.conversations_invite(channel=channel, users="U_BOB,U_CAROL"))
    assert mixed["error"] == "already_in_channel"
    assert mixed["errors"][0] == {"user": "U_BOB", "ok": False, "error": "already_in_channel"}
    assert "U_CAROL" not in fake.channel(channel).members
    # force=true invites the valid ones and reports the others.
    forced = client.conversations_invite(channel=channel, users="U_BOB,U_CAROL", force=True)
    assert forced["errors"][0]["user"] == "U_BOB"
    assert {"U_BOB", "U_CAROL"} <= fake.channel(channel).members
    assert (
        slack_error(lambda: client.conversations_invite(channel=channel, users=fake.bot_user_id))[
            "error"
        ]
        == "cant_invite_self"
    )
    assert (
        slack_error(lambda: client.conversations_invite(channel=channel, users="U_NOPE"))["error"]
        == "user_not_found"
    )
    assert fake.violations == []
    many = [f"U_X{i}" for i in range(101)]
    assert (
        slack_error(lambda: client.conversations_invite(channel=channel, users=many))["error"]
        == "too_many_users"
    )
    assert rules(fake) == ["invite_max_users"]


def test_private_channels_the_bot_is_not_in(fake: FakeSlack, client: WebClient) -> None:
    secret = fake.add_channel(name="secret", private=True, members=["U_ALICE"], bot_member=False)
    post = slack_error(lambda: client.chat_postMessage(channel=secret, text="hi"))
    assert post["error"] == "not_in_channel"
    assert slack_error(lambda: client.conversations_info(channel=secret))["error"] == (
        "channel_not_found"
    )
    assert slack_error(lambda: client.conversations_join(channel=secret))["error"] == (
        "channel_not_found"
    )
    listed = client.conversations_list(types="private_channel")["channels"]
    assert secret not in [c["id"] for c in listed]
    assert fake.channel(secret).messages == []


def test_public_channels_the_bot_is_not_in(fake: FakeSlack, client: WebClient) -> None:
    general = fake.channel_id("general")
    assert fake.bot_user_id not in fake.channel(general).members
    client.chat_postMessage(channel="#general", text="chat:write.public lets the bot post")
    assert (
        slack_error(lambda: client.conversations_setTopic(channel=general, topic="x"))["error"]
        == "not_in_channel"
    )
    assert slack_error(lambda: client.conversations_history(channel=general))["error"] == (
        "not_in_channel"
    )
    joined = client.conversations_join(channel=general)
    assert joined["channel"]["is_member"] is True
    assert "warning" not in joined
    again = client.conversations_join(channel=general)
    assert again["warning"] == "already_in_channel"
    texts = [m["text"] for m in client.conversations_history(channel=general)["messages"]]
    assert "chat:write.public lets the bot post" in texts


def test_archived_channels(fake: FakeSlack, client: WebClient) -> None:
    channel = client.conversations_create(name="inc-old")["channel"]["id"]
    client.conversations_archive(channel=channel)
    assert fake.channel(channel).is_archived
    for call in (
        lambda: client.chat_postMessage(channel=channel, text="late"),
        lambda: client.conversations_invite(channel=channel, users="U_BOB"),
        lambda: client.conversations_setTopic(channel=channel, topic="x"),
    ):
        assert slack_error(call)["error"] == "is_archived"
    assert slack_error(lambda: client.conversations_archive(channel=channel))["error"] == (
        "already_archived"
    )
    client.conversations_unarchive(channel=channel)
    assert slack_error(lambda: client.conversations_unarchive(channel=channel))["error"] == (
        "not_archived"
    )
    general = fake.channel_id("general")
    client.conversations_join(channel=general)
    assert slack_error(lambda: client.conversations_archive(channel=general))["error"] == (
        "cant_archive_general"
    )


def test_kick_and_rename(fake: FakeSlack, client: WebClient) -> None:
    channel = client.conversations_create(name="inc-kick")["channel"]["id"]
    client.conversations_invite(channel=channel, users="U_BOB")
    client.conversations_kick(channel=channel, user="U_BOB")
    assert "U_BOB" not in fake.channel(channel).members
    assert (
        slack_error(lambda: client.conversations_kick(channel=channel, user="U_BOB"))["error"]
        == "not_in_channel"
    )
    assert (
        slack_error(lambda: client.conversations_kick(channel=channel, user=fake.bot_user_id))[
            "error"
        ]
        == "cant_kick_self"
    )
    renamed = client.conversations_rename(channel=channel, name="inc-kick-resolved")["channel"]
    assert renamed["name"] == "inc-kick-resolved"
    assert fake.channel(channel).previous_names == ["inc-kick"]
    assert (
        slack_error(lambda: client.conversations_rename(channel=channel, name="general"))["error"]
        == "name_taken"
    )
    assert (
        slack_error(lambda: client.conversations_rename(channel=channel, name="Bad Name"))["error"]
        == "invalid_name_specials"
    )
    assert rules(fake) == ["channel_name"]


def test_conversations_list_types_and_pagination(fake: FakeSlack, client: WebClient) -> None:
    fake.set_rate_limits(False)
    for i in range(5):
        fake.add_channel(name=f"extra-{i}")
    fake.add_channel(name="mine-private", private=True)
    fake.add_channel(name="not-mine", private=True, bot_member=False)
    names: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = client.conversations_list(limit=3, cursor=cursor)
        names += [c["name"] for c in page["channels"]]
        pages += 1
        cursor = page["response_metadata"]["next_cursor"]
        if not cursor:
            break
    assert pages == 3
    assert sorted(names) == sorted(
        ["general", "incident-response", "leadership"] + [f"extra-{i}" for i in range(5)]
    )
    private = client.conversations_list(types="private_channel")["channels"]
    assert [c["name"] for c in private] == ["mine-private"]
    fake.archive_channel("extra-0")
    live = client.conversations_list(exclude_archived=True, limit=100)["channels"]
    assert "extra-0" not in [c["name"] for c in live]
    assert slack_error(lambda: client.conversations_list(cursor="bm90LWEtY3Vyc29y"))["error"] == (
        "invalid_cursor"
    )
    assert slack_error(lambda: client.conversations_list(types="rooms"))["error"] == (
        "invalid_types"
    )
    mine = client.users_conversations(types="public_channel,private_channel")["channels"]
    assert {c["name"] for c in mine} == {
        "incident-response",
        "leadership",
        "mine-private",
        *(f"extra-{i}" for i in range(5)),
    }
    assert "general" not in {c["name"] for c in mine}  # the bot is not in #general


def test_members_are_paged(fake: FakeSlack, client: WebClient) -> None:
    channel = fake.channel_id("incident-response")
    first = client.conversations_members(channel=channel, limit=4)
    rest = client.conversations_members(
        channel=channel, limit=4, cursor=first["response_metadata"]["next_cursor"]
    )
    assert rest["response_metadata"]["next_cursor"] == ""
    assert set(first["members"] + rest["members"]) == fake.channel(channel).members


def test_history_replies_and_metadata(fake: FakeSlack, client: WebClient) -> None:
    channel = fake.channel_id("incident-response")
    metadata = {"event_type": "incident_declared", "event_payload": {"id": 7}}
    parent = client.chat_postMessage(channel=channel, text="parent", metadata=metadata)["ts"]
    client.chat_postMessage(channel=channel, text="quiet reply", thread_ts=parent)
    client.chat_postMessage(channel=channel, text="loud", thread_ts=parent, reply_broadcast=True)
    last = client.chat_postMessage(channel=channel, text="last")["ts"]

    history = client.conversations_history(channel=channel)["messages"]
    assert [m["text"] for m in history] == ["last", "loud", "parent"]  # newest first
    assert all("metadata" not in m for m in history)
    assert history[2]["reply_count"] == 2
    with_meta = client.conversations_history(channel=channel, include_all_metadata=True)
    assert with_meta["messages"][2]["metadata"] == metadata

    page = client.conversations_history(channel=channel, limit=2)
    assert page["has_more"] is True
    older = client.conversations_history(
        channel=channel, limit=2, cursor=page["response_metadata"]["next_cursor"]
    )
    assert [m["text"] for m in older["messages"]] == ["parent"]
    window = client.conversations_history(channel=channel, oldest=parent, latest=last)
    assert [m["text"] for m in window["messages"]] == ["loud"]
    inclusive = client.conversations_history(channel=channel, oldest=parent, inclusive=True)
    assert [m["text"] for m in inclusive["messages"]] == ["last", "loud", "parent"]

    thread = client.conversations_replies(channel=channel, ts=parent)["messages"]
    assert [m["text"] for m in thread] == ["parent", "quiet reply", "loud"]
    assert (
        slack_error(lambda: client.conversations_replies(channel=channel, ts="1.000001"))["error"]
        == "thread_not_found"
    )
    view = fake.channel(channel)
    assert [m.text for m in view.messages] == ["parent", "loud", "last"]
    assert [r.text for r in view.messages[0].replies] == ["quiet reply", "loud"]


def test_system_messages_appear_in_history_only(fake: FakeSlack, client: WebClient) -> None:
    channel = client.conversations_create(name="inc-sys")["channel"]["id"]
    client.conversations_setTopic(channel=channel, topic="SEV1")
    subtypes = [m.get("subtype") for m in client.conversations_history(channel=channel)["messages"]]
    assert subtypes == ["channel_topic", "channel_join"]
    assert fake.channel(channel).messages == []


def test_dms_by_user_id_and_conversations_open(fake: FakeSlack, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="U_BOB", text="you are paged")
    assert posted["channel"].startswith("D")
    opened = client.conversations_open(users="U_BOB")
    assert opened["channel"]["id"] == posted["channel"]
    assert opened["already_open"] is True
    fresh = client.conversations_open(users=["U_CAROL"], return_im=True)["channel"]
    assert fresh["is_im"] is True
    assert fresh["user"] == "U_CAROL"
    group = client.conversations_open(users="U_CAROL,U_DAVE")["channel"]["id"]
    assert fake.channel(group).is_mpim
    assert slack_error(lambda: client.conversations_open(users="U_GHOST"))["error"] == (
        "user_not_found"
    )
    assert slack_error(lambda: client.api_call("conversations.open", json={}))["error"] == (
        "users_list_not_supplied"
    )
    seen = fake.seen_by("U_BOB")
    assert [(s.kind, s.text, s.channel) for s in seen] == [
        ("dm", "you are paged", posted["channel"])
    ]
    assert fake.channel("U_BOB").id == posted["channel"]


def test_users_and_usergroups(fake: FakeSlack, client: WebClient) -> None:
    alice = client.users_info(user="U_ALICE")["user"]
    assert alice["tz"] == "Europe/Paris"
    assert alice["name"] == "alice"
    assert isinstance(alice["tz_offset"], int)
    assert client.users_lookupByEmail(email="carol@example.com")["user"]["id"] == "U_CAROL"
    assert slack_error(lambda: client.users_lookupByEmail(email="x@example.com"))["error"] == (
        "users_not_found"
    )
    assert slack_error(lambda: client.users_info(user="U_GHOST")) == {
        "ok": False,
        "error": "user_not_found",
    }
    ids = {u["id"] for u in client.users_list()["members"]}
    assert {"U_ALICE", "U_BOB", "U_CAROL", "U_DAVE", "U_ERIN", "U_BACKUP"} <= ids
    assert fake.bot_user_id in ids
    groups = {g["handle"]: g for g in client.usergroups_list(include_users=True)["usergroups"]}
    assert groups["oncall"]["users"] == ["U_BOB", "U_CAROL"]
    assert groups["backup-oncall"]["id"] == "S_BACKUP"
    assert client.usergroups_users_list(usergroup="S_SECURITY")["users"] == ["U_ERIN"]
    assert slack_error(lambda: client.usergroups_users_list(usergroup="S_NOPE"))["error"] == (
        "no_such_subteam"
    )
    fake.add_user(id="U_FRANK", name="frank", tz="Australia/Sydney")
    assert client.users_info(user="U_FRANK")["user"]["tz"] == "Australia/Sydney"
