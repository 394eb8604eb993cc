"""The fake's method table against Slack's reference data in `../shared/slack` (skipped, with
the reason shown, when that folder is not beside the repository)."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path
from typing import Any

import pytest

from sandbox.slack.blockkit import validate_message_blocks
from sandbox.slack.h_items import BOOKMARK_LINK_MAX, BOOKMARK_TITLE_MAX
from sandbox.slack.limits import TIER_PER_MINUTE, Clock, RateLimiter
from sandbox.slack.registry import all_methods, effective_required, effective_tier

SHARED_SLACK = Path(__file__).resolve().parents[1] / ".." / "shared" / "slack"
METHODS_DIR = SHARED_SLACK / "methods"

BRIEF_METHODS = [
    "auth.test",
    "conversations.create",
    "conversations.info",
    "conversations.list",
    "conversations.setTopic",
    "conversations.setPurpose",
    "conversations.invite",
    "conversations.kick",
    "conversations.join",
    "conversations.members",
    "conversations.history",
    "conversations.replies",
    "conversations.archive",
    "conversations.unarchive",
    "conversations.open",
    "conversations.rename",
    "chat.postMessage",
    "chat.postEphemeral",
    "chat.update",
    "chat.delete",
    "chat.getPermalink",
    "pins.add",
    "pins.remove",
    "pins.list",
    "reactions.add",
    "reactions.remove",
    "reactions.get",
    "bookmarks.add",
    "bookmarks.list",
    "bookmarks.remove",
    "views.open",
    "views.push",
    "views.update",
    "views.publish",
    "users.info",
    "users.list",
    "users.lookupByEmail",
    "users.conversations",
    "usergroups.list",
    "usergroups.users.list",
    "files.getUploadURLExternal",
    "files.completeUploadExternal",
    "files.info",
    "canvases.create",
    "conversations.canvases.create",
    "canvases.edit",
]

# Errors any method can answer (Slack's common errors, and the fake's transport faults).
COMMON_ERRORS = frozenset(
    {
        "invalid_arguments",
        "missing_argument",
        "not_authed",
        "invalid_auth",
        "ratelimited",
        "unknown_method",
        "invalid_json",
        "json_not_object",
        "fatal_error",
        "internal_error",
    }
)
# Codes the fake returns that the method's reference file does not list, and why.
DOCUMENTED_EXTRAS = {
    # Slack's OpenAPI spec lists too_many_users for conversations.invite (> 100 users).
    ("conversations.invite", "too_many_users"),
}
_RAISED = re.compile(r"""(?:fail|SlackError)\(\s*"([a-z_]+)"|error="([a-z_]+)\"""")


def reference(method: str) -> dict[str, Any]:
    if not METHODS_DIR.is_dir():
        pytest.skip("../shared/slack/methods not found beside the repository: conformance skipped")
    path = METHODS_DIR / f"{method}.json"
    assert path.is_file(), f"{method} is not a Slack method (no {path.name} in the reference)"
    data = json.loads(path.read_text("utf-8"))
    assert isinstance(data, dict)
    return data


def test_every_method_of_the_brief_is_implemented() -> None:
    assert sorted(set(BRIEF_METHODS) - set(all_methods())) == []


@pytest.mark.parametrize("method", sorted(all_methods()))
def test_method_table_matches_the_reference(method: str) -> None:
    spec = all_methods()[method]
    data = reference(method)
    assert spec.tier == data["rate_limits"], f"{method}: rate tier"
    required = {name for name in data["args"]["required"] if name != "token"}
    assert set(spec.required) == required, f"{method}: required arguments"
    assert spec.http_method == data["http_method"], f"{method}: HTTP method"
    # At run time the reference wins, and agrees with the table.
    assert effective_tier(method) == spec.tier
    assert set(effective_required(method)) == required


@pytest.mark.parametrize("method", sorted(all_methods()))
def test_error_codes_raised_by_handlers_are_documented(method: str) -> None:
    documented = set(reference(method).get("errors", {}))
    source = inspect.getsource(all_methods()[method].handler)
    raised = {a or b for a, b in _RAISED.findall(source)}
    unknown = {
        code
        for code in raised - documented - COMMON_ERRORS
        if (method, code) not in DOCUMENTED_EXTRAS
    }
    assert unknown == set(), f"{method} answers errors Slack does not document: {unknown}"


def test_rate_limits_come_from_the_reference_tiers() -> None:
    limiter = RateLimiter(Clock(), effective_tier)
    for method in all_methods():
        tier = reference(method)["rate_limits"]
        expected = None if method == "chat.postMessage" else TIER_PER_MINUTE[tier]
        assert limiter.limit_for(method) == expected, method
    assert TIER_PER_MINUTE == {"t1": 1, "t2": 20, "t3": 50, "t4": 100, "t5": 600}


def test_bookmark_lengths_match_the_reference() -> None:
    properties = reference("bookmarks.add")["args"]["properties"]
    assert properties["title"]["maxLength"] == BOOKMARK_TITLE_MAX
    assert properties["link"]["maxLength"] == BOOKMARK_LINK_MAX


def test_block_kit_schema_is_applied() -> None:
    if not (SHARED_SLACK / "block-kit.schema.json").is_file():
        pytest.skip("../shared/slack/block-kit.schema.json not found: schema check skipped")
    # slack_sdk accepts a context block without elements; only the schema refuses it.
    code, messages = validate_message_blocks([{"type": "context", "elements": []}])
    assert code == "invalid_blocks"
    assert messages == ["[ERROR] must provide at least 1 items [json-pointer:/blocks/0/elements]"]


def test_the_fake_works_without_the_reference_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Outside CI the sibling folder may be missing: the built-in table takes over."""
    from sandbox.slack import blockkit
    from sandbox.slack import reference as ref

    caches = (
        blockkit._schema_defs,
        ref.method_reference,
        ref.block_kit_schema,
        blockkit._block_validators,
        blockkit._view_validator,
    )
    monkeypatch.setattr(ref, "METHODS_DIR", tmp_path / "methods")
    monkeypatch.setattr(ref, "BLOCK_KIT_SCHEMA", tmp_path / "block-kit.schema.json")
    for cache in caches:
        cache.cache_clear()
    try:
        assert effective_tier("conversations.create") == "t2"
        assert effective_required("chat.postMessage") == ("channel",)
        empty_context = [{"type": "context", "elements": []}]
        assert validate_message_blocks(empty_context) == (None, [])  # no schema: slack_sdk only
        assert validate_message_blocks([{"type": "section"}])[0] == "invalid_blocks"
    finally:
        for cache in caches:
            cache.cache_clear()
