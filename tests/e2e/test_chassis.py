"""Issue: chassis — `/incident help`, request verification and health, end to end."""

from __future__ import annotations

import json
import time
import urllib.parse

from sandbox.slack import FakeSlack
from tests.e2e.driver import SlackDriver, WarroomServer


def _help_form(fake: FakeSlack) -> bytes:
    channel_id = fake.channel_id("general")
    return urllib.parse.urlencode(
        {
            "command": "/incident",
            "text": "help",
            "user_id": "U_ALICE",
            "channel_id": channel_id,
            "team_id": fake.team_id,
            "response_url": fake.new_response_url(user_id="U_ALICE", channel_id=channel_id),
            "trigger_id": fake.issue_trigger_id("U_ALICE"),
        }
    ).encode()


def test_healthz_is_200_when_the_database_answers(warroom: WarroomServer) -> None:
    assert warroom.healthz() == 200


def test_start_up_checks_the_token_against_the_configured_api_url(
    warroom: WarroomServer, fake: FakeSlack
) -> None:
    assert [call.ok for call in fake.calls("auth.test")] == [True]


def test_help_is_answered_within_three_seconds_listing_every_subcommand(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    reply = slack.slash("U_ALICE", "help")
    assert reply.status == 200
    assert reply.elapsed < 3.0
    body = reply.json
    assert body["response_type"] == "ephemeral"
    for word in (
        "help",
        "declare",
        "update",
        "status",
        "severity",
        "assign",
        "ack",
        "note",
        "action",
        "resolve",
        "close",
        "timeline",
        "postmortem",
        "list",
        "stats",
        "drill",
    ):
        assert f"/incident {word}" in body["text"], word
    # The user saw exactly that answer, privately.
    seen = fake.seen_by("U_ALICE")
    assert [s.kind for s in seen] == ["ack"]
    assert fake.seen_by("U_BOB") == []


def test_unknown_subcommand_is_named_and_help_follows(slack: SlackDriver) -> None:
    reply = slack.slash("U_ALICE", "frobnicate now")
    body = reply.json
    assert reply.status == 200
    assert body["response_type"] == "ephemeral"
    assert "`frobnicate`" in body["text"]
    assert "/incident help" in body["text"]


def test_unknown_subcommand_text_is_escaped(slack: SlackDriver) -> None:
    reply = slack.slash("U_ALICE", "<!channel>")
    assert "<!channel>" not in reply.text
    assert "&lt;!channel&gt;" in reply.json["text"]


def test_wrong_signature_is_refused_without_side_effects(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    calls_before = len(fake.calls())
    reply = slack.post(_help_form(fake), signature="v0=" + "0" * 64)
    assert reply.status == 401
    assert len(fake.calls()) == calls_before
    assert fake.seen_by("U_ALICE") == []


def test_stale_timestamp_is_refused_without_side_effects(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    calls_before = len(fake.calls())
    # Correctly signed, but ten minutes old: a replayed request.
    reply = slack.post(_help_form(fake), timestamp=int(time.time()) - 600)
    assert reply.status == 401
    assert len(fake.calls()) == calls_before
    assert fake.seen_by("U_ALICE") == []


def test_sigterm_stops_the_server_cleanly(warroom: WarroomServer) -> None:
    assert warroom.stop() == 0
    assert warroom.healthz() is None


def test_url_verification_challenge_is_answered(slack: SlackDriver) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "c-123", "token": "t"}).encode()
    reply = slack.post(body, content_type="application/json")
    assert reply.status == 200
    assert "c-123" in reply.text
