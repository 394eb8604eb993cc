"""One HTTP call to another service (PagerDuty, Statuspage), and the one rule for what its
answer means to the job runner: unreachable, 429 and 5xx are transient (retried, after
Retry-After when given); any other refusal is the caller's to word (`ServiceFailure`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.flows.ports import ServiceFailure

TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class ServiceAnswer:
    status: int
    text: str
    retry_after: float | None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        try:
            return json.loads(self.text)
        except ValueError:
            return None

    def short_text(self) -> str:
        """The answer's text on one line, short enough for a person (and a log line)."""
        return " ".join(self.text.split())[:200]


def _seconds(raw: str | None) -> float | None:
    try:
        return max(float(raw), 0.0) if raw is not None else None
    except ValueError:
        return None  # an HTTP date: the backoff decides


async def call_service(
    service: str,
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    body: Any = None,
    params: dict[str, str] | None = None,
) -> ServiceAnswer:
    """The answer when the service answered something final (2xx or a refusal); raises a
    transient `ServiceFailure` (error `<service>_unreachable` or `<service>_<status>`) when
    it could not be reached, rate-limits or is in trouble."""
    name = service.lower()
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)) as client,
            client.request(method, url, headers=headers, json=body, params=params) as answer,
        ):
            got = ServiceAnswer(
                answer.status, await answer.text(), _seconds(answer.headers.get("Retry-After"))
            )
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise ServiceFailure(
            f"{name}_unreachable", f"{service} could not be reached", transient=True
        ) from exc
    if got.status == 429 or got.status >= 500:
        raise ServiceFailure(
            f"{name}_{got.status}",
            f"{service} is busy or in trouble ({got.status})",
            transient=True,
            retry_after=got.retry_after,
        )
    return got
