"""Composition root: settings → logging → engine → gateway → Bolt app → scheduler → server.

Nothing here runs at import time; `serve()` builds everything and tears it down on SIGTERM.
"""

from __future__ import annotations

import asyncio
import json
import signal
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import partial
from typing import Any

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from slack_bolt.async_app import AsyncApp
from slack_bolt.error import BoltUnhandledRequestError
from slack_bolt.response import BoltResponse
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

import store
from bot import effects_clock, effects_followups  # noqa: F401  (register their effect handlers)
from bot.alert_jobs import PostTriageMessage
from bot.channel_jobs import MEMBERS_JOB, ArchiveChannel, RefreshMembers, TellHumans
from bot.clock import Clock, ScaledClock, SystemClock
from bot.clock_jobs import RemindActionOwner, RingClock
from bot.commands import home, register_all
from bot.commands.surface import Surface
from bot.digest import DIGEST_JOB, PostDigest, schedule_digest
from bot.effects import EffectRunner, check_registry
from bot.flows.alarms import ACTION_DUE_JOB
from bot.flows.alerts import ALERT_MESSAGE_JOB
from bot.flows.capture import CAPTURE_JOB, TimelineCapture
from bot.flows.changes import ARCHIVE_JOB, CLOCK_JOB
from bot.flows.clock import IncidentClock
from bot.flows.effects import EFFECT_JOB
from bot.flows.followups import Followups
from bot.flows.intake import AlertIntake
from bot.flows.operations import IncidentOperations
from bot.flows.paging import PAGE_JOB
from bot.flows.ports import SlackFailure
from bot.flows.provisioning import PROVISION_JOB, Provisioner
from bot.flows.publishing import STATUSPAGE_JOB
from bot.flows.resolution import Resolution
from bot.flows.timeline import NOTICE
from bot.gateway import SlackGateway
from bot.inbound import REQUEST_ID, events_once, unhandled_answer
from bot.jobs import LEASE, JobRunner
from bot.logs import bind_request, clear_request, get_logger
from bot.pagerduty import PagerDutySettings, SendPage
from bot.policy import Policy, PolicyError, load_policy
from bot.services import Services
from bot.settings import Settings
from bot.slack_client import build_web_client
from bot.statuspage import PublishStatus, StatuspageSettings
from bot.templates.incident import IncidentTemplates
from bot.timeline_jobs import CaptureMessage
from bot.web import EVENTS_PATH, build_http_app  # the HTTP layer; tests import it here

log = get_logger(__name__)

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
        # No listener: `_answer_unexpected_error` answers 200, not Bolt's 404 (see bot.inbound).
        raise_error_for_unhandled_request=True,
    )
    app.use(_bind_request_ids)
    app.error(_answer_unexpected_error)
    surface = Surface(app)
    # After the ids are bound, before any listener; reads `surface.events` per request, so
    # it sees the listeners `register_all` adds below.
    app.use(events_once(surface, services))
    register_all(surface, services)
    home.register(surface, services)  # the App Home tab
    return app, surface


async def _bind_request_ids(
    body: dict[str, Any], context: dict[str, Any], next: Callable[[], Awaitable[None]]
) -> None:
    clear_request()
    event = body.get("event")
    event = event if isinstance(event, dict) else {}
    bind_request(
        # HTTP mode: the id bot.web already logged refusals under; Socket Mode: a new one.
        request_id=context.get(REQUEST_ID) or uuid.uuid4().hex[:12],
        slack_user=_id_of(body.get("user_id") or body.get("user") or event.get("user")),
        channel=_id_of(body.get("channel_id") or body.get("channel")),
        payload_type=_id_of(body.get("type") or body.get("command")),
    )
    await next()


def _id_of(value: object) -> str | None:
    """A Slack id for the log, given as a string or an object with an `id`."""
    if isinstance(value, dict):
        value = value.get("id")
    return value[:100] if isinstance(value, str) and value else None


async def _answer_unexpected_error(
    error: Exception, response: BoltResponse | None
) -> BoltResponse | None:
    """A listener crashed: log it with the request ids and tell the user, never a bare 500.

    Also where Bolt reports a request no listener handles (`raise_error_for_unhandled_request`):
    not a crash, so a warning and a 200."""
    if isinstance(error, BoltUnhandledRequestError):
        return unhandled_answer(error.body)
    log.error("listener_failed", error=repr(error), exc_info=error)
    if response is None:  # already acknowledged; the user got their answer
        return None
    return BoltResponse(
        status=200,
        body=json.dumps({"response_type": "ephemeral", "text": UNEXPECTED_ERROR_TEXT}),
        headers={"content-type": "application/json;charset=utf-8"},
    )


JOBS_TICK_SECONDS = 1


def build_scheduler(services: Services) -> AsyncIOScheduler:
    """One periodic tick: the job runner claims what is due in the database (provisioning and
    effects a crash left behind, retries, archives, membership refreshes). The scheduler holds
    no state; any number of replicas may tick."""
    scheduler = AsyncIOScheduler(timezone="UTC")
    # One tick at a time per process; a missed tick is not made up twice. At start: at once.
    scheduler.add_job(
        partial(services.jobs.tick, wait=False),
        "interval",
        seconds=JOBS_TICK_SECONDS,
        id="run_due_jobs",
        max_instances=1,
        coalesce=True,
        next_run_time=services.clock.now(),
    )
    return scheduler


def build_jobs(
    *,
    sessions: async_sessionmaker[AsyncSession],
    policy: Policy,
    gateway: SlackGateway,
    clock: Clock,
    templates: IncidentTemplates,
    pagerduty: PagerDutySettings | None = None,
    statuspage: StatuspageSettings | None = None,
    lease: timedelta = LEASE,
) -> JobRunner:
    """The job runner with every kind of job warroom has."""
    check_registry()
    jobs = JobRunner(sessions=sessions, clock=clock, lease=lease)
    jobs.register(
        PROVISION_JOB,
        Provisioner(sessions=sessions, policy=policy, slack=gateway, render=templates, clock=clock),
    )
    jobs.register(
        EFFECT_JOB,
        EffectRunner(
            sessions=sessions, policy=policy, gateway=gateway, clock=clock, templates=templates
        ),
    )
    jobs.register(ARCHIVE_JOB, ArchiveChannel(sessions=sessions, gateway=gateway, clock=clock))
    jobs.register(MEMBERS_JOB, RefreshMembers(sessions=sessions, gateway=gateway, clock=clock))
    jobs.register(
        CLOCK_JOB,
        RingClock(sessions=sessions, policy=policy, clock=clock, deliver=jobs.run_now),
    )
    jobs.register(
        ACTION_DUE_JOB, RemindActionOwner(sessions=sessions, gateway=gateway, clock=clock)
    )
    jobs.register(
        CAPTURE_JOB,
        CaptureMessage(sessions=sessions, policy=policy, gateway=gateway, clock=clock),
    )
    jobs.register(
        PAGE_JOB,
        SendPage(
            sessions=sessions,
            policy=policy,
            clock=clock,
            gateway=gateway,
            settings=pagerduty or PagerDutySettings(),
        ),
    )
    jobs.register(
        STATUSPAGE_JOB,
        PublishStatus(
            sessions=sessions,
            settings=statuspage or StatuspageSettings(),
            clock=clock,
            gateway=gateway,
        ),
    )
    jobs.register(
        ALERT_MESSAGE_JOB, PostTriageMessage(sessions=sessions, policy=policy, gateway=gateway)
    )
    jobs.register(
        DIGEST_JOB, PostDigest(sessions=sessions, policy=policy, gateway=gateway, clock=clock)
    )
    notices = TellHumans(
        sessions=sessions, gateway=gateway, clock=clock, lead_role=policy.lead_role.id
    )
    jobs.register(NOTICE, notices)
    jobs.tell_humans_with(notices)
    return jobs


async def build_services(settings: Settings, policy: Policy, *, speed: float = 1.0) -> Services:
    """`speed` (the sandbox's `--speed`): time runs that many times faster, job leases
    stretched to match (a lease still outlasts the heartbeat that renews it)."""
    token = settings.slack_bot_token
    if token is None:
        raise RuntimeError("SLACK_BOT_TOKEN is required")
    engine = store.make_engine(settings.database_url)
    client = build_web_client(token=token.get_secret_value(), base_url=settings.slack_api_url)
    sessions = store.session_factory(engine)
    gateway = SlackGateway(client)
    clock: Clock = SystemClock() if speed == 1 else ScaledClock(speed)
    jobs = build_jobs(
        sessions=sessions,
        policy=policy,
        gateway=gateway,
        clock=clock,
        templates=IncidentTemplates(),
        pagerduty=PagerDutySettings.of(settings),
        statuspage=StatuspageSettings.of(settings),
        lease=LEASE * speed,
    )
    return Services(
        settings=settings,
        policy=policy,
        engine=engine,
        sessions=sessions,
        gateway=gateway,
        clock=clock,
        jobs=jobs,
        operations=IncidentOperations(sessions=sessions, policy=policy, clock=clock),
        resolution=Resolution(sessions=sessions, policy=policy, clock=clock),
        capture=TimelineCapture(sessions=sessions, policy=policy, clock=clock),
        followups=Followups(sessions=sessions, policy=policy, clock=clock),
        alarms=IncidentClock(sessions=sessions, policy=policy, clock=clock),
        intake=AlertIntake(sessions=sessions, policy=policy, clock=clock),
    )


class StartupError(Exception):
    """Why warroom cannot start, in one line that says what to fix."""


async def _prepare(settings: Settings, speed: float = 1.0) -> Services:
    """Everything `serve` needs before it answers anyone, each failure as one clear line."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else ""
    if token.startswith("xapp-"):
        raise StartupError(
            "SLACK_BOT_TOKEN holds an app-level token (xapp-…): it takes the Bot User OAuth "
            "Token (xoxb-…); an xapp- token belongs in SLACK_APP_TOKEN (Socket Mode)"
        )
    try:
        policy = load_policy(settings.warroom_policy)
    except PolicyError as problem:
        first = str(problem).strip().splitlines()[-1].strip()
        raise StartupError(
            f"the policy {settings.warroom_policy} is invalid ({first}); "
            f"`warroom policy check {settings.warroom_policy}` lists every problem"
        ) from None
    where = _redacted(settings.database_url)
    try:
        await asyncio.to_thread(store.upgrade, settings.database_url)
    except Exception as error:  # any driver's connection error: told, not a traceback
        raise StartupError(
            f"the database at {where} does not answer ({type(error).__name__}); "
            "check DATABASE_URL and that the database is running"
        ) from None
    services = await build_services(settings, policy, speed=speed)
    try:
        identity = await services.gateway.identify()
    except SlackFailure as failure:
        await services.engine.dispose()
        if failure.error == "unreachable" or (failure.status or 0) >= 500:
            raise StartupError(
                f"Slack's Web API at {settings.slack_api_url} cannot be reached "
                f"({failure.error}); check SLACK_API_URL and the network"
            ) from None
        raise StartupError(
            f"Slack refused SLACK_BOT_TOKEN: {failure.error}; copy the Bot User OAuth Token "
            "(OAuth & Permissions) again, or reinstall the app"
        ) from None
    log.info("slack_connected", team=identity.team_id, bot_user=identity.user_id)
    return services


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(a DATABASE_URL that cannot be read)"


async def serve(
    settings: Settings,
    *,
    host: str = "0.0.0.0",
    speed: float = 1.0,
    extend: Callable[[web.Application, Services], None] | None = None,
    started: Callable[[], None] | None = None,
) -> int:
    """Run until SIGTERM/SIGINT. Returns the process exit code; raises `StartupError`.
    The sandbox passes its `--speed`, `extend`s the HTTP app with its page and is told once
    it is `started`."""
    services = await _prepare(settings, speed)
    await services.gateway.warm_up()

    bolt, _surface = build_bolt_app(services)
    await schedule_digest(services.sessions, services.policy, now=services.clock.now())
    scheduler = build_scheduler(services)
    scheduler.start()

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    http_app = build_http_app(bolt, services)
    if extend is not None:
        extend(http_app, services)
    runner = web.AppRunner(http_app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host=host, port=settings.port).start()
    except OSError as error:
        await runner.cleanup()
        scheduler.shutdown(wait=False)
        await services.jobs.stop()
        await services.engine.dispose()
        raise StartupError(
            f"port {settings.port} on {host} is in use or not allowed ({error.strerror}); "
            "choose another with PORT (or --port)"
        ) from None
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
        if started is not None:
            started()
        await stop.wait()
        log.info("shutting_down")
    finally:
        if socket_handler is not None:
            await socket_handler.close_async()  # type: ignore[no-untyped-call]
        await runner.cleanup()
        scheduler.shutdown(wait=False)
        await services.jobs.stop()
        await services.engine.dispose()
    return 0
