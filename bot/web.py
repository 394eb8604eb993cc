"""The HTTP side of warroom: `POST /slack/events` (HTTP mode) and `GET /healthz`.

A request to /slack/events is authenticated before anything reads its body: a timestamp of
digits within five minutes of now, and `X-Slack-Signature` equal to the HMAC-SHA256 of
`v0:{timestamp}:{body}` under the signing secret, compared in constant time. Anyone can reach
this port, so a refusal costs a 401 and at most one log line a minute per reason.

Only a signed body is parsed, here and strictly: one Bolt could not read gets a one-line 400
(Slack shows nothing to users for it; whoever holds the secret learns what is wrong) instead
of a 500 and a traceback. Bolt then gets the parsed body, and verifies the signature again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest

import store
from bot.alerts_web import MAX_BODY, alert_routes
from bot.inbound import REQUEST_ID
from bot.logs import bind_request, clear_request, get_logger
from bot.services import Services

log = get_logger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
MAX_CLOCK_SKEW_SECONDS = 5 * 60  # Slack's own rule against replayed requests
REFUSAL_LOG_SECONDS = 60.0
SSL_CHECK_MAX_BYTES = 200
_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # ASCII digits only: int() also takes "١٢", " 1", "1_0"

JSON = "application/json"


class BadRequest(Exception):
    """A signed body that is not a Slack request; `str()` is the one-line reason."""


def signature_problem(
    secret: str | None,
    *,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    now: float,
) -> str | None:
    """Why this request is not from Slack, or None when it is."""
    if not secret:
        return "no signing secret is configured"
    if not timestamp:
        return "no X-Slack-Request-Timestamp"
    if not _TIMESTAMP.fullmatch(timestamp):
        return "X-Slack-Request-Timestamp is not a number"
    if abs(now - int(timestamp)) > MAX_CLOCK_SKEW_SECONDS:
        return "X-Slack-Request-Timestamp is more than 5 minutes away"
    if not signature:
        return "no X-Slack-Signature"
    # Over the raw bytes (slack_sdk's SignatureVerifier decodes them as UTF-8 first, and
    # raises on anything else), and compared as bytes: compare_digest raises TypeError on
    # non-ASCII str, and the header is whatever the sender put there.
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = b"v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest().encode()
    if not hmac.compare_digest(expected, signature.encode("utf-8", "surrogateescape")):
        return "X-Slack-Signature does not match"
    return None


def is_ssl_check(body: bytes, content_type: str) -> bool:
    """Slack's SSL check (`ssl_check=1&token=…`) comes unsigned and only wants a 200.

    Recognised on a small form body only, and answered without Bolt, so this is no way in
    for anything else (compare bolt-js's exact `ssl_check=1` rule).
    """
    if content_type != "application/x-www-form-urlencoded" or len(body) > SSL_CHECK_MAX_BYTES:
        return False
    form = dict(parse_qsl(body.decode("latin-1"), keep_blank_values=True))
    return form.get("ssl_check") == "1" and not {"payload", "command"} & form.keys()


def read_slack_body(text: str, content_type: str) -> dict[str, Any]:
    """The body as a listener should see it; `BadRequest` when it is not one of Slack's.

    JSON (Events API), a form with `payload` (interactivity) or a form with `command` (slash
    commands). Decided on the form's keys, not as Bolt does on whether the word "payload"
    appears anywhere: `/incident declare payload API down` is a slash command.
    """
    if not text.strip():
        raise BadRequest("The body is empty.")
    if content_type == JSON or text.startswith("{"):
        data = _json(text, what="The body")
        return _checked(data)
    form = dict(parse_qsl(text, keep_blank_values=True))
    if "payload" in form:
        return _checked(_json(form["payload"], what="The payload"))
    if isinstance(form.get("command"), str) and form["command"]:
        return form
    raise BadRequest("The form is neither a slash command nor an interactivity payload.")


def _json(text: str, *, what: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: "[[[[…" nested deeper than Python
        raise BadRequest(f"{what} is not valid JSON.") from None
    if not isinstance(data, dict):
        raise BadRequest(f"{what} is not a JSON object.")
    return data


# Top-level fields Bolt reads without checking their type (`body.get("event", {}).get(…)`,
# `"id" in body["user"]`, `payload["authorizations"][0]`…), with the types Slack sends.
_SHAPES: dict[str, tuple[type, ...]] = {
    "event": (dict,),
    "view": (dict,),
    "container": (dict,),
    "message": (dict,),
    "actions": (list,),
    "authorizations": (list,),
    "user": (dict, str),
    "team": (dict, str, type(None)),
    "enterprise": (dict, str, type(None)),
    "channel": (dict, str, type(None)),
}
_KINDS = {dict: "an object", list: "a list", str: "a string", type(None): "null"}
# The id Bolt's listener matchers read from each payload type, without checking it is there.
_MATCHED_ON = {
    "shortcut": "callback_id",
    "message_action": "callback_id",
    "interactive_message": "callback_id",
    "dialog_submission": "callback_id",
    "dialog_cancellation": "callback_id",
    "dialog_suggestion": "callback_id",
    "workflow_step_edit": "callback_id",
    "block_suggestion": "action_id",
}


def _checked(data: dict[str, Any]) -> dict[str, Any]:
    """A parsed JSON body or payload whose shape Bolt can dispatch without a 500."""
    kind = data.get("type")
    if not isinstance(kind, str) or not kind:
        raise BadRequest('The payload has no "type" string.')
    for key, types in _SHAPES.items():
        if key in data and not isinstance(data[key], types):
            allowed = " or ".join(_KINDS[t] for t in types)
            raise BadRequest(f'The payload\'s "{key}" is not {allowed}.')
        if types == (list,) and not all(isinstance(item, dict) for item in data.get(key) or ()):
            raise BadRequest(f'The payload\'s "{key}" has an item that is not an object.')
    if kind == "event_callback" and not _has_str(data.get("event"), "type"):
        raise BadRequest('The event_callback has no "event" object with a "type".')
    if kind in _MATCHED_ON and not isinstance(data.get(_MATCHED_ON[kind]), str):
        raise BadRequest(f'The {kind} payload has no "{_MATCHED_ON[kind]}" string.')
    if kind in ("block_actions", "interactive_message") and not data.get("actions"):
        raise BadRequest(f'The {kind} payload has no "actions".')
    if kind == "block_actions" and not all(_has_str(a, "action_id") for a in data["actions"]):
        raise BadRequest('The block_actions payload has an action without an "action_id".')
    view = data.get("view")
    if kind in ("view_submission", "view_closed") and not (
        _has_str(view, "callback_id") and _has_str(view, "type")
    ):
        raise BadRequest(f'The {kind} payload has no "view" with a "callback_id" and a "type".')
    # Bolt looks for the (retired) workflow step of these on every dispatch, without checking.
    workflow = kind == "workflow_step_edit" or (
        isinstance(view, dict) and view.get("type") == "workflow_step"
    )
    if workflow and not isinstance(data.get("workflow_step"), dict):
        raise BadRequest('The workflow step payload has no "workflow_step" object.')
    return data


def _has_str(value: object, key: str) -> bool:
    return isinstance(value, dict) and isinstance(value.get(key), str)


def bolt_request(
    text: str, request: web.Request, body: dict[str, Any], request_id: str
) -> AsyncBoltRequest:
    """Bolt's request for the raw `text` (Bolt verifies the signature over it again), with
    our parse of it: Bolt reads any form that contains the word "payload" as an empty one."""
    bolt = AsyncBoltRequest(
        body=text,
        query=request.query_string,
        headers=dict(request.headers),
        context={REQUEST_ID: request_id},
    )
    if bolt.body != body:
        bolt.body = body
        bolt.context = build_async_context(AsyncBoltContext({REQUEST_ID: request_id}), body)
    return bolt


class _Refusals:
    """Warnings about refused requests, at most one per reason per `every` seconds (with how
    many were not logged): anyone can send them, and the log must not be theirs to fill."""

    def __init__(self, every: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.every = every
        self.clock = clock
        self._last: dict[str, float] = {}
        self._quiet: dict[str, int] = {}

    def warn(self, reason: str, **fields: Any) -> None:
        now = self.clock()
        last = self._last.get(reason)
        if last is not None and now - last < self.every:
            self._quiet[reason] = self._quiet.get(reason, 0) + 1
            return
        self._last[reason] = now
        suppressed = self._quiet.pop(reason, 0)
        log.warning("request_refused", reason=reason, suppressed=suppressed, **fields)


def _plain(status: int, reason: str) -> web.Response:
    return web.Response(status=status, text=reason + "\n", content_type="text/plain")


def build_http_app(bolt: AsyncApp, services: Services) -> web.Application:
    secret = services.settings.slack_signing_secret
    signing_secret = secret.get_secret_value() if secret is not None else None
    refusals = _Refusals(REFUSAL_LOG_SECONDS)

    async def slack_events(request: web.Request) -> web.Response:
        clear_request()
        request_id = uuid.uuid4().hex[:12]
        bind_request(request_id=request_id)
        raw = await request.read()
        if is_ssl_check(raw, request.content_type):
            return web.Response(status=200)
        problem = signature_problem(
            signing_secret,
            body=raw,
            timestamp=request.headers.get("X-Slack-Request-Timestamp"),
            signature=request.headers.get("X-Slack-Signature"),
            now=time.time(),
        )
        if problem is not None:
            refusals.warn(problem, status=401)
            return _plain(401, "This request is not signed by Slack.")
        try:
            text = raw.decode("utf-8")
            body = read_slack_body(text, request.content_type)
            dispatched = bolt_request(text, request, body, request_id)
        except UnicodeDecodeError:
            return _bad_request("The body is not UTF-8.")
        except BadRequest as bad:
            return _bad_request(str(bad))
        except Exception as error:  # a signed body Bolt cannot read is still the sender's fault
            return _bad_request("The body is not a Slack request Bolt can read.", error=error)
        bolt_response = await bolt.async_dispatch(dispatched)
        return await to_aiohttp_response(bolt_response)

    async def healthz(_request: web.Request) -> web.Response:
        if await store.ping(services.engine):
            return web.json_response({"ok": True})
        return web.json_response({"ok": False, "error": "database unreachable"}, status=503)

    web_app = web.Application(client_max_size=MAX_BODY + 1)
    web_app.add_routes([web.post(EVENTS_PATH, slack_events), web.get(HEALTH_PATH, healthz)])
    web_app.add_routes(alert_routes(services))
    return web_app


def _bad_request(reason: str, *, error: Exception | None = None) -> web.Response:
    """Signed, so from Slack or whoever holds the secret: every one is worth a warning."""
    detail = {"error": repr(error)} if error is not None else {}
    log.warning("request_refused", status=400, reason=reason, **detail)
    return _plain(400, reason)
