"""Composition root: settings → logging → engine → gateway → Bolt app → scheduler → server.

Nothing here runs at import time; `serve()` builds everything and tears it down on SIGTERM.
"""

from __future__ import annotations

import asyncio
import json
import signal
import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse

import store
from bot.clock import SystemClock
from bot.commands import register_all
from bot.commands.surface import Surface
from bot.effects import EffectRunner
from bot.flows.operations import IncidentOperations
from bot.flows.ports import SlackFailure
from bot.flows.provisioning import Provisioner
from bot.flows.resolution import Resolution
from bot.gateway import SlackGateway, build_web_client
from bot.logs import bind_request, clear_request, get_logger
from bot.policy import Policy, load_policy
from bot.services import Services
from bot.settings import Settings
from bot.templates.incident import IncidentTemplates

log = get_logger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
UNEXPECTED_ERROR_TEXT = (
    "Something went wrong on our side and it has been logged. Please try again; "
    "if it keeps failing, tell your warroom admin."
)


def build_bolt_app(services: Services) -> tuple[AsyncApp, Surface]:
    settings = services.settings
    signing_secret = settings.slack_signing_secret
    app = AsyncApp(
        client=services.gateway.client,
        signing_secret=signing_secret.get_secret_value() if signing_secret else None,
        # Socket Mode connections are authenticated by the app token, not by signatures.
        request_verification_enabled=not settings.socket_mode,
        process_before_response=False,
    )
    app.use(_bind_request_ids)
    app.error(_answer_unexpected_error)
    surface = Surface(app)
    register_all(surface, services)
    return app, surface


async def _bind_request_ids(body: dict[str, Any], next: Callable[[], Awaitable[None]]) -> None:
    clear_request()
    user = body.get("user_id") or (body.get("user") or {}).get("id")
    event = body.get("event") or {}
    bind_request(
        request_id=uuid.uuid4().hex[:12],
        slack_user=user or event.get("user"),
        channel=body.get("channel_id") or (body.get("channel") or {}).get("id"),
        payload_type=body.get("type") or body.get("command"),
    )
    await next()


async def _answer_unexpected_error(
    error: Exception, response: BoltResponse | None
) -> BoltResponse | None:
    """A listener crashed: log it with the request ids and tell the user, never a bare 500."""
    log.error("listener_failed", error=repr(error), exc_info=error)
    if response is None:  # already acknowledged; the user got their answer
        return None
    return BoltResponse(
        status=200,
        body=json.dumps({"response_type": "ephemeral", "text": UNEXPECTED_ERROR_TEXT}),
        headers={"content-type": "application/json;charset=utf-8"},
    )


def build_http_app(bolt: AsyncApp, services: Services) -> web.Application:
    async def slack_events(request: web.Request) -> web.Response:
        bolt_request = await to_bolt_request(request)
        bolt_response = await bolt.async_dispatch(bolt_request)
        return await to_aiohttp_response(bolt_response)

    async def healthz(_request: web.Request) -> web.Response:
        if await store.ping(services.engine):
            return web.json_response({"ok": True})
        return web.json_response({"ok": False, "error": "database unreachable"}, status=503)

    web_app = web.Application()
    web_app.add_routes([web.post(EVENTS_PATH, slack_events), web.get(HEALTH_PATH, healthz)])
    return web_app


RECONCILE_SECONDS = 2
ARCHIVE_SECONDS = 30


def build_scheduler(services: Services) -> AsyncIOScheduler:
    """Periodic ticks that claim due work from the database; the scheduler holds no state."""
    scheduler = AsyncIOScheduler(timezone="UTC")

    def every(
        seconds: int, job: Callable[[], Awaitable[object]], job_id: str, *, now: bool
    ) -> None:
        # One tick at a time per process; a missed tick is not made up twice.
        scheduler.add_job(
            job,
            "interval",
            seconds=seconds,
            id=job_id,
            max_instances=1,
            coalesce=True,
            **({"next_run_time": services.clock.now()} if now else {}),
        )

    # At start: finish the provisioning and deliver the effects a crash left behind.
    every(RECONCILE_SECONDS, services.provisioner.reconcile, "reconcile_provisioning", now=True)
    every(RECONCILE_SECONDS, services.effects.deliver_due, "deliver_effects", now=True)
    every(
        ARCHIVE_SECONDS,
        partial(archive_due_channels, services),
        "archive_closed_incidents",
        now=False,
    )
    return scheduler


async def archive_due_channels(services: Services) -> None:
    for channel in await services.resolution.claim_due_archives():
        try:
            await services.gateway.archive(channel=channel)
        except SlackFailure as failure:
            log.error("archive_failed", channel=channel, error=failure.error)


async def build_services(settings: Settings, policy: Policy) -> Services:
    token = settings.slack_bot_token
    if token is None:
        raise RuntimeError("SLACK_BOT_TOKEN is required")
    engine = store.make_engine(settings.database_url)
    client = build_web_client(token=token.get_secret_value(), base_url=settings.slack_api_url)
    sessions = store.session_factory(engine)
    gateway = SlackGateway(client)
    clock = SystemClock()
    templates = IncidentTemplates()
    provisioner = Provisioner(
        sessions=sessions, policy=policy, slack=gateway, render=templates, clock=clock
    )
    return Services(
        settings=settings,
        policy=policy,
        engine=engine,
        sessions=sessions,
        gateway=gateway,
        clock=clock,
        provisioner=provisioner,
        operations=IncidentOperations(
            sessions=sessions, policy=policy, clock=clock, membership=gateway
        ),
        resolution=Resolution(sessions=sessions, policy=policy, clock=clock, membership=gateway),
        effects=EffectRunner(
            sessions=sessions, policy=policy, gateway=gateway, clock=clock, templates=templates
        ),
    )


async def serve(settings: Settings) -> int:
    """Run until SIGTERM/SIGINT. Returns the process exit code."""
    policy = load_policy(settings.warroom_policy)
    await asyncio.to_thread(store.upgrade, settings.database_url)
    services = await build_services(settings, policy)
    identity = await services.gateway.identify()
    log.info("slack_connected", team=identity.team_id, bot_user=identity.user_id)
    await services.gateway.warm_up()

    bolt, _surface = build_bolt_app(services)
    scheduler = build_scheduler(services)
    scheduler.start()

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    runner = web.AppRunner(build_http_app(bolt, services), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host="0.0.0.0", port=settings.port).start()
    socket_handler = None
    try:
        if settings.slack_app_token is not None:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            socket_handler = AsyncSocketModeHandler(
                bolt, settings.slack_app_token.get_secret_value()
            )
            await socket_handler.connect_async()  # type: ignore[no-untyped-call]
            log.info("serving", mode="socket", health_port=settings.port)
        else:
            log.info("serving", mode="http", port=settings.port, path=EVENTS_PATH)
        await stop.wait()
        log.info("shutting_down")
    finally:
        if socket_handler is not None:
            await socket_handler.close_async()  # type: ignore[no-untyped-call]
        await runner.cleanup()
        scheduler.shutdown(wait=False)
        await services.engine.dispose()
    return 0
