"""Issue: request-level hardening, end to end against the real server.

Unsigned requests are refused before their body is read; signed garbage gets a one-line 400;
requests no listener handles and events of any type get a 200; none of it leaves an
error-level line (or a traceback) in the log.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any

from bot.templates import operations as ops
from bot.templates.incident import ACK_ACTION, UPDATE_ACTION
from sandbox.slack import FakeSlack
from tests.e2e.driver import Reply, SlackDriver, WarroomServer, fill_modal, sign, wait_for
from tests.e2e.incidents import db_rows, declare, open_declare_form, wait_provisioned

FORTY_DIGITS = "1234567890" * 4


def _errors(server: WarroomServer) -> list[str]:
    """Error-level lines and tracebacks in the server's log."""
    return [
        line
        for line in server.logs().splitlines()
        if '"level": "error"' in line or "Traceback" in line
    ]


def _events(server: WarroomServer, event: str) -> list[dict[str, Any]]:
    found = []
    for line in server.logs().splitlines():
        if f'"event": "{event}"' in line:
            found.append(json.loads(line))
    return found


def _form(**fields: str) -> bytes:
    return urllib.parse.urlencode(fields).encode()


def _payload(payload: object) -> bytes:
    return _form(payload=json.dumps(payload))


def _raw_post(server: WarroomServer, body: bytes, headers: Mapping[str, str]) -> Reply:
    """A POST with exactly these headers (the driver always adds Slack's)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    started = time.monotonic()
    try:
        connection.request("POST", "/slack/events", body=body, headers=dict(headers))
        response = connection.getresponse()
        data = response.read()
        return Reply(response.status, data, dict(response.getheaders()), time.monotonic() - started)
    finally:
        connection.close()


def _one_line_400(reply: Reply) -> str:
    assert reply.status == 400, (reply.status, reply.text)
    assert reply.headers.get("Content-Type", "").startswith("text/plain")
    reason = reply.text.strip()
    assert reason
    assert "\n" not in reason
    assert len(reason) < 120
    return reason


# -- A1: authenticity before anything else ---------------------------------------------------


# One server per test, several cases per test: each start costs about a second.


def test_unsigned_garbage_is_401_before_the_body_is_read(
    slack: SlackDriver, warroom: WarroomServer
) -> None:
    for body in (b"payload=%7Bnot", b"payload=null", b"[[[", b"\xff\xfe"):
        reply = slack.post(body, signature="v0=" + "0" * 64)
        assert reply.status == 401, body
        unsigned = _raw_post(warroom, body, {"Content-Type": "application/x-www-form-urlencoded"})
        assert unsigned.status == 401, body
    assert _errors(warroom) == []


def test_refusals_are_logged_once_a_minute_with_the_request_id(
    slack: SlackDriver, warroom: WarroomServer
) -> None:
    for _ in range(20):
        assert slack.post(b"payload=%7Bnot", signature="v0=" + "0" * 64).status == 401
    refused = _events(warroom, "request_refused")
    assert len(refused) == 1  # anyone can send these: the log is not theirs to fill
    assert refused[0]["level"] == "warning"
    assert refused[0]["request_id"]
    assert refused[0]["reason"] == "X-Slack-Signature does not match"


def test_missing_timestamp_is_401(
    slack: SlackDriver, fake: FakeSlack, warroom: WarroomServer
) -> None:
    body = _form(command="/incident", text="help", user_id="U_ALICE")
    signature = sign(fake.signing_secret, str(int(time.time())), body)
    reply = _raw_post(
        warroom,
        body,
        {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Signature": signature},
    )
    assert reply.status == 401
    assert fake.seen_by("U_ALICE") == []


def test_bad_timestamps_and_signatures_are_401_even_when_signed_with_them(
    slack: SlackDriver, fake: FakeSlack, warroom: WarroomServer
) -> None:
    body = _form(command="/incident", text="help", user_id="U_ALICE")
    now = int(time.time())
    # `int()` reads "+1700000000" and "1_700_000_000": Bolt alone accepted these.
    for timestamp in (f"+{now}", f"{now:_}", f"{now}.0", "abc", ""):
        reply = slack.post(
            body,
            headers={
                "X-Slack-Request-Timestamp": timestamp,
                "X-Slack-Signature": sign(fake.signing_secret, timestamp, body),
            },
        )
        assert reply.status == 401, timestamp
    for offset in (-301, 301, 86_400):  # more than five minutes away, either way
        assert slack.post(body, timestamp=now + offset).status == 401, offset
    # compare_digest refuses non-ASCII str: Bolt alone answered 500 with a traceback.
    assert slack.post(body, signature="v0=é" + "0" * 63).status == 401
    assert fake.seen_by("U_ALICE") == []
    assert _errors(warroom) == []


def test_slacks_unsigned_ssl_check_is_answered(warroom: WarroomServer) -> None:
    reply = _raw_post(
        warroom,
        _form(ssl_check="1", token="legacy"),
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert reply.status == 200
    # The exception is exact: anything else unsigned is still refused.
    smuggled = _raw_post(
        warroom,
        _form(ssl_check="1", command="/incident", text="help", user_id="U_ALICE"),
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert smuggled.status == 401


# -- A2: signed garbage gets a clear answer -------------------------------------------------

GARBAGE_FORMS = {
    "payload not JSON": b"payload=%7Bnot",
    "payload null": _form(payload="null"),
    "payload a list": _payload([1, 2]),
    "payload a string": _payload("block_actions"),
    "payload without type": _payload({"user": {"id": "U_ALICE"}}),
    "payload type not a string": _payload({"type": 7}),
    "block_actions without actions": _payload({"type": "block_actions", "actions": []}),
    "view_submission without view": _payload({"type": "view_submission", "view": "x"}),
    "deeply nested payload": _form(payload="[" * 100_000),
    "form that is nothing": _form(hello="world"),
    "empty body": b"",
    "not UTF-8": b"payload=\xff\xfe",
}
GARBAGE_JSON = {
    "JSON list": b"[1, 2]",
    "JSON string": b'"event_callback"',
    "JSON null": b"null",
    "not JSON": b"{not json",
    "no type": b'{"event": {"type": "app_mention"}}',
    "event not an object": b'{"type": "event_callback", "event": "app_mention"}',
}


def test_signed_garbage_gets_a_one_line_400_and_no_error_in_the_log(
    slack: SlackDriver, warroom: WarroomServer
) -> None:
    reasons: dict[str, str] = {}
    for name, body in GARBAGE_FORMS.items():
        reasons[name] = _one_line_400(slack.post(body))
    for name, body in GARBAGE_JSON.items():
        reasons[name] = _one_line_400(slack.post(body, content_type="application/json"))
    assert reasons["payload not JSON"] == "The payload is not valid JSON."
    assert reasons["JSON list"] == "The body is not a JSON object."
    refused = _events(warroom, "request_refused")
    assert len(refused) == len(reasons)  # signed: each one is worth its line
    assert all(line["level"] == "warning" and line["request_id"] for line in refused)
    assert _errors(warroom) == []


def test_a_slash_command_mentioning_payload_is_still_a_slash_command(
    slack: SlackDriver, warroom: WarroomServer
) -> None:
    # Bolt parses any form containing the word "payload" as an empty body (a 404 before).
    reply = slack.slash("U_ALICE", "payload broken")
    assert reply.status == 200
    assert "`payload`" in reply.json["text"]


def _interactive(user: str, fake: FakeSlack, **payload: Any) -> dict[str, Any]:
    return {
        "team": {"id": fake.team_id, "domain": "fake"},
        "user": {"id": user, "username": user.lower(), "team_id": fake.team_id},
        "api_app_id": "A_WARROOM",
        "trigger_id": fake.issue_trigger_id(user),
        **payload,
    }


UNHANDLED = [
    {
        "type": "block_actions",
        "actions": [{"action_id": "retired_button", "block_id": "b", "value": "1"}],
    },
    {"type": "shortcut", "callback_id": "retired_shortcut"},
    {
        "type": "message_action",
        "callback_id": "retired_message_shortcut",
        "channel": {"id": "C1"},
        "message": {"ts": "1.000001", "text": "x"},
    },
    {"type": "view_closed", "view": {"id": "V1", "type": "modal", "callback_id": "retired_modal"}},
    {"type": "block_suggestion", "action_id": "retired_select", "value": "x"},
]


def test_unhandled_interactivity_is_200_with_a_warning(
    slack: SlackDriver, fake: FakeSlack, warroom: WarroomServer
) -> None:
    for payload in UNHANDLED:
        reply = slack.post(_payload(_interactive("U_ALICE", fake, **payload)))
        assert (reply.status, reply.body) == (200, b""), (payload["type"], reply.text)
        assert reply.elapsed < 3
    unhandled = _events(warroom, "request_unhandled")
    assert [line["kind"] for line in unhandled] == [p["type"] for p in UNHANDLED]
    assert all(line["level"] == "warning" and line["request_id"] for line in unhandled)
    assert _errors(warroom) == []


def test_a_submitted_modal_nobody_handles_says_nothing_was_saved(
    slack: SlackDriver, fake: FakeSlack, warroom: WarroomServer
) -> None:
    # A modal opened before a deploy that renamed it: its callback_id is no longer served.
    _, view = open_declare_form(slack, fake, "U_ALICE")
    retired = {**view, "callback_id": "declare_incident_v0"}
    reply = slack.view_submission("U_ALICE", retired, fill_modal(view, {"Title": "Lost"}))
    assert reply.status == 200
    assert reply.json["response_action"] == "update"
    assert "nothing was saved" in json.dumps(reply.json["view"])
    fake.apply_view_ack(view["id"], reply.json)  # Slack accepts it (the fixture checks)
    assert _events(warroom, "request_unhandled")[0]["handler_id"] == "declare_incident_v0"
    assert _errors(warroom) == []


def test_an_unknown_slash_command_is_answered_privately(
    slack: SlackDriver, warroom: WarroomServer
) -> None:
    reply = slack.slash("U_ALICE", "help", command="/retired")
    assert reply.status == 200
    assert reply.json["response_type"] == "ephemeral"
    assert "/incident help" in reply.json["text"]


def test_buttons_with_impossible_incident_numbers_are_refused_cleanly(
    slack: SlackDriver, warroom: WarroomServer
) -> None:
    clicks = [
        (ACK_ACTION, FORTY_DIGITS),  # a Postgres integer overflow, or SQLite's OverflowError
        (ACK_ACTION, "²"),  # str.isdigit() says yes, int() says no
        (UPDATE_ACTION, FORTY_DIGITS),
        (ops.TAKE_ROLE_ACTION, json.dumps({"incident": int(FORTY_DIGITS), "role": "scribe"})),
    ]
    for action_id, value in clicks:
        reply = slack.block_action(
            "U_ALICE", {"action_id": action_id, "value": value}, channel="general"
        )
        assert reply.status == 200, action_id
    # The listeners run after the ack: wait for all of them to have refused.
    refused = wait_for(
        lambda: (
            len(_events(warroom, "click_refused")) == len(clicks)
            and _events(warroom, "click_refused")
        ),
        what="the refusals",
    )
    assert all(line["level"] == "warning" and line["request_id"] for line in refused)
    assert _errors(warroom) == []


# -- A2 + B4 on a real incident: its update modal ------------------------------------------


def _update_view(slack: SlackDriver, fake: FakeSlack, channel: str) -> dict[str, Any]:
    opened = len(fake.views("U_ALICE"))
    assert slack.slash("U_ALICE", "update", channel=channel).status == 200
    wait_for(lambda: len(fake.views("U_ALICE")) > opened, what="the update modal", timeout=5)
    view = next(
        v.payload for v in fake.views("U_ALICE") if v.payload["callback_id"] == ops.UPDATE_CALLBACK
    )
    return dict(view)


def test_update_modal_refuses_bad_metadata_and_bad_minutes_on_the_field(
    slack: SlackDriver, fake: FakeSlack, warroom: WarroomServer
) -> None:
    declare(slack, fake, "U_ALICE", {"Title": "Checkout failing", "Severity": "P2"})
    channel = wait_provisioned(fake, 1).id
    view = _update_view(slack, fake, channel)
    answers = {"Impact": "Checkout errors", "What is being done": "Rolling back"}

    def submit(metadata: str, minutes: str | None) -> dict[str, Any]:
        typed = {**answers, "Next update in (minutes)": minutes}
        reply = slack.view_submission(
            "U_ALICE", {**view, "private_metadata": metadata}, fill_modal(view, typed)
        )
        assert reply.status == 200, reply.text
        fake.apply_view_ack(view["id"], reply.json)  # every field error names a real input
        body: dict[str, Any] = reply.json or {}
        return body

    good = view["private_metadata"]
    for metadata in (
        json.dumps({"incident": int(FORTY_DIGITS), "channel": channel}),
        json.dumps({"incident": 0, "channel": channel}),
        json.dumps({"incident": True}),
        "{not json",
        "[]",
    ):
        answer = submit(metadata, "30")
        assert answer["response_action"] == "errors", metadata
        assert set(answer["errors"]) == {ops.STATUS_BLOCK}

    for minutes in ("0", "-5", "abc", "10081", "1.5", FORTY_DIGITS):
        answer = submit(good, minutes)
        assert answer == {
            "response_action": "errors",
            "errors": {ops.NEXT_UPDATE_BLOCK: answer["errors"][ops.NEXT_UPDATE_BLOCK]},
        }, minutes
        assert "10080" in answer["errors"][ops.NEXT_UPDATE_BLOCK]

    assert submit(good, "") == {}  # empty: the severity's cadence, and the update is posted
    wait_for(
        lambda: any("Update #1" in m.text for m in fake.channel(channel).messages),
        what="the update",
    )
    assert _errors(warroom) == []


# -- A3: every event is acknowledged, a retry is not dispatched again -------------------------


def test_events_of_any_type_are_acknowledged_within_three_seconds(
    slack: SlackDriver, warroom: WarroomServer
) -> None:
    for event_type in ("emoji_changed", "app_home_opened", "no_such_event", "reaction_added"):
        reply = slack.event({"type": event_type, "user": "U_ALICE"})
        assert reply.status == 200, (event_type, reply.status, reply.text)
        assert reply.elapsed < 3
    ignored = _events(warroom, "event_ignored")
    # A reaction that is not the timeline's (here: none at all) is dropped quietly: in a busy
    # workspace most reactions are not warroom's business, nor its log's.
    # app_home_opened has a listener (the App Home), which ignores events without a tab.
    assert [line["event_type"] for line in ignored] == ["emoji_changed", "no_such_event"]
    assert all(line["request_id"] for line in ignored)
    assert _errors(warroom) == []


def test_a_retried_event_is_acknowledged_and_not_dispatched_again(
    slack: SlackDriver, warroom: WarroomServer
) -> None:
    # warroom listens to member_joined_channel (bot/commands/membership.py).
    event = {"type": "member_joined_channel", "user": "U_BOB", "channel": "C_ELSEWHERE"}
    replies = [
        slack.event(event, event_id="Ev0RETRY1"),
        slack.event(event, event_id="Ev0RETRY1", retry_num=1),
        slack.event(event, event_id="Ev0RETRY1", retry_num=2, retry_reason="http_error"),
    ]
    assert [reply.status for reply in replies] == [200, 200, 200]
    assert all(reply.elapsed < 3 for reply in replies)
    gate = ("event_dispatched", "event_duplicate", "event_ignored")
    lines = [line for name in gate for line in _events(warroom, name)]
    seen = [
        (line["event"], line.get("retry_num"))
        for line in sorted(lines, key=lambda line: str(line["timestamp"]))
        if line.get("event_id") == "Ev0RETRY1"
    ]
    assert seen == [("event_dispatched", None), ("event_duplicate", "1"), ("event_duplicate", "2")]
    assert _errors(warroom) == []


# -- B: what people type --------------------------------------------------------------------

BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def test_invisible_titles_are_refused_and_bidi_controls_never_posted(
    slack: SlackDriver, fake: FakeSlack, warroom: WarroomServer
) -> None:
    blank = declare(
        slack, fake, "U_ALICE", {"Title": "\u200b\u202e \u2060\ufeff", "Severity": "P2"}
    )
    assert blank.submit_reply.json["response_action"] == "errors"
    assert blank.submit_reply.json["errors"] == {"title": "Give the incident a title."}
    fake.apply_view_ack(blank.view["id"], blank.submit_reply.json)

    # "INC-1 · ‮gnp.exe" would display reversed: stored and shown without the override.
    declare(slack, fake, "U_ALICE", {"Title": "\u202eCheckout\u202c down\u2066", "Severity": "P2"})
    channel = wait_provisioned(fake, 1)
    assert db_rows(warroom, "select title from incidents") == [("Checkout down",)]
    posted = json.dumps(
        [channel.topic, channel.purpose]
        + [[m.text, m.blocks] for c in fake.channels() for m in c.messages],
        ensure_ascii=False,
    )
    assert "Checkout down" in posted
    assert not set(posted) & set(BIDI)

    # A tab after the subcommand separates it like a space.
    assert (
        slack.slash("U_ALICE", "assign\ttech_lead <@U_BOB|bob>", channel=channel.id).status == 200
    )
    wait_for(
        lambda: any("Technical Lead" in m.text for m in fake.channel(channel.id).messages),
        what="the role line",
    )
    assert _errors(warroom) == []
