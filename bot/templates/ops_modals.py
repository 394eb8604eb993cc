"""The operations modals (update, resolve, assign roles, severity, close) and their answers.

As in :mod:`bot.templates.declare`, a block's id and its element's action id are the same
string, so a submission reads as `values[BLOCK][BLOCK]` and a `response_action: errors`
names the block to flag. Every modal carries `{"incident":…,"channel":…}` as its
`private_metadata` (:func:`~bot.templates.ops_common.parse_modal_metadata` reads it back).
Parsers accept whatever Slack (or a forger) sends: missing blocks, `None`, odd types.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    CheckboxesElement,
    ContextBlock,
    DateTimePickerElement,
    InputBlock,
    NumberInputElement,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from bot.flows.cards import Choice, IncidentCard, RoleLine
from bot.templates.declare import (
    OPTION_TEXT_LIMIT,
    SELECT_OPTIONS_LIMIT,
    VIEW_TEXT_LIMIT,
)
from bot.templates.incident import SECTION_TEXT_LIMIT, is_user_id, mrkdwn, one_line, plain
from bot.templates.ops_common import (
    ASSIGN_CALLBACK,
    CLOSE_CONFIRM_CALLBACK,
    MODAL_BLOCKS_LIMIT,
    RESOLVE_CALLBACK,
    SEVERITY_CALLBACK,
    UPDATE_CALLBACK,
    bullet_items,
    headline,
    modal_metadata,
    usable_value,
)

STATUS_BLOCK = "status"
IMPACT_BLOCK = "impact"
ACTIONS_BLOCK = "actions"
NEXT_UPDATE_BLOCK = "next_update_minutes"
SHARE_BLOCK = "share"
SHARE_OPTION = "share"
SUMMARY_BLOCK = "summary"
ROOT_CAUSE_BLOCK = "root_cause"
IMPACT_ENDED_BLOCK = "impact_ended_at"
FACTORS_BLOCK = "contributing_factors"
WENT_WELL_BLOCK = "went_well"
WENT_BADLY_BLOCK = "went_badly"
ROLE_BLOCK_PREFIX = "role:"
SEVERITY_BLOCK = "severity"

LABEL_LIMIT = 2000
INITIAL_TEXT_LIMIT = 3000  # a plain-text input's initial value
PLACEHOLDER_LIMIT = 150
NEXT_UPDATE_MAX_MINUTES = 7 * 24 * 60  # a week; longer is not a cadence
CLOSE_ITEMS_SHOWN = 20


@dataclass(frozen=True)
class UpdateAnswers:
    status: str | None
    impact: str
    actions: str
    next_in_minutes: int | None  # None: left empty (the severity's cadence) or not valid
    share: bool
    # False when something was typed that is not 1..NEXT_UPDATE_MAX_MINUTES whole minutes:
    # a field error, never quietly the severity's cadence instead.
    next_in_valid: bool = True


@dataclass(frozen=True)
class ResolveAnswers:
    summary: str
    root_cause: str
    impact_ended_at: datetime | None  # aware UTC
    # Optional first thoughts for the post-mortem draft, while they are fresh.
    contributing_factors: str = ""
    went_well: str = ""
    went_badly: str = ""


# -- building -------------------------------------------------------------------------------


def option(label: str, value: str) -> Option:
    return Option(text=plain(one_line(label) or value, OPTION_TEXT_LIMIT), value=value)


def _options(choices: Sequence[tuple[str, str]]) -> list[Option]:
    """Options for the usable values (see `usable_value`), first of each value only."""
    seen: set[str] = set()
    out: list[Option] = []
    for value, label in choices:
        if usable_value(value) and value not in seen:
            seen.add(value)
            out.append(option(label, value))
    return out[:SELECT_OPTIONS_LIMIT]


def about(card: IncidentCard) -> SectionBlock:
    """The modal's first block: which incident this is about."""
    return SectionBlock(text=mrkdwn(f"*{headline(card, 1000)}*"))


def text_input(
    block_id: str, label: str, *, placeholder: str, optional: bool = False, initial: str = ""
) -> InputBlock:
    return InputBlock(
        block_id=block_id,
        label=plain(label, LABEL_LIMIT),
        optional=optional,
        element=PlainTextInputElement(
            action_id=block_id,
            multiline=True,
            placeholder=plain(placeholder, PLACEHOLDER_LIMIT),
            initial_value=initial[:INITIAL_TEXT_LIMIT] or None,
        ),
    )


def incident_modal(
    card: IncidentCard,
    *,
    callback_id: str,
    title: str,
    submit: str,
    blocks: Sequence[Block],
    metadata: str | None = None,
) -> dict[str, Any]:
    """A modal about one incident: its metadata names the incident (and its channel) unless
    `metadata` says more; every incident modal is built here."""
    view = View(
        type="modal",
        callback_id=callback_id,
        title=plain(title, VIEW_TEXT_LIMIT),
        submit=plain(submit, VIEW_TEXT_LIMIT),
        close=plain("Cancel", VIEW_TEXT_LIMIT),
        private_metadata=metadata or modal_metadata(card.number, card.channel_id),
        blocks=list(blocks)[:MODAL_BLOCKS_LIMIT],
    )
    view.validate_json()
    return view.to_dict()


def _share_choice() -> Option:
    return option("Also post to the announce channel", SHARE_OPTION)


def update_modal(
    *,
    card: IncidentCard,
    legal_statuses: Sequence[tuple[str, str]],
    default_next_minutes: int | None,
    share_default: bool,
    can_share: bool,
    impact: str = "",
    actions: str = "",
    extra: Sequence[Block] = (),
) -> dict[str, Any]:
    """ "Post status update": `legal_statuses` are (value, label), the current status first;
    `extra`: more fields at the end (the status page's)."""
    options = _options(legal_statuses)
    status = StaticSelectElement(
        action_id=STATUS_BLOCK,
        placeholder=plain("Choose a status", PLACEHOLDER_LIMIT),
        options=options,
        initial_option=options[0] if options else None,
    )
    next_minutes = (
        str(default_next_minutes)
        if default_next_minutes is not None and 1 <= default_next_minutes <= NEXT_UPDATE_MAX_MINUTES
        else None
    )
    blocks: list[Block] = [about(card)]
    if options:
        blocks.append(
            InputBlock(block_id=STATUS_BLOCK, label=plain("Status", 2000), element=status)
        )
    blocks += [
        # Prefilled with the last update's words: most updates change a line, not all.
        text_input(
            IMPACT_BLOCK,
            "Impact",
            placeholder="Who is affected and how, right now",
            initial=impact,
        ),
        text_input(
            ACTIONS_BLOCK,
            "What is being done",
            placeholder="What the responders are doing and what comes next",
            initial=actions,
        ),
        InputBlock(
            block_id=NEXT_UPDATE_BLOCK,
            label=plain("Next update in (minutes)", LABEL_LIMIT),
            optional=True,
            element=NumberInputElement(
                action_id=NEXT_UPDATE_BLOCK,
                is_decimal_allowed=False,
                min_value="1",
                max_value=str(NEXT_UPDATE_MAX_MINUTES),
                initial_value=next_minutes,
            ),
        ),
    ]
    if can_share:
        blocks.append(
            InputBlock(
                block_id=SHARE_BLOCK,
                label=plain("Share", LABEL_LIMIT),
                optional=True,
                element=CheckboxesElement(
                    action_id=SHARE_BLOCK,
                    options=[_share_choice()],
                    initial_options=[_share_choice()] if share_default else None,
                ),
            )
        )
    blocks += extra
    return incident_modal(
        card, callback_id=UPDATE_CALLBACK, title="Post status update", submit="Post", blocks=blocks
    )


def resolve_modal(*, card: IncidentCard, extra: Sequence[Block] = ()) -> dict[str, Any]:
    blocks: list[Block] = [
        about(card),
        text_input(
            SUMMARY_BLOCK, "Resolution summary", placeholder="What fixed it; what users see now"
        ),
        text_input(
            ROOT_CAUSE_BLOCK,
            "Root cause",
            placeholder="If it is known already; the post-mortem can add it later",
            optional=True,
        ),
        InputBlock(
            block_id=IMPACT_ENDED_BLOCK,
            label=plain("Impact ended at", LABEL_LIMIT),
            optional=True,
            hint=plain("Leave empty for now", LABEL_LIMIT),
            element=DateTimePickerElement(action_id=IMPACT_ENDED_BLOCK),
        ),
        text_input(
            FACTORS_BLOCK,
            "Contributing factors",
            placeholder="For the post-mortem draft: what made it likelier or worse",
            optional=True,
        ),
        text_input(
            WENT_WELL_BLOCK, "What went well", placeholder="For the post-mortem", optional=True
        ),
        text_input(
            WENT_BADLY_BLOCK,
            "What didn't go well",
            placeholder="Systems and processes, not people",
            optional=True,
        ),
        *extra,
    ]
    return incident_modal(
        card,
        callback_id=RESOLVE_CALLBACK,
        title="Resolve incident",
        submit="Resolve",
        blocks=blocks,
    )


def role_block_id(role_id: str) -> str:
    return f"{ROLE_BLOCK_PREFIX}{role_id}"


def assign_modal(*, card: IncidentCard, roles: Sequence[RoleLine]) -> dict[str, Any]:
    """One optional user picker per role (`role:<role_id>`), preset to the current holder."""
    blocks: list[Block] = [about(card)]
    seen: set[str] = set()
    for role in roles:
        if not usable_value(role.role_id) or role.role_id in seen:
            continue
        if len(blocks) >= MODAL_BLOCKS_LIMIT:
            break
        seen.add(role.role_id)
        block_id = role_block_id(role.role_id)
        blocks.append(
            InputBlock(
                block_id=block_id,
                label=plain(one_line(role.role_name) or role.role_id, LABEL_LIMIT),
                optional=True,
                element=UserSelectElement(
                    action_id=block_id,
                    placeholder=plain("Choose someone", PLACEHOLDER_LIMIT),
                    initial_user=role.user_id if is_user_id(role.user_id) else None,
                ),
            )
        )
    if len(blocks) == 1:
        blocks.append(SectionBlock(text=mrkdwn("_The policy defines no roles to assign._")))
    return incident_modal(
        card, callback_id=ASSIGN_CALLBACK, title="Assign roles", submit="Save", blocks=blocks
    )


def severity_modal(*, card: IncidentCard, severities: Sequence[Choice]) -> dict[str, Any]:
    options = _options([(choice.value, choice.label) for choice in severities])
    current = next((o for o in options if o.value == card.severity_id), None)
    select = StaticSelectElement(
        action_id=SEVERITY_BLOCK,
        placeholder=plain("Choose a severity", PLACEHOLDER_LIMIT),
        options=options,
        initial_option=current,
    )
    blocks: list[Block] = [about(card)]
    if options:
        blocks.append(
            InputBlock(
                block_id=SEVERITY_BLOCK, label=plain("Severity", LABEL_LIMIT), element=select
            )
        )
    else:
        blocks.append(SectionBlock(text=mrkdwn("_The policy defines no severities._")))
    return incident_modal(
        card,
        callback_id=SEVERITY_CALLBACK,
        title="Change severity",
        submit="Change",
        blocks=blocks,
    )


def close_confirm_modal(*, card: IncidentCard, open_items: Sequence[str]) -> dict[str, Any]:
    """Asks before closing an incident whose action items are not all done."""
    count = len(open_items)
    blocks: list[Block] = [about(card)]
    if count:
        noun = "action item is" if count == 1 else "action items are"
        intro = f"{count} {noun} still open:\n"
        items = bullet_items(
            open_items, limit=SECTION_TEXT_LIMIT - len(intro), max_items=CLOSE_ITEMS_SHOWN
        )
        blocks.append(SectionBlock(text=mrkdwn(intro + items)))
        ask = "Close the incident anyway? The open items stay on its record."
    else:
        ask = "Close the incident?"
    blocks.append(ContextBlock(elements=[mrkdwn(ask)]))
    return incident_modal(
        card,
        callback_id=CLOSE_CONFIRM_CALLBACK,
        title="Close incident",
        submit="Close anyway",
        blocks=blocks,
    )


# -- reading submissions back ---------------------------------------------------------------


def _block_state(values: object, block_id: str) -> Mapping[str, Any]:
    """The element state of a block: under `block_id` as action id, or its only element."""
    if not isinstance(values, Mapping):
        return {}
    block = values.get(block_id)
    if not isinstance(block, Mapping):
        return {}
    state = block.get(block_id)
    if state is None and len(block) == 1:
        state = next(iter(block.values()))
    return state if isinstance(state, Mapping) else {}


def typed_value(values: object, block_id: str) -> str:
    value = _block_state(values, block_id).get("value")
    return value.strip() if isinstance(value, str) else ""


def _option_value(values: object, block_id: str) -> str | None:
    option = _block_state(values, block_id).get("selected_option")
    value = option.get("value") if isinstance(option, Mapping) else None
    return value if isinstance(value, str) and value else None


def checked_values(values: object, block_id: str) -> set[str]:
    options = _block_state(values, block_id).get("selected_options")
    if not isinstance(options, list | tuple):
        return set()
    return {
        option["value"]
        for option in options
        if isinstance(option, Mapping) and isinstance(option.get("value"), str)
    }


def _minutes(values: object, block_id: str) -> tuple[int | None, bool]:
    """(minutes, valid): `(None, True)` for an empty field, `(None, False)` for `0`, `-5`,
    `abc`, `1.5` or more than a week; Slack's number input checks this too, but only in the
    client."""
    raw = typed_value(values, block_id)
    if not raw:
        return None, True
    too_long = len(raw) > len(str(NEXT_UPDATE_MAX_MINUTES))
    if too_long or not raw.isascii() or not raw.isdigit():
        return None, False
    minutes = int(raw)
    return (minutes, True) if 1 <= minutes <= NEXT_UPDATE_MAX_MINUTES else (None, False)


def _epoch(values: object, block_id: str) -> datetime | None:
    raw = _block_state(values, block_id).get("selected_date_time")
    if isinstance(raw, str) and raw.strip().isascii() and raw.strip().isdigit():
        raw = int(raw.strip())
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    try:
        return datetime.fromtimestamp(raw, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def parse_update_submission(values: object) -> UpdateAnswers:
    minutes, minutes_valid = _minutes(values, NEXT_UPDATE_BLOCK)
    return UpdateAnswers(
        status=_option_value(values, STATUS_BLOCK),
        impact=typed_value(values, IMPACT_BLOCK),
        actions=typed_value(values, ACTIONS_BLOCK),
        next_in_minutes=minutes,
        share=SHARE_OPTION in checked_values(values, SHARE_BLOCK),
        next_in_valid=minutes_valid,
    )


def parse_resolve_submission(values: object) -> ResolveAnswers:
    return ResolveAnswers(
        summary=typed_value(values, SUMMARY_BLOCK),
        root_cause=typed_value(values, ROOT_CAUSE_BLOCK),
        impact_ended_at=_epoch(values, IMPACT_ENDED_BLOCK),
        contributing_factors=typed_value(values, FACTORS_BLOCK),
        went_well=typed_value(values, WENT_WELL_BLOCK),
        went_badly=typed_value(values, WENT_BADLY_BLOCK),
    )


def parse_assign_submission(values: object) -> dict[str, str]:
    """role id → user id for every role with someone picked (user ids only)."""
    if not isinstance(values, Mapping):
        return {}
    out: dict[str, str] = {}
    for block_id in values:
        if not isinstance(block_id, str) or not block_id.startswith(ROLE_BLOCK_PREFIX):
            continue
        role_id = block_id.removeprefix(ROLE_BLOCK_PREFIX)
        user = _block_state(values, block_id).get("selected_user")
        if role_id and isinstance(user, str) and is_user_id(user):
            out[role_id] = user
    return out


def parse_severity_submission(values: object) -> str | None:
    return _option_value(values, SEVERITY_BLOCK)
