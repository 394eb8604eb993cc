"""Fixtures for end-to-end tests: a fresh fake Slack and a real `warroom serve` per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.slack import FakeSlack
from tests.e2e.driver import SlackDriver, WarroomServer


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    slack = FakeSlack()
    slack.start()
    try:
        yield slack
        # Any Slack rule the bot broke during the test fails it, unless the test took
        # (and asserted) the violations itself.
        assert slack.violations == [], f"the bot broke Slack's rules: {slack.violations}"
    finally:
        slack.stop()


@pytest.fixture
def warroom(fake: FakeSlack, tmp_path: Path) -> Iterator[WarroomServer]:
    server = WarroomServer(fake=fake, workdir=tmp_path / "warroom")
    with server.running():
        yield server


@pytest.fixture
def slack(warroom: WarroomServer, fake: FakeSlack) -> SlackDriver:
    return SlackDriver(warroom, fake)
