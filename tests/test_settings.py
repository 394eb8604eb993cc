"""Configuration from the environment and `.env`."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Settings

ENV_NAMES = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SLACK_API_URL",
    "DATABASE_URL",
    "WARROOM_POLICY",
    "PORT",
    "LOG_LEVEL",
    "LOG_FORMAT",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_defaults() -> None:
    settings = Settings()
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.database_url == "sqlite:///./warroom.db"
    assert settings.port == 3000
    assert settings.warroom_policy is None
    assert settings.log_format == "json"
    assert settings.missing_for_serve() == ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"]


def test_dotenv_is_read_and_tokens_are_secret(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "SLACK_BOT_TOKEN=xoxb-from-dotenv\nSLACK_SIGNING_SECRET=abc\nPORT=8123\n"
    )
    settings = Settings()
    assert settings.slack_bot_token is not None
    assert settings.slack_bot_token.get_secret_value() == "xoxb-from-dotenv"
    assert "xoxb-from-dotenv" not in repr(settings)
    assert settings.port == 8123
    assert settings.missing_for_serve() == []


def test_socket_mode_needs_no_signing_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1")
    settings = Settings()
    assert settings.socket_mode
    assert settings.missing_for_serve() == []


def test_api_url_gets_its_trailing_slash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:8080/api")
    assert Settings().slack_api_url == "http://127.0.0.1:8080/api/"


def test_blank_tokens_count_as_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "  ")
    assert "SLACK_BOT_TOKEN" in Settings().missing_for_serve()
