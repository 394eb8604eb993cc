"""Action items end to end: adding by command (the owner told once), bad input refused, the
panel's count, lists in and outside the channel, Done from the owner's DM, privacy."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sandbox.slack import FakeSlack
from tests.e2e.driver import SlackDriver, WarroomServer, fill_modal, wait_for
from tests.e2e.incidents import db_rows, declare, opened_view, panel_messages, wait_provisioned


def _incident(slack: SlackDriver, fake: FakeSlack, **answers: str) -> str:
    number = len(db_rows_or_empty(slack)) + 1
    declare(slack, fake, "U_ALICE", {"Title": "Checkout failing", "Severity": "P2", **answers})
    private = answers.get("Incident type") == "security"
    return wait_provisioned(fake, number, announced=not private).id


def db_rows_or_empty(slack: SlackDriver) -> list[tuple[Any, ...]]:
    return db_rows(slack.server, "select number from incidents")


def _items(server: WarroomServer) -> list[tuple[Any, ...]]:
    return db_rows(server, "select text, owner, due_at, done from action_items order by id")


def _responses(fake: FakeSlack) -> list[str]:
    return [json.dumps(c.args) for c in fake.calls("response_url")]


def _button(blocks: Any, action_id: str) -> dict[str, Any]:
    for block in blocks:
        accessory = block.get("accessory") or {}
        if accessory.get("action_id") == action_id:
            return dict(accessory)
        for element in block.get("elements") or ():
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return dict(element)
    raise AssertionError(f"no {action_id} button")


def test_an_action_item_is_stored_its_owner_told_once_and_closed_from_the_dm(
    slack: SlackDriver, fake: FakeSlack, warroom: WarroomServer
) -> None:
    cid = _incident(slack, fake)
    reply = slack.slash(
        "U_ALICE", "action Add a connection pool alert <@U_BOB|bob> due:2099-12-31", channel=cid
    )
    assert reply.status == 200
    wait_for(lambda: _items(warroom), what="the stored item")
    [(text, owner, due, done)] = _items(warroom)
    assert (text, owner, str(due)[:10], done) == (
        "Add a connection pool alert",
        "U_BOB",
        "2099-12-31",
        0,
    )
    dm = wait_for(lambda: fake.dms("U_BOB"), what="the owner's DM")
    assert "Add a connection pool alert" in dm[-1].text
    wait_for(lambda: any("Added to INC-1" in r for r in _responses(fake)), what="the answer")
    panel = panel_messages(fake.channel(cid))[0]
    wait_for(
        lambda: "1 open item" in json.dumps(fake.message(cid, panel.ts).blocks),
        what="the panel's count",
    )
    status = slack.slash("U_CAROL", "status", channel=cid)
    assert "Add a connection pool alert" in json.dumps(status.json)

    # Done, from the DM, by the owner.
    done = _button(dm[-1].blocks, "action_item_done")
    slack.block_action("U_BOB", done, channel=fake.channel_id("U_BOB"), message_ts=dm[-1].ts)
    wait_for(lambda: _items(warroom)[0][3] == 1, what="the item to be done")
    wait_for(
        lambda: "open item" not in json.dumps(fake.message(cid, panel.ts).blocks),
        what="the panel's count to go",
    )
    assert len(fake.dms("U_BOB")) == 1  # told once


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("action Fix it @nobody", "can't find @nobody"),
        ("action Fix it due:2020-01-01", "in the past"),
        ("action Fix it due:31/12/2026", "is not a date"),
        ("action", "needs a description"),
        ("action <@U_NOBODY> due:2099-01-01", "needs a description"),
        ("action Fix it <@U_NOBODY>", "can't find that owner"),
    ],
)
def test_bad_input_is_refused_clearly_and_nothing_is_stored(
    slack: SlackDriver, fake: FakeSlack, warroom: WarroomServer, text: str, why: str
) -> None:
    cid = _incident(slack, fake)
    reply = slack.slash("U_ALICE", text, channel=cid)
    assert reply.status == 200
    answer = json.dumps(reply.json) + "".join(_responses(fake))
    if why not in answer:
        wait_for(lambda: any(why in r for r in _responses(fake)), what=f"the refusal: {why}")
    assert _items(warroom) == []
    assert fake.dms("U_BOB") == []


def test_only_the_owner_commander_or_scribe_close_an_item(
    slack: SlackDriver, fake: FakeSlack, warroom: WarroomServer
) -> None:
    cid = _incident(slack, fake)
    slack.slash("U_ALICE", "action Rotate the keys <@U_BOB|bob>", channel=cid)
    wait_for(lambda: _items(warroom), what="the stored item")
    listed = slack.slash("U_CAROL", "actions", channel=cid).json
    done = _button(listed["blocks"], "action_item_done")

    slack.block_action("U_CAROL", done, channel=cid)
    wait_for(lambda: any("Only" in r for r in _responses(fake)), what="the refusal")
    assert _items(warroom)[0][3] == 0
    slack.block_action("U_ALICE", done, channel=cid)  # the commander
    wait_for(lambda: _items(warroom)[0][3] == 1, what="the item to be done")


def test_my_actions_outside_a_channel_hide_a_private_incidents_title(
    slack: SlackDriver, fake: FakeSlack, warroom: WarroomServer
) -> None:
    public = _incident(slack, fake)
    secret = _incident(slack, fake, Title="Leaked customer export", **{"Incident type": "security"})
    slack.slash("U_ALICE", "action Patch the API <@U_ALICE|alice>", channel=public)
    slack.slash("U_ALICE", "action Revoke the token <@U_ALICE|alice>", channel=secret)
    wait_for(lambda: len(_items(warroom)) == 2, what="both items")

    mine = json.dumps(slack.slash("U_ALICE", "actions", channel="general").json)
    assert "Patch the API" in mine
    assert "Checkout failing" in mine
    assert "Revoke the token" in mine
    assert "Leaked customer export" not in mine
    assert "INC-2 (private)" in mine
    others = json.dumps(slack.slash("U_BOB", "actions", channel="general").json)
    assert "Revoke the token" not in others


def test_the_panel_button_opens_the_action_item_form(
    slack: SlackDriver, fake: FakeSlack, warroom: WarroomServer
) -> None:
    cid = _incident(slack, fake)
    panel = panel_messages(fake.channel(cid))[0]
    button = _button(fake.message(cid, panel.ts).blocks, "incident_add_action")
    slack.block_action("U_ALICE", button, channel=cid, message_ts=panel.ts)
    view = opened_view(fake, "U_ALICE", "incident_action_item")
    values = fill_modal(view, {"What needs doing": "Document pool tuning", "Owner": "U_CAROL"})
    assert slack.view_submission("U_ALICE", view, values).status == 200
    assert slack.view_submission("U_ALICE", view, values).status == 200  # a double submit
    wait_for(lambda: fake.dms("U_CAROL"), what="the owner's DM")
    assert _items(warroom) == [("Document pool tuning", "U_CAROL", None, 0)]
    assert len(fake.dms("U_CAROL")) == 1
