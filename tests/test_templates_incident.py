"""The incident's messages: golden Block Kit, Slack's limits, and hostile text made harmless."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block

from bot.flows.cards import IncidentCard, IncidentRenderer, RenderedMessage, RoleLine
from bot.templates.incident import (
    ACK_ACTION,
    ADD_ACTION_ACTION,
    ASSIGN_ACTION,
    CLOSE_ACTION,
    PANEL_ACTIONS,
    REOPEN_ACTION,
    RESOLVE_ACTION,
    SEVERITY_ACTION,
    UPDATE_ACTION,
    IncidentTemplates,
    clip,
    safe_url,
    slack_date,
)
from sandbox.slack.blockkit import validate_message_blocks
from tests.conftest import assert_golden

DECLARED = datetime(2026, 11, 23, 14, 5, tzinfo=UTC)
STARTED = datetime(2026, 11, 23, 13, 50, tzinfo=UTC)
RUNBOOK = "https://runbooks.example.com/checkout"
PERMALINK = "https://acme.slack.com/archives/C0ORIGIN/p1795441500000100"

# Everything that may legitimately sit between < and > in our mrkdwn.
ALLOWED_SEQUENCE = re.compile(
    r"@[UWB][A-Z0-9_]+"
    r"|#[CGD][A-Z0-9_]+"
    r"|!date\^\d+\^\{date_short_pretty\} \{time\}\|\d{4}-\d\d-\d\d \d\d:\d\d UTC"
    r"|!date\^\d+\^\{date_short\}\|\d{4}-\d\d-\d\d"  # an action item's due date
    r"|https?://[^\s|<>]+\|(?:Runbook|Source message|message|final document)"
    r"|https?://[^\s|<>]+"  # an address typed in a description, shown as itself
)
BANNED = (
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<https://evil",
    "<!subteam",
    "<@U123>",
    "<#C123>",
)

HOSTILE = (
    "<!channel> checkout is down",
    "<!here|here> please look",
    "<!everyone> @everyone @here @channel",
    "<https://evil.example/login|click to fix> now",
    "*bold* _italic_ ~strike~ `code` ```block``` > quote",
    "x" * 5000,
    "🔥🚨💥" * 1700,
    "決済サービスが停止しました。" * 400,
    "\u202eevil\u202c שלום עולם مرحبا بالعالم",
    "&amp; &lt;!channel&gt; already escaped",
    "<@U123> <#C123> <!subteam^S0SRE>",
    "line one\n\nline two\n> quoted\n• bullet",
    "<" * 3000 + "!channel>",
    "&" * 4000,
)


def make_card(**changes: Any) -> IncidentCard:
    card = IncidentCard(
        number=42,
        title="Checkout API returns 500 for all card payments",
        severity_id="P1",
        severity_name="Critical",
        status="investigating",
        declared_by="U_BOB",
        declared_at=DECLARED,
        started_at=STARTED,
        description="Every card payment fails with HTTP 500 since 13:50.\nPayPal still works.",
        affected_services="checkout, payments-api",
        type_id="outage",
        type_name="Service Outage",
        channel_id="C0INC42",
        commander="U_ALICE",
        roles=(
            RoleLine("tech_lead", "Technical Lead", "U_CAROL"),
            RoleLine("comms", "Communications Lead", None),
        ),
        source_link=PERMALINK,
        runbook=RUNBOOK,
        respond_within="15m",
    )
    return replace(card, **changes)


# -- checking rendered output ---------------------------------------------------------------


def text_objects(node: Any) -> Iterator[dict[str, Any]]:
    """Every text object anywhere inside a block, view or element."""
    if isinstance(node, list | tuple):
        for item in node:
            yield from text_objects(item)
    elif isinstance(node, Mapping):
        if node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
            yield dict(node)
        for value in node.values():
            yield from text_objects(value)


def assert_safe_mrkdwn(text: str) -> None:
    """No pings or links but the ones we make: every `<…>` is a known, well-formed sequence."""
    for banned in BANNED:
        assert banned not in text
    sequences = re.findall(r"<([^<>]*)>", text)
    assert text.count("<") == len(sequences), text[:200]
    assert text.count(">") == len(sequences), text[:200]
    for inner in sequences:
        assert ALLOWED_SEQUENCE.fullmatch(inner), inner


def _len(node: Any) -> int:
    assert isinstance(node, Mapping)
    text = node.get("text")
    assert isinstance(text, str)
    return len(text)


def check_element(element: Mapping[str, Any]) -> None:
    if element.get("type") == "button":
        assert _len(element["text"]) <= 75
        assert len(element.get("value", "")) <= 2000
    if "placeholder" in element:
        assert _len(element["placeholder"]) <= 150
    for key in ("options", "initial_options"):
        for option in element.get(key, []) or []:
            assert _len(option["text"]) <= 75
            assert len(option["value"]) <= 150
            if "description" in option:
                assert _len(option["description"]) <= 75
    assert len(element.get("options", []) or []) <= 100


def check_block(block: Mapping[str, Any]) -> None:
    """Slack's limits per container, whatever slack_sdk does or does not check."""
    parsed = Block.parse(dict(block))
    assert parsed is not None
    parsed.validate_json()
    kind = block["type"]
    if kind == "section":
        if "text" in block:
            assert _len(block["text"]) <= 3000
        for field in block.get("fields", []):
            assert _len(field) <= 2000
        assert len(block.get("fields", [])) <= 10
    elif kind == "header":
        assert block["text"]["type"] == "plain_text"
        assert _len(block["text"]) <= 150
    elif kind == "context":
        assert 1 <= len(block["elements"]) <= 10
        for element in block["elements"]:
            assert _len(element) <= 3000
    elif kind == "actions":
        for element in block["elements"]:
            check_element(element)
    elif kind == "input":
        assert _len(block["label"]) <= 2000
        if "hint" in block:
            assert _len(block["hint"]) <= 2000
        check_element(block["element"])
    for obj in text_objects(block):
        if obj["type"] == "mrkdwn":
            assert obj.get("verbatim") is True  # no auto-linking of @here or #channel
            assert_safe_mrkdwn(obj["text"])


def check_message(message: RenderedMessage) -> None:
    assert message.text
    assert len(message.text) <= 3000
    assert_safe_mrkdwn(message.text)
    assert 1 <= len(message.blocks) <= 50
    for block in message.blocks:
        check_block(block)
    assert validate_message_blocks([dict(b) for b in message.blocks]) == (None, [])


def as_json(message: RenderedMessage) -> dict[str, Any]:
    return {"text": message.text, "blocks": [dict(b) for b in message.blocks]}


TEMPLATES = IncidentTemplates()
DELAYED_DONE = ("create_channel", "set_topic", "invite")
DELAYED_PENDING = {
    "announce": "Slack is rate-limiting",
    "notify": "Slack is rate-limiting",
    "page_vendor": "the vendor's API did not answer",
}


def all_messages(card: IncidentCard) -> list[RenderedMessage]:
    return [
        TEMPLATES.panel(card),
        TEMPLATES.announcement(card),
        TEMPLATES.declarer_ready(card),
        TEMPLATES.declarer_delayed(card, done=DELAYED_DONE, pending=DELAYED_PENDING),
    ]


# -- golden ---------------------------------------------------------------------------------


def test_templates_satisfy_the_renderer_protocol() -> None:
    renderer: IncidentRenderer = TEMPLATES  # mypy checks the structure
    assert renderer.topic(make_card())


def test_panel_matches_golden() -> None:
    message = TEMPLATES.panel(make_card())
    check_message(message)
    assert_golden("incident_panel", as_json(message))


def test_minimal_drill_panel_matches_golden() -> None:
    card = make_card(
        drill=True,
        private=True,
        commander=None,
        roles=(),
        description="",
        affected_services="  ",
        type_id=None,
        type_name=None,
        runbook=None,
        source_link=None,
    )
    message = TEMPLATES.panel(card)
    check_message(message)
    assert_golden("incident_panel_minimal_drill", as_json(message))


def test_announcement_matches_golden() -> None:
    message = TEMPLATES.announcement(make_card())
    check_message(message)
    assert_golden("incident_announcement", as_json(message))


def test_panel_and_announcement_show_the_latest_update() -> None:
    """Once an update is posted, its impact (escaped) and its time replace the declaration's."""
    at = datetime(2025, 3, 4, 12, 40, tzinfo=UTC)
    card = make_card(
        last_update_impact="Only EU <users> affected", last_update_at=at, update_count=3
    )
    for message in (TEMPLATES.panel(card), TEMPLATES.announcement(card)):
        check_message(message)
        sections = json.dumps(message.blocks, ensure_ascii=False)
        assert "Only EU &lt;users&gt; affected" in sections
        assert f"Update #3 · <!date^{int(at.timestamp())}^" in sections
        assert json.dumps(card.description)[1:-1] not in sections
    assert_golden("incident_announcement_updated", as_json(TEMPLATES.announcement(card)))


def test_drill_announcement_without_channel_matches_golden() -> None:
    card = make_card(drill=True, channel_id=None, commander=None, respond_within=None)
    message = TEMPLATES.announcement(card)
    check_message(message)
    assert_golden("incident_announcement_drill", as_json(message))


def test_topics_match_golden() -> None:
    topics = {
        "plain": TEMPLATES.topic(make_card()),
        "unassigned": TEMPLATES.topic(make_card(commander=None, status="triage")),
        "drill": TEMPLATES.topic(make_card(drill=True)),
        "private_drill": TEMPLATES.topic(make_card(drill=True, private=True, status="monitoring")),
    }
    assert topics["plain"] == "P1 · Investigating · IC <@U_ALICE>"
    assert topics["unassigned"] == "P1 · Triage · IC unassigned"
    assert topics["drill"] == "[DRILL] P1 · Investigating · IC <@U_ALICE>"
    assert topics["private_drill"] == "[DRILL] P1 · Monitoring · IC <@U_ALICE> · 🔒"
    assert_golden("incident_topic", topics)


def test_declarer_ready_lists_what_did_not_happen() -> None:
    missed = [("@security", "does not exist in this workspace")] + [
        (f"#gone-{i}", "is an archived channel <!channel>") for i in range(12)
    ]
    message = TEMPLATES.declarer_ready(make_card(), missed=missed)
    check_message(message)
    body = json.dumps(message.blocks)
    assert "`@security` does not exist in this workspace" in body
    assert "<!channel>" not in body + message.text
    assert "and 3 more" in body
    assert "@security" in message.text


def test_declarer_ready_matches_golden() -> None:
    message = TEMPLATES.declarer_ready(make_card())
    assert message.text == (
        "INC-42 is declared. Head to <#C0INC42>: the responders are being invited "
        "and the panel is pinned there."
    )
    check_message(message)
    assert_golden("incident_declarer_ready", as_json(message))


def test_declarer_delayed_matches_golden() -> None:
    message = TEMPLATES.declarer_delayed(make_card(), done=DELAYED_DONE, pending=DELAYED_PENDING)
    check_message(message)
    assert_golden("incident_declarer_delayed", as_json(message))


def test_declarer_delayed_reads_as_plain_words() -> None:
    message = TEMPLATES.declarer_delayed(
        make_card(), done=("create_channel",), pending={"announce": "Slack is rate-limiting"}
    )
    assert message.text == (
        "INC-42: channel created, announcement delayed: Slack is rate-limiting. "
        "I'll keep retrying and tell you when it's done."
    )
    grouped = TEMPLATES.declarer_delayed(make_card(), done=(), pending=DELAYED_PENDING).text
    assert "announcement and notifications delayed: Slack is rate-limiting" in grouped
    assert "page vendor delayed: the vendor's API did not answer" in grouped
    assert "_" not in grouped


# -- behaviour ------------------------------------------------------------------------------


def test_panel_buttons() -> None:
    assert PANEL_ACTIONS == (
        ACK_ACTION,
        UPDATE_ACTION,
        ASSIGN_ACTION,
        SEVERITY_ACTION,
        RESOLVE_ACTION,
        ADD_ACTION_ACTION,
        CLOSE_ACTION,
        REOPEN_ACTION,
    )
    blocks = TEMPLATES.panel(make_card(number=7)).blocks
    actions = [b for b in blocks if b["type"] == "actions"]
    assert len(actions) == 1
    assert actions[0]["block_id"] == "incident_panel_actions"
    buttons = actions[0]["elements"]
    assert isinstance(buttons, list)
    assert [b["action_id"] for b in buttons] == list(PANEL_ACTIONS[:6])  # an open incident
    assert {b["value"] for b in buttons} == {"7"}
    assert [b.get("style") for b in buttons] == ["primary", None, None, None, None, None]


def test_panel_text_fallback() -> None:
    text = TEMPLATES.panel(make_card()).text
    assert (
        text
        == "INC-42 · P1 Critical · Checkout API returns 500 for all card payments (Investigating)"
    )
    assert TEMPLATES.announcement(make_card()).text == (
        "🚨 INC-42 declared (P1 Critical): Checkout API returns 500 for all card payments"
    )


def test_panel_header_is_bounded_and_marks_drills() -> None:
    header = TEMPLATES.panel(make_card(drill=True, title="t" * 400)).blocks[0]
    text = header["text"]
    assert isinstance(text, Mapping)
    assert text["text"].startswith("[DRILL] INC-42 · ttt")
    assert len(text["text"]) == 150
    assert text["text"].endswith("…")


def test_links_only_when_safe() -> None:
    assert safe_url("https://x.example/a?b=c") == "https://x.example/a?b=c"
    for bad in (
        "javascript:alert(1)",
        "https://evil|click",
        "https://evil>x",
        "https://a b",
        "ftp://x",
        "",
        None,
    ):
        assert safe_url(bad) is None
    card = make_card(runbook="https://evil.example|click", source_link="<https://evil|x>")
    for message in all_messages(card):
        check_message(message)
        assert "Runbook" not in str(message.blocks)
        assert "Source message" not in str(message.blocks)


def test_ids_become_mentions_only_when_they_look_like_ids() -> None:
    card = make_card(
        commander="<!channel>",
        declared_by="U1|<!here>",
        channel_id="C1> <!everyone",
        roles=(RoleLine("scribe", "Scribe", "u_lowercase"),),
    )
    for message in all_messages(card):
        check_message(message)
    topic = TEMPLATES.topic(card)
    assert "<!channel>" not in topic
    assert "&lt;!channel&gt;" in topic
    assert "<@U_BOB>" in str(TEMPLATES.panel(make_card()).blocks)


def test_dates_use_slack_formatting_with_a_utc_fallback() -> None:
    assert slack_date(DECLARED) == (
        "<!date^1795442700^{date_short_pretty} {time}|2026-11-23 14:05 UTC>"
    )
    plus_one = datetime(2026, 11, 23, 15, 5, tzinfo=timezone(timedelta(hours=1)))
    assert slack_date(plus_one) == slack_date(DECLARED)
    assert slack_date(DECLARED.replace(tzinfo=None)) == slack_date(DECLARED)


def test_clip_never_cuts_a_sequence() -> None:
    assert clip("abc <@U123> def", 9) == "abc …"
    assert clip("abc &amp; def", 7) == "abc …"
    assert clip("short", 10) == "short"


def test_many_roles_stay_within_a_field() -> None:
    roles = tuple(RoleLine(f"r{i}", "Role " * 20, f"U{i:08d}") for i in range(200))
    message = TEMPLATES.panel(make_card(roles=roles))
    check_message(message)
    assert "more" in str(message.blocks)


# -- hostile text ---------------------------------------------------------------------------


@pytest.mark.parametrize("hostile", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_text_is_escaped_and_bounded(hostile: str) -> None:
    card = make_card(
        title=hostile,
        description=hostile,
        affected_services=hostile,
        type_name=hostile,
        severity_name=hostile,
        severity_id=hostile,
        status=hostile,
        respond_within=hostile,
        roles=(RoleLine("x", hostile, "U_CAROL"), RoleLine("y", hostile, hostile)),
    )
    for message in all_messages(card):
        check_message(message)
    delayed = TEMPLATES.declarer_delayed(card, done=(hostile,), pending={hostile: hostile})
    check_message(delayed)
    topic = TEMPLATES.topic(card)
    assert len(topic) <= 250
    assert_safe_mrkdwn(topic)


@settings(max_examples=60, deadline=None)
@given(title=st.text(max_size=400), description=st.text(max_size=4000))
def test_any_unicode_title_renders_valid_messages(title: str, description: str) -> None:
    card = make_card(title=title, description=description, affected_services=title)
    for message in all_messages(card):
        check_message(message)
    topic = TEMPLATES.topic(card)
    assert len(topic) <= 250
    assert_safe_mrkdwn(topic)


def test_panel_shows_open_action_items_and_the_final_post_mortem() -> None:
    plain = json.dumps(TEMPLATES.panel(make_card()).blocks)
    assert "Action items" not in plain
    assert "Post-mortem" not in plain
    card = make_card(open_action_items=2, postmortem_link="https://docs.example.com/pm")
    shown = json.dumps(TEMPLATES.panel(card).blocks)
    assert "2 open items" in shown
    assert "<https://docs.example.com/pm|final document>" in shown
    unsafe = json.dumps(TEMPLATES.panel(make_card(postmortem_link="javascript:alert(1)")).blocks)
    assert "javascript" not in unsafe


def test_panel_shows_when_the_next_update_is_due() -> None:
    due = datetime(2026, 11, 23, 14, 30, tzinfo=UTC)
    shown = json.dumps(TEMPLATES.panel(make_card(next_update_due_at=due)).blocks)
    assert f"<!date^{int(due.timestamp())}^" in shown
    assert "Next update due" in shown


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {},
            [
                ACK_ACTION,
                UPDATE_ACTION,
                ASSIGN_ACTION,
                SEVERITY_ACTION,
                RESOLVE_ACTION,
                ADD_ACTION_ACTION,
            ],
        ),
        (
            {"acknowledged_by": "U_BOB", "acknowledged_at": DECLARED},
            [UPDATE_ACTION, ASSIGN_ACTION, SEVERITY_ACTION, RESOLVE_ACTION, ADD_ACTION_ACTION],
        ),
        ({"status": "resolved"}, [CLOSE_ACTION, REOPEN_ACTION, ADD_ACTION_ACTION]),
        ({"status": "closed"}, [REOPEN_ACTION]),
        ({"status": "declined"}, []),
    ],
    ids=["investigating", "acknowledged", "resolved", "closed", "declined"],
)
def test_panel_buttons_follow_the_status(changes: dict[str, Any], expected: list[str]) -> None:
    message = TEMPLATES.panel(make_card(**changes))
    check_message(message)
    buttons = [
        e["action_id"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]
    ]  # type: ignore[union-attr]
    assert buttons == expected
    if "acknowledged_by" in changes:
        assert "Acknowledged by <@U_BOB>" in json.dumps(message.blocks)


@pytest.mark.parametrize("status", ["resolved", "closed"])
def test_the_announcement_reads_as_over_once_the_incident_is(status: str) -> None:
    live = TEMPLATES.announcement(make_card())
    over = TEMPLATES.announcement(make_card(status=status))
    check_message(over)
    assert "Respond within" in json.dumps(live.blocks)
    assert ":rotating_light:" in json.dumps(live.blocks)
    assert "Respond within" not in json.dumps(over.blocks)
    assert ":rotating_light:" not in json.dumps(over.blocks)
    assert "🚨" not in over.text
    assert status in over.text


def test_a_link_in_a_description_stays_clickable_and_shows_where_it_goes() -> None:
    from bot.templates.text import plain_from_slack

    typed = plain_from_slack(
        "Errors spiked, see <https://grafana.example/d/abc?x=1&amp;y=2|dashboard> "
        "<!channel> <@U123|bob> <#C1|ops>"
    )
    assert typed == (
        "Errors spiked, see dashboard (https://grafana.example/d/abc?x=1&y=2) @channel @bob #ops"
    )
    text = json.dumps(TEMPLATES.panel(make_card(description=typed)).blocks)
    assert "<https://grafana.example/d/abc?x=1&amp;y=2>" in text
    assert "<!channel>" not in text
    assert "<@U123" not in text
