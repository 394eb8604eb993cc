"""Block Kit validation: explicit limits, slack_sdk's models, and the JSON schema if present.

Every function returns Slack-style messages, e.g.
`[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]`;
an empty list means valid.
"""

from __future__ import annotations

import copy
import functools
import importlib.util
import re
from typing import TYPE_CHECKING, Any

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View as SdkView

from sandbox.slack.reference import block_kit_schema

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
SECTION_TEXT_MAX = 3000
SECTION_FIELD_MAX = 2000
HEADER_TEXT_MAX = 150
VIEW_TEXT_MAX = 24  # modal title, submit, close
PRIVATE_METADATA_MAX = 3000
ID_MAX = 255  # callback_id, block_id, action_id, external_id
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
OPTION_TEXT_MAX = 75
OPTION_VALUE_MAX = 150
PLACEHOLDER_MAX = 150
LABEL_MAX = 2000
OPTIONS_MAX = {"overflow": 5, "checkboxes": 10, "radio_buttons": 10}
SELECT_OPTIONS_MAX = 100


def _err(message: str, pointer: str) -> str:
    return f"[ERROR] {message} [json-pointer:{pointer}]"


def _text_of(node: Any) -> str | None:
    if isinstance(node, dict) and isinstance(node.get("text"), str):
        return str(node["text"])
    return None


def _max_len(value: Any, limit: int, pointer: str, out: list[str]) -> None:
    if isinstance(value, str) and len(value) > limit:
        out.append(_err(f"must be less than {limit + 1} characters", pointer))


def _check_options(node: dict[str, Any], pointer: str, out: list[str]) -> None:
    kind = str(node.get("type", ""))
    options = node.get("options")
    if isinstance(options, list):
        limit = OPTIONS_MAX.get(kind, SELECT_OPTIONS_MAX)
        if len(options) > limit:
            out.append(_err(f"must be less than {limit + 1} items", f"{pointer}/options"))
        _check_option_list(options, f"{pointer}/options", out)
    groups = node.get("option_groups")
    if isinstance(groups, list):
        if len(groups) > SELECT_OPTIONS_MAX:
            out.append(_err("must be less than 101 items", f"{pointer}/option_groups"))
        for g, group in enumerate(groups):
            if not isinstance(group, dict):
                continue
            gptr = f"{pointer}/option_groups/{g}"
            _max_len(_text_of(group.get("label")), OPTION_TEXT_MAX, f"{gptr}/label/text", out)
            inner = group.get("options")
            if isinstance(inner, list):
                if len(inner) > SELECT_OPTIONS_MAX:
                    out.append(_err("must be less than 101 items", f"{gptr}/options"))
                _check_option_list(inner, f"{gptr}/options", out)


def _check_option_list(options: list[Any], pointer: str, out: list[str]) -> None:
    for i, option in enumerate(options):
        if not isinstance(option, dict):
            continue
        optr = f"{pointer}/{i}"
        _max_len(_text_of(option.get("text")), OPTION_TEXT_MAX, f"{optr}/text/text", out)
        _max_len(option.get("value"), OPTION_VALUE_MAX, f"{optr}/value", out)
        desc = _text_of(option.get("description"))
        _max_len(desc, OPTION_TEXT_MAX, f"{optr}/description/text", out)


def _walk(node: Any, pointer: str, out: list[str]) -> None:
    """Element-level limits anywhere inside a block."""
    if isinstance(node, list):
        for i, item in enumerate(node):
            _walk(item, f"{pointer}/{i}", out)
        return
    if not isinstance(node, dict):
        return
    _max_len(node.get("action_id"), ID_MAX, f"{pointer}/action_id", out)
    if node.get("type") == "button":
        _max_len(_text_of(node.get("text")), BUTTON_TEXT_MAX, f"{pointer}/text/text", out)
        _max_len(node.get("value"), BUTTON_VALUE_MAX, f"{pointer}/value", out)
    if "placeholder" in node:
        _max_len(_text_of(node["placeholder"]), PLACEHOLDER_MAX, f"{pointer}/placeholder/text", out)
    if "options" in node or "option_groups" in node:
        _check_options(node, pointer, out)
    for key, value in node.items():
        if key not in ("options", "option_groups") and isinstance(value, dict | list):
            _walk(value, f"{pointer}/{key}", out)


def explicit_block_checks(block: Any, pointer: str) -> list[str]:
    out: list[str] = []
    if not isinstance(block, dict):
        return [_err("must be an object", pointer)]
    kind = block.get("type")
    if not isinstance(kind, str):
        return [_err("missing required field: type", pointer)]
    _max_len(block.get("block_id"), ID_MAX, f"{pointer}/block_id", out)
    if kind == "section":
        _max_len(_text_of(block.get("text")), SECTION_TEXT_MAX, f"{pointer}/text/text", out)
        fields = block.get("fields")
        if isinstance(fields, list):
            if len(fields) > 10:
                out.append(_err("must be less than 11 items", f"{pointer}/fields"))
            for i, fld in enumerate(fields):
                _max_len(_text_of(fld), SECTION_FIELD_MAX, f"{pointer}/fields/{i}/text", out)
    elif kind == "header":
        text = block.get("text")
        if isinstance(text, dict) and text.get("type") != "plain_text":
            # Slack: a header's text is plain_text only (mrkdwn is refused).
            out.append(_err("must be a plain_text object", f"{pointer}/text"))
        _max_len(_text_of(text), HEADER_TEXT_MAX, f"{pointer}/text/text", out)
    elif kind == "input":
        for key in ("label", "element"):
            if key not in block:
                out.append(_err(f"missing required field: {key}", pointer))
        _max_len(_text_of(block.get("label")), LABEL_MAX, f"{pointer}/label/text", out)
        _max_len(_text_of(block.get("hint")), LABEL_MAX, f"{pointer}/hint/text", out)
    _walk({k: v for k, v in block.items() if k != "block_id"}, pointer, out)
    return out


def sdk_block_checks(block: dict[str, Any], pointer: str) -> list[str]:
    try:
        parsed = Block.parse(copy.deepcopy(block))
        if parsed is None:
            return [_err(f"unsupported type: {block.get('type')!r}", f"{pointer}/type")]
        parsed.validate_json()
    except Exception as exc:  # slack_sdk raises several types; all mean "invalid"
        return [_err(str(exc), pointer)]
    return []


# -- JSON schema -------------------------------------------------------------------------


def _relax_id_patterns(node: Any) -> Any:
    """Slack ids never contain `_`, but the seeded ones (U_ALICE, S_ONCALL...) do: let the
    schema's id patterns (`^[UW][A-Z0-9]+$`...) accept it; every other pattern is kept."""
    if isinstance(node, list):
        return [_relax_id_patterns(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _relax_id_patterns(value) for key, value in node.items()}
    pattern = out.get("pattern")
    if isinstance(pattern, str) and pattern.endswith("[A-Z0-9]+$"):
        out["pattern"] = pattern.removesuffix("[A-Z0-9]+$") + "[A-Z0-9_]+$"
    return out


@functools.cache
def _schema_defs() -> dict[str, Any] | None:
    # The schema checks need jsonschema (a development dependency) and the reference data
    # beside the repository; the sandbox, installed, has neither and keeps the other checks.
    if importlib.util.find_spec("jsonschema") is None:
        return None
    schema = block_kit_schema()
    if schema is None:
        return None
    defs = _relax_id_patterns(schema.get("$defs", {}))
    return defs if isinstance(defs, dict) else None


@functools.cache
def _block_validators() -> dict[str, Draft202012Validator] | None:
    defs = _schema_defs()
    if defs is None:
        return None
    from jsonschema import Draft202012Validator

    out: dict[str, Draft202012Validator] = {}
    for ref in defs.get("block", {}).get("oneOf", []):
        name = ref.get("$ref", "").rsplit("/", 1)[-1]
        const = defs.get(name, {}).get("properties", {}).get("type", {}).get("const")
        if isinstance(const, str):
            out[const] = Draft202012Validator({"$defs": defs, "$ref": f"#/$defs/{name}"})
    return out


@functools.cache
def _view_validator(surface: str) -> Draft202012Validator | None:
    shared = _schema_defs()
    if shared is None:
        return None
    defs = copy.deepcopy(shared)
    name = f"{surface}_view"
    if name not in defs:
        return None
    # blocks are checked one by one (faster, clearer messages); keep the surface rules.
    defs[name]["properties"]["blocks"]["items"] = {"type": "object"}
    from jsonschema import Draft202012Validator

    return Draft202012Validator({"$defs": defs, "$ref": f"#/$defs/{name}"})


def _schema_message(error: ValidationError, pointer: str) -> str:
    where = pointer + "".join(f"/{part}" for part in error.absolute_path)
    kind, limit = error.validator, error.validator_value
    if kind == "maxLength":
        return _err(f"must be less than {int(limit) + 1} characters", where)
    if kind == "maxItems":
        return _err(f"must be less than {int(limit) + 1} items", where)
    if kind == "minItems":
        return _err(f"must provide at least {limit} items", where)
    if kind == "required":
        match = re.match(r"'([^']+)'", error.message)
        return _err(f"missing required field: {match.group(1) if match else limit}", where)
    if kind in ("const", "enum"):
        return _err(f"must be one of {limit!r}", where)
    if kind in ("oneOf", "anyOf"):
        return _err("failed to match all allowed schemas", where)
    message = error.message
    return _err(message if len(message) <= 200 else message[:200] + "…", where)


def schema_block_checks(block: dict[str, Any], pointer: str) -> list[str]:
    validators = _block_validators()
    if validators is None:
        return []
    validator = validators.get(str(block.get("type")))
    if validator is None:
        return [_err(f"unsupported type: {block.get('type')!r}", f"{pointer}/type")]
    from jsonschema.exceptions import best_match

    error = best_match(validator.iter_errors(block))
    return [] if error is None else [_schema_message(error, pointer)]


# -- entry points ------------------------------------------------------------------------


def _dedupe(messages: list[str]) -> list[str]:
    return list(dict.fromkeys(messages))


def check_blocks(blocks: list[Any], pointer: str = "/blocks") -> list[str]:
    out: list[str] = []
    for i, block in enumerate(blocks):
        bptr = f"{pointer}/{i}"
        found = explicit_block_checks(block, bptr)
        if isinstance(block, dict) and isinstance(block.get("type"), str):
            found += sdk_block_checks(block, bptr)
            found += schema_block_checks(block, bptr)
        out += found
    return _dedupe(out)


def validate_message_blocks(blocks: Any) -> tuple[str | None, list[str]]:
    """(error code or None, messages) for the `blocks` of a message."""
    if blocks is None:
        return None, []
    if not isinstance(blocks, list):
        return "invalid_blocks_format", [_err("must be an array", "/blocks")]
    if len(blocks) > MAX_MESSAGE_BLOCKS:
        return "invalid_blocks", [
            _err(f"no more than {MAX_MESSAGE_BLOCKS} items allowed", "/blocks")
        ]
    messages = check_blocks(blocks)
    return ("invalid_blocks", messages) if messages else (None, [])


def validate_view(view: Any, *, surface: str) -> list[str]:
    """Messages for a modal (`surface="modal"`) or Home tab (`surface="home"`) view."""
    if not isinstance(view, dict):
        return [_err("must be an object", "/view")]
    out: list[str] = []
    if view.get("type") != surface:
        out.append(_err(f"type must be {surface!r}", "/view/type"))
    blocks = view.get("blocks")
    if not isinstance(blocks, list):
        return [*out, _err("missing required field: blocks", "/view")]
    if len(blocks) > MAX_VIEW_BLOCKS:
        out.append(_err(f"no more than {MAX_VIEW_BLOCKS} items allowed", "/view/blocks"))
    if surface == "modal":
        if "title" not in view:
            out.append(_err("missing required field: title", "/view"))
        for key in ("title", "submit", "close"):
            _max_len(_text_of(view.get(key)), VIEW_TEXT_MAX, f"/view/{key}/text", out)
        has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
        if has_input and "submit" not in view:
            out.append(_err("missing required field: submit (a modal with inputs)", "/view"))
    _max_len(view.get("private_metadata"), PRIVATE_METADATA_MAX, "/view/private_metadata", out)
    _max_len(view.get("callback_id"), ID_MAX, "/view/callback_id", out)
    _max_len(view.get("external_id"), ID_MAX, "/view/external_id", out)
    if len(blocks) <= MAX_VIEW_BLOCKS:
        out += check_blocks(blocks, "/view/blocks")
    try:
        SdkView(**copy.deepcopy(view)).validate_json()
    except Exception as exc:  # slack_sdk raises several types; all mean "invalid"
        out.append(_err(str(exc), "/view"))
    validator = _view_validator(surface)
    if validator is not None:
        out += [_schema_message(e, "/view") for e in validator.iter_errors(view)]
    return _dedupe(out)
