"""`POST /alerts/alertmanager`, `/alerts/grafana`, `/alerts/generic`: alerts in.

Off unless `WARROOM_ALERTS_TOKEN` is set (then 404). Each request is authenticated before its
body is parsed — `Authorization: Bearer <token>` (Alertmanager's and Grafana's bearer
credentials), or for the generic endpoint `X-Warroom-Signature: sha256=<HMAC-SHA256 of the raw
body>` — compared in constant time; anything else is a 401 and nothing is stored. A body over
1 MiB is a 413, bad JSON or a missing field a 400 with one line. The delivery is stored, the
sender answered (202), and the triage message posted after (like Slack's ack-first rule).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import uuid

from aiohttp import web

from bot.flows.alerts import SOURCES, AlertError, Source, parse_alert
from bot.flows.permissions import Refused
from bot.logs import bind_request, clear_request, get_logger
from bot.services import Services

log = get_logger(__name__)

ALERTS_PATH = "/alerts/{source}"
MAX_BODY = 1024 * 1024


def _authorized(token: str, request: web.Request, raw: bytes, source: Source) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode("utf-8", "surrogateescape"), token.encode()
    ):
        return True
    signature = request.headers.get("X-Warroom-Signature", "")
    if source == "generic" and signature.startswith("sha256="):
        expected = hmac.new(token.encode(), raw, hashlib.sha256).hexdigest()
        return hmac.compare_digest(
            signature.removeprefix("sha256=").strip().lower().encode("utf-8", "surrogateescape"),
            expected.encode(),
        )
    return False


def alert_routes(services: Services) -> list[web.RouteDef]:
    secret = services.settings.warroom_alerts_token
    token = secret.get_secret_value() if secret is not None else ""
    background: set[asyncio.Task[None]] = set()

    async def receive(request: web.Request) -> web.Response:
        clear_request()
        bind_request(request_id=uuid.uuid4().hex[:12])
        source = request.match_info["source"]
        if not token or source not in SOURCES:
            return web.json_response({"ok": False, "error": "not found"}, status=404)
        kind: Source = source
        if request.content_length is not None and request.content_length > MAX_BODY:
            return _refuse(413, "the body is larger than 1 MiB")
        raw = await _body(request)
        if raw is None:
            return _refuse(413, "the body is larger than 1 MiB")
        if not _authorized(token, request, raw, kind):
            log.warning("alert_refused", source=kind, status=401)
            return _refuse(401, "missing or wrong credentials")
        try:
            body = json.loads(raw.decode("utf-8"))
            group = parse_alert(kind, body, severity_label=services.policy.alerts.severity_label)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return _refuse(400, "the body is not JSON")
        except AlertError as problem:
            return _refuse(400, str(problem))
        try:
            received = await services.intake.receive(
                group, opened_by=services.gateway.bot_user_id or kind
            )
        except Refused as busy:
            return _refuse(503, str(busy))
        bind_request(incident=received.number)
        log.info("alert_received", source=kind, status=group.status, created=received.created)
        if received.jobs:
            # After answering the sender: the triage message (the tick would, a little later).
            task = asyncio.create_task(services.jobs.run_now(list(received.jobs)))
            background.add(task)
            task.add_done_callback(background.discard)
        return web.json_response(
            {"ok": True, "incident": received.number, "created": received.created}, status=202
        )

    return [web.post(ALERTS_PATH, receive)]


async def _body(request: web.Request) -> bytes | None:
    """The raw body, or None past 1 MiB (read no further)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _refuse(status: int, reason: str) -> web.Response:
    return web.json_response({"ok": False, "error": reason}, status=status)
