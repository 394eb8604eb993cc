"""The status page fields of the update and resolve modals: golden, Slack's limits, hostile
text, and parsing that keeps only the policy's component names."""

from __future__ import annotations

from typing import Any

from bot.templates.ops_modals import resolve_modal
from bot.templates.statuspage import (
    COMPONENTS_BLOCK,
    PUBLIC_MESSAGE_BLOCK,
    PUBLIC_MESSAGE_LIMIT,
    PUBLISH_BLOCK,
    PublicAnswers,
    parse_public,
    public_blocks,
)
from tests.conftest import assert_golden
from tests.test_templates_operations_modals import (
    check_ops_view,
    inputs,
    make_card,
    make_update_modal,
)


def _block(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    return next(b for b in view["blocks"] if b.get("block_id") == block_id)


def test_update_modal_with_the_status_page_matches_golden() -> None:
    extra = public_blocks(
        message="We are investigating <b>errors</b> & more.",
        components=["API", "Website"],
        chosen=["API"],
    )
    view = make_update_modal(extra=extra)
    check_ops_view(view)
    assert inputs(view)[-3:] == [
        (PUBLISH_BLOCK, "checkboxes", "Status page", True),
        (PUBLIC_MESSAGE_BLOCK, "plain_text_input", "Public message", True),
        (COMPONENTS_BLOCK, "checkboxes", "Affected components", True),
    ]
    publish = _block(view, PUBLISH_BLOCK)["element"]
    assert publish["initial_options"] == publish["options"]  # checked by default
    message = _block(view, PUBLIC_MESSAGE_BLOCK)["element"]
    # Plain text, as typed (an input shows it literally).
    assert message["initial_value"] == "We are investigating <b>errors</b> & more."
    assert message["max_length"] == PUBLIC_MESSAGE_LIMIT
    components = _block(view, COMPONENTS_BLOCK)["element"]
    assert [o["value"] for o in components["initial_options"]] == ["API"]
    assert_golden("ops_update_modal_statuspage", view)


def test_resolve_modal_asks_for_the_public_resolution() -> None:
    extra = public_blocks(message="", components=["API"], chosen=["API"], resolving=True)
    view = resolve_modal(card=make_card(), extra=extra)
    check_ops_view(view)
    labels = [label for _b, _t, label, _o in inputs(view)]
    assert labels[-2:] == ["Status page", "Public resolution message"]
    assert "Affected components" not in labels  # resolving sets them back to operational
    assert "initial_value" not in _block(view, PUBLIC_MESSAGE_BLOCK)["element"]


def test_many_components_use_a_multi_select_within_slack_limits() -> None:
    names = [f"Component {i}" for i in range(30)]
    view = make_update_modal(extra=public_blocks(message="x", components=names, chosen=[]))
    check_ops_view(view)
    element = _block(view, COMPONENTS_BLOCK)["element"]
    assert element["type"] == "multi_static_select"
    assert "initial_options" not in element


def test_parse_public_keeps_only_known_components() -> None:
    values = {
        PUBLISH_BLOCK: {PUBLISH_BLOCK: {"selected_options": [{"value": "publish"}]}},
        PUBLIC_MESSAGE_BLOCK: {PUBLIC_MESSAGE_BLOCK: {"value": "  Fixed.  "}},
        COMPONENTS_BLOCK: {
            COMPONENTS_BLOCK: {"selected_options": [{"value": "API"}, {"value": "forged"}]}
        },
    }
    assert parse_public(values, components=["API", "Website"]) == PublicAnswers(
        publish=True, message="Fixed.", components=("API",)
    )
    unticked = {**values, PUBLISH_BLOCK: {PUBLISH_BLOCK: {"selected_options": []}}}
    answers = parse_public(unticked, components=["API"])
    assert answers is not None
    assert answers.publish is False
    assert parse_public({}, components=["API"]) is None  # the form had no status page fields
    assert parse_public(None, components=["API"]) is None
