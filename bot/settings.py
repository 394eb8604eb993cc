"""Runtime configuration, read once from the environment (and `.env`) at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SLACK_SETUP_HINT = "see README.md, section 'Create the Slack app'"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"


class Settings(BaseSettings):
    """The environment variables of the architecture brief, section 5."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    # Alert intake (POST /alerts/…): off unless set; the senders' bearer token / HMAC key.
    warroom_alerts_token: SecretStr | None = None
    # PagerDuty Events API v2: the integration's routing key (paging off unless set).
    pagerduty_routing_key: SecretStr | None = None
    pagerduty_events_url: str = "https://events.pagerduty.com/v2/enqueue"  # tests: a fake
    # Atlassian Statuspage REST v1: publishing is off unless the key and the page id are set.
    statuspage_api_key: SecretStr | None = None
    statuspage_page_id: str | None = None
    statuspage_api_url: str = "https://api.statuspage.io/v1"  # tests: a fake
    slack_api_url: str = DEFAULT_SLACK_API_URL
    database_url: str = "sqlite:///./warroom.db"
    warroom_policy: Path | None = None
    port: int = 3000
    log_level: str = "INFO"
    log_format: Literal["json", "console"] = "json"

    @field_validator("slack_api_url")
    @classmethod
    def _api_url_ends_with_slash(cls, value: str) -> str:
        # slack_sdk joins base_url and the method name by plain concatenation.
        return value if value.endswith("/") else value + "/"

    @field_validator(
        "slack_bot_token",
        "slack_signing_secret",
        "slack_app_token",
        "statuspage_api_key",
        "statuspage_page_id",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("warroom_policy", mode="before")
    @classmethod
    def _blank_policy_is_default(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    def missing_for_serve(self) -> list[str]:
        """Names of the variables `warroom serve` needs but does not have."""
        missing = []
        if self.slack_bot_token is None:
            missing.append("SLACK_BOT_TOKEN")
        if not self.socket_mode and self.slack_signing_secret is None:
            # HTTP mode verifies every request's signature; Socket Mode does not need it.
            missing.append("SLACK_SIGNING_SECRET")
        return missing
