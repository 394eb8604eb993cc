"""Logs are structured, carry request ids, and never carry a secret."""

from __future__ import annotations

import json
import logging

import pytest

from bot.logs import bind_request, clear_request, configure_logging, get_logger


@pytest.fixture
def json_logs(capsys: pytest.CaptureFixture[str]) -> pytest.CaptureFixture[str]:
    configure_logging(level="INFO", fmt="json")
    clear_request()
    return capsys


def _lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]


def test_request_and_incident_ids_ride_along(json_logs: pytest.CaptureFixture[str]) -> None:
    bind_request(request_id="r-1", incident=42)
    get_logger("t").info("declared", severity="P1")
    (line,) = _lines(json_logs)
    assert line["event"] == "declared"
    assert line["request_id"] == "r-1"
    assert line["incident"] == 42
    assert line["level"] == "info"
    assert str(line["timestamp"]).endswith("Z")
    clear_request()


def test_tokens_and_secrets_never_reach_the_log(json_logs: pytest.CaptureFixture[str]) -> None:
    log = get_logger("t")
    log.info("startup", slack_bot_token="xoxb-123-abc", signing_secret="s3cr3t")
    log.info("oops", detail="called with xoxb-999-zzz and xapp-1-AAA")
    logging.getLogger("slack_sdk").warning("header Authorization: Bearer xoxb-777-yyy")
    text = json_logs.readouterr().err
    for secret in ("xoxb-123-abc", "s3cr3t", "xoxb-999-zzz", "xapp-1-AAA", "xoxb-777-yyy"):
        assert secret not in text
    assert "[redacted]" in text


def test_console_format_is_human_readable(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(level="INFO", fmt="console")
    get_logger("t").info("hello", incident=7)
    err = capsys.readouterr().err
    assert "hello" in err
    assert "incident=7" in err
    assert not err.lstrip().startswith("{")


def test_level_filters(json_logs: pytest.CaptureFixture[str]) -> None:
    configure_logging(level="WARNING", fmt="json")
    get_logger("t").info("quiet")
    get_logger("t").warning("loud")
    assert [line["event"] for line in _lines(json_logs)] == ["loud"]
