"""The App Home tab end to end: opening it publishes the reader's incidents and roles, their
action items (with the Done button that works from there), the recent incidents they may see
and the last 30 days' count; a private incident's title never reaches a non-member."""

from __future__ import annotations

import json
from typing import Any

from sandbox.slack import FakeSlack
from tests.e2e.driver import SlackDriver, WarroomServer, wait_for
from tests.e2e.incidents import db_rows, declare, wait_provisioned

SECRET = "Leaked customer export"


def open_home(slack: SlackDriver, user: str, *, tab: str = "home") -> None:
    """What Slack sends when `user` opens the app's Home (or Messages) tab."""
    reply = slack.event(
        {"type": "app_home_opened", "user": user, "channel": f"D_{user}", "tab": tab}
    )
    assert reply.status == 200, reply.text


def published(fake: FakeSlack, user: str) -> list[dict[str, Any]]:
    """The views published to `user`'s Home, oldest first."""
    return [
        dict(call.args["view"])
        for call in fake.calls("views.publish")
        if call.ok and call.args.get("user_id") == user
    ]


def home_of(slack: SlackDriver, fake: FakeSlack, user: str) -> dict[str, Any]:
    """Open the Home tab and wait for the view it publishes."""
    before = len(published(fake, user))
    open_home(slack, user)
    views = wait_for(lambda: published(fake, user)[before:], what=f"{user}'s home")
    view: dict[str, Any] = views[-1]
    return view


def done_buttons(view: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (str(block["text"]["text"]), dict(block["accessory"]))
        for block in view["blocks"]
        if (block.get("accessory") or {}).get("action_id") == "action_item_done"
    ]


def _items(server: WarroomServer) -> list[tuple[Any, ...]]:
    return db_rows(server, "select text, owner, done from action_items order by id")


def test_the_home_tab_shows_the_readers_work_and_hides_private_titles(
    slack: SlackDriver, fake: FakeSlack, warroom: WarroomServer
) -> None:
    declare(slack, fake, "U_ALICE", {"Title": "Checkout failing", "Severity": "P2"})
    public = wait_provisioned(fake, 1).id
    declare(slack, fake, "U_BOB", {"Title": SECRET, "Severity": "P1", "Incident type": "security"})
    wait_provisioned(fake, 2, announced=False)
    slack.slash("U_ALICE", "action Patch the API <@U_ALICE|alice>", channel=public)
    wait_for(lambda: _items(warroom), what="the stored item")

    home = home_of(slack, fake, "U_ALICE")
    assert home["type"] == "home"
    assert len(home["blocks"]) <= 100
    shown = json.dumps(home, ensure_ascii=False)
    # (a) her open incident, linked to its channel, with her role
    assert f"<#{public}>" in shown
    assert "INC-1 · Checkout failing" in shown
    assert "you are *Incident Commander*" in shown
    # (b) her action item, with the Done button lists and DMs have
    [(line, done)] = done_buttons(home)
    assert "Patch the API" in line
    assert done["value"] == str(db_rows(warroom, "select id from action_items")[0][0])
    # (c) the recent incidents she may see: not the private one, not even by number
    assert SECRET not in shown
    assert "INC-2" not in shown
    # (d) the last 30 days: both incidents counted (figures, never titles)
    assert "*Incidents*\\n2" in shown

    # Bob is a member of the private incident's channel: he sees its title.
    bob = json.dumps(home_of(slack, fake, "U_BOB"), ensure_ascii=False)
    assert SECRET in bob
    assert "Checkout failing" in bob  # public, in his recent incidents

    # Done, clicked in the Home tab: the item is done, and the next opening no longer lists it.
    view = fake.view(published_id(fake, "U_ALICE")).payload
    slack.block_action("U_ALICE", done, view=view)
    wait_for(lambda: _items(warroom)[0][2] == 1, what="the item to be done")
    again = home_of(slack, fake, "U_ALICE")
    assert done_buttons(again) == []
    assert "You own no open action items" in json.dumps(again, ensure_ascii=False)


def published_id(fake: FakeSlack, user: str) -> str:
    """The id of `user`'s Home view as the fake holds it."""
    homes = [v for v in fake.views(user) if v.type == "home"]
    assert len(homes) == 1  # published again and again: one Home view, replaced
    return homes[0].id


def test_the_messages_tab_publishes_nothing_and_each_opening_refreshes(
    slack: SlackDriver, fake: FakeSlack, warroom: WarroomServer
) -> None:
    open_home(slack, "U_CAROL", tab="messages")
    first = home_of(slack, fake, "U_CAROL")  # waits for the Home tab's publish only
    assert len(published(fake, "U_CAROL")) == 1  # the Messages tab drew nothing
    assert "You hold no role in an open incident" in json.dumps(first, ensure_ascii=False)

    declare(slack, fake, "U_CAROL", {"Title": "Search is slow", "Severity": "P3"})
    channel = wait_provisioned(fake, 1).id
    second = json.dumps(home_of(slack, fake, "U_CAROL"), ensure_ascii=False)
    assert f"<#{channel}>" in second
    assert "Search is slow" in second


def test_done_in_the_home_tab_is_answered_at_once_and_redraws_the_tab(
    slack: SlackDriver, fake: FakeSlack, warroom: WarroomServer
) -> None:
    declare(slack, fake, "U_ALICE", {"Title": "Checkout failing", "Severity": "P2"})
    public = wait_provisioned(fake, 1).id
    slack.slash("U_ALICE", "action Patch the API <@U_ALICE|alice>", channel=public)
    wait_for(lambda: _items(warroom), what="the stored item")
    home = home_of(slack, fake, "U_ALICE")
    [(_line, done)] = done_buttons(home)
    before = len(published(fake, "U_ALICE"))

    reply = slack.block_action(
        "U_ALICE", done, view=fake.view(published_id(fake, "U_ALICE")).payload
    )
    assert reply.status == 200
    assert reply.elapsed < 2.0
    wait_for(lambda: _items(warroom)[0][2] == 1, what="the item to be done")
    redrawn = wait_for(lambda: published(fake, "U_ALICE")[before:], what="the home redrawn")
    assert done_buttons(redrawn[-1]) == []
    assert "listener_failed" not in warroom.logs()
