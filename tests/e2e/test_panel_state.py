"""The panel follows the incident: its buttons change with the status, and a click on a
button a stale panel still shows is answered with why, never with silence."""

from __future__ import annotations

import json
from typing import Any

from sandbox.slack import FakeSlack
from tests.e2e.driver import SlackDriver, WarroomServer, fill_modal, wait_for
from tests.e2e.incidents import (
    db_rows,
    declare,
    metadata_posts,
    opened_view,
    panel_messages,
    unsettled,
    wait_provisioned,
)


def _buttons(fake: FakeSlack, cid: str, ts: str) -> dict[str, dict[str, Any]]:
    blocks = fake.message(cid, ts).blocks or []
    return {
        element["action_id"]: element
        for block in blocks
        if block["type"] == "actions"
        for element in block["elements"]
    }


def _status(server: WarroomServer) -> str:
    return str(db_rows(server, "select status from incidents")[0][0])


def test_panel_buttons_follow_the_status(
    slack: SlackDriver, fake: FakeSlack, warroom: WarroomServer
) -> None:
    declare(slack, fake, "U_ALICE", {"Title": "Checkout failing", "Severity": "P2"})
    cid = wait_provisioned(fake, 1).id
    panel = panel_messages(fake.channel(cid))[0].ts
    stale_ack = _buttons(fake, cid, panel)["incident_ack"]

    slack.block_action("U_BOB", stale_ack, channel=cid, message_ts=panel)
    wait_for(lambda: "incident_ack" not in _buttons(fake, cid, panel), what="no Acknowledge")
    assert "Acknowledged by <@U_BOB>" in json.dumps(fake.message(cid, panel).blocks)

    # The same stale button again: a short private answer, nothing in the channel.
    before = len(fake.channel(cid).messages)
    slack.block_action("U_BOB", stale_ack, channel=cid, message_ts=panel)
    wait_for(
        lambda: any(
            "already acknowledged" in json.dumps(c.args) for c in fake.calls("response_url")
        ),
        what="the answer to the stale click",
    )
    assert len(fake.channel(cid).messages) == before

    slack.block_action("U_ALICE", _buttons(fake, cid, panel)["incident_resolve"], channel=cid)
    view = opened_view(fake, "U_ALICE", "incident_resolve")
    slack.view_submission("U_ALICE", view, fill_modal(view, {"Resolution summary": "Fixed"}))
    wait_for(
        lambda: (
            set(_buttons(fake, cid, panel))
            == {"incident_close", "incident_reopen", "incident_add_action"}
        ),
        what="Close and Reopen on the resolved panel",
    )

    slack.block_action("U_ALICE", _buttons(fake, cid, panel)["incident_close"], channel=cid)
    wait_for(lambda: _status(warroom) == "closed", what="closed from the panel")

    def announcement() -> str:
        (posted,) = metadata_posts(fake.channel("incident-response"), "announcement", 1)
        return json.dumps(posted.blocks) + posted.text

    wait_for(lambda: ":lock:" in announcement(), what="the announcement to read as closed")
    assert "Respond within" not in announcement()
    assert ":rotating_light:" not in announcement()
    wait_for(
        lambda: set(_buttons(fake, cid, panel)) == {"incident_reopen"},
        what="only Reopen on the closed panel",
    )
    slack.block_action("U_ALICE", _buttons(fake, cid, panel)["incident_reopen"], channel=cid)
    wait_for(lambda: _status(warroom) == "investigating", what="reopened from the panel")
    wait_for(lambda: "incident_resolve" in _buttons(fake, cid, panel), what="Resolve again")


def test_a_second_acknowledgement_is_told_privately_and_self_assignment_sends_no_dm(
    slack: SlackDriver, fake: FakeSlack, warroom: WarroomServer
) -> None:
    declare(slack, fake, "U_ALICE", {"Title": "Checkout failing", "Severity": "P2"})
    cid = wait_provisioned(fake, 1).id
    assert slack.slash("U_BOB", "ack", channel=cid).status == 200
    wait_for(
        lambda: any("acknowledged" in m.text for m in fake.channel(cid).messages),
        what="the first acknowledgement in the channel",
    )
    posted = len(fake.channel(cid).messages)
    reply = slack.slash("U_ALICE", "ack", channel=cid)
    assert "already acknowledged by <@U_BOB>" in reply.json["text"]
    assert reply.json["response_type"] == "ephemeral"
    kinds = "select kind from timeline_events where kind like 'acknowledged%' order by id"
    assert db_rows(warroom, kinds) == [("acknowledged",), ("acknowledged_again",)]

    slack.slash("U_ALICE", "assign scribe <@U_ALICE|alice>", channel=cid)
    wait_for(
        lambda: any("Scribe" in m.text for m in fake.channel(cid).messages),
        what="the assignment in the channel",
    )
    assert len(fake.channel(cid).messages) == posted + 1  # the role line, no "also acked" post
    assert [m for m in fake.dms("U_ALICE") if "Scribe" in m.text] == []


def test_declaring_from_a_message_keeps_its_link_visible_and_working(
    slack: SlackDriver, fake: FakeSlack, warroom: WarroomServer
) -> None:
    general = fake.channel_id("general")
    ts = fake.post_as_user(
        general, "U_BOB", "Errors at <https://grafana.example/d/abc|dashboard> <!channel>"
    )
    assert (
        slack.message_shortcut(
            "U_ALICE", "declare_incident_from_message", channel=general, message_ts=ts
        ).status
        == 200
    )
    view = opened_view(fake, "U_ALICE", "declare_incident")
    prefilled = json.dumps(view)
    assert "dashboard (https://grafana.example/d/abc)" in prefilled
    assert "<!channel>" not in prefilled
    values = fill_modal(view, {"Title": "Errors on the dashboard", "Severity": "P2"})
    assert slack.view_submission("U_ALICE", view, values).status == 200
    cid = wait_provisioned(fake, 1).id
    panel = panel_messages(fake.channel(cid))[0]
    assert "<https://grafana.example/d/abc>" in json.dumps(fake.message(cid, panel.ts).blocks)


def test_a_notified_channel_hears_each_move_once_in_its_thread(
    slack: SlackDriver, fake: FakeSlack, warroom: WarroomServer
) -> None:
    """#leadership follows P1: declared P1 it gets the announcement; P1 → P2 it hears once that
    it was lowered (and no more); P2 → P1 it hears it is back; the resolution it hears too; all
    threaded under its first message, one each."""
    declare(slack, fake, "U_ALICE", {"Title": "Payments down", "Severity": "P1"})
    cid = wait_provisioned(fake, 1).id
    leadership = fake.channel_id("leadership")
    wait_for(lambda: fake.channel(leadership).messages, what="the announcement in #leadership")

    def replies() -> list[str]:
        (first,) = fake.channel(leadership).messages
        return [reply.text for reply in fake.message(leadership, first.ts).replies]

    assert slack.slash("U_ALICE", "severity P2", channel=cid).status == 200
    wait_for(lambda: len(replies()) == 1, what="#leadership told of the downgrade")
    assert "now P2" in replies()[0]
    assert "lowered" in replies()[0]
    assert slack.slash("U_ALICE", "update", channel=cid).status == 200
    view = opened_view(fake, "U_ALICE", "incident_update")
    slack.view_submission(
        "U_ALICE",
        view,
        fill_modal(view, {"Impact": "Card payments fail", "What is being done": "Failing over"}),
    )
    wait_for(
        lambda: (
            _status(warroom) == "investigating"
            and db_rows(warroom, "select update_count from incidents")[0][0] == 1
        ),
        what="the update",
    )
    assert slack.slash("U_ALICE", "severity P1", channel=cid).status == 200
    wait_for(lambda: len(replies()) == 2, what="#leadership told it is P1 again")
    assert "now P1" in replies()[1]
    assert "raised" in replies()[1]

    slack.slash("U_ALICE", "resolve", channel=cid)
    view = opened_view(fake, "U_ALICE", "incident_resolve")
    slack.view_submission("U_ALICE", view, fill_modal(view, {"Resolution summary": "Failed over"}))
    wait_for(lambda: len(replies()) == 3, what="#leadership told of the resolution")
    assert "resolved" in replies()[2]
    wait_for(lambda: unsettled(warroom) == 0, what="every job done")
    assert len(fake.channel(leadership).messages) == 1  # never a second first message
    assert len(replies()) == 3
    # The announcement and the panel show the latest update's impact.
    (announcement,) = metadata_posts(fake.channel("incident-response"), "announcement", 1)
    assert "Card payments fail" in json.dumps(announcement.blocks)
    assert "Update #1" in json.dumps(announcement.blocks)
    panel = panel_messages(fake.channel(cid))[0]
    assert "Card payments fail" in json.dumps(fake.message(cid, panel.ts).blocks)
