"""The `warroom` console script and `make run`, as an operator meets them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.e2e.driver import _STRIPPED_ENV


def _env_without_slack() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _STRIPPED_ENV}
    env["PYTHONPATH"] = str(REPO_ROOT)
    return env


def _warroom(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=_env_without_slack(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_serve_without_tokens_names_what_is_missing(tmp_path: Path) -> None:
    result = _warroom("serve", cwd=tmp_path)
    assert result.returncode != 0
    assert "SLACK_BOT_TOKEN" in result.stderr
    assert "SLACK_SIGNING_SECRET" in result.stderr
    assert "README" in result.stderr
    assert "Create the Slack app" in result.stderr


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_without_tokens_fails_fast_with_the_message(tmp_path: Path) -> None:
    # Run from an empty folder so a developer's .env cannot supply tokens.
    result = subprocess.run(
        ["make", "--no-print-directory", "-f", str(REPO_ROOT / "Makefile"), "run"],
        cwd=tmp_path,
        env=_env_without_slack(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    assert "missing SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET" in result.stderr
    assert "Create the Slack app" in result.stderr


def test_readme_has_the_section_the_message_points_at() -> None:
    readme = (REPO_ROOT / "README.md").read_text("utf-8")
    assert "## Create the Slack app" in readme


def test_readme_opens_with_the_two_commands() -> None:
    lines = [
        line.strip()
        for line in (REPO_ROOT / "README.md").read_text("utf-8").splitlines()
        if line.strip().startswith("make ")
    ]
    assert lines[:2] == ["make run", "make test"]


def test_db_upgrade_creates_the_schema(tmp_path: Path) -> None:
    env = _env_without_slack()
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'w.db'}"
    result = subprocess.run(
        [sys.executable, "-m", "bot", "db", "upgrade"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "w.db").exists()


def test_policy_check_prints_ok_for_the_default_policy(tmp_path: Path) -> None:
    default = REPO_ROOT / "bot" / "policy" / "default.yaml"
    result = _warroom("policy", "check", str(default), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "ok"


def test_policy_check_lists_problems_with_paths_and_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    text = (REPO_ROOT / "bot" / "policy" / "default.yaml").read_text("utf-8")
    bad.write_text(text.replace("update_every: 15m", "update_every: 0m", 1), "utf-8")
    result = _warroom("policy", "check", str(bad), cwd=tmp_path)
    assert result.returncode == 1
    assert "severities[0].update_every" in result.stdout


def test_python_dash_m_bot_and_console_script_agree(tmp_path: Path) -> None:
    result = _warroom("--help", cwd=tmp_path)
    assert result.returncode == 0
    for word in ("serve", "db", "policy", "postmortem"):
        assert word in result.stdout
