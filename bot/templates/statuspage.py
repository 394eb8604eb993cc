"""The status page part of the update and resolve modals: "Publish to status page", the public
message (separate from the internal impact text) and the affected components."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from slack_sdk.models.blocks import (
    Block,
    CheckboxesElement,
    InputBlock,
    PlainTextInputElement,
    StaticMultiSelectElement,
)

from bot.templates.incident import plain
from bot.templates.ops_modals import (
    LABEL_LIMIT,
    PLACEHOLDER_LIMIT,
    checked_values,
    option,
    typed_value,
)

PUBLISH_BLOCK = "statuspage_publish"
PUBLISH_OPTION = "publish"
PUBLIC_MESSAGE_BLOCK = "statuspage_message"
COMPONENTS_BLOCK = "statuspage_components"
PUBLIC_MESSAGE_LIMIT = 2000  # what the public reads: short, and within Slack's input bounds
CHECKBOXES_LIMIT = 10  # Slack's; more components are offered in a multi-select


@dataclass(frozen=True)
class PublicAnswers:
    publish: bool
    message: str
    components: tuple[str, ...]


def public_blocks(
    *,
    message: str,
    components: Sequence[str],
    chosen: Sequence[str],
    resolving: bool = False,
) -> list[Block]:
    """The status page fields; `components` are the policy's names, `chosen` those preset
    (the ones the previous publication named)."""
    publish = option("Publish to status page", PUBLISH_OPTION)
    blocks: list[Block] = [
        InputBlock(
            block_id=PUBLISH_BLOCK,
            label=plain("Status page", LABEL_LIMIT),
            optional=True,
            element=CheckboxesElement(
                action_id=PUBLISH_BLOCK, options=[publish], initial_options=[publish]
            ),
        ),
        InputBlock(
            block_id=PUBLIC_MESSAGE_BLOCK,
            label=plain(
                "Public resolution message" if resolving else "Public message", LABEL_LIMIT
            ),
            optional=True,
            hint=plain("What customers read on the status page; no internal details", 2000),
            element=PlainTextInputElement(
                action_id=PUBLIC_MESSAGE_BLOCK,
                multiline=True,
                max_length=PUBLIC_MESSAGE_LIMIT,
                placeholder=plain(
                    "This incident has been resolved." if resolving else "We are investigating …",
                    PLACEHOLDER_LIMIT,
                ),
                initial_value=message[:PUBLIC_MESSAGE_LIMIT] or None,
            ),
        ),
    ]
    names = list(dict.fromkeys(components))
    if names and not resolving:
        options = [option(name, name) for name in names]
        preset = [o for o in options if o.value in set(chosen)] or None
        element = (
            CheckboxesElement(action_id=COMPONENTS_BLOCK, options=options, initial_options=preset)
            if len(options) <= CHECKBOXES_LIMIT
            else StaticMultiSelectElement(
                action_id=COMPONENTS_BLOCK,
                placeholder=plain("Choose components", PLACEHOLDER_LIMIT),
                options=options[:100],
                initial_options=preset,
            )
        )
        blocks.append(
            InputBlock(
                block_id=COMPONENTS_BLOCK,
                label=plain("Affected components", LABEL_LIMIT),
                optional=True,
                element=element,
            )
        )
    return blocks


def parse_public(values: object, *, components: Sequence[str]) -> PublicAnswers | None:
    """None when the form had no status page fields; only the policy's component names."""
    if not isinstance(values, Mapping) or PUBLISH_BLOCK not in values:
        return None
    chosen = checked_values(values, COMPONENTS_BLOCK)
    return PublicAnswers(
        publish=PUBLISH_OPTION in checked_values(values, PUBLISH_BLOCK),
        message=typed_value(values, PUBLIC_MESSAGE_BLOCK),
        components=tuple(name for name in components if name in chosen),
    )
