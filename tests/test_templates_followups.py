"""The timeline page, action item lists and DMs, and the follow-up modals: golden Block Kit,
Slack's limits, hostile text."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from slack_sdk.models.views import View

from bot.flows.cards import ActionItemView, TimelineEntry, TimelinePage
from bot.templates import followups as views
from bot.templates import timeline
from tests.conftest import assert_golden
from tests.test_templates_incident import HOSTILE, as_json, check_message, make_card

AT = datetime(2026, 11, 23, 13, 52, tzinfo=UTC)


def entry(i: int, **changes: Any) -> TimelineEntry:
    values: dict[str, Any] = {
        "id": i,
        "at": AT + timedelta(minutes=i),
        "kind": "note",
        "actor": "U_ALICE",
        "text": f"Step {i}",
        "permalink": None,
    }
    return TimelineEntry(**(values | changes))


def page(entries: list[TimelineEntry], **changes: Any) -> TimelinePage:
    values: dict[str, Any] = {
        "number": 42,
        "entries": tuple(entries),
        "offset": 0,
        "total": len(entries),
        "can_edit": False,
    }
    return TimelinePage(**(values | changes))


def item(i: int = 1, **changes: Any) -> ActionItemView:
    values: dict[str, Any] = {
        "id": i,
        "number": 42,
        "text": "Add an alert on connection pool usage",
        "owner": "U_BOB",
        "due_on": date(2026, 12, 1),
        "done": False,
        "category": "detection",
        "priority": 1,
        "incident_title": "Checkout API returns 500",
    }
    return ActionItemView(**(values | changes))


def test_timeline_page_matches_golden() -> None:
    entries = [
        entry(1, kind="declared", text="Declared P1 · Checkout API returns 500"),
        entry(
            2, kind="message", text="DB CPU at 100%", permalink="https://x.slack.com/archives/C1/p1"
        ),
        entry(3, kind="status_update", text="Update #1: card payments fail"),
    ]
    message = timeline.timeline_message(make_card(), page(entries, total=45, can_edit=True))
    check_message(message)
    assert_golden("followups_timeline_page", as_json(message))


def test_times_are_slack_date_tokens_so_readers_see_their_own_zone() -> None:
    message = timeline.timeline_message(make_card(), page([entry(1)]))
    text = json.dumps(as_json(message), ensure_ascii=False)
    epoch = int((AT + timedelta(minutes=1)).timestamp())
    assert f"<!date^{epoch}^" in text
    assert "2026-11-23 13:53 UTC" in text  # the fallback


def test_a_long_timeline_is_paged_never_cut_silently() -> None:
    first = timeline.timeline_message(
        make_card(), page([entry(i) for i in range(20)], offset=0, total=57)
    )
    blob = json.dumps(as_json(first), ensure_ascii=False)
    assert "Entries 1–20 of 57" in blob
    buttons = [
        e
        for b in first.blocks
        if b["type"] == "actions"
        for e in b["elements"]  # type: ignore[index,union-attr]
    ]
    assert [b["value"] for b in buttons] == ["42:20"]
    last = timeline.timeline_message(
        make_card(), page([entry(i) for i in range(17)], offset=40, total=57)
    )
    blob = json.dumps(as_json(last), ensure_ascii=False)
    assert "Entries 41–57 of 57" in blob
    buttons = [
        e
        for b in last.blocks
        if b["type"] == "actions"
        for e in b["elements"]  # type: ignore[index,union-attr]
    ]
    assert [b["value"] for b in buttons] == ["42:20"]


def test_only_editors_get_the_entry_menu() -> None:
    reader = timeline.timeline_message(make_card(), page([entry(1)]))
    editor = timeline.timeline_message(make_card(), page([entry(1)], can_edit=True))
    assert "overflow" not in json.dumps(as_json(reader))
    assert "overflow" in json.dumps(as_json(editor))


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_text_is_escaped_everywhere(hostile: str) -> None:
    messages = [
        timeline.timeline_message(
            make_card(title=hostile),
            page([entry(1, text=hostile, permalink="javascript:alert(1)")], can_edit=True),
        ),
        views.action_items_message(
            [item(text=hostile, incident_title=hostile)],
            heading=f"Action items of {hostile}",
            with_incident=True,
            empty=hostile,
        ),
        views.action_item_dm(item(text=hostile, incident_title=hostile), by="U_ALICE"),
        views.action_added(item(text=hostile)),
    ]
    for message in messages:
        check_message(message)
        blob = json.dumps(as_json(message), ensure_ascii=False)
        assert "<!channel>" not in blob
        assert "<!here" not in blob
        assert "<!everyone>" not in blob
        assert "<https://evil.example" not in blob
        assert "javascript:" not in blob


def test_action_items_list_open_first_and_hide_private_titles() -> None:
    message = views.action_items_message(
        [item(1, done=True), item(2, incident_title=None, text="Rotate keys"), item(3)],
        heading="Your open action items",
        with_incident=True,
        empty="none",
    )
    check_message(message)
    sections = [b for b in message.blocks if b["type"] == "section"][1:]
    texts = [str(b["text"]["text"]) for b in sections]  # type: ignore[index]
    assert "Rotate keys" in texts[0]
    assert "INC-42 (private)" in texts[0]
    assert "Checkout" in texts[1]
    assert texts[2].startswith("✅ ~")
    values = [(b["accessory"]["action_id"], b["accessory"]["value"]) for b in sections]  # type: ignore[index]
    assert values == [
        (views.ACTION_DONE_ACTION, "2"),
        (views.ACTION_DONE_ACTION, "3"),
        (views.ACTION_REOPEN_ACTION, "1"),
    ]


def test_a_long_action_item_list_says_how_many_more() -> None:
    message = views.action_items_message(
        [item(i) for i in range(1, 61)], heading="Items", with_incident=False, empty="none"
    )
    check_message(message)
    assert "…and 20 more" in json.dumps(as_json(message), ensure_ascii=False)


def test_action_item_dm_matches_golden() -> None:
    message = views.action_item_dm(item(), by="U_ALICE")
    check_message(message)
    assert_golden("followups_action_item_dm", as_json(message))


@pytest.mark.parametrize(
    "view",
    [
        timeline.note_modal(make_card()),
        views.action_modal(make_card()),
        timeline.retime_modal(make_card(), entry_id=7, at=AT, text="Impact started"),
    ],
)
def test_modals_are_valid_views(view: dict[str, Any]) -> None:
    View(**view).validate_json()
    assert len(view["private_metadata"]) <= 3000


def test_retime_modal_carries_the_entry_and_its_time() -> None:
    view = timeline.retime_modal(make_card(), entry_id=7, at=AT, text="Impact started")
    assert timeline.parse_entry_metadata(view["private_metadata"]) == 7
    picker = view["blocks"][-1]["element"]
    assert picker["initial_date_time"] == int(AT.timestamp())


@pytest.mark.parametrize(
    "value",
    [
        "",
        "delete:1:2",
        "drop:1:2:0",
        "delete:x:2:0",
        "delete:1:2:0:9",
        "retime:1:" + "9" * 20 + ":0",
    ],
)
def test_entry_values_that_are_not_ours_are_refused(value: str) -> None:
    assert timeline.parse_entry_value(value) is None


def test_entry_and_page_values_round_trip() -> None:
    choice = timeline.parse_entry_value(timeline.entry_value("delete", 42, 7, 20))
    assert choice == timeline.EntryChoice("delete", 42, 7, 20)
    assert timeline.parse_timeline_value(timeline.timeline_value(42, 40)) == (42, 40)
    assert timeline.parse_timeline_value("42:-1") == (None, 0)


def test_postmortem_comment_is_one_escaped_line() -> None:
    text = views.postmortem_comment(make_card(title="<!channel> down"), fresh=True)
    assert "\n" not in text
    assert "<!channel>" not in text
    assert "/incident postmortem done" in text
    assert views.postmortem_filename(42) == "INC-42-postmortem.md"
