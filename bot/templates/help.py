"""The `/incident help` message."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject, SectionBlock

from bot.templates.text import escape_mrkdwn, safe_mrkdwn

SECTION_TEXT_LIMIT = 3000


@dataclass(frozen=True)
class SubcommandHelp:
    name: str
    usage: str
    summary: str
    available: bool = True


def help_message(
    subcommands: Sequence[SubcommandHelp], *, command: str = "/incident", unknown: str | None = None
) -> dict[str, Any]:
    """An ephemeral message listing every subcommand with one line each."""
    lines = []
    for sub in subcommands:
        # Escaped: `<role>` would otherwise be read as Slack markup and vanish.
        usage = f"`{escape_mrkdwn(f'{command} {sub.usage}')}`"
        note = "" if sub.available else " _(not available yet)_"
        lines.append(f"• {usage} — {sub.summary}{note}")
    intro = f"*{command}* runs an incident from Slack. Subcommands:"
    if unknown is not None:
        word = safe_mrkdwn(unknown, 60)
        intro = f"I don't know the subcommand `{word}`. Here is what `{command}` can do:"
    body = "\n".join(lines)
    blocks = [
        SectionBlock(text=MarkdownTextObject(text=intro)),
        SectionBlock(text=MarkdownTextObject(text=body[:SECTION_TEXT_LIMIT])),
        ContextBlock(
            elements=[
                MarkdownTextObject(text=f"Type `{command} help` any time to see this list again.")
            ]
        ),
    ]
    for block in blocks:
        block.validate_json()
    fallback = intro.replace("*", "") + "\n" + body
    return {
        "response_type": "ephemeral",
        "text": fallback,
        "blocks": [block.to_dict() for block in blocks],
    }
