"""Benchmark: the clock (issue 10). Are update reminders on time and sent once each with 1 000
open incidents, and does a tick with nothing due cost as much at 1 000 incidents as at 10?

Everything runs in this process: warroom's real job runner (`build_jobs`, every job kind,
a `SlackGateway` over the Web API client `warroom serve` builds) against the fake Slack, with
Slack's rate limits off (this measures warroom, not Slack's limits). The policy is the
built-in one on a seconds scale: P1, P2 and P3 ask for an update every 30 s, 45 s and 60 s
(`--cadences`: 1 000 incidents then ask for ~24 reminders a second, some 90 times what 1 000
incidents on 15-minute cadences would; one process delivers ~40 a second, so 5,7,11 — ~145 a
second — measures an overload, not lateness); no acknowledgement deadline, no escalation, no
roles nudge, no stale nudge, so the only alarm is the update reminder. Incidents are
bulk-inserted (investigating, identified or monitoring, acknowledged, with a commander and a
channel that exists in the fake), and their `clock` jobs scheduled with `schedule_clock`, as
declaring does.

1. Idle ticks. Every incident's pending reminder is snoozed an hour away, so nothing is due
   (each incident still has its pending `clock` job). Two databases side by side: the baseline
   with 10 open incidents and one with 1 000; `tick(wait=True)` on each, in short blocks that
   alternate between them (baseline first), at least `--idle-ticks` times each and for a few
   seconds; then again after the live run (the 1 000-incident database then also holds the
   run's finished jobs). Per tick: CPU time (`time.process_time()`: every thread, the
   database driver's too), wall time and SQL statements; medians, and the ratio of the CPU
   time to the baseline's. Target: ≤ 1.5 ×.
2. Live. The 1 000 pending reminders are snoozed to moments staggered over their cadence
   (sub-second phases, as declarations at any moment would give), and the runner ticks every
   1 s with `tick(wait=False)`, as the scheduler does, for `--window` seconds, then a few
   seconds more so that the last slots of the window get their chance. For every update
   reminder posted (`chat.postMessage` whose metadata kind is `alarm:<n>:update:<slot>#…`),
   lateness = when the fake received it − its slot (the exact slot from the alarm's stored
   effect; the key may round it). Targets: p99 lateness ≤ 2 s; exactly one reminder
   per (incident, slot): duplicates 0; every slot of the window reminded (as the on-time
   schedule predicts them): missing 0.

SQLite (temporary files) always; Postgres too when `TEST_DATABASE_URL` is set, in schemas of
their own that are dropped afterwards. Prints PASS/FAIL per target; exits non-zero only on an
error (`--strict`: also when a target is missed).

    python -m bench.clock [--quick] [--window S] [--incidents N] [--cadences 30,45,60]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import bindparam, create_engine, func, insert, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

import store
from bench._common import (
    QueryCounter,
    Target,
    app_logs_to,
    percentile,
    ratio,
    report_targets,
    tail,
    thread_cpu_seconds,
)
from bot.app import build_jobs
from bot.clock import SystemClock
from bot.flows.changes import CLOCK_JOB, schedule_clock
from bot.flows.clock import alarm_key
from bot.flows.deadlines import deadlines
from bot.flows.effects import AlarmRang, decode
from bot.gateway import SlackGateway
from bot.jobs import TICK_BATCH, JobRunner
from bot.policy import Policy, policy_from_data
from bot.slack_client import build_web_client
from bot.templates.incident import IncidentTemplates
from sandbox.slack import FakeSlack

PG_ENV = "TEST_DATABASE_URL"
BASELINE = 10
CADENCES = (30, 45, 60)
LATENESS_P99 = 2.0  # seconds
IDLE_RATIO = 1.5
TICK_SECONDS = 1.0  # bot.app.JOBS_TICK_SECONDS
LEAD_IN = 2  # seconds from the staggering to the first slot
FLUSH = 4.0  # ticking on after the window, for the window's last slots (target 2 s)
FAR = timedelta(hours=1)  # where pending reminders are snoozed while nothing may be due
FAKE_THREAD = "fakeslack"
LEAD = "U_ALICE"
STATUSES = ("investigating", "identified", "monitoring")
GOLDEN = (math.sqrt(5) - 1) / 2
BATCH = 500
IDLE_BLOCK = 5  # counted idle ticks in a row on one side, after one uncounted
SMALL, BIG = "baseline", "big"


@dataclass(frozen=True)
class Plan:
    incidents: int
    window: float
    idle_ticks: int
    idle_seconds: float
    cadences: tuple[int, ...]


# -- the policy --------------------------------------------------------------------------------


def clock_policy(cadences: tuple[int, ...]) -> Policy:
    """The built-in policy with the first severities on `cadences` (seconds), the others
    without one, and no alarm but the update reminder."""
    raw = resources.files("bot.policy").joinpath("default.yaml").read_text("utf-8")
    data = yaml.safe_load(raw)
    severities = data["severities"]
    if not 0 < len(cadences) <= len(severities):
        raise SystemExit(f"--cadences: 1 to {len(severities)} values, one per severity")
    for index, severity in enumerate(severities):
        for key in ("ack_within", "escalation", "update_every"):
            severity.pop(key, None)
        if index < len(cadences):
            severity["update_every"] = f"{cadences[index]}s"
    data["roles_nudge_after"] = None
    data["stale_after"] = None
    return policy_from_data(data)


# -- one database: its incidents, its job runner -------------------------------------------------


@dataclass
class Side:
    """One database with its open incidents and a job runner built as `warroom serve` builds
    it (`build_jobs`), sharing the gateway (and the fake Slack) with the other side."""

    label: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    queries: QueryCounter
    jobs: JobRunner
    incidents: dict[int, store.Incident] = field(default_factory=dict)

    async def close(self) -> None:
        await self.jobs.stop()
        self.queries.close()
        await self.engine.dispose()


async def open_side(
    label: str, url: str, gateway: SlackGateway, fake: FakeSlack, policy: Policy, plan: Plan
) -> Side:
    await asyncio.to_thread(store.upgrade, url)
    engine = store.make_engine(url)
    sessions = store.session_factory(engine)
    jobs = build_jobs(
        sessions=sessions,
        policy=policy,
        gateway=gateway,
        clock=SystemClock(),
        templates=IncidentTemplates(),
    )
    side = Side(label, engine, sessions, QueryCounter(engine), jobs)
    try:
        await seed(side, fake, policy, plan)
    except BaseException:
        await side.close()
        raise
    return side


def severity_of(policy: Policy, number: int, cadences: tuple[int, ...]) -> str:
    return policy.severities[number % len(cadences)].id


async def seed(side: Side, fake: FakeSlack, policy: Policy, plan: Plan) -> None:
    """Bulk-insert the side's open incidents (a commander each, a channel in the fake), their
    pending reminder snoozed `FAR` away, and schedule their clocks as declaring does."""
    count = BASELINE if side.label == SMALL else plan.incidents
    declared = datetime.fromtimestamp(int(time.time()) - 60, UTC)
    tag = "base" if side.label == SMALL else "clock"
    for number in range(1, count + 1):
        name = f"inc-{number}-{tag}"
        incident = store.Incident(
            number=number,
            title=f"Clock bench {number}",
            severity=severity_of(policy, number, plan.cadences),
            status=STATUSES[number % len(STATUSES)],
            declared_by=LEAD,
            channel_id=fake.add_channel(name=name, members=[LEAD]),
            channel_name=name,
            declared_at=declared,
            started_at=declared,
            acknowledged_at=declared + timedelta(seconds=30),
            acknowledged_by=LEAD,
            snoozed_until=declared + FAR,
            version=1,
            updated_at=declared,
        )
        for column, value in deadlines(incident, policy).columns().items():
            setattr(incident, column, value)
        side.incidents[number] = incident
    rows = [incident.model_dump() for incident in side.incidents.values()]
    leads = [
        {
            "incident_number": number,
            "role": policy.lead_role.id,
            "user_id": LEAD,
            "assigned_by": LEAD,
            "assigned_at": declared,
            "ended_at": None,
        }
        for number in side.incidents
    ]
    async with side.engine.begin() as conn:
        for start in range(0, len(rows), BATCH):
            await conn.execute(insert(store.Incident.__table__), rows[start : start + BATCH])
            await conn.execute(insert(store.RoleAssignment.__table__), leads[start : start + BATCH])
    now = datetime.now(UTC)
    async with side.sessions() as session:
        for incident in side.incidents.values():
            await schedule_clock(session, incident, policy, now=now)
        await session.commit()


async def snooze_all(side: Side, policy: Policy, until: dict[int, datetime]) -> None:
    """Move each incident's pending reminder to `until[n]` (a snooze, written directly) and
    its clock job with it (`schedule_clock`)."""
    table = store.Incident.__table__
    statement = (
        update(table)
        .where(table.c.number == bindparam("n"))
        .values(snoozed_until=bindparam("until"), version=table.c.version + 1)
    )
    async with side.engine.begin() as conn:
        await conn.execute(statement, [{"n": n, "until": at} for n, at in until.items()])
    now = datetime.now(UTC)
    async with side.sessions() as session:
        for number, at in until.items():
            incident = side.incidents[number].model_copy(update={"snoozed_until": at})
            await schedule_clock(session, incident, policy, now=now)
        await session.commit()


async def cancel_leftovers(side: Side) -> int:
    """Cancel the jobs still due once the clocks are snoozed away (reminders rung but not
    yet posted when the run ended), so that nothing is due; how many there were."""
    table = store.Job.__table__
    async with side.engine.begin() as conn:
        result = await conn.execute(
            update(table)
            .where(table.c.due_at.is_not(None), table.c.kind != CLOCK_JOB)
            .values(state="cancelled", due_at=None)
        )
    return int(result.rowcount or 0)


async def count_jobs(side: Side, where: Any) -> int:
    async with side.sessions() as session:
        result = await session.exec(select(func.count()).select_from(store.Job).where(where))
        return int(result.one())


# -- idle ticks --------------------------------------------------------------------------------


@dataclass
class Idle:
    label: str
    cpu: list[float] = field(default_factory=list)  # seconds
    wall: list[float] = field(default_factory=list)
    queries: list[int] = field(default_factory=list)
    due: list[int] = field(default_factory=list)
    finished_jobs: int = 0

    @property
    def cpu_ms(self) -> float:
        return statistics.median(self.cpu) * 1000 if self.cpu else math.nan

    @property
    def wall_ms(self) -> float:
        return statistics.median(self.wall) * 1000 if self.wall else math.nan


async def idle_ticks(sides: list[Side], labels: list[str], plan: Plan) -> list[Idle]:
    """`tick(wait=True)` with nothing due, at least `plan.idle_ticks` times per side and for
    `plan.idle_seconds`, in blocks that alternate between the sides (baseline first), so that
    a change in the machine's load hits both alike. The first tick of a block is not counted
    (it pays for the other side's, e.g. cold caches), and the collector is off (a collection
    would be billed to one side)."""
    results = [Idle(label) for label in labels]
    for side, result in zip(sides, results, strict=True):
        result.finished_jobs = await count_jobs(side, col(store.Job.due_at).is_(None))
        for _ in range(3):
            await side.jobs.tick(wait=True)
    gc.collect()
    gc.disable()
    started = time.monotonic()
    try:
        while (
            min(len(result.cpu) for result in results) < plan.idle_ticks
            or time.monotonic() - started < plan.idle_seconds
        ):
            for side, result in zip(sides, results, strict=True):
                await side.jobs.tick(wait=True)
                for _ in range(IDLE_BLOCK):
                    count = side.queries.count
                    cpu, wall = time.process_time(), time.perf_counter()
                    due = await side.jobs.tick(wait=True)
                    result.cpu.append(time.process_time() - cpu)
                    result.wall.append(time.perf_counter() - wall)
                    result.queries.append(side.queries.count - count)
                    result.due.append(due)
    finally:
        gc.enable()
    return results


# -- the live run ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveTick:
    at: float  # time.monotonic()
    seconds: float  # tick(wait=False): the due-jobs query and starting the tasks
    due: int


@dataclass
class Live:
    window: float
    lead_in: float = math.nan  # from the end of the staggering to the first slot
    ticks: list[LiveTick] = field(default_factory=list)
    lateness: list[float] = field(default_factory=list)  # slots within the window
    expected: int = 0
    missing: int = 0
    off_schedule: int = 0
    posted: int = 0  # update reminders posted, the flush included
    leftovers: int = 0  # jobs still due at the end (cancelled)
    duplicates: list[str] = field(default_factory=list)
    failed_calls: Counter[str] = field(default_factory=Counter)
    failed_jobs: int = 0
    queries: int = 0
    cpu: float = math.nan
    fake_cpu: float = math.nan
    wall: float = math.nan


async def tick_loop(jobs: JobRunner, until: float, seen: list[LiveTick]) -> None:
    """As the scheduler does: `tick(wait=False)` every second; a missed tick is not made up."""
    next_at = time.monotonic()
    while next_at < until:
        started = time.monotonic()
        due = await jobs.tick(wait=False)
        seen.append(LiveTick(started, time.monotonic() - started, due))
        now = time.monotonic()
        while next_at <= now:
            next_at += TICK_SECONDS
        await asyncio.sleep(next_at - now)


def reminder_key(call_args: dict[str, Any]) -> str | None:
    """The job key of an update reminder (`alarm:<n>:update:<slot>`), None for other posts."""
    metadata = call_args.get("metadata")
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata)
        except ValueError:
            return None
    payload = metadata.get("event_payload") if isinstance(metadata, dict) else None
    kind = payload.get("kind") if isinstance(payload, dict) else None
    if not isinstance(kind, str) or not kind.startswith("alarm:") or ":update:" not in kind:
        return None
    return kind.partition("#")[0]


def key_epoch(key: str) -> float:
    """The slot in the key (`alarm_key`), as precise as the key gives it."""
    return float(key.split(":")[3])


async def stored_slots(side: Side) -> dict[str, float]:
    """Each update alarm's exact slot, from its stored effect (the key may round it)."""
    async with side.sessions() as session:
        rows = (
            await session.exec(
                select(col(store.Job.key), col(store.Job.payload)).where(
                    col(store.Job.key).like("alarm:%:update:%")
                )
            )
        ).all()
    slots = {}
    for key, payload in rows:
        effect = decode(payload or "")
        if isinstance(effect, AlarmRang):
            slots[key] = effect.slot.timestamp()
    return slots


def staggered(plan: Plan, numbers: list[int], first: datetime) -> dict[int, datetime]:
    """Each incident's first slot: `first` + a phase spread evenly over its cadence."""
    return {
        number: first
        + timedelta(seconds=plan.cadences[number % len(plan.cadences)] * (number * GOLDEN % 1))
        for number in numbers
    }


def schedule(plan: Plan, first: dict[int, datetime], end: datetime) -> dict[str, float]:
    """The update slots of the window as an on-time clock rings them (keys as the clock's)."""
    slots = {}
    for number, slot in first.items():
        cadence = timedelta(seconds=plan.cadences[number % len(plan.cadences)])
        while slot <= end:
            slots[alarm_key(number, "update", slot)] = slot.timestamp()
            slot += cadence
    return slots


async def live_run(side: Side, fake: FakeSlack, policy: Policy, plan: Plan) -> Live:
    """Stagger the pending reminders, tick every second through the window (and `FLUSH`
    seconds more), then read what was posted."""
    live = Live(plan.window)
    first = datetime.fromtimestamp(math.ceil(time.time()) + LEAD_IN, UTC)
    end = first + timedelta(seconds=plan.window)
    firsts = staggered(plan, list(side.incidents), first)
    await snooze_all(side, policy, firsts)
    live.lead_in = first.timestamp() - time.time()
    expected = schedule(plan, firsts, end)
    fake.reset_calls()
    gc.collect()
    queries = side.queries
    count, cpu, fake_cpu = queries.count, time.process_time(), thread_cpu_seconds(FAKE_THREAD)
    started = time.monotonic()
    await tick_loop(side.jobs, started + (end.timestamp() - time.time()) + FLUSH, live.ticks)
    await side.jobs.drain()
    live.wall = time.monotonic() - started
    live.cpu = time.process_time() - cpu
    live.fake_cpu = thread_cpu_seconds(FAKE_THREAD) - fake_cpu
    live.queries = queries.count - count

    calls = fake.calls("chat.postMessage") + fake.calls("chat.update")
    live.failed_calls = Counter(f"{c.method} {c.error}" for c in calls if c.ok is False)
    slots = await stored_slots(side)
    posted: Counter[str] = Counter()
    for call in calls:
        key = reminder_key(call.args) if call.method == "chat.postMessage" and call.ok else None
        if key is None:
            continue
        posted[key] += 1
        slot = slots.get(key, key_epoch(key))
        if slot <= end.timestamp() and posted[key] == 1:
            live.lateness.append(call.wall_started_at - slot)
    live.posted = sum(posted.values())
    live.duplicates = [f"{key} × {n}" for key, n in sorted(posted.items()) if n > 1]
    live.expected = len(expected)
    live.missing = len(set(expected) - set(posted))
    live.off_schedule = len(
        [k for k in posted if k not in expected and slots.get(k, key_epoch(k)) <= end.timestamp()]
    )
    live.failed_jobs = await count_jobs(side, col(store.Job.state) == "failed")
    return live


# -- one database kind -------------------------------------------------------------------------


@dataclass
class Figures:
    database: str
    idle: list[Idle]
    live: Live


async def measure(database: str, urls: tuple[str, str], policy: Policy, plan: Plan) -> Figures:
    """The baseline (10 incidents) and the big database side by side, in one fake Slack."""
    fake = FakeSlack(rate_limits=False)
    fake.start()
    fake.set_rate_limits(False)
    sides: list[Side] = []
    try:
        gateway = SlackGateway(build_web_client(token=fake.bot_token, base_url=fake.api_url))
        for label, url in zip((SMALL, BIG), urls, strict=True):
            sides.append(await open_side(label, url, gateway, fake, policy, plan))
        big = sides[1]
        labels = [f"{BASELINE} incidents", f"{plan.incidents} incidents"]
        idle = await idle_ticks(sides, labels, plan)
        live = await live_run(big, fake, policy, plan)
        # Nothing due again (the clocks snoozed away, the run's leftovers cancelled): idle
        # ticks once more, against the baseline again.
        await snooze_all(big, policy, dict.fromkeys(big.incidents, datetime.now(UTC) + FAR))
        live.leftovers = await cancel_leftovers(big)
        labels = [f"{BASELINE} incidents", f"{plan.incidents} incidents after the run"]
        idle += await idle_ticks(sides, labels, plan)
    finally:
        for side in sides:
            await side.close()
        fake.stop()
    return Figures(database, idle, live)


def _admin(url: str, sql: str) -> None:
    engine = create_engine(store.sync_url(url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(sql))
    finally:
        engine.dispose()


async def on_postgres(admin_url: str, policy: Policy, plan: Plan) -> Figures:
    """In schemas of their own (selected with `-csearch_path`), dropped whatever happens."""
    prefix = f"bench_clock_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    schemas = (f"{prefix}_base", f"{prefix}_big")
    urls = []
    try:
        for schema in schemas:
            await asyncio.to_thread(_admin, admin_url, f'CREATE SCHEMA "{schema}"')
            url = make_url(admin_url).update_query_dict({"options": f"-csearch_path={schema}"})
            urls.append(url.render_as_string(hide_password=False))
        return await measure("postgres", (urls[0], urls[1]), policy, plan)
    finally:
        for schema in schemas:
            await asyncio.to_thread(_admin, admin_url, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


async def run(plan: Plan, workdir: Path) -> list[Figures]:
    policy = clock_policy(plan.cadences)
    urls = (f"sqlite:///{workdir / 'base.db'}", f"sqlite:///{workdir / 'clock.db'}")
    figures = [await measure("sqlite", urls, policy, plan)]
    admin_url = os.environ.get(PG_ENV, "").strip()
    if admin_url:
        figures.append(await on_postgres(admin_url, policy, plan))
    return figures


# -- report ------------------------------------------------------------------------------------


def report(figures: list[Figures], plan: Plan) -> list[Target]:
    cadences = "/".join(f"{c}s" for c in plan.cadences)
    print(
        f"clock: {plan.incidents} open incidents, update reminders every {cadences} "
        f"(staggered), ticks every {TICK_SECONDS:.0f} s, {plan.window:.0f} s window, "
        f"Slack's rate limits off"
    )
    targets: list[Target] = []
    for result in figures:
        db = result.database
        print(
            f"{db}: idle tick (nothing due): tick(wait=True) in blocks alternating with the "
            f"baseline; medians"
        )
        print(
            f"  {'open incidents':<36} {'finished jobs':>13} {'ticks':>6} {'CPU':>9} "
            f"{'wall':>9} {'SQL':>5} {'due':>4}  × baseline"
        )
        for base, idle in zip(result.idle[::2], result.idle[1::2], strict=True):
            for row in (base, idle):
                label = row.label + (" (baseline)" if row is base else "")
                print(
                    f"  {label:<36} {row.finished_jobs:13d} {len(row.cpu):6d} {row.cpu_ms:6.3f} ms "
                    f"{row.wall_ms:6.3f} ms {statistics.fmean(row.queries):5.1f} "
                    f"{max(row.due):4d}  {ratio(row.cpu_ms, base.cpu_ms):6.2f} ×"
                )
            targets.append(
                Target(
                    f"{db}: idle tick CPU, {idle.label} / {base.label}",
                    ratio(idle.cpu_ms, base.cpu_ms),
                    IDLE_RATIO,
                    "{:.2f}",
                )
            )
        live = result.live
        claims = [t.seconds * 1000 for t in live.ticks]
        due = [float(t.due) for t in live.ticks]
        print(
            f"{db}: live, {len(live.ticks)} ticks of tick(wait=False) in {live.wall:.1f} s "
            f"(the first slot {live.lead_in:.1f} s after the staggering was written)"
        )
        print(
            f"  claim (due-jobs query)  p50 {percentile(claims, 50):7.2f} ms   "
            f"max {max(claims, default=math.nan):7.2f} ms"
        )
        print(
            f"  jobs due per tick       p50 {percentile(due, 50):7.0f}      "
            f"max {max(due, default=0):7.0f}   (a tick starts at most {TICK_BATCH})"
        )
        lateness = live.lateness
        p99 = percentile(lateness, 99)
        print(
            f"  reminder lateness       p50 {percentile(lateness, 50):7.2f} s    "
            f"p99 {p99:7.2f} s    max {max(lateness, default=math.nan):7.2f} s   "
            f"({len(lateness)} reminders with slots in the window)"
        )
        verdict = "PASS" if p99 <= LATENESS_P99 else "FAIL"
        print(f"  p99 ≤ {LATENESS_P99:.0f} s: {verdict}")
        print(
            f"  reminders               expected {live.expected}, posted {live.posted} "
            f"(flush included), missing {live.missing}, off schedule {live.off_schedule}, "
            f"still queued at the end {live.leftovers}"
        )
        print(f"  duplicates              {len(live.duplicates)}")
        for line in live.duplicates[:10]:
            print(f"    {line}")
        failed = ", ".join(f"{k} × {n}" for k, n in sorted(live.failed_calls.items()))
        print(f"  failed Slack calls      {failed or 'none'}; failed jobs {live.failed_jobs}")
        print(
            f"  SQL statements          {live.queries} "
            f"({ratio(live.queries, live.posted):.1f} per reminder)"
        )
        print(
            f"  CPU                     {live.cpu:.1f} s in {live.wall:.1f} s, of which the fake "
            f"Slack's thread {live.fake_cpu:.1f} s "
            f"({ratio(live.cpu - live.fake_cpu, live.posted) * 1000:.1f} ms of warroom's "
            f"per reminder)"
        )
        targets += [
            Target(f"{db}: reminder lateness p99 (s)", p99, LATENESS_P99, "{:.2f}"),
            Target(f"{db}: duplicate reminders", float(len(live.duplicates)), 0),
            Target(f"{db}: reminders missing", float(live.missing), 0),
        ]
    return targets


# -- main --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=1000, help="open incidents")
    parser.add_argument("--window", type=float, default=None, help="live seconds (30; quick 6)")
    parser.add_argument(
        "--idle-ticks",
        type=int,
        default=None,
        help="at least this many idle ticks per size (300; quick 100)",
    )
    parser.add_argument(
        "--cadences", default=",".join(map(str, CADENCES)), help="update cadences (seconds)"
    )
    parser.add_argument("--quick", action="store_true", help="a shorter window, fewer idle ticks")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    plan = Plan(
        incidents=max(args.incidents, BASELINE + 1),
        window=args.window if args.window is not None else (6.0 if args.quick else 30.0),
        idle_ticks=args.idle_ticks or (100 if args.quick else 300),
        idle_seconds=1.0 if args.quick else 3.0,
        cadences=tuple(int(c) for c in args.cadences.split(",") if c.strip()),
    )
    with tempfile.TemporaryDirectory(prefix="bench-clock-") as tmp:
        workdir = Path(tmp)
        log_path = workdir / "warroom.log"
        try:
            with app_logs_to(log_path):
                figures = asyncio.run(run(plan, workdir))
        except BaseException:
            print(f"--- warroom log (tail) ---\n{tail(log_path)}", file=sys.stderr)
            raise
    missed = report_targets(report(figures, plan))
    return missed if args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
