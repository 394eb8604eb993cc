"""The Slack Web API client warroom uses, and its retry rules.

Quick retries happen in the client: HTTP 429 when Slack's Retry-After is short (Slack did
nothing), and, for calls that create nothing, HTTP 5xx, Slack's transient error codes and
dropped connections. A call that creates something (a message, a channel, a bookmark, a view)
is never retried blind: Slack may have acted before answering 500 or dropping the connection.
Its failure goes back to the job, whose retry first recognises what the earlier attempt did.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from aiohttp import ClientOSError, ServerConnectionError, ServerDisconnectedError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

TRANSIENT_ERROR_CODES = frozenset(
    {"fatal_error", "internal_error", "service_unavailable", "request_timeout"}
)
# Calls that create something: a blind retry after a 5xx or a dropped connection could
# create it twice.
CREATING_METHODS = frozenset(
    {
        "chat.postMessage",
        "chat.postEphemeral",
        "chat.scheduleMessage",
        "chat.meMessage",
        "conversations.create",
        "bookmarks.add",
        "views.open",
        "views.push",
        "files.completeUploadExternal",
        "canvases.create",
        "conversations.canvases.create",
    }
)
# Wait in place for a 429 only this long; longer waits go back to the caller to reschedule.
MAX_INLINE_RETRY_AFTER = 3.0


def retry_after(headers: Mapping[str, Any]) -> float | None:
    for key, value in headers.items():
        if key.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) else value
            try:
                return max(float(raw), 0.0)
            except (TypeError, ValueError):
                return None
    return None


class ShortRateLimitRetryHandler(AsyncRetryHandler):
    """Honours a 429's Retry-After by waiting, but only when the wait is short."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        wait = retry_after(response.headers)
        return wait is not None and wait <= MAX_INLINE_RETRY_AFTER

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        wait = retry_after(response.headers) if response is not None else None
        state.next_attempt_requested = True
        state.increment_current_attempt()
        await asyncio.sleep(wait if wait is not None else 1.0)


def _creates(request: HttpRequest) -> bool:
    method = request.url.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]
    return method in CREATING_METHODS


class TransientErrorRetryHandler(AsyncRetryHandler):
    """Retries an HTTP 200 answer whose body carries one of Slack's transient error codes."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.body is None or _creates(request):
            return False
        return response.body.get("error") in TRANSIENT_ERROR_CODES


class _NeverBlindForCreates(AsyncRetryHandler):
    """A slack_sdk retry handler that never retries a call that creates something."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if _creates(request):
            return False
        return await super()._can_retry_async(
            state=state, request=request, response=response, error=error
        )


class SafeServerErrorRetryHandler(_NeverBlindForCreates, AsyncServerErrorRetryHandler):
    """slack_sdk's 5xx retry, except for calls that create something."""


class SafeConnectionErrorRetryHandler(_NeverBlindForCreates, AsyncConnectionErrorRetryHandler):
    """slack_sdk's dropped-connection retry, except for calls that create something."""


def build_web_client(*, token: str, base_url: str, timeout: int = 10) -> AsyncWebClient:
    """The Web API client shared by Bolt and the gateway, so every call uses `base_url`."""
    return AsyncWebClient(
        token=token,
        base_url=base_url,
        timeout=timeout,
        retry_handlers=[
            ShortRateLimitRetryHandler(max_retry_count=3),
            SafeServerErrorRetryHandler(max_retry_count=1),
            TransientErrorRetryHandler(max_retry_count=1),
            SafeConnectionErrorRetryHandler(
                max_retry_count=1,
                error_types=[ServerConnectionError, ServerDisconnectedError, ClientOSError],
            ),
        ],
    )
