"""The method table: every Web API method the fake implements, with its built-in rate tier and
required arguments. At run time the tier and required arguments come from
`../shared/slack/methods/<method>.json` when it exists, else from this table; the conformance
test checks that both agree."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.slack.reference import reference_required, reference_tier
from sandbox.slack.rules import Ctx

Handler = Callable[[Ctx, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class MethodSpec:
    name: str
    tier: str  # "t1".."t4", or "t5" for Slack's special tier
    required: tuple[str, ...]  # besides `token`
    handler: Handler
    http_method: str = "POST"  # what Slack documents; the fake accepts GET and POST for all


METHODS: dict[str, MethodSpec] = {}

# Where Slack answers a missing argument with a method-specific error instead of the generic
# `invalid_arguments` (codes from the methods' `errors` lists).
MISSING_ARGUMENT_ERRORS: dict[tuple[str, str], str] = {
    ("conversations.invite", "users"): "no_user",
    ("conversations.create", "name"): "invalid_name_required",
    ("conversations.rename", "name"): "invalid_name_required",
    ("reactions.add", "timestamp"): "no_item_specified",
    ("reactions.remove", "name"): "invalid_name",
    ("reactions.add", "name"): "invalid_name",
    ("usergroups.users.list", "usergroup"): "no_such_subteam",
    ("files.getUploadURLExternal", "length"): "missing_argument",
    ("files.getUploadURLExternal", "filename"): "missing_argument",
    ("canvases.edit", "canvas_id"): "canvas_not_found",
}
# Slack answers a missing conversation argument like an unknown one.
CHANNEL_ARGS = frozenset({"channel", "channel_id"})


def method(
    name: str, *, tier: str, required: tuple[str, ...] = (), http: str = "POST"
) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        METHODS[name] = MethodSpec(name, tier, required, handler, http)
        return handler

    return register


def all_methods() -> dict[str, MethodSpec]:
    # Importing the handler modules registers their methods.
    from sandbox.slack import (  # noqa: F401
        h_chat,
        h_conversations,
        h_items,
        h_misc,
        h_views,
    )

    return METHODS


def effective_tier(name: str) -> str | None:
    spec = all_methods().get(name)
    return reference_tier(name) or (spec.tier if spec else None)


def effective_required(name: str) -> tuple[str, ...]:
    from_reference = reference_required(name)
    if from_reference is not None:
        return from_reference
    spec = all_methods().get(name)
    return spec.required if spec else ()


def missing_argument_error(name: str, arg: str) -> str:
    specific = MISSING_ARGUMENT_ERRORS.get((name, arg))
    if specific:
        return specific
    return "channel_not_found" if arg in CHANNEL_ARGS else "invalid_arguments"
