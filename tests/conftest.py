"""Shared test helpers: where the sibling `shared/` reference folder is, golden files."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient

from sandbox.slack import FakeSlack
from tests.fakepagerduty import fake_pagerduty  # noqa: F401  (the integrations' fakes)
from tests.fakestatuspage import fake_statuspage  # noqa: F401
from tests.world import world  # noqa: F401  (the job tests' fixture, shared)

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
GOLDEN = Path(__file__).resolve().parent / "golden"


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    """A fresh fake Slack in a background thread (end-to-end tests add a violations check)."""
    slack = FakeSlack()
    slack.start()
    try:
        yield slack
    finally:
        slack.stop()


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    """slack_sdk's sync client pointed at the fake, as the bot's own client would be."""
    return WebClient(base_url=fake.api_url, token=fake.bot_token)


def shared_path(*parts: str) -> Path:
    """A file of the shared reference data, or a visible skip when it is not beside the repo."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{'/'.join(parts)} not found beside the repository: conformance check skipped")
    return path


def assert_golden(name: str, actual: Any) -> None:
    """Compare with tests/golden/<name>.json; `UPDATE_GOLDEN=1` rewrites it."""
    path = GOLDEN / f"{name}.json"
    rendered = json.dumps(actual, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_GOLDEN") == "1" or not path.exists():
        if os.environ.get("CI") and not path.exists():
            raise AssertionError(f"golden file {path.name} is missing; run with UPDATE_GOLDEN=1")
        path.write_text(rendered, "utf-8")
    assert rendered == path.read_text("utf-8"), f"{path.name} differs from the golden file"
