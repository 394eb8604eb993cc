"""Running an incident end to end: roles, ack, updates, severity, resolve, close, refusals."""

from __future__ import annotations

import json
import time
import weakref
from typing import Any

from sandbox.slack import FakeSlack
from sandbox.slack.records import ChannelView
from tests.e2e.driver import Reply, SlackDriver, WarroomServer, fill_modal, wait_for
from tests.e2e.incidents import db_rows, declare, metadata_posts, panel_messages, wait_provisioned


def _latest_view(fake: FakeSlack, user: str, callback_id: str) -> dict[str, Any]:
    """The newest `callback_id` modal opened for `user` that has not been submitted yet."""

    def find() -> dict[str, Any] | None:
        for view in fake.views(user):
            payload = view.payload
            submitted = _SUBMITTED.setdefault(fake, set())
            if payload.get("callback_id") == callback_id and payload["id"] not in submitted:
                return dict(payload)
        return None

    found: dict[str, Any] = wait_for(find, what=f"the {callback_id} modal", timeout=5)
    return found


# View ids each fake Slack has seen submitted: a new form is never mistaken for the last one.
_SUBMITTED: weakref.WeakKeyDictionary[FakeSlack, set[str]] = weakref.WeakKeyDictionary()


def _texts(channel: ChannelView) -> list[str]:
    """What the bot said in the channel, the (edited) panel left out."""
    panels = {m.ts for m in panel_messages(channel)}
    return [m.text for m in channel.messages if m.ts not in panels]


def _ephemeral_text(reply: Reply) -> str:
    assert reply.status == 200, reply.text
    body = reply.json
    assert body["response_type"] == "ephemeral", body
    return str(body["text"])


def _submit(
    slack: SlackDriver, fake: FakeSlack, user: str, callback_id: str, answers: dict[str, Any]
) -> tuple[Reply, dict[str, Any], dict[str, Any]]:
    view = _latest_view(fake, user, callback_id)
    values = fill_modal(view, answers)
    reply = slack.view_submission(user, view, values)
    _SUBMITTED.setdefault(fake, set()).add(view["id"])
    assert reply.status == 200, reply.text
    return reply, view, values


def _declare_p2(slack: SlackDriver, fake: FakeSlack) -> ChannelView:
    declare(slack, fake, "U_ALICE", {"Title": "Checkout failing", "Severity": "P2"})
    return wait_provisioned(fake, 1)


def _status(server: WarroomServer) -> str:
    return str(db_rows(server, "select status from incidents where number = 1")[0][0])


def test_full_incident_run(slack: SlackDriver, fake: FakeSlack, warroom: WarroomServer) -> None:
    channel = _declare_p2(slack, fake)
    cid = channel.id
    (panel,) = panel_messages(channel)

    # Roles by command (the declarer is the commander, who may assign).
    assert slack.slash("U_ALICE", "assign tech_lead <@U_BOB|bob>", channel=cid).status == 200
    assert slack.slash("U_ALICE", "assign <@U_CAROL> scribe", channel=cid).status == 200
    wait_for(lambda: any("Scribe" in t for t in _texts(fake.channel(cid))), what="scribe line")
    assert any("Technical Lead" in t for t in _texts(fake.channel(cid)))
    bob_dm = wait_for(lambda: [s for s in fake.seen_by("U_BOB") if s.kind == "dm"], what="DM")
    assert "Technical Lead" in (bob_dm[-1].text or "")

    # The commander by the panel's "Assign roles" modal.
    slack.block_action(
        "U_ALICE",
        {"action_id": "incident_assign_roles", "value": "1", "type": "button"},
        channel=cid,
        message_ts=panel.ts,
    )
    _submit(slack, fake, "U_ALICE", "incident_assign_roles", {"Incident Commander": "U_DAVE"})
    wait_for(lambda: "IC <@U_DAVE>" in fake.channel(cid).topic, what="the new IC in the topic")
    assert "U_DAVE" in fake.channel(cid).members

    # Acknowledge.
    assert slack.slash("U_BOB", "ack", channel=cid).status == 200
    wait_for(lambda: any("acknowledged" in t for t in _texts(fake.channel(cid))), what="ack")
    assert db_rows(warroom, "select acknowledged_by from incidents") == [("U_BOB",)]

    # Updates: investigating, then identified.
    for number, status in ((1, "Investigating"), (2, "Identified")):
        assert slack.slash("U_DAVE", "update", channel=cid).status == 200
        _submit(
            slack,
            fake,
            "U_DAVE",
            "incident_update",
            {
                "Status": status,
                "Impact": f"Checkout errors for 20% of users ({number})",
                "What is being done": "Rolling back deploy 42",
                "Next update in (minutes)": "20",
            },
        )
        wait_for(
            lambda number=number: any(f"Update #{number}" in t for t in _texts(fake.channel(cid))),
            what=f"update #{number}",
        )
    wait_for(
        lambda: fake.channel(cid).topic == "P2 · Identified · IC <@U_DAVE>",
        what="the topic to show the new status",
    )
    assert _status(warroom) == "identified"

    # Severity up to P1: #leadership is told once, even if it goes down and up again.
    assert slack.slash("U_DAVE", "severity P1", channel=cid).status == 200
    wait_for(lambda: fake.channel(cid).topic.startswith("P1 · "), what="the P1 topic")
    wait_for(lambda: fake.channel("leadership").messages, what="the leadership notice")
    assert slack.slash("U_DAVE", "severity P2", channel=cid).status == 200
    assert slack.slash("U_DAVE", "severity P1", channel=cid).status == 200
    wait_for(lambda: fake.channel(cid).topic.startswith("P1 · "), what="P1 again")
    time.sleep(0.5)
    assert len(fake.channel("leadership").messages) == 1

    # Update: monitoring.
    slack.slash("U_DAVE", "update", channel=cid)
    _submit(
        slack,
        fake,
        "U_DAVE",
        "incident_update",
        {"Status": "Monitoring", "Impact": "None now", "What is being done": "Watching"},
    )
    wait_for(lambda: any("Update #3" in t for t in _texts(fake.channel(cid))), what="update 3")

    # Resolve.
    slack.slash("U_DAVE", "resolve", channel=cid)
    _submit(
        slack,
        fake,
        "U_DAVE",
        "incident_resolve",
        {"Resolution summary": "Rolled back deploy 42", "Root cause": "A bad migration"},
    )
    wait_for(lambda: any("resolved" in t.lower() for t in _texts(fake.channel(cid))), what="res")
    assert _status(warroom) == "resolved"
    assert db_rows(warroom, "select postmortem_due_at is not null from incidents") == [(1,)]
    resolution = next(t for t in _texts(fake.channel(cid)) if "resolved" in t.lower())
    assert "INC-1" in resolution

    # Close.
    assert slack.slash("U_DAVE", "close", channel=cid).status == 200
    wait_for(lambda: _status(warroom) == "closed", what="closed")
    wait_for(lambda: any("closed" in t for t in _texts(fake.channel(cid))), what="close line")

    # The panel was edited in place all along, never posted again (its last edit is the
    # close's own effect, delivered after the ack like every other).
    wait_for(
        lambda: "Closed" in json.dumps(panel_messages(fake.channel(cid))[0].blocks),
        what="the panel to say closed",
    )
    final = fake.channel(cid)
    (only_panel,) = panel_messages(final)
    assert only_panel.ts == panel.ts
    assert only_panel.edited
    # The announcement got each update in its thread, and was itself edited.
    (announcement,) = metadata_posts(fake.channel("incident-response"), "announcement", 1)
    replies = fake.message(fake.channel_id("incident-response"), announcement.ts).replies
    assert sum("Update #" in r.text for r in replies) == 3
    kinds = {k for (k,) in db_rows(warroom, "select kind from timeline_events")}
    assert {
        "declared", "role_assigned", "acknowledged", "status_update", "status_changed",
        "severity_changed", "resolved", "closed",
    } <= kinds  # fmt: skip


def test_refusals_are_specific_and_change_nothing(
    slack: SlackDriver, fake: FakeSlack, warroom: WarroomServer
) -> None:
    channel = _declare_p2(slack, fake)
    cid = channel.id

    # Outside an incident channel: where to go instead.
    text = _ephemeral_text(slack.slash("U_ALICE", "ack", channel="general"))
    assert "works in an incident" in text
    assert "INC-1" in text

    # Resolve by someone who is neither commander nor tech lead.
    views_before = len(fake.views("U_ERIN"))
    text = _ephemeral_text(slack.slash("U_ERIN", "resolve", channel=cid))
    assert "Only the Incident Commander or the Technical Lead can resolve INC-1" in text
    assert len(fake.views("U_ERIN")) == views_before

    # Unknown role.
    text = _ephemeral_text(slack.slash("U_ALICE", "assign wizard <@U_BOB>", channel=cid))
    assert "Unknown role `wizard`" in text
    assert "tech_lead" in text

    # Illegal transition: close an incident that is not resolved.
    text = _ephemeral_text(slack.slash("U_ALICE", "close", channel=cid))
    assert "investigating: it cannot move to closed" in text
    assert "resolved" in text

    # An update form opened before the incident closed cannot move it to monitoring after.
    slack.slash("U_ALICE", "update", channel=cid)
    stale_view = _latest_view(fake, "U_ALICE", "incident_update")
    slack.slash("U_ALICE", "resolve", channel=cid)
    _submit(slack, fake, "U_ALICE", "incident_resolve", {"Resolution summary": "Fixed"})
    wait_for(lambda: _status(warroom) == "resolved", what="resolved")
    assert slack.slash("U_ALICE", "close", channel=cid).status == 200
    wait_for(lambda: _status(warroom) == "closed", what="closed")
    values = fill_modal(
        stale_view,
        {"Status": "Monitoring", "Impact": "x", "What is being done": "y"},
    )
    reply = slack.view_submission("U_ALICE", stale_view, values)
    assert reply.json["response_action"] == "errors"
    assert "closed: it cannot move to monitoring" in json.dumps(reply.json["errors"])
    text = _ephemeral_text(slack.slash("U_ALICE", "resolve", channel=cid))
    assert "closed" in text
    assert _status(warroom) == "closed"
    assert db_rows(warroom, "select count(*) from status_updates") == [(0,)]


def test_private_incident_is_listed_only_for_its_members(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    declare(
        slack,
        fake,
        "U_ALICE",
        {"Title": "Token leak", "Severity": "P1", "Incident type": "security"},
    )
    private = wait_provisioned(fake, 1, announced=False)
    declare(slack, fake, "U_ALICE", {"Title": "Slow search", "Severity": "P3"})
    wait_provisioned(fake, 2)
    assert "U_DAVE" not in private.members
    outsider = _ephemeral_text(slack.slash("U_DAVE", "list"))
    assert "INC-2" in outsider
    assert "INC-1" not in outsider
    assert "Token leak" not in outsider
    member = _ephemeral_text(slack.slash("U_ERIN", "list"))  # @security was invited
    assert "INC-1" in member
    # Most severe first.
    assert member.index("INC-1") < member.index("INC-2")


def test_double_submitted_update_and_resolve_change_state_once(
    slack: SlackDriver, fake: FakeSlack, warroom: WarroomServer
) -> None:
    channel = _declare_p2(slack, fake)
    cid = channel.id
    slack.slash("U_ALICE", "update", channel=cid)
    _reply, view, values = _submit(
        slack,
        fake,
        "U_ALICE",
        "incident_update",
        {"Status": "Identified", "Impact": "Half of checkouts", "What is being done": "Fix"},
    )
    again = slack.view_submission("U_ALICE", view, values)
    assert again.status == 200
    wait_for(lambda: any("Update #1" in t for t in _texts(fake.channel(cid))), what="update")
    slack.slash("U_ALICE", "resolve", channel=cid)
    _reply, view, values = _submit(
        slack, fake, "U_ALICE", "incident_resolve", {"Resolution summary": "Fixed"}
    )
    slack.view_submission("U_ALICE", view, values)
    wait_for(lambda: _status(warroom) == "resolved", what="resolved")
    time.sleep(1)
    texts = _texts(fake.channel(cid))
    assert sum("Update #" in t for t in texts) == 1
    assert sum("resolved" in t.lower() and "INC-1" in t for t in texts) == 1
    assert db_rows(warroom, "select count(*) from status_updates") == [(1,)]
    assert db_rows(warroom, "select count(*) from timeline_events where kind='resolved'") == [(1,)]


def test_double_clicked_ack_button_records_one_acknowledgement(
    slack: SlackDriver, fake: FakeSlack, warroom: WarroomServer
) -> None:
    channel = _declare_p2(slack, fake)
    (panel,) = panel_messages(channel)
    click = {"action_id": "incident_ack", "value": "1", "type": "button"}
    for _ in range(2):
        slack.block_action("U_BOB", click, channel=channel.id, message_ts=panel.ts)
    wait_for(
        lambda: db_rows(warroom, "select acknowledged_by from incidents") == [("U_BOB",)],
        what="the acknowledgement",
    )
    time.sleep(0.5)
    lines = [t for t in _texts(fake.channel(channel.id)) if "acknowledged" in t]
    assert len(lines) == 1


def test_status_summary_in_the_channel(slack: SlackDriver, fake: FakeSlack) -> None:
    channel = _declare_p2(slack, fake)
    slack.slash("U_ALICE", "assign tech_lead <@U_BOB>", channel=channel.id)
    reply = slack.slash("U_CAROL", "status", channel=channel.id)
    text = _ephemeral_text(reply)
    assert "INC-1" in text
    assert "P2" in text
    assert "Investigating" in text
    blocks = json.dumps(reply.json["blocks"])
    assert "<@U_ALICE>" in blocks  # the commander
    assert "not acknowledged yet" in blocks
    assert "Take role" in blocks  # the scribe and comms roles are still free


def test_bare_command_in_the_incident_channel_shows_its_status(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    channel = _declare_p2(slack, fake)
    views_before = len(fake.views("U_BOB"))
    text = _ephemeral_text(slack.slash("U_BOB", "", channel=channel.id))
    assert "INC-1" in text
    assert len(fake.views("U_BOB")) == views_before  # no declare form here
