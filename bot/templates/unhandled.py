"""What warroom answers to a Slack request no listener of this version handles.

Such requests are real: a modal opened before a deploy that renamed it, a button on an old
message, a slash command configured in the app but not (or no longer) served here.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import MarkdownTextObject, PlainTextObject, SectionBlock
from slack_sdk.models.views import View

from bot.templates.text import safe_mrkdwn

COMMAND_LIMIT = 40

STALE_FORM_TEXT = (
    "This form is out of date, so *nothing was saved*. Close it and start again from `/incident`."
)


def stale_form_view(text: str = STALE_FORM_TEXT) -> dict[str, Any]:
    """Replaces a submitted modal warroom no longer knows (or cannot answer on a field).

    Closing it silently (an empty ack) would let the person believe their update was posted;
    field errors need an input block to attach to. So the modal says what happened. `text` is
    mrkdwn the caller made safe.
    """
    view = View(
        type="modal",
        title=PlainTextObject(text="warroom"),
        close=PlainTextObject(text="Close"),
        blocks=[SectionBlock(text=MarkdownTextObject(text=text, verbatim=True))],
    )
    view.validate_json()
    data: dict[str, Any] = view.to_dict()
    return data


def unknown_command(command: str) -> dict[str, Any]:
    """An ephemeral answer to a slash command nothing here handles."""
    name = safe_mrkdwn(command, COMMAND_LIMIT) or "that command"
    return {
        "response_type": "ephemeral",
        "text": f"warroom does not handle `{name}`. Try `/incident help`.",
    }
