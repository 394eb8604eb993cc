"""The fake Slack: modals, Home tabs, trigger ids, and what Slack does with view acks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sandbox.slack import FakeSlack


def slack_error(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(SlackApiError) as raised:
        call()
    return dict(raised.value.response.data)


def rules(fake: FakeSlack) -> list[str]:
    return [v.rule for v in fake.take_violations()]


def plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def text_input(block_id: str = "summary") -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "label": plain("Summary"),
        "element": {"type": "plain_text_input", "action_id": "value"},
    }


def modal(title: str = "Declare incident", **extra: Any) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": "declare",
        "title": plain(title),
        "submit": plain("Declare"),
        "close": plain("Cancel"),
        "blocks": [text_input()],
        **extra,
    }


def home(blocks: int = 1) -> dict[str, Any]:
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "Open incidents: 0"}}
    return {"type": "home", "blocks": [section] * blocks}


def test_views_open_returns_slacks_view_object(fake: FakeSlack, client: WebClient) -> None:
    trigger = fake.issue_trigger_id("U_ALICE")
    view = client.views_open(trigger_id=trigger, view=modal())["view"]
    assert view["id"].startswith("V")
    assert view["hash"]
    assert view["root_view_id"] == view["id"]
    assert view["state"] == {"values": {}}
    assert view["callback_id"] == "declare"
    [recorded] = fake.views("U_ALICE")
    assert recorded.id == view["id"]
    assert recorded.view == modal()
    assert recorded.type == "modal"
    assert recorded.payload["blocks"][0]["block_id"] == "summary"
    [seen] = fake.seen_by("U_ALICE")
    assert (seen.kind, seen.view_id, seen.text) == ("view", view["id"], "Declare incident")
    assert [v.id for v in fake.open_views("U_ALICE")] == [view["id"]]
    assert fake.violations == []


def test_trigger_ids_are_single_use_and_expire_after_three_seconds(
    fake: FakeSlack, client: WebClient
) -> None:
    trigger = fake.issue_trigger_id("U_ALICE")
    client.views_open(trigger_id=trigger, view=modal())
    assert slack_error(lambda: client.views_open(trigger_id=trigger, view=modal()))["error"] == (
        "exchanged_trigger_id"
    )
    assert (
        slack_error(lambda: client.views_open(trigger_id="123.456.abc", view=modal()))["error"]
        == "invalid_trigger_id"
    )
    late = fake.issue_trigger_id("U_ALICE")
    almost = fake.issue_trigger_id("U_ALICE")
    fake.advance_time(2.9)
    client.views_open(trigger_id=almost, view=modal())  # 2.9 s: still valid
    fake.advance_time(0.2)
    assert slack_error(lambda: client.views_open(trigger_id=late, view=modal()))["error"] == (
        "expired_trigger_id"
    )
    missing = slack_error(lambda: client.api_call("views.open", json={"view": modal()}))
    assert missing["error"] == "invalid_arguments"
    assert rules(fake) == ["trigger_id"] * 3 + ["missing_argument"]


def test_trigger_window_is_configurable(fake: FakeSlack, client: WebClient) -> None:
    fake.trigger_ttl = 0.0
    trigger = fake.issue_trigger_id("U_BOB")
    fake.advance_time(0.01)
    assert slack_error(lambda: client.views_open(trigger_id=trigger, view=modal()))["error"] == (
        "expired_trigger_id"
    )
    fake.take_violations()


@pytest.mark.parametrize(
    ("view", "fragment"),
    [
        ({**modal(), "blocks": [text_input(f"b{i}") for i in range(101)]}, "/view/blocks"),
        (modal(title="t" * 25), "/view/title/text"),
        ({k: v for k, v in modal().items() if k != "submit"}, "submit"),
        (modal(private_metadata="m" * 3001), "/view/private_metadata"),
        (modal(callback_id="c" * 256), "/view/callback_id"),
        ({**modal(), "submit": plain("s" * 25)}, "/view/submit/text"),
        ({**modal(), "blocks": [{"type": "section", "text": plain("s" * 3001)}]}, "/view/blocks/0"),
        ({**modal(), "type": "home"}, "/view/type"),
    ],
)
def test_invalid_modals_are_refused(
    fake: FakeSlack, client: WebClient, view: dict[str, Any], fragment: str
) -> None:
    trigger = fake.issue_trigger_id("U_ALICE")
    body = slack_error(lambda: client.views_open(trigger_id=trigger, view=view))
    assert body["error"] == "invalid_arguments"
    assert any(fragment in m for m in body["response_metadata"]["messages"]), body
    assert rules(fake) == ["block_kit"]
    assert fake.views() == []
    # The trigger was not spent on the refused view.
    client.views_open(trigger_id=trigger, view=modal())


def test_modal_edge_values_are_accepted(fake: FakeSlack, client: WebClient) -> None:
    blocks = [text_input(f"b{i}") for i in range(100)]
    big = {**modal(title="t" * 24), "blocks": blocks, "private_metadata": "m" * 3000}
    client.views_open(trigger_id=fake.issue_trigger_id("U_ALICE"), view=big)
    no_inputs = {
        "type": "modal",
        "title": plain("Status"),
        "blocks": [{"type": "section", "text": plain("All good")}],
    }
    client.views_open(trigger_id=fake.issue_trigger_id("U_BOB"), view=no_inputs)
    assert fake.violations == []


def test_views_update_by_id_or_external_id_with_hash(fake: FakeSlack, client: WebClient) -> None:
    opened = client.views_open(
        trigger_id=fake.issue_trigger_id("U_ALICE"), view=modal(external_id="declare-1")
    )["view"]
    updated = client.views_update(
        view_id=opened["id"], hash=opened["hash"], view=modal(title="Step 2")
    )["view"]
    assert updated["id"] == opened["id"]
    assert updated["hash"] != opened["hash"]
    assert updated["title"]["text"] == "Step 2"
    assert (
        slack_error(
            lambda: client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal())
        )["error"]
        == "hash_conflict"
    )
    client.views_update(external_id="declare-1", view=modal(title="Step 3"))
    assert fake.view(opened["id"]).view["title"]["text"] == "Step 3"
    assert slack_error(lambda: client.views_update(view_id="V_NOPE", view=modal()))["error"] == (
        "not_found"
    )
    bad = slack_error(lambda: client.views_update(view_id=opened["id"], view=modal("x" * 30)))
    assert bad["error"] == "invalid_arguments"
    assert rules(fake) == ["block_kit"]
    assert [s.action for s in fake.seen_by("U_ALICE")] == ["open", "update", "update"]


def test_views_push_stacks_up_to_three(fake: FakeSlack, client: WebClient) -> None:
    assert (
        slack_error(
            lambda: client.views_push(trigger_id=fake.issue_trigger_id("U_BOB"), view=modal())
        )["error"]
        == "not_found"
    )
    root = client.views_open(trigger_id=fake.issue_trigger_id("U_BOB"), view=modal())["view"]
    second = client.views_push(trigger_id=fake.issue_trigger_id("U_BOB"), view=modal("2"))
    assert second["view"]["previous_view_id"] == root["id"]
    assert second["view"]["root_view_id"] == root["id"]
    client.views_push(trigger_id=fake.issue_trigger_id("U_BOB"), view=modal("3"))
    assert (
        slack_error(
            lambda: client.views_push(trigger_id=fake.issue_trigger_id("U_BOB"), view=modal("4"))
        )["error"]
        == "push_limit_reached"
    )
    assert len(fake.open_views("U_BOB")) == 3
    assert rules(fake) == ["views_push", "views_push"]


def test_views_publish_home_tab(fake: FakeSlack, client: WebClient) -> None:
    first = client.views_publish(user_id="U_CAROL", view=home())["view"]
    again = client.views_publish(user_id="U_CAROL", view=home(2), hash=first["hash"])["view"]
    assert again["id"] == first["id"]
    assert len(again["blocks"]) == 2
    assert (
        slack_error(
            lambda: client.views_publish(user_id="U_CAROL", view=home(), hash=first["hash"])
        )["error"]
        == "hash_conflict"
    )
    assert (
        slack_error(lambda: client.views_publish(user_id="U_CAROL", view=home(101)))["error"]
        == "invalid_arguments"
    )
    assert (
        slack_error(lambda: client.views_publish(user_id="U_CAROL", view=modal()))["error"]
        == "invalid_arguments"
    )
    assert (
        slack_error(lambda: client.views_publish(user_id="U_GHOST", view=home()))["error"]
        == "invalid_arguments"
    )
    client.views_publish(user_id="U_CAROL", view=home(100))
    [view] = fake.views("U_CAROL")
    assert view.type == "home"
    assert len(view.view["blocks"]) == 100
    assert [s.kind for s in fake.seen_by("U_CAROL")] == ["view"] * 3
    assert rules(fake) == ["block_kit", "block_kit", "views_publish"]


def test_view_submission_acks_act_like_slack(fake: FakeSlack, client: WebClient) -> None:
    root = client.views_open(trigger_id=fake.issue_trigger_id("U_DAVE"), view=modal())["view"]
    fake.apply_view_ack(
        root["id"], {"response_action": "errors", "errors": {"summary": "Say what broke"}}
    )
    assert fake.view(root["id"]).errors == {"summary": "Say what broke"}
    fake.apply_view_ack(root["id"], {"response_action": "update", "view": modal("Step 2")})
    assert fake.view(root["id"]).view["title"]["text"] == "Step 2"
    fake.apply_view_ack(root["id"], {"response_action": "push", "view": modal("Confirm")})
    assert len(fake.open_views("U_DAVE")) == 2
    fake.apply_view_ack(root["id"], {"response_action": "update", "view": modal("t" * 25)})
    fake.apply_view_ack(root["id"], {"response_action": "errors", "errors": {"nope": "x"}})
    assert rules(fake) == ["block_kit", "view_ack"]
    fake.apply_view_ack(root["id"], {"response_action": "clear"})
    assert fake.open_views("U_DAVE") == []
    assert fake.view(root["id"]).closed
    second = client.views_open(trigger_id=fake.issue_trigger_id("U_DAVE"), view=modal())["view"]
    fake.apply_view_ack(second["id"], None)  # empty ack: the modal closes
    assert fake.open_views("U_DAVE") == []
