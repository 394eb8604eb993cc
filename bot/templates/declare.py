"""The declare modal, the "declaring…" modal, and reading the modal's submission back.

Block ids and action ids are the same strings (`TITLE_BLOCK` …), so a submission reads as
`values[TITLE_BLOCK][TITLE_BLOCK]` and a view_submission error names the block to flag.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    CheckboxesElement,
    DateTimePickerElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from bot.flows.cards import DeclareForm, SeverityGuide
from bot.templates.incident import (
    NAME_LIMIT,
    SECTION_TEXT_LIMIT,
    clip,
    is_user_id,
    mrkdwn,
    one_line,
    plain,
)
from bot.templates.text import defuse_plain, safe_mrkdwn, truncate

DECLARE_CALLBACK = "declare_incident"

TITLE_BLOCK = "title"
SEVERITY_BLOCK = "severity"
TYPE_BLOCK = "type"
DESCRIPTION_BLOCK = "description"
SERVICES_BLOCK = "affected_services"
COMMANDER_BLOCK = "commander"
STARTED_BLOCK = "started_at"
OPTIONS_BLOCK = "options"

PRIVATE_OPTION = "private"
DRILL_OPTION = "drill"

VIEW_TEXT_LIMIT = 24  # modal title, submit, close
PRIVATE_METADATA_LIMIT = 3000
OPTION_TEXT_LIMIT = 75
OPTION_VALUE_LIMIT = 150
SELECT_OPTIONS_LIMIT = 100
HEADER_TITLE_LIMIT = 150
INPUT_TEXT_LIMIT = 3000
PRIVATE_SUFFIX = " (private)"

GUIDE_HEADING = "*How bad is it?* Pick the severity that fits the worst impact right now:"
GUIDE_DESCRIPTION_MAX = 300  # per severity, before sharing the section between them


@dataclass(frozen=True)
class DeclareAnswers:
    """What the person filled in, as read from `view.state.values`."""

    title: str
    severity: str | None
    type_id: str | None
    description: str
    affected_services: str
    commander: str | None
    started_at: datetime | None
    private: bool
    drill: bool


# -- the declare modal ----------------------------------------------------------------------


def _guide_line(severity: SeverityGuide, description_limit: int) -> str:
    sev_id = safe_mrkdwn(one_line(severity.id), 40)
    name = safe_mrkdwn(one_line(severity.name), NAME_LIMIT)
    line = f"*{sev_id} · {name}*"
    description = one_line(severity.description)
    if description and description_limit > 1:
        line += f" — {safe_mrkdwn(description, description_limit)}"
    if severity.respond_within:
        line += f" (respond within {safe_mrkdwn(one_line(severity.respond_within), 20)})"
    return line


def _severity_guide(severities: Sequence[SeverityGuide]) -> list[Block]:
    """One line per severity; descriptions are cut to fit, never a severity dropped.

    The lines share one section when they fit (the usual case); a policy with very many
    severities gets more sections rather than losing lines.
    """
    if not severities:
        return []
    bare = [_guide_line(severity, 0) for severity in severities]
    room = SECTION_TEXT_LIMIT - len(GUIDE_HEADING) - sum(len(line) + 1 for line in bare)
    # " — " plus the description's share; never more than GUIDE_DESCRIPTION_MAX each
    share = min(GUIDE_DESCRIPTION_MAX, room // len(severities) - 3)
    lines = [_guide_line(severity, max(share, 0)) for severity in severities]
    sections: list[str] = []
    current = GUIDE_HEADING
    for line in lines:
        if len(current) + 1 + len(line) > SECTION_TEXT_LIMIT:
            sections.append(current)
            current = line
        else:
            current += "\n" + line
    sections.append(current)
    return [SectionBlock(text=mrkdwn(clip(text, SECTION_TEXT_LIMIT))) for text in sections]


def _option(text: str, value: str) -> Option:
    return Option(
        text=plain(one_line(text), OPTION_TEXT_LIMIT), value=truncate(value, OPTION_VALUE_LIMIT)
    )


def _severity_options(severities: Sequence[SeverityGuide]) -> list[Option]:
    return [
        _option(f"{one_line(severity.id)} · {one_line(severity.name)}", severity.id)
        for severity in severities[:SELECT_OPTIONS_LIMIT]
    ]


def _type_options(form: DeclareForm) -> list[Option]:
    options = []
    for choice in form.types[:SELECT_OPTIONS_LIMIT]:
        label = one_line(choice.label)
        if choice.value in form.private_types:
            label = truncate(label, OPTION_TEXT_LIMIT - len(PRIVATE_SUFFIX)) + PRIVATE_SUFFIX
        options.append(_option(label, choice.value))
    return options


def declare_metadata(form: DeclareForm) -> str:
    """`{"source_link":…,"origin_channel":…,"drill":…}`, compact and ≤ 3000 characters.

    A link that does not fit is dropped (a cut URL is useless); so is an absurd channel id.
    """
    source_link = form.source_link
    origin = form.origin_channel if form.origin_channel and len(form.origin_channel) <= 64 else None

    def dump(link: str | None) -> str:
        data: dict[str, object] = {"source_link": link, "origin_channel": origin}
        data["drill"] = form.drill
        if form.triage_number is not None:
            data["triage"] = form.triage_number
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False)

    encoded = dump(source_link)
    if len(encoded) > PRIVATE_METADATA_LIMIT:
        encoded = dump(None)
    return encoded


def _private_choice() -> Option:
    return Option(
        text=plain("Private incident", OPTION_TEXT_LIMIT),
        value=PRIVATE_OPTION,
        description=plain(
            "Only invited people can see the channel; forced on for private types",
            OPTION_TEXT_LIMIT,
        ),
    )


def _drill_choice() -> Option:
    return Option(
        text=plain("Drill", OPTION_TEXT_LIMIT),
        value=DRILL_OPTION,
        description=plain("Practice run: announced only in its own channel", OPTION_TEXT_LIMIT),
    )


def _view_dict(view: View) -> dict[str, Any]:
    view.validate_json()
    return view.to_dict()


def declare_modal(form: DeclareForm) -> dict[str, Any]:
    """The modal `/incident declare` (or `/incident drill`, or the message shortcut) opens."""
    blocks: list[Block] = [*_severity_guide(form.severities)]
    blocks.append(
        InputBlock(
            block_id=TITLE_BLOCK,
            label=plain("Title", 2000),
            element=PlainTextInputElement(
                action_id=TITLE_BLOCK,
                placeholder=plain("What is broken, in a few words", 150),
                initial_value=truncate(defuse_plain(one_line(form.title)), HEADER_TITLE_LIMIT)
                if form.title.strip()
                else None,
            ),
        )
    )
    blocks.append(
        InputBlock(
            block_id=SEVERITY_BLOCK,
            label=plain("Severity", 2000),
            element=StaticSelectElement(
                action_id=SEVERITY_BLOCK,
                placeholder=plain("Choose a severity", 150),
                options=_severity_options(form.severities),
                initial_option=next(
                    (
                        option
                        for option in _severity_options(form.severities)
                        if option.value == form.severity
                    ),
                    None,
                ),
            ),
        )
    )
    if form.types:
        blocks.append(
            InputBlock(
                block_id=TYPE_BLOCK,
                label=plain("Incident type", 2000),
                optional=True,
                element=StaticSelectElement(
                    action_id=TYPE_BLOCK,
                    placeholder=plain("Choose a type", 150),
                    options=_type_options(form),
                ),
            )
        )
    blocks.append(
        InputBlock(
            block_id=DESCRIPTION_BLOCK,
            label=plain("Impact / description", 2000),
            optional=True,
            element=PlainTextInputElement(
                action_id=DESCRIPTION_BLOCK,
                multiline=True,
                placeholder=plain("Who is affected and how; what you have seen so far", 150),
                initial_value=truncate(defuse_plain(form.description), INPUT_TEXT_LIMIT)
                if form.description.strip()
                else None,
            ),
        )
    )
    blocks.append(
        InputBlock(
            block_id=SERVICES_BLOCK,
            label=plain("Affected services", 2000),
            optional=True,
            element=PlainTextInputElement(
                action_id=SERVICES_BLOCK, placeholder=plain("e.g. checkout, payments API", 150)
            ),
        )
    )
    blocks.append(
        InputBlock(
            block_id=COMMANDER_BLOCK,
            label=plain("Incident commander", 2000),
            element=UserSelectElement(
                action_id=COMMANDER_BLOCK,
                placeholder=plain("Who runs the response", 150),
                initial_user=form.declarer if is_user_id(form.declarer) else None,
            ),
        )
    )
    blocks.append(
        InputBlock(
            block_id=STARTED_BLOCK,
            label=plain("Impact started at", 2000),
            optional=True,
            hint=plain("Leave empty for now", 2000),
            element=DateTimePickerElement(action_id=STARTED_BLOCK),
        )
    )
    blocks.append(
        InputBlock(
            block_id=OPTIONS_BLOCK,
            label=plain("Options", 2000),
            optional=True,
            element=CheckboxesElement(
                action_id=OPTIONS_BLOCK,
                options=[_private_choice(), _drill_choice()],
                initial_options=[_drill_choice()] if form.drill else None,
            ),
        )
    )
    view = View(
        type="modal",
        callback_id=DECLARE_CALLBACK,
        title=plain("Declare drill" if form.drill else "Declare incident", VIEW_TEXT_LIMIT),
        submit=plain("Declare", VIEW_TEXT_LIMIT),
        close=plain("Cancel", VIEW_TEXT_LIMIT),
        private_metadata=declare_metadata(form),
        blocks=blocks,
    )
    return _view_dict(view)


def declaring_view(*, number: int, title: str) -> dict[str, Any]:
    """What the modal turns into after a good submit (`response_action: update`)."""
    words = safe_mrkdwn(one_line(title), 1000)
    text = (
        f"Declaring *INC-{number}* · {words}… The channel is being set up; "
        "you'll get a message with the link in a moment."
    )
    view = View(
        type="modal",
        title=plain("Declaring incident", VIEW_TEXT_LIMIT),
        close=plain("Close", VIEW_TEXT_LIMIT),
        blocks=[SectionBlock(text=mrkdwn(clip(text, SECTION_TEXT_LIMIT)))],
    )
    return _view_dict(view)


# -- reading a submission back --------------------------------------------------------------


def _action(values: Mapping[str, Any], block_id: str) -> Mapping[str, Any]:
    """The state of the block's element: under its action id, or the block's only element."""
    block = values.get(block_id)
    if not isinstance(block, Mapping):
        return {}
    action = block.get(block_id)
    if action is None and len(block) == 1:
        action = next(iter(block.values()))
    return action if isinstance(action, Mapping) else {}


def _text(values: Mapping[str, Any], block_id: str) -> str:
    value = _action(values, block_id).get("value")
    return value.strip() if isinstance(value, str) else ""


def _selected(values: Mapping[str, Any], block_id: str) -> str | None:
    option = _action(values, block_id).get("selected_option")
    if not isinstance(option, Mapping):
        return None
    value = option.get("value")
    return value if isinstance(value, str) and value else None


def _user(values: Mapping[str, Any], block_id: str) -> str | None:
    user = _action(values, block_id).get("selected_user")
    return user.strip() if isinstance(user, str) and user.strip() else None


def _moment(values: Mapping[str, Any], block_id: str) -> datetime | None:
    raw = _action(values, block_id).get("selected_date_time")
    if isinstance(raw, bool):
        return None
    if isinstance(raw, str) and raw.strip().isdigit():
        raw = int(raw.strip())
    if not isinstance(raw, int | float):
        return None
    try:
        return datetime.fromtimestamp(raw, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _checked(values: Mapping[str, Any], block_id: str) -> frozenset[str]:
    options = _action(values, block_id).get("selected_options")
    if not isinstance(options, Sequence) or isinstance(options, str):
        return frozenset()
    return frozenset(
        option["value"]
        for option in options
        if isinstance(option, Mapping) and isinstance(option.get("value"), str)
    )


def parse_declare_submission(values: Mapping[str, Any]) -> DeclareAnswers:
    """Read `view.state.values` of the declare modal; missing or empty inputs are tolerated."""
    if not isinstance(values, Mapping):
        values = {}
    checked = _checked(values, OPTIONS_BLOCK)
    return DeclareAnswers(
        title=_text(values, TITLE_BLOCK),
        severity=_selected(values, SEVERITY_BLOCK),
        type_id=_selected(values, TYPE_BLOCK),
        description=_text(values, DESCRIPTION_BLOCK),
        affected_services=_text(values, SERVICES_BLOCK),
        commander=_user(values, COMMANDER_BLOCK),
        started_at=_moment(values, STARTED_BLOCK),
        private=PRIVATE_OPTION in checked,
        drill=DRILL_OPTION in checked,
    )


def parse_triage_number(private_metadata: str) -> int | None:
    """The triage incident the form declares (an alert's), if any."""
    try:
        data = json.loads(private_metadata)
    except (TypeError, ValueError):
        return None
    number = data.get("triage") if isinstance(data, dict) else None
    return number if isinstance(number, int) and 0 < number < 2**31 else None


def parse_declare_metadata(private_metadata: str) -> tuple[str | None, str | None, bool]:
    """(source_link, origin_channel, drill) from the modal's private_metadata; bad → empty."""
    try:
        data = json.loads(private_metadata)
    except (TypeError, ValueError):
        return None, None, False
    if not isinstance(data, dict):
        return None, None, False
    link = data.get("source_link")
    origin = data.get("origin_channel")
    return (
        link if isinstance(link, str) and link else None,
        origin if isinstance(origin, str) and origin else None,
        data.get("drill") is True,
    )
