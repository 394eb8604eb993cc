"""Rules that relate parts of a policy, checked on YAML-shaped data.

They read plain mappings and lists (as loaded from YAML, or ``Policy.model_dump(mode="json")``)
and skip whatever is malformed, so the loader can report them together with every field-level
problem of a broken file. ``Policy`` runs them on itself too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import timedelta
from typing import Any, Literal, get_args

from pydantic import BaseModel

from bot.policy.durations import DurationError, format_duration, parse_duration

Loc = tuple[str | int, ...]
PermissionAction = Literal[
    "resolve", "close", "severity", "assign", "update", "note", "ack", "action", "timeline"
]
PERMISSION_ACTIONS: tuple[PermissionAction, ...] = get_args(PermissionAction)
SPECIAL_GRANTEES = ("members", "anyone")


def lookup_key(text: str) -> str:
    """How ids and names compare: case, spaces, '-' and '_' do not matter ('SEV-1' == 'sev1')."""
    return re.sub(r"[\s_-]+", "", text.casefold())


def format_loc(loc: Sequence[str | int]) -> str:
    """``("severities", 2, "escalation", 0, "after")`` → ``severities[2].escalation[0].after``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def raw_field(item: Any, key: str) -> Any:
    """``item[key]`` of a mapping or ``item.key`` of a model; None when absent."""
    return item.get(key) if isinstance(item, Mapping) else getattr(item, key, None)


def _items(data: Mapping[str, Any], key: str) -> list[tuple[int, Any]]:
    value = data.get(key)
    if not isinstance(value, list | tuple):
        return []
    return [(i, x) for i, x in enumerate(value) if isinstance(x, Mapping | BaseModel)]


def _duration_or_none(value: Any) -> timedelta | None:
    if isinstance(value, timedelta):
        return value
    try:
        return parse_duration(value) if isinstance(value, str) else None
    except DurationError:
        return None


def _duplicates(data: Mapping[str, Any]) -> Iterator[tuple[Loc, str]]:
    for section in ("severities", "roles", "types"):
        seen: dict[str, str] = {}
        for i, item in _items(data, section):
            words: list[tuple[Loc, Any]] = [(("id",), raw_field(item, "id"))]
            if section == "roles":
                words.append((("name",), raw_field(item, "name")))
                aliases = raw_field(item, "aliases")
                if isinstance(aliases, list | tuple):
                    words += [(("aliases", j), alias) for j, alias in enumerate(aliases)]
            mine: set[str] = set()
            for loc, word in words:
                if not isinstance(word, str) or lookup_key(word) in mine:
                    continue
                mine.add(lookup_key(word))
                where = format_loc((section, i))
                if lookup_key(word) in seen:
                    yield (
                        (section, i, *loc),
                        f"{word!r} is already used by {seen[lookup_key(word)]}",
                    )
                else:
                    seen[lookup_key(word)] = where


def _lead(data: Mapping[str, Any]) -> Iterator[tuple[Loc, str]]:
    roles = _items(data, "roles")
    leads = [i for i, role in roles if raw_field(role, "lead") is True]
    if roles and not leads:
        yield ("roles",), "exactly one role needs 'lead: true' (the incident commander)"
    for i in leads[1:]:
        yield ("roles", i, "lead"), f"only one role may be the lead; roles[{leads[0]}] already is"


def _references(data: Mapping[str, Any]) -> Iterator[tuple[Loc, str]]:
    severity_ids = [
        s for _, item in _items(data, "severities") if isinstance(s := raw_field(item, "id"), str)
    ]
    for i, item in _items(data, "types"):
        wanted = raw_field(item, "default_severity")
        if isinstance(wanted, str) and lookup_key(wanted) not in map(lookup_key, severity_ids):
            yield (
                ("types", i, "default_severity"),
                f"unknown severity {wanted!r} (known: {', '.join(dict.fromkeys(severity_ids))})",
            )
    known = ", ".join(dict.fromkeys(severity_ids))
    named: list[tuple[Loc, Any]] = []
    alerts = data.get("alerts")
    mapped = alerts.get("severity_map") if isinstance(alerts, Mapping) else None
    for label, wanted in mapped.items() if isinstance(mapped, Mapping) else ():
        named.append((("alerts", "severity_map", str(label)), wanted))
    automatic = alerts.get("auto_declare") if isinstance(alerts, Mapping) else None
    map_keys = {str(k).strip().lower() for k in mapped} if isinstance(mapped, Mapping) else set()
    for j, value in enumerate(automatic if isinstance(automatic, list | tuple) else ()):
        if isinstance(value, str) and value.strip().lower() not in map_keys:
            yield (
                ("alerts", "auto_declare", j),
                f"{value!r} is not in alerts.severity_map: an alert is declared at once only "
                "with a severity the map gives it",
            )
    statuspage = data.get("statuspage")
    if isinstance(statuspage, Mapping):
        listed = statuspage.get("severities")
        for j, wanted in enumerate(listed if isinstance(listed, list | tuple) else ()):
            named.append((("statuspage", "severities", j), wanted))
        shown = statuspage.get("component_status")
        for wanted in shown if isinstance(shown, Mapping) else ():
            named.append((("statuspage", "component_status", str(wanted)), wanted))
    for loc, wanted in named:
        if isinstance(wanted, str) and lookup_key(wanted) not in map(lookup_key, severity_ids):
            yield loc, f"unknown severity {wanted!r} (known: {known})"
    role_ids = [
        r for _, item in _items(data, "roles") if isinstance(r := raw_field(item, "id"), str)
    ]
    permissions = data.get("permissions")
    if not isinstance(permissions, Mapping):
        return
    known = ", ".join(dict.fromkeys([*role_ids, *SPECIAL_GRANTEES]))
    for action, grantees in permissions.items():
        if action not in PERMISSION_ACTIONS:
            continue
        if isinstance(grantees, str):  # a single grantee may be written without a list
            if grantees not in (*role_ids, *SPECIAL_GRANTEES):
                yield ("permissions", action), f"unknown role {grantees!r} (known: {known})"
            continue
        for j, grantee in enumerate(grantees if isinstance(grantees, list | tuple) else ()):
            if isinstance(grantee, str) and grantee not in (*role_ids, *SPECIAL_GRANTEES):
                yield ("permissions", action, j), f"unknown role {grantee!r} (known: {known})"


def _escalation_order(data: Mapping[str, Any]) -> Iterator[tuple[Loc, str]]:
    for i, severity in _items(data, "severities"):
        ack = _duration_or_none(raw_field(severity, "ack_within"))
        previous: timedelta | None = None
        steps = raw_field(severity, "escalation")
        for j, step in enumerate(steps if isinstance(steps, list | tuple) else ()):
            after = _duration_or_none(raw_field(step, "after"))
            if after is None:
                continue
            loc: Loc = ("severities", i, "escalation", j, "after")
            if previous is not None and after <= previous:
                yield (
                    loc,
                    (
                        f"must be later than {format_duration(previous)} (an earlier step):"
                        " steps go in time order"
                    ),
                )
            elif ack is not None and after < ack:
                yield (
                    loc,
                    (
                        f"must be >= ack_within ({format_duration(ack)}): escalation starts only"
                        " when nobody acknowledged in time"
                    ),
                )
            previous = after if previous is None else max(previous, after)


def cross_check(data: Mapping[str, Any]) -> list[tuple[Loc, str]]:
    """The rules that relate parts of a policy, on YAML-shaped data (malformed parts skipped).

    A policy without ``roles`` must be given the default roles first. Ids (severities, roles,
    types) and role names/aliases must be unique (see :func:`lookup_key`); exactly one role is
    the lead; ``default_severity`` and permission role ids must exist; escalation steps must be
    in strictly increasing time order and not before ``ack_within``.
    """
    checks = (_duplicates, _lead, _references, _escalation_order)
    return [problem for check in checks for problem in check(data)]
