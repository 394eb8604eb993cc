"""The declare modal and its submission: golden views, Slack's limits, tolerant parsing."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk.models.views import View

from bot.flows.cards import Choice, DeclareForm, SeverityGuide
from bot.policy import default_policy, format_duration
from bot.templates.declare import (
    COMMANDER_BLOCK,
    DECLARE_CALLBACK,
    DESCRIPTION_BLOCK,
    DRILL_OPTION,
    OPTIONS_BLOCK,
    PRIVATE_OPTION,
    SERVICES_BLOCK,
    SEVERITY_BLOCK,
    STARTED_BLOCK,
    TITLE_BLOCK,
    TYPE_BLOCK,
    DeclareAnswers,
    declare_modal,
    declaring_view,
    parse_declare_metadata,
    parse_declare_submission,
)
from sandbox.slack.blockkit import validate_view
from tests.conftest import assert_golden
from tests.test_templates_incident import HOSTILE, assert_safe_mrkdwn, check_block, text_objects

PERMALINK = "https://acme.slack.com/archives/C0ORIGIN/p1795441500000100"


def policy_form(**changes: Any) -> DeclareForm:
    """A form as the flows would build it from the built-in policy."""
    policy = default_policy()
    form = DeclareForm(
        severities=tuple(
            SeverityGuide(
                id=s.id,
                name=s.name,
                description=s.description,
                respond_within=format_duration(s.respond_within) if s.respond_within else None,
            )
            for s in policy.severities
        ),
        types=tuple(Choice(value=t.id, label=t.name) for t in policy.types),
        private_types=frozenset(t.id for t in policy.types if t.private),
        declarer="U_BOB",
        title="Checkout API returns 500",
        description="Every card payment fails since 13:50.\nPayPal still works.",
        source_link=PERMALINK,
        origin_channel="C0ORIGIN",
    )
    return replace(form, **changes)


def check_view(view: dict[str, Any]) -> None:
    View(**view).validate_json()
    assert view["type"] == "modal"
    assert 1 <= len(view["blocks"]) <= 100
    for key in ("title", "submit", "close"):
        if key in view:
            assert view[key]["type"] == "plain_text"
            assert 1 <= len(view[key]["text"]) <= 24
    assert len(view.get("private_metadata", "")) <= 3000
    if any(block["type"] == "input" for block in view["blocks"]):
        assert "submit" in view
    for block in view["blocks"]:
        check_block(block)
    assert validate_view(view, surface="modal") == []


def block(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    found = [b for b in view["blocks"] if b.get("block_id") == block_id]
    assert len(found) == 1, block_id
    return dict(found[0])


# -- golden ---------------------------------------------------------------------------------


def test_declare_modal_matches_golden() -> None:
    view = declare_modal(policy_form())
    check_view(view)
    assert_golden("declare_modal", view)


def test_drill_modal_matches_golden() -> None:
    view = declare_modal(policy_form(drill=True, title="", description="", source_link=None))
    check_view(view)
    assert view["title"]["text"] == "Declare drill"
    assert_golden("declare_modal_drill", view)


def test_declaring_view_matches_golden() -> None:
    view = declaring_view(number=42, title="Checkout API returns 500")
    check_view(view)
    assert "submit" not in view
    assert all(b["type"] != "input" for b in view["blocks"])
    assert view["title"]["text"] == "Declaring incident"
    assert view["close"]["text"] == "Close"
    assert_golden("declaring_view", view)


# -- the modal's shape ----------------------------------------------------------------------


def test_modal_blocks_in_order() -> None:
    view = declare_modal(policy_form())
    assert view["callback_id"] == DECLARE_CALLBACK
    assert (view["title"]["text"], view["submit"]["text"], view["close"]["text"]) == (
        "Declare incident",
        "Declare",
        "Cancel",
    )
    assert view["blocks"][0]["type"] == "section"
    inputs = [b for b in view["blocks"] if b["type"] == "input"]
    assert [(b["block_id"], b["element"]["action_id"], b["label"]["text"]) for b in inputs] == [
        (TITLE_BLOCK, TITLE_BLOCK, "Title"),
        (SEVERITY_BLOCK, SEVERITY_BLOCK, "Severity"),
        (TYPE_BLOCK, TYPE_BLOCK, "Incident type"),
        (DESCRIPTION_BLOCK, DESCRIPTION_BLOCK, "Impact / description"),
        (SERVICES_BLOCK, SERVICES_BLOCK, "Affected services"),
        (COMMANDER_BLOCK, COMMANDER_BLOCK, "Incident commander"),
        (STARTED_BLOCK, STARTED_BLOCK, "Impact started at"),
        (OPTIONS_BLOCK, OPTIONS_BLOCK, "Options"),
    ]
    optional = {b["block_id"] for b in inputs if b.get("optional")}
    assert optional == {TYPE_BLOCK, DESCRIPTION_BLOCK, SERVICES_BLOCK, STARTED_BLOCK, OPTIONS_BLOCK}
    title = block(view, TITLE_BLOCK)["element"]
    assert title["initial_value"] == "Checkout API returns 500"
    assert "max_length" not in title
    severity = block(view, SEVERITY_BLOCK)["element"]
    assert "initial_option" not in severity
    assert severity["placeholder"]["text"] == "Choose a severity"
    assert [(o["text"]["text"], o["value"]) for o in severity["options"]] == [
        ("P1 · Critical", "P1"),
        ("P2 · High", "P2"),
        ("P3 · Medium", "P3"),
        ("P4 · Low", "P4"),
    ]
    types = block(view, TYPE_BLOCK)["element"]["options"]
    assert ("Security Breach (private)", "security") in [
        (o["text"]["text"], o["value"]) for o in types
    ]
    assert ("Service Outage", "outage") in [(o["text"]["text"], o["value"]) for o in types]
    assert block(view, COMMANDER_BLOCK)["element"]["initial_user"] == "U_BOB"
    started = block(view, STARTED_BLOCK)
    assert started["element"]["type"] == "datetimepicker"
    assert "initial_date_time" not in started["element"]
    assert started["hint"]["text"] == "Leave empty for now"
    assert block(view, DESCRIPTION_BLOCK)["element"]["multiline"] is True
    options = block(view, OPTIONS_BLOCK)["element"]
    assert [o["value"] for o in options["options"]] == [PRIVATE_OPTION, DRILL_OPTION]
    assert "initial_options" not in options


def test_severity_guide_lists_every_severity() -> None:
    guide = declare_modal(policy_form())["blocks"][0]["text"]["text"]
    assert "*P1 · Critical* — Revenue loss" in guide
    assert "(respond within 15m)" in guide
    assert "*P4 · Low* — Minimal, cosmetic issues (respond within 1d)" in guide


def test_drill_modal_checks_the_drill_box() -> None:
    view = declare_modal(policy_form(drill=True))
    options = block(view, OPTIONS_BLOCK)["element"]
    assert [o["value"] for o in options["initial_options"]] == [DRILL_OPTION]
    assert options["initial_options"][0] == options["options"][1]
    assert parse_declare_metadata(view["private_metadata"])[2] is True


def test_no_types_no_type_block() -> None:
    view = declare_modal(policy_form(types=(), private_types=frozenset()))
    check_view(view)
    assert all(b.get("block_id") != TYPE_BLOCK for b in view["blocks"])


def test_bad_declarer_is_not_preselected() -> None:
    view = declare_modal(policy_form(declarer="<!channel>"))
    check_view(view)
    assert "initial_user" not in block(view, COMMANDER_BLOCK)["element"]


def test_many_long_severities_keep_every_line_within_limits() -> None:
    severities = tuple(
        SeverityGuide(f"SEV-{i}", "Name " * 30, "Words and more words. " * 100, "15m")
        for i in range(12)
    )
    view = declare_modal(policy_form(severities=severities))
    check_view(view)
    guide = view["blocks"][0]["text"]["text"]
    assert len(guide) <= 3000
    for i in range(12):
        assert f"*SEV-{i} · " in guide
    assert guide.count("(respond within 15m)") == 12


def test_absurd_policy_still_gives_a_valid_modal() -> None:
    severities = tuple(
        SeverityGuide(f"S{i}" + "x" * 200, "N" * 300, "D" * 3000, "1h") for i in range(150)
    )
    types = tuple(Choice(f"t{i}" + "v" * 300, "L" * 300) for i in range(150))
    form = policy_form(
        severities=severities,
        types=types,
        private_types=frozenset(t.value for t in types),
        title="T" * 5000,
        description="D" * 5000,
        source_link="https://x.example/" + "a" * 5000,
        origin_channel="C" * 5000,
    )
    view = declare_modal(form)
    check_view(view)
    guides = [b for b in view["blocks"] if b["type"] == "section"]
    joined = "\n".join(b["text"]["text"] for b in guides)
    assert len(guides) > 1
    for i in range(150):
        assert f"*S{i}x" in joined  # cut, but every severity keeps its line
    assert len(block(view, SEVERITY_BLOCK)["element"]["options"]) == 100
    assert all(
        o["text"]["text"].endswith(" (private)")
        for o in block(view, TYPE_BLOCK)["element"]["options"]
    )
    assert parse_declare_metadata(view["private_metadata"]) == (None, None, False)


@pytest.mark.parametrize("hostile", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_text_in_the_modal(hostile: str) -> None:
    form = policy_form(
        severities=(SeverityGuide(hostile, hostile, hostile, hostile), *policy_form().severities),
        types=(Choice("odd", hostile), *policy_form().types),
        title=hostile,
        description=hostile,
        source_link=hostile,
        origin_channel=hostile,
    )
    view = declare_modal(form)
    check_view(view)
    # user text shows up verbatim only where Slack never parses it: plain_text and input values
    for obj in text_objects(view["blocks"]):
        if obj["type"] == "mrkdwn":
            assert_safe_mrkdwn(obj["text"])
    waiting = declaring_view(number=9, title=hostile)
    check_view(waiting)


@settings(max_examples=60, deadline=None)
@given(title=st.text(max_size=400), description=st.text(max_size=4000))
def test_any_unicode_prefill_gives_a_valid_modal(title: str, description: str) -> None:
    check_view(declare_modal(policy_form(title=title, description=description)))
    check_view(declaring_view(number=1, title=title))


# -- private metadata -----------------------------------------------------------------------


def test_private_metadata_round_trip() -> None:
    view = declare_modal(policy_form())
    assert json.loads(view["private_metadata"]) == {
        "source_link": PERMALINK,
        "origin_channel": "C0ORIGIN",
        "drill": False,
    }
    assert " " not in view["private_metadata"]
    assert parse_declare_metadata(view["private_metadata"]) == (PERMALINK, "C0ORIGIN", False)


def test_too_long_link_is_dropped() -> None:
    view = declare_modal(policy_form(source_link="https://x.example/" + "a" * 3000))
    assert parse_declare_metadata(view["private_metadata"]) == (None, "C0ORIGIN", False)


@pytest.mark.parametrize("raw", ["", "not json", "[1, 2]", "null", '{"drill": "yes"}', "{"])
def test_bad_metadata_is_empty(raw: str) -> None:
    assert parse_declare_metadata(raw) == (None, None, False)


# -- reading the submission -----------------------------------------------------------------


def full_values() -> dict[str, Any]:
    return {
        TITLE_BLOCK: {TITLE_BLOCK: {"type": "plain_text_input", "value": "  Checkout down  "}},
        SEVERITY_BLOCK: {
            SEVERITY_BLOCK: {
                "type": "static_select",
                "selected_option": {
                    "text": {"type": "plain_text", "text": "P1 · Critical"},
                    "value": "P1",
                },
            }
        },
        TYPE_BLOCK: {
            TYPE_BLOCK: {
                "type": "static_select",
                "selected_option": {
                    "text": {"type": "plain_text", "text": "x"},
                    "value": "security",
                },
            }
        },
        DESCRIPTION_BLOCK: {
            DESCRIPTION_BLOCK: {"type": "plain_text_input", "value": "All cards fail\n"}
        },
        SERVICES_BLOCK: {SERVICES_BLOCK: {"type": "plain_text_input", "value": "checkout"}},
        COMMANDER_BLOCK: {COMMANDER_BLOCK: {"type": "users_select", "selected_user": "U_ALICE"}},
        STARTED_BLOCK: {
            STARTED_BLOCK: {"type": "datetimepicker", "selected_date_time": 1795441800}
        },
        OPTIONS_BLOCK: {
            OPTIONS_BLOCK: {
                "type": "checkboxes",
                "selected_options": [
                    {
                        "text": {"type": "plain_text", "text": "Private incident"},
                        "value": "private",
                    },
                    {"text": {"type": "plain_text", "text": "Drill"}, "value": "drill"},
                ],
            }
        },
    }


def test_parse_full_submission() -> None:
    answers = parse_declare_submission(full_values())
    assert answers == DeclareAnswers(
        title="Checkout down",
        severity="P1",
        type_id="security",
        description="All cards fail",
        affected_services="checkout",
        commander="U_ALICE",
        started_at=datetime(2026, 11, 23, 13, 50, tzinfo=UTC),
        private=True,
        drill=True,
    )
    assert answers.started_at is not None
    assert answers.started_at.tzinfo is UTC


def test_parse_empty_optional_inputs() -> None:
    values = {
        TITLE_BLOCK: {TITLE_BLOCK: {"type": "plain_text_input", "value": "Checkout down"}},
        SEVERITY_BLOCK: {
            SEVERITY_BLOCK: {"type": "static_select", "selected_option": {"value": "P2"}}
        },
        TYPE_BLOCK: {TYPE_BLOCK: {"type": "static_select", "selected_option": None}},
        DESCRIPTION_BLOCK: {DESCRIPTION_BLOCK: {"type": "plain_text_input", "value": None}},
        SERVICES_BLOCK: {SERVICES_BLOCK: {"type": "plain_text_input", "value": None}},
        COMMANDER_BLOCK: {COMMANDER_BLOCK: {"type": "users_select", "selected_user": "U_BOB"}},
        STARTED_BLOCK: {STARTED_BLOCK: {"type": "datetimepicker", "selected_date_time": None}},
        OPTIONS_BLOCK: {OPTIONS_BLOCK: {"type": "checkboxes", "selected_options": []}},
    }
    assert parse_declare_submission(values) == DeclareAnswers(
        title="Checkout down",
        severity="P2",
        type_id=None,
        description="",
        affected_services="",
        commander="U_BOB",
        started_at=None,
        private=False,
        drill=False,
    )


def test_parse_tolerates_missing_and_odd_shapes() -> None:
    empty = DeclareAnswers("", None, None, "", "", None, None, False, False)
    assert parse_declare_submission({}) == empty
    odd: dict[str, Any] = {
        TITLE_BLOCK: None,
        SEVERITY_BLOCK: {SEVERITY_BLOCK: "P1"},
        TYPE_BLOCK: [],
        COMMANDER_BLOCK: {COMMANDER_BLOCK: {"selected_user": 7}},
        STARTED_BLOCK: {STARTED_BLOCK: {"selected_date_time": 10**20}},
        OPTIONS_BLOCK: {OPTIONS_BLOCK: {"selected_options": "drill"}},
    }
    assert parse_declare_submission(odd) == empty


def test_parse_reads_an_element_under_another_action_id() -> None:
    values = {TITLE_BLOCK: {"renamed": {"type": "plain_text_input", "value": "x"}}}
    assert parse_declare_submission(values).title == "x"


def test_parse_accepts_epoch_as_string() -> None:
    values = {STARTED_BLOCK: {STARTED_BLOCK: {"selected_date_time": "1795441800"}}}
    assert parse_declare_submission(values).started_at == datetime(2026, 11, 23, 13, 50, tzinfo=UTC)
