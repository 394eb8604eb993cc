"""The offline Slack reference data beside the repository (`../shared/slack`), if present."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_SLACK = REPO_ROOT.parent / "shared" / "slack"
METHODS_DIR = SHARED_SLACK / "methods"
BLOCK_KIT_SCHEMA = SHARED_SLACK / "block-kit.schema.json"


@functools.cache
def method_reference(method: str) -> dict[str, Any] | None:
    """`methods/<method>.json` as a dict, or None when the folder or the file is missing."""
    path = METHODS_DIR / f"{method}.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def reference_tier(method: str) -> str | None:
    data = method_reference(method)
    tier = data.get("rate_limits") if data else None
    return tier if isinstance(tier, str) else None


def reference_required(method: str) -> tuple[str, ...] | None:
    data = method_reference(method)
    if not data:
        return None
    required = data.get("args", {}).get("required")
    if not isinstance(required, list):
        return None
    return tuple(str(name) for name in required if name != "token")


def reference_bot_scopes(method: str) -> tuple[str, ...]:
    """The bot scopes any one of which lets a bot call `method` (empty: none needed or
    unknown)."""
    data = method_reference(method)
    scope = data.get("scope") if data else None
    bot = scope.get("bot") if isinstance(scope, dict) else None
    return tuple(str(s) for s in bot) if isinstance(bot, list) else ()


def reference_errors(method: str) -> frozenset[str]:
    data = method_reference(method)
    errors = data.get("errors") if data else None
    return frozenset(errors) if isinstance(errors, dict) else frozenset()


@functools.cache
def block_kit_schema() -> dict[str, Any] | None:
    if not BLOCK_KIT_SCHEMA.is_file():
        return None
    try:
        data = json.loads(BLOCK_KIT_SCHEMA.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
