"""manifest.yml is valid for Slack and declares exactly what the code registers."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from pydantic import SecretStr

from bot.app import build_bolt_app, build_services
from bot.commands.surface import Surface
from bot.policy import default_policy
from bot.settings import Settings
from tests.conftest import REPO_ROOT, shared_path


def _manifest() -> dict[str, Any]:
    loaded = yaml.safe_load((REPO_ROOT / "manifest.yml").read_text("utf-8"))
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture
async def surface(tmp_path: Path) -> Surface:
    settings = Settings(
        slack_bot_token=SecretStr("xoxb-manifest-test"),
        slack_signing_secret=SecretStr("secret"),
        database_url=f"sqlite:///{tmp_path / 'w.db'}",
        _env_file=None,  # type: ignore[call-arg]
    )
    services = await build_services(settings, default_policy())
    _app, registered = build_bolt_app(services)
    await services.engine.dispose()
    return registered


def test_manifest_validates_against_slacks_schema() -> None:
    schema = json.loads(shared_path("slack", "manifest.schema.json").read_text("utf-8"))
    jsonschema.validate(_manifest(), schema)


def test_manifest_declares_exactly_the_registered_commands(surface: Surface) -> None:
    declared = {c["command"] for c in _manifest()["features"].get("slash_commands", [])}
    assert declared == surface.commands


def test_manifest_declares_exactly_the_registered_shortcuts(surface: Surface) -> None:
    shortcuts = _manifest()["features"].get("shortcuts", [])
    assert {s["callback_id"] for s in shortcuts if s["type"] == "message"} == (
        surface.message_shortcuts
    )
    assert {s["callback_id"] for s in shortcuts if s["type"] == "global"} == surface.shortcuts


def test_manifest_declares_exactly_the_registered_events(surface: Surface) -> None:
    subscriptions = _manifest().get("settings", {}).get("event_subscriptions", {})
    assert set(subscriptions.get("bot_events", [])) == surface.events


def test_interactivity_is_on_when_the_code_listens_for_it(surface: Surface) -> None:
    interactive = bool(surface.actions or surface.views or surface.message_shortcuts)
    enabled = _manifest()["settings"]["interactivity"]["is_enabled"]
    assert enabled or not interactive


def test_manifest_scopes_cover_the_slash_command() -> None:
    assert "commands" in _manifest()["oauth_config"]["scopes"]["bot"]


# The scope Slack requires before it delivers each event warroom subscribes to.
EVENT_SCOPES = {
    "app_home_opened": set(),  # App Home events need no scope
    "member_joined_channel": {"channels:read", "groups:read"},
    "member_left_channel": {"channels:read", "groups:read"},
    "reaction_added": {"reactions:read"},
    "reaction_removed": {"reactions:read"},
    "pin_added": {"pins:read"},
    "pin_removed": {"pins:read"},
}
# What the timeline and post-mortem features call, and the scopes those methods need.
METHOD_SCOPES = {
    "conversations.replies": {"channels:history", "groups:history"},
    "files.getUploadURLExternal": {"files:write"},
    "files.completeUploadExternal": {"files:write"},
    "files.info": {"files:read"},
    "conversations.canvases.create": {"canvases:write"},
    "canvases.edit": {"canvases:write"},
}


def test_manifest_scopes_cover_every_subscribed_event_and_used_method(surface: Surface) -> None:
    scopes = set(_manifest()["oauth_config"]["scopes"]["bot"])
    for event in surface.events:
        assert event in EVENT_SCOPES, f"which scope does {event} need?"
        assert EVENT_SCOPES[event] <= scopes, event
    for method, needed in METHOD_SCOPES.items():
        assert needed <= scopes, method


def test_schema_check_would_catch_a_broken_manifest() -> None:
    schema = json.loads(shared_path("slack", "manifest.schema.json").read_text("utf-8"))
    broken = _manifest()
    broken["features"]["slash_commands"][0]["command"] = "incident"  # must start with "/"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


# Scopes no Web API method lists but warroom's behaviour needs.
BEHAVIOUR_SCOPES = {
    "commands": "the /incident slash command",
    "chat:write.public": "posting to announce and notify channels the bot has not joined",
}


def _methods_called() -> set[str]:
    """Every Slack Web API method named in warroom's code (the gateway calls them by name)."""
    methods_dir = shared_path("slack", "methods")
    known = {path.stem for path in methods_dir.glob("*.json")}
    named: set[str] = set()
    for source in (REPO_ROOT / "bot").rglob("*.py"):
        named |= set(re.findall(r"\"([a-z]+(?:\.[a-zA-Z]+)+)\"", source.read_text("utf-8")))
    return named & known


def _bot_scopes(method: str) -> set[str]:
    data = json.loads(shared_path("slack", "methods", f"{method}.json").read_text("utf-8"))
    scope = data.get("scope") or {}
    return set(scope.get("bot", [])) if isinstance(scope, dict) else set()


def test_manifest_scopes_are_exactly_the_ones_used_each_with_its_reason(
    surface: Surface,
) -> None:
    """Every method warroom calls is allowed by some granted scope, and every granted scope is
    needed by a method it calls, an event it subscribes to or the slash command; each scope
    line says why in a comment."""
    scopes = set(_manifest()["oauth_config"]["scopes"]["bot"])
    called = _methods_called()
    assert {"chat.postMessage", "conversations.create", "usergroups.users.list"} <= called
    justified = set(BEHAVIOUR_SCOPES)
    for method in sorted(called):
        needs = _bot_scopes(method)
        if needs:
            assert needs & scopes, f"{method} needs one of {sorted(needs)}"
        justified |= needs & scopes
    for event in surface.events:
        justified |= EVENT_SCOPES[event] & scopes
    assert scopes == justified, f"unused scopes: {sorted(scopes - justified)}"
    lines = (REPO_ROOT / "manifest.yml").read_text("utf-8").splitlines()
    for scope in scopes:
        (line,) = [ln for ln in lines if ln.strip().startswith(f"- {scope} ")]
        assert " # " in line, f"{scope}: say why in a comment"
