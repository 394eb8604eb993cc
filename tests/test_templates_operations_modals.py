"""Operations modals: golden views, Slack's limits, hostile text, tolerant parsing."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk.models.views import View

from bot.flows.cards import Choice, IncidentCard, RoleLine
from bot.flows.lifecycle import Status, legal_next
from bot.templates.operations import (
    ACTIONS_BLOCK,
    ASSIGN_CALLBACK,
    CLOSE_CONFIRM_CALLBACK,
    IMPACT_BLOCK,
    IMPACT_ENDED_BLOCK,
    MAX_INCIDENT_NUMBER,
    NEXT_UPDATE_BLOCK,
    RESOLVE_CALLBACK,
    ROOT_CAUSE_BLOCK,
    SEVERITY_BLOCK,
    SEVERITY_CALLBACK,
    SHARE_BLOCK,
    STATUS_BLOCK,
    SUMMARY_BLOCK,
    UPDATE_CALLBACK,
    ResolveAnswers,
    UpdateAnswers,
    assign_modal,
    close_confirm_modal,
    modal_metadata,
    parse_assign_submission,
    parse_incident_number,
    parse_modal_metadata,
    parse_resolve_submission,
    parse_severity_submission,
    parse_take_role_value,
    parse_update_submission,
    resolve_modal,
    role_block_id,
    severity_modal,
    update_modal,
)
from tests.conftest import assert_golden
from tests.test_templates_declare import block, check_view
from tests.test_templates_incident import HOSTILE, make_card
from tests.test_templates_operations import RAW_PINGS, plain_texts, strings

SEVERITIES = (
    Choice("P1", "P1 · Critical"),
    Choice("P2", "P2 · High"),
    Choice("P3", "P3 · Medium"),
    Choice("P4", "P4 · Low"),
)
ROLES = (
    RoleLine("commander", "Incident Commander", "U_ALICE"),
    RoleLine("tech_lead", "Technical Lead", "U_CAROL"),
    RoleLine("comms", "Communications Lead", None),
)


def statuses(current: Status) -> list[tuple[str, str]]:
    """As the flows build them: the current status first, then the legal moves."""
    return [(s.value, s.label) for s in (current, *legal_next(current)) if s != Status.RESOLVED]


def make_update_modal(card: IncidentCard | None = None, **changes: Any) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "card": card or make_card(),
        "legal_statuses": statuses(Status.INVESTIGATING),
        "default_next_minutes": 30,
        "share_default": True,
        "can_share": True,
    }
    kwargs.update(changes)
    return update_modal(**kwargs)


def check_ops_view(view: dict[str, Any]) -> None:
    """The declare modal's checks, plus: no raw ping or link in any string at all."""
    check_view(view)
    View(**view).validate_json()
    for text in strings(view):
        for raw in RAW_PINGS:
            assert raw not in text, text[:200]
    for text in plain_texts(view):
        assert "<" not in text
        assert ">" not in text
    assert parse_modal_metadata(view["private_metadata"])[0] is not None


def inputs(view: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    return [
        (b["block_id"], b["element"]["type"], b["label"]["text"], bool(b.get("optional")))
        for b in view["blocks"]
        if b["type"] == "input"
    ]


def all_modals(card: IncidentCard, word: str) -> list[dict[str, Any]]:
    return [
        make_update_modal(card, legal_statuses=[("investigating", word), (word, word)]),
        make_update_modal(card, can_share=False, default_next_minutes=None),
        resolve_modal(card=card),
        assign_modal(card=card, roles=[RoleLine(word, word, word), *ROLES]),
        severity_modal(card=card, severities=[Choice(word, word), *SEVERITIES]),
        close_confirm_modal(card=card, open_items=[word] * 40),
        close_confirm_modal(card=card, open_items=[]),
    ]


# -- golden and shape -----------------------------------------------------------------------


def test_update_modal_matches_golden() -> None:
    view = make_update_modal()
    check_ops_view(view)
    assert view["callback_id"] == UPDATE_CALLBACK
    assert (view["title"]["text"], view["submit"]["text"], view["close"]["text"]) == (
        "Post status update",
        "Post",
        "Cancel",
    )
    assert inputs(view) == [
        (STATUS_BLOCK, "static_select", "Status", False),
        (IMPACT_BLOCK, "plain_text_input", "Impact", False),
        (ACTIONS_BLOCK, "plain_text_input", "What is being done", False),
        (NEXT_UPDATE_BLOCK, "number_input", "Next update in (minutes)", True),
        (SHARE_BLOCK, "checkboxes", "Share", True),
    ]
    status = block(view, STATUS_BLOCK)["element"]
    assert [o["value"] for o in status["options"]] == [
        "investigating",
        "identified",
        "monitoring",
    ]
    assert status["initial_option"] == status["options"][0]
    assert status["initial_option"]["text"]["text"] == "Investigating"
    for block_id in (IMPACT_BLOCK, ACTIONS_BLOCK):
        element = block(view, block_id)["element"]
        assert element["multiline"] is True
        assert "initial_value" not in element
    minutes = block(view, NEXT_UPDATE_BLOCK)["element"]
    assert minutes["is_decimal_allowed"] is False
    assert minutes["min_value"] == "1"
    assert minutes["initial_value"] == "30"
    share = block(view, SHARE_BLOCK)["element"]
    assert [o["text"]["text"] for o in share["options"]] == ["Also post to the announce channel"]
    assert share["initial_options"] == share["options"]
    assert json.loads(view["private_metadata"]) == {"incident": 42, "channel": "C0INC42"}
    for block_id in (STATUS_BLOCK, IMPACT_BLOCK, ACTIONS_BLOCK, NEXT_UPDATE_BLOCK, SHARE_BLOCK):
        assert block(view, block_id)["element"]["action_id"] == block_id
    assert_golden("ops_update_modal", view)


def test_update_modal_without_share_or_cadence() -> None:
    view = make_update_modal(can_share=False, default_next_minutes=None, share_default=True)
    check_ops_view(view)
    assert all(b.get("block_id") != SHARE_BLOCK for b in view["blocks"])
    assert "initial_value" not in block(view, NEXT_UPDATE_BLOCK)["element"]
    unchecked = make_update_modal(share_default=False)
    assert "initial_options" not in block(unchecked, SHARE_BLOCK)["element"]
    for bad in (0, -5, 10**9):
        odd = make_update_modal(default_next_minutes=bad)
        check_ops_view(odd)
        assert "initial_value" not in block(odd, NEXT_UPDATE_BLOCK)["element"]
    assert_golden("ops_update_modal_minimal", view)


def test_resolve_modal_matches_golden() -> None:
    view = resolve_modal(card=make_card())
    check_ops_view(view)
    assert view["callback_id"] == RESOLVE_CALLBACK
    assert (view["title"]["text"], view["submit"]["text"]) == ("Resolve incident", "Resolve")
    assert inputs(view) == [
        (SUMMARY_BLOCK, "plain_text_input", "Resolution summary", False),
        (ROOT_CAUSE_BLOCK, "plain_text_input", "Root cause", True),
        (IMPACT_ENDED_BLOCK, "datetimepicker", "Impact ended at", True),
        ("contributing_factors", "plain_text_input", "Contributing factors", True),
        ("went_well", "plain_text_input", "What went well", True),
        ("went_badly", "plain_text_input", "What didn't go well", True),
    ]
    assert_golden("ops_resolve_modal", view)


def test_assign_modal_matches_golden() -> None:
    roles = (*ROLES, RoleLine("scribe", "Scribe", "<!channel>"))
    view = assign_modal(card=make_card(), roles=roles)
    check_ops_view(view)
    assert view["callback_id"] == ASSIGN_CALLBACK
    assert (view["title"]["text"], view["submit"]["text"]) == ("Assign roles", "Save")
    assert inputs(view) == [
        ("role:commander", "users_select", "Incident Commander", True),
        ("role:tech_lead", "users_select", "Technical Lead", True),
        ("role:comms", "users_select", "Communications Lead", True),
        ("role:scribe", "users_select", "Scribe", True),
    ]
    assert block(view, "role:commander")["element"]["initial_user"] == "U_ALICE"
    assert "initial_user" not in block(view, "role:comms")["element"]
    assert "initial_user" not in block(view, "role:scribe")["element"]
    assert role_block_id("comms") == "role:comms"
    assert_golden("ops_assign_modal", view)


def test_assign_modal_bounds_and_odd_roles() -> None:
    roles = [RoleLine(f"r{i}", "R" * 3000, f"U{i:05d}") for i in range(150)]
    roles += [RoleLine("", "empty", None), RoleLine("r1", "duplicate", None)]
    view = assign_modal(card=make_card(), roles=roles)
    check_ops_view(view)
    assert len(view["blocks"]) == 100
    empty = assign_modal(card=make_card(), roles=[])
    check_ops_view(empty)
    assert "no roles" in str(empty["blocks"])


def test_severity_modal_matches_golden() -> None:
    view = severity_modal(card=make_card(severity_id="P2"), severities=SEVERITIES)
    check_ops_view(view)
    assert view["callback_id"] == SEVERITY_CALLBACK
    assert (view["title"]["text"], view["submit"]["text"]) == ("Change severity", "Change")
    assert inputs(view) == [(SEVERITY_BLOCK, "static_select", "Severity", False)]
    select = block(view, SEVERITY_BLOCK)["element"]
    assert [o["value"] for o in select["options"]] == ["P1", "P2", "P3", "P4"]
    assert select["initial_option"] == select["options"][1]
    unknown = severity_modal(card=make_card(severity_id="SEV9"), severities=SEVERITIES)
    check_ops_view(unknown)
    assert "initial_option" not in block(unknown, SEVERITY_BLOCK)["element"]
    assert_golden("ops_severity_modal", view)


def test_severity_modal_bounds_options() -> None:
    many = [Choice(f"S{i}", "L" * 300) for i in range(150)]
    view = severity_modal(card=make_card(severity_id="S140"), severities=many)
    check_ops_view(view)
    select = block(view, SEVERITY_BLOCK)["element"]
    assert len(select["options"]) == 100
    assert "initial_option" not in select  # S140 is not among the options shown
    nothing = severity_modal(card=make_card(), severities=[])
    check_ops_view(nothing)


def test_close_confirm_modal_matches_golden() -> None:
    items = ["Add an alert on card error rate", "Pin payments-api version"]
    view = close_confirm_modal(card=make_card(status="resolved"), open_items=items)
    check_ops_view(view)
    assert view["callback_id"] == CLOSE_CONFIRM_CALLBACK
    assert (view["title"]["text"], view["submit"]["text"], view["close"]["text"]) == (
        "Close incident",
        "Close anyway",
        "Cancel",
    )
    text = view["blocks"][1]["text"]["text"]
    assert text == (
        "2 action items are still open:\n• Add an alert on card error rate\n"
        "• Pin payments-api version"
    )
    assert "anyway" in view["blocks"][-1]["elements"][0]["text"]
    none = close_confirm_modal(card=make_card(status="resolved"), open_items=[])
    check_ops_view(none)
    assert_golden("ops_close_confirm_modal", {"open": view, "none": none})


def test_close_confirm_bounds_the_list() -> None:
    view = close_confirm_modal(card=make_card(), open_items=["x" * 1000] * 500)
    check_ops_view(view)
    text = view["blocks"][1]["text"]["text"]
    assert text.startswith("500 action items are still open:")
    assert text.endswith("more")
    assert len(text) <= 3000


# -- private metadata -----------------------------------------------------------------------


def test_modal_metadata_round_trip() -> None:
    assert modal_metadata(42, "C0INC42") == '{"incident":42,"channel":"C0INC42"}'
    assert parse_modal_metadata(modal_metadata(42, "C0INC42")) == (42, "C0INC42")
    assert modal_metadata(7, None) == '{"incident":7,"channel":null}'
    assert parse_modal_metadata(modal_metadata(7, None)) == (7, None)
    assert parse_modal_metadata(modal_metadata(7, "<!channel>")) == (7, None)
    assert parse_modal_metadata(modal_metadata(7, "C" * 5000)) == (7, None)
    for view in all_modals(make_card(), "x"):
        assert parse_modal_metadata(view["private_metadata"]) == (42, "C0INC42")


@pytest.mark.parametrize(
    "raw",
    ["", "not json", "{", "[42]", "null", "42", '{"incident": "42"}', '{"incident": true}', None],
)
def test_bad_metadata_reads_as_nothing(raw: str | None) -> None:
    number, channel = parse_modal_metadata(raw)
    assert number is None
    assert channel is None


@pytest.mark.parametrize(
    "raw",
    [
        '{"incident": 0}',
        '{"incident": -1}',
        f'{{"incident": {MAX_INCIDENT_NUMBER + 1}}}',
        # 40 digits would reach the database and overflow its integer column there.
        f'{{"incident": {10**40}}}',
        '{"incident": 1e3}',
        "[" * 3000,  # nested deeper than Python's recursion limit: RecursionError, not ValueError
    ],
)
def test_metadata_with_an_impossible_number_reads_as_nothing(raw: str) -> None:
    assert parse_modal_metadata(raw)[0] is None
    assert parse_take_role_value(raw)[0] is None  # a "Take role" button's value, the same way


def test_parse_incident_number() -> None:
    assert parse_incident_number(1) == 1
    assert parse_incident_number("42") == 42
    assert parse_incident_number(MAX_INCIDENT_NUMBER) == MAX_INCIDENT_NUMBER
    assert parse_incident_number(str(MAX_INCIDENT_NUMBER)) == MAX_INCIDENT_NUMBER
    for bad in (
        0, -1, "0", "-1", "+1", " 1", "1 ", "1.0", "1e3", "", "²", "١٢", "0x10", "1_0",
        MAX_INCIDENT_NUMBER + 1, str(MAX_INCIDENT_NUMBER + 1), "1" * 40, 10**40,
        True, False, 1.0, None, [1], {"incident": 1},
    ):  # fmt: skip
        assert parse_incident_number(bad) is None, repr(bad)


def test_partial_metadata() -> None:
    assert parse_modal_metadata('{"incident": 3, "channel": 5}') == (3, None)
    assert parse_modal_metadata('{"channel": "C1"}') == (None, "C1")


# -- parsing submissions --------------------------------------------------------------------


def selected(value: str | None) -> dict[str, Any]:
    option = (
        None if value is None else {"text": {"type": "plain_text", "text": "x"}, "value": value}
    )
    return {"type": "static_select", "selected_option": option}


def typed(value: str | None, kind: str = "plain_text_input") -> dict[str, Any]:
    return {"type": kind, "value": value}


def test_parse_full_update() -> None:
    values = {
        STATUS_BLOCK: {STATUS_BLOCK: selected("identified")},
        IMPACT_BLOCK: {IMPACT_BLOCK: typed("  Cards fail\n")},
        ACTIONS_BLOCK: {ACTIONS_BLOCK: typed("Rolling back")},
        NEXT_UPDATE_BLOCK: {NEXT_UPDATE_BLOCK: typed("45", "number_input")},
        SHARE_BLOCK: {
            SHARE_BLOCK: {
                "type": "checkboxes",
                "selected_options": [
                    {"text": {"type": "plain_text", "text": "x"}, "value": "share"}
                ],
            }
        },
    }
    assert parse_update_submission(values) == UpdateAnswers(
        status="identified",
        impact="Cards fail",
        actions="Rolling back",
        next_in_minutes=45,
        share=True,
    )


def test_parse_empty_update() -> None:
    empty = UpdateAnswers(status=None, impact="", actions="", next_in_minutes=None, share=False)
    assert parse_update_submission({}) == empty
    assert parse_update_submission(None) == empty
    nones = {
        STATUS_BLOCK: {STATUS_BLOCK: selected(None)},
        IMPACT_BLOCK: {IMPACT_BLOCK: typed(None)},
        ACTIONS_BLOCK: {ACTIONS_BLOCK: None},
        NEXT_UPDATE_BLOCK: {NEXT_UPDATE_BLOCK: typed(None, "number_input")},
        SHARE_BLOCK: {SHARE_BLOCK: {"type": "checkboxes", "selected_options": []}},
    }
    assert parse_update_submission(nones) == empty
    odd: dict[str, Any] = {
        STATUS_BLOCK: [],
        IMPACT_BLOCK: {IMPACT_BLOCK: {"value": 5}},
        SHARE_BLOCK: {SHARE_BLOCK: {"selected_options": "share"}},
        NEXT_UPDATE_BLOCK: {"renamed": typed("12", "number_input")},
    }
    assert parse_update_submission(odd) == UpdateAnswers(None, "", "", 12, False)


@pytest.mark.parametrize("raw", ["0", "-5", "1.5", "abc", "", "١٢", "99999999", " "])
def test_parse_bad_minutes(raw: str) -> None:
    values = {NEXT_UPDATE_BLOCK: {NEXT_UPDATE_BLOCK: typed(raw, "number_input")}}
    assert parse_update_submission(values).next_in_minutes is None


@pytest.mark.parametrize(
    "raw", ["0", "-5", "abc", "1.5", "١٢", "10081", "99999999", "1" * 40, "+5", "5 min"]
)
def test_typed_minutes_that_are_no_cadence_are_invalid_not_the_default(raw: str) -> None:
    values = {NEXT_UPDATE_BLOCK: {NEXT_UPDATE_BLOCK: typed(raw, "number_input")}}
    answers = parse_update_submission(values)
    assert (answers.next_in_minutes, answers.next_in_valid) == (None, False)


@pytest.mark.parametrize(
    ("raw", "minutes"),
    [("", None), ("  ", None), (None, None), ("1", 1), (" 30 ", 30), ("10080", 10080)],
)
def test_empty_minutes_mean_the_cadence_and_good_ones_are_kept(
    raw: str | None, minutes: int | None
) -> None:
    values = {NEXT_UPDATE_BLOCK: {NEXT_UPDATE_BLOCK: typed(raw, "number_input")}}
    answers = parse_update_submission(values)
    assert (answers.next_in_minutes, answers.next_in_valid) == (minutes, True)
    assert parse_update_submission({}).next_in_valid is True  # no such block at all


def test_parse_full_resolve() -> None:
    values = {
        SUMMARY_BLOCK: {SUMMARY_BLOCK: typed("Rolled back")},
        ROOT_CAUSE_BLOCK: {ROOT_CAUSE_BLOCK: typed(" Bad config ")},
        IMPACT_ENDED_BLOCK: {
            IMPACT_ENDED_BLOCK: {"type": "datetimepicker", "selected_date_time": 1795444200}
        },
    }
    answers = parse_resolve_submission(values)
    assert answers == ResolveAnswers(
        summary="Rolled back",
        root_cause="Bad config",
        impact_ended_at=datetime(2026, 11, 23, 14, 30, tzinfo=UTC),
    )
    assert answers.impact_ended_at is not None
    assert answers.impact_ended_at.tzinfo is UTC


def test_parse_resolve_odd_times() -> None:
    def at(raw: Any) -> datetime | None:
        values = {IMPACT_ENDED_BLOCK: {IMPACT_ENDED_BLOCK: {"selected_date_time": raw}}}
        return parse_resolve_submission(values).impact_ended_at

    assert at("1795444200") == datetime(2026, 11, 23, 14, 30, tzinfo=UTC)
    assert at(1795444200.0) == datetime(2026, 11, 23, 14, 30, tzinfo=UTC)
    bad: Any
    for bad in (None, True, "soon", 10**20, [], {}):
        assert at(bad) is None
    assert parse_resolve_submission({}) == ResolveAnswers("", "", None)
    assert parse_resolve_submission(None) == ResolveAnswers("", "", None)


def test_parse_assign() -> None:
    values: dict[str, Any] = {
        "role:commander": {"role:commander": {"type": "users_select", "selected_user": "U_ALICE"}},
        "role:tech_lead": {"role:tech_lead": {"type": "users_select", "selected_user": None}},
        "role:comms": {"other": {"type": "users_select", "selected_user": "U_ERIN"}},
        "role:scribe": {"role:scribe": {"selected_user": "<!channel>"}},
        "role:": {"role:": {"selected_user": "U_X"}},
        "unrelated": {"unrelated": {"selected_user": "U_Y"}},
        "role:odd": None,
    }
    assert parse_assign_submission(values) == {"commander": "U_ALICE", "comms": "U_ERIN"}
    assert parse_assign_submission({}) == {}
    assert parse_assign_submission(None) == {}


def test_parse_severity() -> None:
    assert parse_severity_submission({SEVERITY_BLOCK: {SEVERITY_BLOCK: selected("P1")}}) == "P1"
    assert parse_severity_submission({SEVERITY_BLOCK: {SEVERITY_BLOCK: selected(None)}}) is None
    assert parse_severity_submission({SEVERITY_BLOCK: {SEVERITY_BLOCK: selected("")}}) is None
    assert parse_severity_submission({}) is None
    assert parse_severity_submission(None) is None


def test_round_trip_through_the_update_modal() -> None:
    """What the modal offers is what the parser reads back."""
    view = make_update_modal()
    status = block(view, STATUS_BLOCK)["element"]["initial_option"]
    share = block(view, SHARE_BLOCK)["element"]["initial_options"]
    values = {
        STATUS_BLOCK: {STATUS_BLOCK: {"type": "static_select", "selected_option": status}},
        NEXT_UPDATE_BLOCK: {
            NEXT_UPDATE_BLOCK: typed(block(view, NEXT_UPDATE_BLOCK)["element"]["initial_value"])
        },
        SHARE_BLOCK: {SHARE_BLOCK: {"type": "checkboxes", "selected_options": share}},
    }
    answers = parse_update_submission(values)
    assert (answers.status, answers.next_in_minutes, answers.share) == ("investigating", 30, True)


# -- hostile text ---------------------------------------------------------------------------


@pytest.mark.parametrize("hostile", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_text_in_modals(hostile: str) -> None:
    card = make_card(title=hostile, severity_id=hostile, channel_id=hostile, drill=True)
    for view in all_modals(card, hostile):
        check_ops_view(view)
        for found in view["blocks"]:
            element = found.get("element")
            if isinstance(element, Mapping):
                for option in element.get("options", []):
                    assert "<" not in option["value"]


@settings(max_examples=40, deadline=None)
@given(title=st.text(max_size=400), word=st.text(max_size=300))
def test_any_unicode_gives_valid_modals(title: str, word: str) -> None:
    for view in all_modals(make_card(title=title), word):
        check_ops_view(view)


def test_update_modal_is_prefilled_with_the_last_updates_words() -> None:
    view = update_modal(
        card=make_card(),
        legal_statuses=[("investigating", "Investigating")],
        default_next_minutes=15,
        share_default=True,
        can_share=True,
        impact="Card payments fail",
        actions="Rolling back",
    )
    initial = {
        block["block_id"]: block["element"].get("initial_value")
        for block in view["blocks"]
        if block["type"] == "input"
    }
    assert initial[IMPACT_BLOCK] == "Card payments fail"
    assert initial[ACTIONS_BLOCK] == "Rolling back"
