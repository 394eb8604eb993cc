"""📌 reactions, pins, the "Add to timeline" shortcut and notes, end to end: signed Slack
events against `warroom serve`, the message read from the fake Slack."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from sandbox.slack import FakeSlack
from tests.e2e.driver import SlackDriver, WarroomServer, fill_modal, wait_for
from tests.e2e.incidents import db_rows, declare, opened_view, wait_provisioned

HOSTILE = "<!channel> <https://evil.example/login|click to fix> <@U_BOB> " + "x" * 5000


def _incident(slack: SlackDriver, fake: FakeSlack) -> str:
    declare(slack, fake, "U_ALICE", {"Title": "Checkout failing", "Severity": "P2"})
    channel = wait_provisioned(fake, 1).id
    # Provisioning ends with the declarer's DM: wait for it, so later counts are the test's.
    wait_for(lambda: fake.dms("U_ALICE"), what="the declarer's DM")
    return channel


def _captured(server: WarroomServer) -> list[tuple[Any, ...]]:
    return db_rows(
        server,
        "select at, actor, text, permalink, message_ts from timeline_events "
        "where kind = 'message' order by at, id",
    )


def _reaction(
    kind: str, user: str, channel: str, ts: str, emoji: str = "pushpin"
) -> dict[str, Any]:
    return {
        "type": kind,
        "user": user,
        "reaction": emoji,
        "item_user": "U_BOB",
        "item": {"type": "message", "channel": channel, "ts": ts},
    }


def _at(ts: str) -> str:
    return datetime.fromtimestamp(float(ts), tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def test_a_pushpin_captures_the_message_once_with_its_own_time_and_author(
    slack: SlackDriver, fake: FakeSlack, warroom: WarroomServer
) -> None:
    cid = _incident(slack, fake)
    ts = fake.post_as_user(cid, "U_BOB", "DB CPU is at 100%, connections piling up")
    fake.reset_calls()

    assert slack.event(_reaction("reaction_added", "U_CAROL", cid, ts)).status == 200
    wait_for(lambda: _captured(warroom), what="the captured message")
    [(at, actor, text, link, message_ts)] = _captured(warroom)
    assert str(at).startswith(_at(ts))  # the message's own time, not the reaction's
    assert (actor, text, message_ts) == ("U_BOB", "DB CPU is at 100%, connections piling up", ts)
    assert link
    assert link.startswith("https://")
    assert ts.replace(".", "") in link
    # One Slack call: reading the message; the permalink needs none.
    assert [c.method for c in fake.calls() if not c.method.startswith("chat.update")] == [
        "conversations.replies"
    ]

    assert slack.event(_reaction("reaction_added", "U_DAVE", cid, ts)).status == 200
    assert slack.event(_reaction("reaction_removed", "U_CAROL", cid, ts)).status == 200
    assert len(_captured(warroom)) == 1  # another 📌 holds it
    assert slack.event(_reaction("reaction_removed", "U_DAVE", cid, ts)).status == 200
    wait_for(lambda: _captured(warroom) == [], what="the entry to go with the last 📌")


def test_a_retried_delivery_adds_nothing(
    slack: SlackDriver, fake: FakeSlack, warroom: WarroomServer
) -> None:
    cid = _incident(slack, fake)
    ts = fake.post_as_user(cid, "U_BOB", "Rollback started")
    event = _reaction("reaction_added", "U_CAROL", cid, ts)
    slack.event(event, event_id="Ev0PIN1")
    wait_for(lambda: _captured(warroom), what="the captured message")
    slack.event(_reaction("reaction_removed", "U_CAROL", cid, ts), event_id="Ev0PIN2")
    wait_for(lambda: _captured(warroom) == [], what="the entry to go")

    # Slack retries the first delivery: it must not bring the entry back.
    assert slack.event(event, event_id="Ev0PIN1", retry_num=1).status == 200
    assert slack.event(event, event_id="Ev0PIN1", retry_num=2).status == 200
    assert _captured(warroom) == []


def test_a_pushpin_outside_an_incident_channel_or_another_emoji_does_nothing(
    slack: SlackDriver, fake: FakeSlack, warroom: WarroomServer
) -> None:
    cid = _incident(slack, fake)
    general = fake.channel_id("general")
    ts = fake.post_as_user(general, "U_BOB", "lunch?")
    inside = fake.post_as_user(cid, "U_BOB", "hi")
    fake.reset_calls()
    before = db_rows(warroom, "select count(*) from idempotency_keys")

    slack.event(_reaction("reaction_added", "U_CAROL", cid, inside, emoji="tada"))
    # A reaction that is not the timeline's is dropped before anything is stored.
    assert db_rows(warroom, "select count(*) from idempotency_keys") == before

    slack.event(_reaction("reaction_added", "U_CAROL", general, ts))
    time.sleep(0.5)  # the listener runs after the ack: give it the time it would take
    assert _captured(warroom) == []
    assert fake.calls() == []


def test_a_thread_reply_is_captured_with_its_thread_link(
    slack: SlackDriver, fake: FakeSlack, warroom: WarroomServer
) -> None:
    cid = _incident(slack, fake)
    parent = fake.post_as_user(cid, "U_BOB", "Investigating the pool")
    reply = fake.post_as_user(cid, "U_CAROL", "Found it: max_connections=20", thread_ts=parent)

    slack.event(_reaction("reaction_added", "U_ALICE", cid, reply))

    wait_for(lambda: _captured(warroom), what="the captured reply")
    [(_, actor, text, link, _ts)] = _captured(warroom)
    assert (actor, text) == ("U_CAROL", "Found it: max_connections=20")
    assert f"thread_ts={parent}" in link


def test_a_pin_captures_without_asking_slack_and_unpin_removes_it(
    slack: SlackDriver, fake: FakeSlack, warroom: WarroomServer
) -> None:
    cid = _incident(slack, fake)
    ts = fake.post_as_user(cid, "U_BOB", "Decision: fail over to the replica")
    message = {"type": "message", "user": "U_BOB", "text": "Decision: fail over to the replica"}
    pinned = {
        "type": "pin_added",
        "user": "U_CAROL",
        "channel_id": cid,
        "item_user": "U_BOB",
        "item": {"type": "message", "channel": cid, "message": {**message, "ts": ts}},
    }
    fake.reset_calls()

    slack.event(pinned)
    wait_for(lambda: _captured(warroom), what="the pinned message")
    [(_, actor, text, _link, _ts)] = _captured(warroom)
    assert (actor, text) == ("U_BOB", "Decision: fail over to the replica")
    assert [c.method for c in fake.calls() if c.method != "chat.update"] == []

    slack.event({**pinned, "type": "pin_removed"})
    wait_for(lambda: _captured(warroom) == [], what="the unpinned message to go")


def test_warroom_pinning_its_own_panel_is_not_a_timeline_entry(
    slack: SlackDriver, fake: FakeSlack, warroom: WarroomServer
) -> None:
    cid = _incident(slack, fake)
    [panel_ts] = fake.channel(cid).pins
    slack.event(
        {
            "type": "pin_added",
            "user": fake.bot_user_id,
            "channel_id": cid,
            "item": {"type": "message", "channel": cid, "message": {"ts": panel_ts, "text": "p"}},
        }
    )
    slack.event(_reaction("reaction_added", "U_BOB", cid, fake.post_as_user(cid, "U_BOB", "x")))
    wait_for(lambda: _captured(warroom), what="the 📌 (processed after the pin)")
    assert [row[4] for row in _captured(warroom)] != [panel_ts]
    assert panel_ts not in [row[4] for row in _captured(warroom)]


def test_the_shortcut_adds_in_an_incident_channel_and_explains_elsewhere(
    slack: SlackDriver, fake: FakeSlack, warroom: WarroomServer
) -> None:
    cid = _incident(slack, fake)
    ts = fake.post_as_user(cid, "U_BOB", "Customer reports from EU")
    assert (
        slack.message_shortcut("U_CAROL", "add_to_timeline", channel=cid, message_ts=ts).status
        == 200
    )
    wait_for(lambda: _captured(warroom), what="the shortcut's entry")
    [(_, actor, text, link, _ts)] = _captured(warroom)
    assert (actor, text) == ("U_BOB", "Customer reports from EU")
    assert link
    answers = wait_for(lambda: [c for c in fake.calls("response_url")], what="the answer")
    assert "Added to the timeline of INC-1" in json.dumps(answers[-1].args)

    general = fake.channel_id("general")
    other = fake.post_as_user(general, "U_BOB", "unrelated")
    slack.message_shortcut("U_CAROL", "add_to_timeline", channel=general, message_ts=other)
    wait_for(
        lambda: any("incident's channel" in json.dumps(c.args) for c in fake.calls("response_url")),
        what="the explanation",
    )
    assert len(_captured(warroom)) == 1


def test_notes_by_command_and_by_form(
    slack: SlackDriver, fake: FakeSlack, warroom: WarroomServer
) -> None:
    cid = _incident(slack, fake)
    reply = slack.slash("U_ALICE", "note Restarted pgbouncer on db-2", channel=cid)
    assert "Added to the timeline of INC-1" in reply.json["text"]

    assert slack.slash("U_ALICE", "note", channel=cid).status == 200
    view = opened_view(fake, "U_ALICE", "incident_note")
    values = fill_modal(view, {"Note": "Paged the DBA"})
    assert slack.view_submission("U_ALICE", view, values).status == 200
    assert slack.view_submission("U_ALICE", view, values).status == 200  # a double submit

    notes = db_rows(
        warroom, "select actor, text from timeline_events where kind = 'note' order by id"
    )
    assert notes == [("U_ALICE", "Restarted pgbouncer on db-2"), ("U_ALICE", "Paged the DBA")]


def test_hostile_text_never_reaches_slack_raw(
    slack: SlackDriver, fake: FakeSlack, warroom: WarroomServer
) -> None:
    cid = _incident(slack, fake)
    ts = fake.post_as_user(cid, "U_BOB", HOSTILE)
    slack.event(_reaction("reaction_added", "U_CAROL", cid, ts))
    wait_for(lambda: _captured(warroom), what="the captured message")
    slack.slash("U_ALICE", f"note {HOSTILE[:2000]}", channel=cid)
    action = slack.slash("U_ALICE", f"action {HOSTILE[:300]}", channel=cid)
    assert action.status == 200

    reply = slack.slash("U_ALICE", "timeline", channel=cid)
    assert reply.status == 200
    body = json.dumps(reply.json)
    assert "<!channel>" not in body
    assert "<https://evil.example" not in body
    assert "&lt;!channel&gt;" in body
    for text in fake.render_texts():
        assert "<!channel>" not in text


def test_the_commander_deletes_and_re_times_entries_from_the_timeline(
    slack: SlackDriver, fake: FakeSlack, warroom: WarroomServer
) -> None:
    cid = _incident(slack, fake)
    slack.slash("U_ALICE", "note Impact started", channel=cid)
    slack.slash("U_ALICE", "note Wrong note", channel=cid)
    page = slack.slash("U_ALICE", "timeline", channel=cid).json
    menus = {
        block["text"]["text"].split(" · ")[2]: block["accessory"]
        for block in page["blocks"]
        if block.get("accessory", {}).get("type") == "overflow"
    }
    wrong = menus["Wrong note"]
    delete = next(o for o in wrong["options"] if o["text"]["text"] == "Delete")
    slack.block_action("U_ALICE", {**wrong, "selected_option": delete}, channel=cid)
    wait_for(
        lambda: (
            ("Wrong note",)
            not in db_rows(warroom, "select text from timeline_events where kind = 'note'")
        ),
        what="the deleted note to go",
    )

    started = menus["Impact started"]
    retime = next(o for o in started["options"] if o["text"]["text"].startswith("Change time"))
    slack.block_action("U_ALICE", {**started, "selected_option": retime}, channel=cid)
    view = opened_view(fake, "U_ALICE", "timeline_retime")
    backfill = int(time.time()) - 3600
    values = {"when": {"when": {"type": "datetimepicker", "selected_date_time": backfill}}}
    assert slack.view_submission("U_ALICE", view, values).status == 200
    [(at,)] = db_rows(warroom, "select at from timeline_events where text = 'Impact started'")
    assert str(at).startswith(datetime.fromtimestamp(backfill, tz=UTC).strftime("%Y-%m-%d %H:%M"))

    # A responder sees the timeline but gets no menu to change it.
    slack.slash("U_ALICE", "assign tech_lead <@U_BOB|bob>", channel=cid)
    reader = json.dumps(slack.slash("U_BOB", "timeline", channel=cid).json)
    assert "Impact started" in reader
    assert "overflow" not in reader


def test_a_non_member_cannot_page_or_edit_a_private_incidents_timeline(
    slack: SlackDriver, fake: FakeSlack, warroom: WarroomServer
) -> None:
    """The timeline's buttons carry only the incident number: a non-member replaying them
    (forged, from another channel) learns nothing and changes nothing."""
    fields = {"Title": "Leaked keys", "Severity": "P2", "Incident type": "security"}
    declare(slack, fake, "U_ALICE", fields)
    cid = wait_provisioned(fake, 1, announced=False).id
    for i in range(22):  # more than a page
        slack.slash("U_ALICE", f"note Secret finding {i}", channel=cid)
    page = slack.slash("U_ALICE", "timeline", channel=cid).json
    buttons = [
        element
        for block in page["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]
    menus = [b["accessory"] for b in page["blocks"] if "overflow" in json.dumps(b.get("accessory"))]
    assert buttons
    assert menus
    answered = len(fake.calls("response_url"))
    general = fake.channel_id("general")
    for button in buttons:
        assert slack.block_action("U_EVE", button, channel=general).status == 200
    delete = next(o for o in menus[0]["options"] if o["text"]["text"] == "Delete")
    slack.block_action("U_EVE", {**menus[0], "selected_option": delete}, channel=general)
    time.sleep(0.5)
    told = json.dumps([c.args for c in fake.calls("response_url")[answered:]])
    assert "Secret finding" not in told
    assert "Leaked keys" not in told
    notes = db_rows(warroom, "select count(*) from timeline_events where kind = 'note'")
    assert notes == [(22,)]
