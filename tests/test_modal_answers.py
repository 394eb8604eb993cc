"""A refused modal submission is answered where Slack accepts it: on an input field when the
form has it, else by replacing the form with the message (never errors on a non-input)."""

from __future__ import annotations

from slack_sdk.models.views import View

from bot.commands.modals import _problem


def test_an_error_goes_on_the_field_when_the_form_has_it() -> None:
    values = {"status": {"status": {"type": "static_select", "selected_option": None}}}
    assert _problem(values, "status", "Pick a status.") == {
        "response_action": "errors",
        "errors": {"status": "Pick a status."},
    }


def test_a_form_without_that_input_is_replaced_by_the_message() -> None:
    answer = _problem({}, "close", "Only the Incident Commander can close INC-1 <!channel>.")
    assert answer["response_action"] == "update"
    View(**answer["view"]).validate_json()
    text = answer["view"]["blocks"][0]["text"]["text"]
    assert "Only the Incident Commander can close INC-1" in text
    assert "<!channel>" not in text
