"""Shared pieces of the in-process benchmarks (`bench.ack`, `bench.scale`).

They run warroom inside the benchmark's own process, built from the composition root's
functions exactly as `warroom serve` builds it, and served over real HTTP on 127.0.0.1, so a
benchmark can see what a request cost while it happens:

- `QueryCounter` counts the SQL statements (and the rows they returned) on the app's engine;
- `AckProbe` notes the time and the statement count at the moment a listener calls `ack()`,
  so work done *before* the ack can be told from work done after it;
- `SlackRequests` builds the signed payloads Slack sends (the very bodies the end-to-end
  driver builds) and `send` posts them with aiohttp on the running event loop;
- the fake Slack (`sandbox.slack`) runs in its own thread and records every Web API call
  with `time.monotonic()` times, comparable with the times taken here.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import inspect
import json
import resource
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

import store
from bot.app import build_bolt_app, build_http_app, build_services
from bot.policy import load_policy
from bot.settings import Settings
from sandbox.slack import FakeSlack
from tests.e2e.driver import Reply, SlackDriver, sign

EVENTS_PATH = "/slack/events"
# Slack gives up on an ack after 3 s; nothing the benchmarks send should wait longer than this.
REQUEST_TIMEOUT = 30.0


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (the same definition as `bench.declare`); NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def ratio(value: float, base: float) -> float:
    return value / base if base > 0 else float("inf")


def now_utc() -> datetime:
    return datetime.now(UTC)


def rss_mb() -> float:
    """Resident set size of this process now (VmRSS), in MiB; peak RSS where /proc is absent."""
    gc.collect()
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


# -- targets --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A figure and the most it may be. NaN (nothing measured) fails."""

    name: str
    value: float
    limit: float
    fmt: str = "{:.0f}"

    @property
    def passed(self) -> bool:
        return self.value <= self.limit  # False for NaN


def report_targets(targets: list[Target]) -> int:
    """Print one PASS/FAIL line per target; 1 if any failed, else 0."""
    print("targets")
    width = max((len(t.name) for t in targets), default=0)
    for target in targets:
        verdict = "PASS" if target.passed else "FAIL"
        value = target.fmt.format(target.value)
        limit = target.fmt.format(target.limit)
        print(f"  {verdict}  {target.name:<{width}}  {value:>9}  (limit {limit})")
    failed = [t for t in targets if not t.passed]
    sys.stdout.flush()  # the verdict on stderr comes after the table, not inside it
    if failed:
        print(f"{len(failed)} of {len(targets)} targets FAILED", file=sys.stderr)
        return 1
    return 0


# -- what the database did ------------------------------------------------------------------


class QueryCounter:
    """Counts SQL statements on an engine, and the rows the SELECTs (and RETURNINGs) gave back.

    Statements are counted at `before_cursor_execute`, so connection set-up (pragmas),
    BEGIN/COMMIT and ROLLBACK, which do not go through a cursor, are not counted.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.count = 0
        self.rows = 0
        # When a dict: every statement's text → its last parameters (for `full_scans`).
        self.statements: dict[str, Any] | None = None
        self._engine = engine.sync_engine
        event.listen(self._engine, "before_cursor_execute", self._before)
        event.listen(self._engine, "after_cursor_execute", self._after)

    def _before(
        self,
        _conn: Any,
        _cursor: Any,
        statement: str,
        parameters: Any,
        _context: Any,
        executemany: bool,
    ) -> None:
        self.count += 1
        if self.statements is not None and not executemany:
            self.statements[statement] = parameters

    def _after(self, _conn: Any, cursor: Any, *_args: Any) -> None:
        if cursor.description is None:
            return  # a write without RETURNING: it read nothing back
        # SQLAlchemy's asyncio adapters fetch every row of a result at execute time into
        # `_rows`, so this is the whole result, before anyone reads it. Other drivers
        # report it as rowcount (-1 when they do not know).
        buffered = getattr(cursor, "_rows", None)
        if buffered is not None:
            self.rows += len(buffered)
        elif cursor.rowcount and cursor.rowcount > 0:
            self.rows += cursor.rowcount

    def close(self) -> None:
        event.remove(self._engine, "before_cursor_execute", self._before)
        event.remove(self._engine, "after_cursor_execute", self._after)


async def full_scans(engine: AsyncEngine, statements: Mapping[str, Any]) -> list[str]:
    """The tables SQLite reads end to end (a `SCAN`, with or without an index) to run these
    statements: their cost grows with the table whatever the rows they return. Empty on
    other databases."""
    if engine.dialect.name != "sqlite":
        return []
    scanned: set[str] = set()
    async with engine.connect() as conn:
        for statement, parameters in list(statements.items()):
            try:
                plan = await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            except Exception:  # not explainable (e.g. a PRAGMA): it scans nothing of ours
                continue
            for row in plan.all():
                detail = str(row[-1])
                words = detail.split()
                if words[0] == "SCAN" and words[1] not in ("CONSTANT", "(subquery"):
                    scanned.add(words[1])
    return sorted(scanned)


def thread_cpu_seconds(name: str) -> float:
    """CPU time used so far by the thread called `name` (Linux), NaN if unknown."""
    for thread in threading.enumerate():
        if thread.name == name and thread.ident is not None:
            with contextlib.suppress(AttributeError, OSError):
                return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
    return float("nan")


@dataclass(frozen=True)
class AckSeen:
    at: float  # time.monotonic() when the listener called ack()
    queries: int  # QueryCounter.count at that moment


class AckProbe:
    """Wraps Bolt's `AsyncAck.__call__` (for this process) to note when listeners ack.

    Bolt answers the HTTP request as soon as the listener calls `ack()`, and the listener
    goes on working afterwards; the counters at this moment are what the request cost before
    Slack got its answer.
    """

    def __init__(self, counter: Callable[[], int]) -> None:
        self.counter = counter
        self.seen: list[AckSeen] = []
        self._original: Any = None

    def __enter__(self) -> AckProbe:
        self._original = original = AsyncAck.__call__
        probe = self

        async def noting(ack: AsyncAck, *args: Any, **kwargs: Any) -> Any:
            probe.seen.append(AckSeen(time.monotonic(), probe.counter()))
            return await original(ack, *args, **kwargs)

        AsyncAck.__call__ = noting  # type: ignore[method-assign,assignment]
        return self

    def __exit__(self, *_exc: object) -> None:
        AsyncAck.__call__ = self._original  # type: ignore[method-assign]

    def first_after(self, since: float) -> AckSeen | None:
        return next((seen for seen in self.seen if seen.at >= since), None)


# -- Slack's requests -------------------------------------------------------------------------


@dataclass(frozen=True)
class Payload:
    body: bytes
    content_type: str


class _CapturingDriver(SlackDriver):
    """The end-to-end driver's payload builders, with the sending taken out: we send them
    ourselves, asynchronously, on the loop the app runs on."""

    def __init__(self, fake: FakeSlack) -> None:
        super().__init__(server=None, fake=fake)  # type: ignore[arg-type]
        self.captured: Payload | None = None

    def post(
        self,
        body: bytes,
        *,
        content_type: str = "application/x-www-form-urlencoded",
        **_ignored: Any,
    ) -> Reply:
        self.captured = Payload(body, content_type)
        return Reply(200, b"", {}, 0.0)  # empty: the driver records no ack into the fake


class SlackRequests:
    """Payloads exactly as `tests.e2e.driver.SlackDriver` sends them."""

    def __init__(self, fake: FakeSlack) -> None:
        self._driver = _CapturingDriver(fake)

    def _take(self) -> Payload:
        captured, self._driver.captured = self._driver.captured, None
        if captured is None:
            raise RuntimeError("the driver built no request")
        return captured

    def slash(self, user: str, text: str = "", *, channel: str = "general") -> Payload:
        self._driver.slash(user, text, channel=channel)
        return self._take()

    def view_submission(
        self, user: str, view: Mapping[str, Any], values: Mapping[str, Any]
    ) -> Payload:
        self._driver.view_submission(user, view, values)
        return self._take()


@dataclass(frozen=True)
class Sent:
    status: int
    body: bytes
    started: float  # time.monotonic()
    ended: float

    @property
    def elapsed(self) -> float:
        return self.ended - self.started

    def json(self) -> Any:
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None


async def send(session: aiohttp.ClientSession, url: str, payload: Payload, *, secret: str) -> Sent:
    """POST `payload` to `url`/slack/events, signed now (Slack's 5-minute window)."""
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": payload.content_type,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": sign(secret, timestamp, payload.body),
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
    }
    started = time.monotonic()
    async with session.post(url + EVENTS_PATH, data=payload.body, headers=headers) as response:
        body = await response.read()
    return Sent(response.status, body, started, time.monotonic())


def client_session(concurrency: int) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=concurrency),
        timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT),
    )


async def wait_until(
    predicate: Callable[[], Any], *, within: float, what: str, every: float = 0.05
) -> Any:
    deadline = time.monotonic() + within
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {within:.0f}s waiting for {what}")
        await asyncio.sleep(every)


async def settle(
    queries: QueryCounter, fake: FakeSlack, *, quiet: float = 0.05, within: float = 30.0
) -> bool:
    """Wait until neither the database nor Slack was touched for `quiet` seconds: the work a
    listener does after its ack is over. False if it did not settle `within` seconds.

    Call `fake.reset_calls()` between requests: `fake.calls()` copies the whole call log.
    """
    deadline = time.monotonic() + within
    last = (queries.count, len(fake.calls()))
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(min(quiet / 2, 0.02))
        state = (queries.count, len(fake.calls()))
        if state != last:
            last, quiet_since = state, time.monotonic()
        elif time.monotonic() - quiet_since >= quiet:
            return True
    return False


# -- the app, in this process -----------------------------------------------------------------


async def serve_locally(app: web.Application) -> tuple[web.AppRunner, str]:
    """Serve `app` on 127.0.0.1 on a free port, as `serve()` does (no access log)."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host="127.0.0.1", port=0).start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


def bare_http_app(bolt: AsyncApp) -> web.Application:
    """The aiohttp stack warroom serves Bolt with, and nothing else (for baselines)."""

    async def slack_events(request: web.Request) -> web.Response:
        bolt_response = await bolt.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(bolt_response)

    web_app = web.Application()
    web_app.add_routes([web.post(EVENTS_PATH, slack_events)])
    return web_app


def warroom_http_app(bolt: AsyncApp, services: Any, surface: Any) -> web.Application:
    """`build_http_app(bolt, services)`, or with the Surface if its signature asks for it."""
    params = inspect.signature(build_http_app).parameters
    if "surface" in params:
        return build_http_app(bolt, services, surface=surface)  # type: ignore[call-arg]
    if len(params) >= 3:
        return build_http_app(bolt, services, surface)  # type: ignore[call-arg]
    return build_http_app(bolt, services)


def settings_for(fake: FakeSlack, database_url: str) -> Settings:
    return Settings(
        _env_file=None,  # a developer's .env must not leak in
        slack_bot_token=fake.bot_token,
        slack_signing_secret=fake.signing_secret,
        slack_api_url=fake.api_url,
        database_url=database_url,
    )


@dataclass
class Warroom:
    """The real app, running in this process."""

    fake: FakeSlack
    services: Any
    bolt: AsyncApp
    surface: Any
    url: str
    queries: QueryCounter
    notes: list[str] = field(default_factory=list)


Seeder = Callable[[Any], Awaitable[None]]


@contextlib.asynccontextmanager
async def running_warroom(
    fake: FakeSlack, workdir: Path, *, seed: Seeder | None = None
) -> AsyncIterator[Warroom]:
    """Migrate a fresh SQLite database, build the services (then `seed(services)`), start
    the app as `warroom serve` does, and serve it over HTTP until the block ends."""
    database_url = f"sqlite:///{workdir / 'bench.db'}"
    await asyncio.to_thread(store.upgrade, database_url)
    services = await build_services(settings_for(fake, database_url), load_policy(None))
    runner: web.AppRunner | None = None
    queries: QueryCounter | None = None
    try:
        if seed is not None:
            await seed(services)
        await _start_like_serve(services)
        bolt, surface = build_bolt_app(services)
        queries = QueryCounter(services.engine)
        runner, url = await serve_locally(warroom_http_app(bolt, services, surface))
        yield Warroom(fake, services, bolt, surface, url, queries)
    finally:
        if runner is not None:
            await runner.cleanup()
        await _drain_tasks()
        if queries is not None:
            queries.close()
        await services.engine.dispose()


async def _start_like_serve(services: Any) -> None:
    """What `serve()` does between building the services and serving: learn the bot's
    identity (invitations leave the bot out by it) and fill the gateway's caches."""
    await services.gateway.identify()
    await services.gateway.warm_up()


async def _drain_tasks(grace: float = 5.0) -> None:
    """Let listener tasks that outlive their request finish (or cancel them) before the
    engine goes away, so shutdown does not print tracebacks of half-done work."""
    current = asyncio.current_task()
    pending = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
    if not pending:
        return
    _done, still = await asyncio.wait(pending, timeout=grace)
    for task in still:
        task.cancel()
    if still:
        await asyncio.gather(*still, return_exceptions=True)


async def record_members(services: Any, channel_id: str, users: list[str]) -> None:
    """Tell the store who is in `channel_id` (the app learns it when it invites people and
    from Slack's events; seeded rows skip that)."""
    async with services.sessions() as session:
        await store.add_channel_members(
            session, channel_id=channel_id, user_ids=users, now=now_utc()
        )
        await session.commit()


# -- quiet logs -------------------------------------------------------------------------------


@contextlib.contextmanager
def app_logs_to(path: Path) -> Iterator[TextIO]:
    """warroom's own logging set-up (JSON at INFO, like `warroom serve`), written to `path`
    instead of stderr so the benchmark's report stays readable; the cost of logging is still
    paid, as in production."""
    with contextlib.suppress(ImportError):
        from bot.logs import configure_logging

        configure_logging(level="INFO", fmt="json")
    with path.open("a", encoding="utf-8") as log, contextlib.redirect_stderr(log):
        yield log


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text("utf-8", "replace").splitlines()[-lines:])
    except OSError:
        return ""
