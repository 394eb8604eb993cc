"""`warroom doctor` against the fake Slack: every check passes on a good setup; a missing
scope, a bad token, an unmigrated database and unknown policy targets each fail, named."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

import store
from bot.doctor import REQUIRED_SCOPES
from sandbox.slack import FakeSlack
from tests.conftest import REPO_ROOT
from tests.e2e.driver import _STRIPPED_ENV

GOOD_TARGETS = {"notify": ["#leadership", "@oncall"], "invite": ["@backup-oncall"]}


def _policy(path: Path, **targets: list[str]) -> Path:
    policy = yaml.safe_load((REPO_ROOT / "bot" / "policy" / "default.yaml").read_text("utf-8"))
    for severity in policy["severities"]:
        severity.pop("escalation", None)
        severity["notify"] = targets.get("notify", [])
        severity["invite"] = targets.get("invite", [])
    for kind in policy["types"]:
        kind.pop("invite", None)
        kind.pop("notify", None)
    policy.pop("digest", None)
    path.write_text(yaml.safe_dump(policy, sort_keys=False), "utf-8")
    return path


def _doctor(fake: FakeSlack, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in _STRIPPED_ENV}
    environment.update(
        PYTHONPATH=str(REPO_ROOT),
        SLACK_BOT_TOKEN=fake.bot_token,
        SLACK_SIGNING_SECRET="secret",
        SLACK_API_URL=fake.api_url,
        DATABASE_URL=f"sqlite:///{tmp_path / 'w.db'}",
        WARROOM_POLICY=str(_policy(tmp_path / "p.yaml", **GOOD_TARGETS)),
    )
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "bot", "doctor"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_scopes_it_checks_are_the_manifests() -> None:
    manifest = yaml.safe_load((REPO_ROOT / "manifest.yml").read_text("utf-8"))
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == REQUIRED_SCOPES


def test_a_good_installation_passes_every_check(fake: FakeSlack, tmp_path: Path) -> None:
    fake.granted_scopes = sorted(REQUIRED_SCOPES)
    store.upgrade(f"sqlite:///{tmp_path / 'w.db'}")
    done = _doctor(fake, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert all(line.startswith("✓") for line in lines), done.stdout
    for name in ("Policy", "Database", "Slack token", "Scopes", "#leadership", "@oncall"):
        assert any(name in line for line in lines), (name, done.stdout)


def test_each_problem_is_named_with_its_fix(fake: FakeSlack, tmp_path: Path) -> None:
    fake.granted_scopes = sorted(REQUIRED_SCOPES - {"files:write"})
    policy = _policy(
        tmp_path / "bad.yaml", notify=["@no-such-team", "#no-such-channel", "U0NOBODY"]
    )
    done = _doctor(fake, tmp_path, WARROOM_POLICY=str(policy))  # and never migrated
    assert done.returncode == 1
    failed = [line for line in done.stdout.splitlines() if line.startswith("✗")]
    assert any("missing files:write" in line and "reinstall" in line for line in failed)
    assert any("Database" in line and "warroom db upgrade" in line for line in failed)
    for target in ("@no-such-team", "#no-such-channel", "U0NOBODY"):
        assert any(target in line for line in failed), (target, done.stdout)
    assert "Traceback" not in done.stderr

    refused = _doctor(fake, tmp_path, SLACK_BOT_TOKEN="xoxb-wrong")
    assert refused.returncode == 1
    assert "✗ Slack token: Slack refused SLACK_BOT_TOKEN (invalid_auth)" in refused.stdout
