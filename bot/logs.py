"""structlog set up once for the process: JSON or console, ids from contextvars, no secrets."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog

# Slack tokens look like xoxb-…, xoxp-…, xapp-…; a signing secret is a 32-hex string but is
# only ever logged by key, which the key filter catches.
_TOKEN_PATTERN = re.compile(r"\b(xox[abeoprs]|xapp)-[A-Za-z0-9-]+")
_SECRET_KEYS = ("token", "secret", "password", "authorization", "signature")
REDACTED = "[redacted]"


def redact_text(text: str) -> str:
    return _TOKEN_PATTERN.sub(lambda m: f"{m.group(1)}-{REDACTED}", text)


def _redact_value(key: str, value: Any) -> Any:
    if any(word in key.lower() for word in _SECRET_KEYS):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {str(k): _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(key, v) for v in value]
    return value


def redact_secrets(
    _logger: object, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: mask secret-looking keys and token-looking strings everywhere."""
    for key in list(event_dict):
        event_dict[key] = _redact_value(key, event_dict[key])
    return event_dict


class _CurrentStderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at the time of the record, not at set-up."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def configure_logging(*, level: str = "INFO", fmt: str = "json") -> None:
    """Configure structlog and route the standard library's loggers through it."""
    numeric_level = logging.getLevelName(level.upper())
    if not isinstance(numeric_level, int):
        numeric_level = logging.INFO
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redact_secrets,
    ]
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=False)
        if fmt == "console"
        else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = _CurrentStderrHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric_level)
    # Library chatter (request bodies, retries) only when explicitly debugging.
    quiet = logging.DEBUG if numeric_level <= logging.DEBUG else logging.WARNING
    for name in ("slack_bolt", "slack_sdk", "aiohttp.access", "alembic", "apscheduler"):
        logging.getLogger(name).setLevel(max(quiet, numeric_level))


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger


def bind_request(**ids: str | int | None) -> None:
    """Bind request/incident ids for every log line of the current task."""
    structlog.contextvars.bind_contextvars(**{k: v for k, v in ids.items() if v is not None})


def clear_request() -> None:
    structlog.contextvars.clear_contextvars()
