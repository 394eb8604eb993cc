"""Slack's errors, argument decoding helpers and the simple platform rules (names, lengths)."""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

if TYPE_CHECKING:
    from sandbox.slack.state import Workspace

T = TypeVar("T")

CHANNEL_NAME_MAX = 80
TOPIC_MAX = 250
PURPOSE_MAX = 250
MESSAGE_TEXT_MAX = 40_000
INVITE_MAX_USERS = 100
_CHANNEL_NAME_RE = re.compile(r"^[a-z0-9_-]+$")

# Arguments that Slack accepts either as a JSON value or as a JSON-encoded string.
JSON_ARGS = frozenset(
    {
        "blocks",
        "attachments",
        "view",
        "metadata",
        "files",
        "changes",
        "document_content",
        "users",
        "channels",
        "title_content",
        "criteria",
    }
)


class SlackError(Exception):
    """An `{"ok": false, "error": ...}` answer. `rule` set => also a recorded violation."""

    def __init__(
        self,
        error: str,
        *,
        rule: str | None = None,
        detail: str | None = None,
        messages: Sequence[str] = (),
        **extra: Any,
    ) -> None:
        super().__init__(error)
        self.error = error
        self.rule = rule
        self.detail = detail or "; ".join(messages) or error
        self.extra: dict[str, Any] = dict(extra)
        if messages:
            self.extra["response_metadata"] = {"messages": list(messages)}

    def body(self) -> dict[str, Any]:
        return {"ok": False, "error": self.error, **self.extra}


@dataclass
class Ctx:
    """What a method handler gets: the workspace, and sinks for violations and warnings."""

    ws: Workspace
    method: str
    call_index: int | None
    violations: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def violate(self, rule: str, detail: str) -> None:
        self.violations.append((rule, detail))

    def warn(self, warning: str) -> None:
        if warning not in self.warnings:
            self.warnings.append(warning)

    def fail(self, error: str, **kwargs: Any) -> NoReturn:
        raise SlackError(error, **kwargs)


# -- argument decoding ----------------------------------------------------------------------


def decode_json_args(args: dict[str, Any]) -> dict[str, Any]:
    """Parse JSON-encoded strings of the JSON-capable arguments; leave anything else alone.

    A string that is not valid JSON is kept as is, so the handler can answer with the right
    error (e.g. `invalid_blocks_format`).
    """
    out = dict(args)
    for key in JSON_ARGS & out.keys():
        value = out[key]
        if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
            with contextlib.suppress(ValueError):
                out[key] = json.loads(value)
    return out


def as_str(args: dict[str, Any], key: str) -> str | None:
    value = args.get(key)
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def as_bool(args: dict[str, Any], key: str, default: bool = False) -> bool:
    value = args.get(key)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def as_int(
    args: dict[str, Any],
    key: str,
    default: int,
    *,
    error: str = "invalid_arguments",
    low: int | None = None,
    high: int | None = None,
) -> int:
    value = args.get(key)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise SlackError(
            error, rule="argument_type", detail=f"{key}={value!r} is not an integer"
        ) from None
    if (low is not None and number < low) or (high is not None and number > high):
        raise SlackError(error, rule="argument_range", detail=f"{key}={number} out of range")
    return number


def as_list(args: dict[str, Any], key: str) -> list[str]:
    """A comma-separated string (or a JSON list) of ids."""
    value = args.get(key)
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value).split(",") if part.strip()]


def required_missing(args: dict[str, Any], required: Sequence[str]) -> list[str]:
    return [name for name in required if name != "token" and args.get(name) is None]


# -- rules --------------------------------------------------------------------------------


def channel_name_error(name: str | None) -> str | None:
    """Slack's error for an invalid channel name, or None when the name is acceptable."""
    if not name:
        return "invalid_name_required"
    if len(name) > CHANNEL_NAME_MAX:
        return "invalid_name_maxlength"
    if not any(ch.isalnum() for ch in name):
        return "invalid_name_punctuation"
    if not _CHANNEL_NAME_RE.match(name):
        return "invalid_name_specials"
    return None


def check_channel_name(name: str | None) -> str:
    error = channel_name_error(name)
    if error is not None:
        raise SlackError(error, rule="channel_name", detail=f"channel name {name!r}: {error}")
    assert name is not None
    return name


def check_max_length(value: str, limit: int, *, error: str, what: str) -> None:
    if len(value) > limit:
        raise SlackError(error, rule=f"{what}_length", detail=f"{what} is {len(value)} > {limit}")


# -- pagination ---------------------------------------------------------------------------


def encode_cursor(kind: str, offset: int) -> str:
    return base64.b64encode(f"{kind}:{offset}".encode()).decode()


def paginate(
    items: Sequence[T], *, limit: int, cursor: str | None, kind: str
) -> tuple[list[T], str]:
    """One page of `items` and the `next_cursor` ("" on the last page), as Slack pages."""
    offset = 0
    if cursor:
        try:
            prefix, _, number = base64.b64decode(cursor, validate=True).decode().partition(":")
            offset = int(number)
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise SlackError("invalid_cursor") from None
        if prefix != kind or offset < 0:
            raise SlackError("invalid_cursor")
    page = list(items[offset : offset + limit])
    more = offset + limit < len(items)
    return page, encode_cursor(kind, offset + limit) if more else ""


def slack_pointer(path: Sequence[str | int], prefix: str = "") -> str:
    return prefix + "".join(f"/{part}" for part in path)
