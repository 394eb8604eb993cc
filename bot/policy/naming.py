"""Slack names in a policy: who to tell (``Target``) and how incident channels are named.

A :class:`Target` is written in YAML as a plain string: ``#channel-name``, a channel id
(``C…``/``G…``), a user id (``U…``/``W…``), a group id (``S…``) or a group handle (``@oncall``).

A channel-name template uses the placeholders ``{number}`` (required), ``{slug}``,
``{severity}``, ``{type}`` and ``{date}``; format specs such as ``{number:04d}`` are refused, to
keep one obvious spelling. Its fixed text must be valid in a Slack channel name (lowercase
letters, digits, ``-``, ``_``). :func:`render_channel_name` never cuts the number and keeps the
name within Slack's 80 characters.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

CHANNEL_PLACEHOLDERS = ("number", "slug", "severity", "type", "date")
CHANNEL_NAME_MAX = 80


# --- who gets told: channels, users, groups ---------------------------------------------------

TargetKind = Literal["channel", "user", "group"]
_TARGET_IDS: dict[TargetKind, re.Pattern[str]] = {
    "channel": re.compile(r"[CG][A-Z0-9]{2,}"),
    "user": re.compile(r"[UW][A-Z0-9]{2,}"),
    "group": re.compile(r"S[A-Z0-9]{2,}"),
}
_TARGET_NAMES: dict[TargetKind, tuple[str, re.Pattern[str], str]] = {
    "channel": (
        "#",
        re.compile(r"[a-z0-9_-]{1,80}"),
        "channel names use lowercase letters, digits, '-' and '_' (at most 80)",
    ),
    "group": (
        "@",
        re.compile(r"[a-z0-9][a-z0-9._-]{0,79}"),
        "group handles use lowercase letters, digits, '.', '-' and '_'",
    ),
}
_MENTION = re.compile(
    r"<(?:#(?P<channel>[CG][A-Z0-9]+)|@(?P<user>[UW][A-Z0-9]+)|!subteam\^(?P<group>S[A-Z0-9]+))"
    r"(?:\|[^>]*)?>"
)
_TARGET_HINT = (
    "use '#channel-name', a channel id (C…/G…), a user id (U…/W…), a group id (S…)"
    " or '@group-handle'"
)


class TargetError(ValueError):
    """Text that does not name a channel, user or group."""


@dataclass(frozen=True)
class Target:
    """Someone to tell or invite. In YAML a plain string, parsed by :meth:`parse`:
    ``#channel-name``, ``C…``/``G…`` channel ids, ``U…``/``W…`` user ids, ``S…`` group ids,
    ``@handle`` group handles (Slack's ``<@U…>``, ``<#C…|name>``, ``<!subteam^S…>`` also work).
    """

    kind: TargetKind
    value: str  # a Slack id, or a channel name without '#', or a group handle without '@'

    def __post_init__(self) -> None:
        named = _TARGET_NAMES.get(self.kind)
        if not self.is_id and not (named and named[1].fullmatch(self.value)):
            raise TargetError(f"{self.value!r} is not a valid {self.kind}: {_TARGET_HINT}")

    @property
    def is_id(self) -> bool:
        """True for Slack ids; False for names and handles, which must be looked up."""
        return _TARGET_IDS[self.kind].fullmatch(self.value) is not None

    def __str__(self) -> str:
        return self.value if self.is_id else _TARGET_NAMES[self.kind][0] + self.value

    @property
    def mention(self) -> str:
        """How to write it in mrkdwn (ids become real mentions)."""
        if not self.is_id:
            return str(self)
        return {"channel": "<#{}>", "user": "<@{}>", "group": "<!subteam^{}>"}[self.kind].format(
            self.value
        )

    @classmethod
    def parse(cls, text: str) -> Target:
        raw = text.strip()
        if mention := _MENTION.fullmatch(raw):
            kind: TargetKind
            for kind in ("channel", "user", "group"):
                if mention[kind]:
                    return cls(kind, mention[kind])
        for kind, (sigil, pattern, rule) in _TARGET_NAMES.items():
            if raw.startswith(sigil):
                name = raw[1:]
                if kind == "group" and name in ("here", "channel", "everyone"):
                    raise TargetError(f"{raw!r} pings everyone; name a group such as '@oncall'")
                if not pattern.fullmatch(name):
                    raise TargetError(f"{raw!r}: {rule}")
                return cls(kind, name)
        for kind, pattern in _TARGET_IDS.items():
            if pattern.fullmatch(raw):
                return cls(kind, raw)
        raise TargetError(f"{raw!r} is not a channel, user or group: {_TARGET_HINT}")

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            _validate_target,
            serialization=core_schema.plain_serializer_function_ser_schema(
                str, return_schema=core_schema.str_schema()
            ),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "string", "examples": ["#incident-response", "@oncall", "U0123ABC"]}


def _validate_target(value: Any) -> Target:
    """Pydantic validation of a target: a :class:`Target` or its text; None is refused."""
    if isinstance(value, Target):
        return value
    if value is None:
        raise PydanticCustomError(
            "target",
            "is empty; in YAML quote names that start with '#' (\"#incident-response\"):"
            " an unquoted # starts a comment",
        )
    if not isinstance(value, str):
        raise PydanticCustomError("target", f"must be a string: {_TARGET_HINT}")
    try:
        return Target.parse(value)
    except TargetError as exc:
        raise PydanticCustomError("target", str(exc)) from None


def channel_target(target: Target) -> Target:
    if target.kind != "channel":
        raise PydanticCustomError(
            "target_kind",
            "must be a channel ('#name', C… or G…), not a {kind}",
            {"kind": target.kind},
        )
    return target


def invite_target(target: Target) -> Target:
    if target.kind == "channel":
        raise PydanticCustomError(
            "target_kind",
            "{target} is a channel; only users (U…) and groups (S… or @handle) can be invited",
            {"target": str(target)},
        )
    return target


# --- incident channel names ------------------------------------------------------------------


_Part = tuple[str, str | None, str | None, str | None]


def _channel_template_parts(template: str) -> list[_Part]:
    return list(string.Formatter().parse(template))


def channel_template_placeholders(template: str) -> tuple[str, ...]:
    """The placeholder names a (valid) template uses, in order of first use."""
    names = (name for _, name, _, _ in _channel_template_parts(template) if name is not None)
    return tuple(dict.fromkeys(names))


def channel_template_problems(template: str) -> list[str]:
    """Why ``template`` is not a usable channel-name template (``[]`` when it is)."""
    try:
        parts = _channel_template_parts(template)
    except ValueError:
        return ["unbalanced '{' or '}' (placeholders look like {number})"]
    problems: list[str] = []
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        written = (
            "{"
            + name
            + (f"!{conversion}" if conversion else "")
            + (f":{spec}" if spec else "")
            + "}"
        )
        if name not in CHANNEL_PLACEHOLDERS:
            allowed = ", ".join("{" + p + "}" for p in CHANNEL_PLACEHOLDERS)
            problems.append(f"unknown placeholder {written} (allowed: {allowed})")
        elif spec or conversion:
            problems.append(f"{written}: format specs are not supported, write {{{name}}}")
    if "number" not in (name for _, name, _, _ in parts):
        problems.append("must contain {number} (the incident number keeps channel names unique)")
    literal = "".join(text for text, _, _, _ in parts)
    bad = sorted(set(re.sub(r"[a-z0-9_-]", "", literal)))
    if bad:
        problems.append(
            f"invalid characters {' '.join(repr(c) for c in bad)}: channel names use lowercase"
            " letters, digits, '-' and '_'"
        )
    if len(literal) + 6 > CHANNEL_NAME_MAX:
        problems.append(
            f"the fixed text is {len(literal)} characters; with the number it must fit in"
            f" {CHANNEL_NAME_MAX}"
        )
    return problems


def _channel_value(text: str) -> str:
    return re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9_-]+", "-", text.lower())).strip("-_")


def render_channel_name(
    template: str,
    *,
    number: int,
    slug: str = "",
    severity: str = "",
    type_id: str = "",
    on: date | None = None,
) -> str:
    """Fill a (valid) channel-name template; the result is a Slack-safe name of ≤ 80 characters.

    Values are lowercased and reduced to channel characters (``slug`` should already be slugged,
    e.g. transliterated); ``{date}`` is ``YYYY-MM-DD``. When the name is too long, ``{slug}`` is
    shortened first, then ``{type}``, ``{date}``, ``{severity}``; the number is never cut.
    Separators left by empty values are collapsed.
    """
    if number < 0:
        raise ValueError("incident numbers are not negative")
    values = {
        "number": str(number),
        "slug": _channel_value(slug),
        "severity": _channel_value(severity),
        "type": _channel_value(type_id),
        "date": on.isoformat() if on else "",
    }
    parts = _channel_template_parts(template)
    for cut_first in ("slug", "type", "date", "severity"):
        length = sum(len(text) + len(values[name] if name else "") for text, name, _, _ in parts)
        excess = length - CHANNEL_NAME_MAX
        if excess <= 0:
            break
        uses = sum(1 for _, name, _, _ in parts if name == cut_first) or 1
        keep = max(0, len(values[cut_first]) - (excess + uses - 1) // uses)
        values[cut_first] = values[cut_first][:keep].rstrip("-_")
    name = "".join(text + (values[field] if field else "") for text, field, _, _ in parts)
    name = re.sub(r"-{2,}", "-", name).strip("-_")
    if len(name) > CHANNEL_NAME_MAX:
        raise ValueError(f"channel name {name!r} cannot be made to fit in 80 characters")
    return name
