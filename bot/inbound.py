"""What Slack sends, as Bolt hands it over, before (or instead of) a listener.

- Events API callbacks are acknowledged whatever their type, and dispatched once per
  `event_id`: Slack retries a delivery it thinks failed (`X-Slack-Retry-Num`), and answers
  other than 200 within 3 seconds eventually make it disable the subscription.
- A request no listener handles (a button or modal of an older version, a command not served
  here) is answered 200 with a warning, instead of Bolt's 404 "unhandled request".

Both are Bolt global middleware / error handling, not HTTP, so Socket Mode gets them too
(Bolt's Socket Mode adapter mirrors the retry headers).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

import store
from bot.commands.surface import Surface
from bot.logs import bind_request, get_logger
from bot.services import Services
from bot.templates.unhandled import stale_form_view, unknown_command

log = get_logger(__name__)

# Where the HTTP layer leaves its request id in Bolt's context, so one id covers both.
REQUEST_ID = "warroom_request_id"
EVENT_ID_LIMIT = 200  # Slack's are ~12 characters; a longer one is not worth a database key
LOGGED_ID_LIMIT = 100

Next = Callable[[], Awaitable[None]]
Middleware = Callable[[dict[str, Any], AsyncBoltRequest, Next], Awaitable[BoltResponse | None]]


def _acknowledged() -> BoltResponse:
    return BoltResponse(status=200, body="")


def _header(request: AsyncBoltRequest, name: str) -> str | None:
    values = request.headers.get(name)
    return values[0] if values else None


def events_once(surface: Surface, services: Services) -> Middleware:
    """Global middleware: answer every event_callback, dispatch each `event_id` once.

    Events of a type no listener is registered for (`surface.events`) are acknowledged and
    dropped without touching the database. A handled event's id is claimed in the
    idempotency table before dispatch: the first delivery claims it, a retry finds it taken.
    """

    async def gate_events(
        body: dict[str, Any], request: AsyncBoltRequest, next: Next
    ) -> BoltResponse | None:
        if body.get("type") != "event_callback":
            await next()
            return None
        event = body.get("event")
        event_type = event.get("type") if isinstance(event, dict) else None
        event_id = body.get("event_id")
        usable_id = isinstance(event_id, str) and 0 < len(event_id) <= EVENT_ID_LIMIT
        bind_request(
            event_id=str(event_id)[:LOGGED_ID_LIMIT] if event_id is not None else None,
            event_type=str(event_type)[:LOGGED_ID_LIMIT] if event_type is not None else None,
        )
        retry = {
            "retry_num": _header(request, "x-slack-retry-num"),
            "retry_reason": _header(request, "x-slack-retry-reason"),
        }
        if event_type not in surface.events:
            log.info("event_ignored", reason="no listener for this event type", **retry)
            return _acknowledged()
        if not surface.wants(event if isinstance(event, dict) else {}):
            log.debug("event_ignored", reason="not for warroom", **retry)
            return _acknowledged()
        if usable_id and not await _first_delivery(services, f"event:{event_id}"):
            log.info("event_duplicate", **retry)
            return _acknowledged()
        log.info("event_dispatched", deduplicated=usable_id, **retry)
        await next()
        return None

    return gate_events


async def _first_delivery(services: Services, key: str) -> bool:
    """True unless `key` was claimed before. Committed at once, so a concurrent retry (on
    Postgres, waiting on this row) sees the claim."""
    try:
        async with services.sessions() as session:
            claimed = await store.claim_idempotency_key(session, key=key, now=services.clock.now())
            await session.commit()
    except Exception as error:  # the database is down: rather twice than never
        log.warning("event_dedupe_failed", error=repr(error))
        return True
    return claimed


def unhandled_answer(body: dict[str, Any]) -> BoltResponse:
    """Bolt found no listener: a 200 Slack accepts (Bolt's 404 reads as an outage), and a
    warning naming what was not handled."""
    kind = body.get("type") or ("slash_command" if "command" in body else None)
    log.warning("request_unhandled", kind=_short(kind), handler_id=_short(_handler_id(body)))
    if kind == "view_submission":
        return BoltResponse(
            status=200, body={"response_action": "update", "view": stale_form_view()}
        )
    if kind == "slash_command":
        return BoltResponse(status=200, body=unknown_command(str(body.get("command") or "")))
    return _acknowledged()


def _handler_id(body: dict[str, Any]) -> object:
    """The id a listener would have matched on, for the log."""
    actions = body.get("actions")
    if isinstance(actions, list) and actions and isinstance(actions[0], dict):
        return actions[0].get("action_id")
    view = body.get("view")
    if isinstance(view, dict) and "callback_id" in view:
        return view.get("callback_id")
    event = body.get("event")
    if isinstance(event, dict):
        return event.get("type")
    return body.get("callback_id") or body.get("command")


def _short(value: object) -> str | None:
    return None if value is None else str(value)[:LOGGED_ID_LIMIT]
