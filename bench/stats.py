"""Benchmark: `/incident stats 90d` and `warroom report --since 90d` over a year of incidents
(issue 12, "Performance").

The bench generates its own history, deterministically (a seeded `random.Random`): 100 000
incidents declared over the last 400 days (numbered in declaration order, so a 90-day window
holds ~22 500 of them) and 1 000 000 timeline events, with their status updates and action
items. The mix is meant to look like a real team's: severities P1 4 %, P2 16 %, P3 40 %,
P4 40 %; 2 % drills, 3 % declined, a few % private (security and data-privacy types among
them); stamps drawn per severity (acknowledged within minutes to hours, mitigated and resolved
within an hour to days; whatever would fall after "now" is not there, so recent incidents are
still open, plus a few forgotten ones); closed a while after resolution for half of them;
P1 and P2 post updates on their cadence, more or less on time, and keep the adherence columns
(`update_intervals`, `update_intervals_kept`, `longest_update_gap_seconds`) as the bot does;
post-mortems written (on time or late) for most resolved P1/P2; 1 to 4 action items on a third
of the resolved incidents, about half of them done. The schema is made by the migrations
(`store.upgrade`), and the rows are bulk-inserted with SQLAlchemy Core (`insert(Table)` with
lists of rows, in blocks), so the column types (aware UTC datetimes, JSON) apply as in the app.
Postgres is `ANALYZE`d after the insert (autovacuum's job in production); SQLite is not
(warroom never runs `ANALYZE` there).

Measured, in a fresh session each time, with the built-in policy and the period
`parse_period("90d")`:

1. `/incident stats 90d`: `read_metrics` then `bot.templates.stats.stats_message` (UTC), what
   the command does after its ack (read_metrics alone when that template is not there);
2. `warroom report --since 90d`: `read_metrics` then `render_report` as Markdown, and as JSON.

Baseline, measured in the same run: the same calls on a database of 1 000 incidents (and
10 000 events) generated the same way. Every call runs once uncounted (warm-up), then the two
databases alternate, so a change in the machine's load hits both alike. Per operation: the
median of read_metrics, of the rendering and of the whole, the ratio of the whole to the
baseline's, and the SQL statements per call (`before_cursor_execute`: 3, the session adds
none). Also printed: how long each of the three statements took (median), the figures
themselves (`report_json`), checked against those the generator counted as it went (in
Python, not SQL), and the plans of the three statements (`EXPLAIN QUERY PLAN` on SQLite,
`EXPLAIN` on Postgres), with whether the period filter reads `ix_incidents_declared_at`.

Target, on each database and for each operation: median ≤ 200 ms at 100 000 incidents.

SQLite (temporary files) always; Postgres too when `TEST_DATABASE_URL` is set, in schemas of
their own that are dropped afterwards. Prints PASS/FAIL per target; exits non-zero only on an
error (`--strict`: also when a target is missed).

    python -m bench.stats [--quick] [--incidents N] [--events N] [--baseline N] [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import itertools
import json
import math
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.sql.elements import TextClause
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

import store
from bench._common import Target, ratio, report_targets
from bot.flows.metrics import Period, parse_period, postmortem_windows, read_metrics
from bot.policy import Policy, default_policy
from bot.report import render_report, report_json
from store import repo_metrics
from store.sqlite_functions import SPREADS

PG_ENV = "TEST_DATABASE_URL"
TARGET_MS = 200.0
PERIOD = "90d"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # the bench's "now": the figures are repeatable
SPAN_DAYS = 400
SEED = 12
BLOCK = 1000  # incidents generated (and inserted) at a time
INDEX = "ix_incidents_declared_at"
TABLES = SQLModel.metadata.tables  # the models' tables: their column types apply on insert

SEVERITIES = ("P1", "P2", "P3", "P4")
SEVERITY_WEIGHTS = (4, 16, 40, 40)
TYPES = (None, "outage", "performance", "data-loss", "security", "integration", "data-privacy")
TYPE_WEIGHTS = (30, 25, 25, 5, 5, 8, 2)
PRIVATE_TYPES = ("security", "data-privacy")
# Severity → median seconds to acknowledge (from declaration), to mitigate (from the start)
# and from mitigation to resolution; each drawn log-normally around its median.
TIMES = {
    "P1": (180, 50 * 60, 60 * 60),
    "P2": (360, 2 * 3600, 3 * 3600),
    "P3": (40 * 60, 6 * 3600, 10 * 3600),
    "P4": (3 * 3600, 24 * 3600, 2 * 86400),
}
CADENCE = {"P1": 900, "P2": 1800}  # the built-in policy's update_every (seconds)
GRACE = 1.10  # bot.flows.metrics.GRACE
MAX_UPDATES = 12
PEOPLE = ("U0ALICE", "U0BOB", "U0CAROL", "U0DAVE", "U0ERIN", "U0FRANK")
EVENT_KINDS = ("note", "message", "status_changed", "update", "role_assigned", "acknowledged")
CATEGORIES = ("detection", "response", "recovery", "prevention")


@dataclass(frozen=True)
class Sizes:
    incidents: int
    events: int

    @property
    def label(self) -> str:
        return f"{self.incidents:,} incidents".replace(",", " ")


@dataclass(frozen=True)
class Plan:
    big: Sizes
    baseline: Sizes
    runs: int


FULL = Plan(big=Sizes(100_000, 1_000_000), baseline=Sizes(1_000, 10_000), runs=9)
QUICK = Plan(big=Sizes(2_000, 10_000), baseline=Sizes(200, 1_000), runs=3)


def bench_period() -> Period:
    return parse_period(PERIOD, now=NOW)


# -- the generator -----------------------------------------------------------------------------


@dataclass
class Block:
    incidents: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)


def generate(sizes: Sizes, *, now: datetime = NOW, seed: int = SEED) -> Iterator[Block]:
    """The rows of `sizes.incidents` incidents and exactly `sizes.events` timeline events
    (at least one per incident), in blocks of `BLOCK` incidents; the same every time."""
    if sizes.events < sizes.incidents:
        raise ValueError("at least one timeline event per incident")
    rng = random.Random(f"{seed}:{sizes.incidents}:{sizes.events}")
    span = SPAN_DAYS * 86400
    start = now - timedelta(seconds=span)
    moments = sorted(rng.randrange(1, span) for _ in range(sizes.incidents))
    counts = _event_counts(random.Random(f"{seed}:events"), sizes)
    block = Block()
    for index, moment in enumerate(moments):
        number = index + 1
        incident, updates, actions = _incident(rng, number, start + timedelta(seconds=moment), now)
        block.incidents.append(incident)
        block.updates += updates
        block.actions += actions
        block.events += _events(incident, counts[index], now)
        if len(block.incidents) >= BLOCK:
            yield block
            block = Block()
    if block.incidents:
        yield block


def _event_counts(rng: random.Random, sizes: Sizes) -> list[int]:
    """Events per incident: one each, the rest spread log-normally; exactly `sizes.events`."""
    weights = [rng.lognormvariate(0, 0.7) for _ in range(sizes.incidents)]
    total = sum(weights)
    extra = sizes.events - sizes.incidents
    counts = [1 + int(extra * w / total) for w in weights]
    for index in rng.sample(range(sizes.incidents), sizes.events - sum(counts)):
        counts[index] += 1
    return counts


def _seconds(rng: random.Random, median: float) -> timedelta:
    return timedelta(seconds=max(30, round(median * rng.lognormvariate(0, 0.8))))


def _midnight(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _incident(
    rng: random.Random, number: int, declared: datetime, now: datetime
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    severity = rng.choices(SEVERITIES, SEVERITY_WEIGHTS)[0]
    kind = rng.choices(TYPES, TYPE_WEIGHTS)[0]
    drill = rng.random() < 0.02
    declined = not drill and rng.random() < 0.03
    started = declared - timedelta(seconds=rng.randint(60, 1800)) if rng.random() < 0.7 else None
    detected = (
        started + timedelta(seconds=rng.randint(0, int((declared - started).total_seconds())))
        if started is not None and rng.random() < 0.6
        else None
    )
    declarer = PEOPLE[number % len(PEOPLE)]
    row: dict[str, Any] = {
        "number": number,
        "title": f"Incident {number}: {kind or 'something'} on service {number % 37}",
        "description": "Customers see errors at checkout." if number % 3 else "",
        "severity": severity,
        "status": "triage",
        "type": kind,
        "private": kind in PRIVATE_TYPES or rng.random() < 0.03,
        "drill": drill,
        "affected_services": [f"svc-{number % 37}"],
        "declared_by": declarer,
        "channel_id": f"C{number:09d}",
        "channel_name": f"inc-{number}",
        "declared_at": declared,
        "started_at": started,
        "detected_at": detected,
        "acknowledged_at": None,
        "acknowledged_by": None,
        "identified_at": None,
        "mitigated_at": None,
        "resolved_at": None,
        "closed_at": None,
        "declined_at": None,
        "resolution_summary": None,
        "root_cause": None,
        "postmortem_done_at": None,
        "postmortem_due_at": None,
        "update_count": 0,
        "last_update_at": None,
        "last_update_impact": None,
        "update_intervals": 0,
        "update_intervals_kept": 0,
        "longest_update_gap_seconds": None,
        "escalation_level": 0,
        "version": 1,
        "updated_at": declared,
    }
    if declined:
        row["status"] = "declined"
        row["channel_id"] = None
        row["declined_at"] = min(declared + timedelta(seconds=rng.randint(60, 1800)), now)
        row["updated_at"] = row["declined_at"]
        return row, [], []

    to_ack, to_mitigate, to_fix = TIMES[severity]
    base = started or declared
    acknowledged = declared + _seconds(rng, to_ack) if rng.random() < 0.96 else None
    mitigated = max(base + _seconds(rng, to_mitigate), declared + timedelta(minutes=1))
    identified = (
        declared + (mitigated - declared) * rng.uniform(0.2, 0.9) if rng.random() < 0.8 else None
    )
    resolved = mitigated + _seconds(rng, to_fix)
    forgotten = rng.random() < 0.003  # still open long after

    def past(moment: datetime | None) -> datetime | None:
        return moment if moment is not None and moment <= now else None

    acknowledged, identified = past(acknowledged), past(identified)
    mitigated_at = past(mitigated)
    resolved_at = past(resolved) if mitigated_at is not None and not forgotten else None
    if acknowledged is not None:
        row["acknowledged_at"] = acknowledged.replace(microsecond=0)
        row["acknowledged_by"] = PEOPLE[(number + 1) % len(PEOPLE)]
    row["identified_at"] = identified.replace(microsecond=0) if identified else None
    row["mitigated_at"] = mitigated_at
    row["resolved_at"] = resolved_at
    if resolved_at is not None:
        row["status"] = "resolved"
        row["resolution_summary"] = "Rolled back the release; error rate normal within 5 minutes."
        row["root_cause"] = "A connection pool too small for the traffic."
        if rng.random() < 0.5 and (closed := past(resolved_at + _seconds(rng, 2 * 86400))):
            row["status"], row["closed_at"] = "closed", closed
    elif mitigated_at is not None:
        row["status"] = "monitoring"
    elif identified is not None:
        row["status"] = "identified"
    elif acknowledged is not None:
        row["status"] = "investigating"

    updates = _updates(rng, row, now)
    if resolved_at is not None and severity in CADENCE:
        row["postmortem_due_at"] = resolved_at + timedelta(hours=48)
    if resolved_at is not None and rng.random() < (0.75 if severity in CADENCE else 0.1):
        row["postmortem_done_at"] = past(resolved_at + _seconds(rng, 30 * 3600))
    actions = _actions(rng, row, now)
    row["updated_at"] = max(
        t
        for t in (declared, resolved_at, row["closed_at"], row["last_update_at"], mitigated_at)
        if t is not None
    )
    return row, updates, actions


def _updates(rng: random.Random, row: dict[str, Any], now: datetime) -> list[dict[str, Any]]:
    """Status updates, and the adherence columns they give on a cadence (P1, P2)."""
    declared: datetime = row["declared_at"]
    resolved: datetime | None = row["resolved_at"]
    end = resolved or now
    length = int((end - declared).total_seconds())
    cadence = CADENCE.get(row["severity"])
    if length <= 2:
        return []
    if cadence is not None:
        count = min(MAX_UPDATES, round(length / cadence * rng.uniform(0.6, 1.15)))
    else:
        count = rng.choice((0, 0, 0, 1, 1, 2))
    offsets = sorted(rng.sample(range(1, length), min(count, length - 1)))
    posted = [declared + timedelta(seconds=s) for s in offsets]
    if cadence is not None:
        marks = [declared, *posted, *([resolved] if resolved is not None else [])]
        gaps = [int((b - a).total_seconds()) for a, b in itertools.pairwise(marks)]
        row["update_intervals"] = len(gaps)
        row["update_intervals_kept"] = sum(1 for gap in gaps if gap <= cadence * GRACE)
        row["longest_update_gap_seconds"] = max(gaps, default=None)
    rows = []
    for seq, at in enumerate(posted, start=1):
        impact = f"Update {seq}: checkouts fail for about {(row['number'] + seq) % 40}% of users."
        rows.append(
            {
                "incident_number": row["number"],
                "seq": seq,
                "status": "identified" if seq < len(posted) else "monitoring",
                "impact": impact,
                "actions": "Rolling back the release. Watching the error rate.",
                "next_update_at": at + timedelta(seconds=cadence) if cadence else None,
                "posted_at": at,
                "author": PEOPLE[seq % len(PEOPLE)],
                "message_ts": f"{int(at.timestamp())}.{seq:06d}",
                "shared": seq % 4 == 0,
            }
        )
    if rows:
        row["update_count"] = len(rows)
        row["last_update_at"] = rows[-1]["posted_at"]
        row["last_update_impact"] = rows[-1]["impact"]
    return rows


def _actions(rng: random.Random, row: dict[str, Any], now: datetime) -> list[dict[str, Any]]:
    resolved: datetime | None = row["resolved_at"]
    if resolved is None or rng.random() >= 0.35:
        return []
    rows = []
    for i in range(rng.randint(1, 4)):
        due = _midnight(resolved + timedelta(days=rng.randint(7, 60)))
        done_at = resolved + _seconds(rng, 10 * 86400) if rng.random() < 0.55 else None
        if done_at is not None and done_at > now:
            done_at = None
        rows.append(
            {
                "incident_number": row["number"],
                "text": f"Follow-up {i + 1} of incident {row['number']}: add an alert",
                "owner": PEOPLE[(row["number"] + i) % len(PEOPLE)],
                "due_at": due if rng.random() < 0.7 else None,
                "done": done_at is not None,
                "done_at": done_at,
                "done_by": PEOPLE[i % len(PEOPLE)] if done_at is not None else None,
                "created_at": resolved,
                "created_by": row["declared_by"],
                "category": CATEGORIES[i % len(CATEGORIES)],
                "priority": 1 + (row["number"] + i) % 4,
            }
        )
    return rows


def _events(incident: dict[str, Any], count: int, now: datetime) -> list[dict[str, Any]]:
    number: int = incident["number"]
    declared: datetime = incident["declared_at"]
    end = incident["resolved_at"] or incident["declined_at"] or now
    step = (end - declared) / count
    rows = []
    for i in range(count):
        kind = "declared" if i == 0 else EVENT_KINDS[(number + i) % len(EVENT_KINDS)]
        at = declared + step * i
        message = kind == "message"
        rows.append(
            {
                "incident_number": number,
                "kind": kind,
                "at": at,
                "actor": PEOPLE[(number + i) % len(PEOPLE)],
                "text": f"Event {i} of incident {number}: restarted worker {i % 7}",
                "permalink": (
                    f"https://acme.slack.com/archives/C{number:09d}/p{number}{i:06d}"
                    if message
                    else None
                ),
                "dedupe_key": None,
                "message_ts": f"{number}.{i:06d}" if message else None,
                "recorded_at": at,
            }
        )
    return rows


# -- what the generator put in the period, counted in Python ------------------------------------


def counted(incident: dict[str, Any], period: Period) -> bool:
    """In the figures: declared in the period, not a drill, not declined, not an alert still in
    triage (the README)."""
    return (
        period.since <= incident["declared_at"] < period.until
        and not incident["drill"]
        and incident["status"] not in ("declined", "triage")
    )


def _spread(values: list[float]) -> tuple[int, float, float, float] | None:
    """(count, mean, median, p90), p by linear interpolation at rank (n-1)·p."""
    if not values:
        return None
    ordered = sorted(values)
    n = len(ordered)

    def at(tenths: int) -> float:
        rank, rest = divmod((n - 1) * tenths, 10)
        if rest == 0 or rank + 1 >= n:
            return ordered[rank]
        return ordered[rank] + (ordered[rank + 1] - ordered[rank]) * rest / 10

    return n, statistics.fmean(ordered), at(5), at(9)


@dataclass
class Expected:
    """The figures of the period, from the generated rows (not from the database)."""

    period: Period
    windows: dict[str, int]
    incidents: int = 0
    events: int = 0
    updates: int = 0
    actions: int = 0
    in_period: int = 0
    by_severity: Counter[str] = field(default_factory=Counter)
    by_type: Counter[str] = field(default_factory=Counter)
    open: int = 0
    private: int = 0
    intervals: int = 0
    kept: int = 0
    longest: int | None = None
    postmortems_due: int = 0
    postmortems_on_time: int = 0
    actions_open: int = 0
    actions_done: int = 0
    actions_overdue: int = 0
    measures: dict[str, list[float]] = field(default_factory=dict)

    def add(self, block: Block) -> None:
        self.incidents += len(block.incidents)
        self.events += len(block.events)
        self.updates += len(block.updates)
        self.actions += len(block.actions)
        mine = {i["number"] for i in block.incidents if counted(i, self.period)}
        for incident in block.incidents:
            if incident["number"] in mine:
                self._incident(incident)
        for item in block.actions:
            if item["incident_number"] in mine:
                if item["done"]:
                    self.actions_done += 1
                else:
                    self.actions_open += 1
                    due = item["due_at"]
                    self.actions_overdue += due is not None and due < self.period.until
        self.in_period += len(mine)

    def _incident(self, incident: dict[str, Any]) -> None:
        self.by_severity[incident["severity"]] += 1
        self.by_type[incident["type"] or ""] += 1
        self.open += incident["status"] not in ("resolved", "closed")
        self.private += bool(incident["private"])
        self.intervals += incident["update_intervals"]
        self.kept += incident["update_intervals_kept"]
        gap = incident["longest_update_gap_seconds"]
        if gap is not None:
            self.longest = max(gap, self.longest or 0)
        resolved, done = incident["resolved_at"], incident["postmortem_done_at"]
        window = self.windows.get(incident["severity"])
        due = (
            resolved is not None
            and window is not None
            and (self.period.until - resolved).total_seconds() >= window
        )
        if due:
            self.postmortems_due += 1
            if done is not None and (done - resolved).total_seconds() <= window:
                self.postmortems_on_time += 1
        declared = incident["declared_at"]
        start = incident["started_at"] or declared
        stamps = {
            "ttd": (incident["detected_at"] or declared, start),
            "tta": (incident["acknowledged_at"], declared),
            "ttm": (incident["mitigated_at"], start),
            "ttr": (resolved, start),
            "ttr_declared": (resolved, declared),
        }
        for measure, (later, earlier) in stamps.items():
            if later is not None:
                seconds = (later - earlier).total_seconds()
                self.measures.setdefault(measure, []).append(seconds)

    def disagreements(self, metrics: store.IncidentMetrics) -> tuple[int, list[str]]:
        """(checks made, the ones where the database's figures differ from these)."""
        overall = metrics.overall
        pairs: list[tuple[str, Any, Any]] = [
            ("incidents", overall.count, self.in_period),
            (
                "by severity",
                {k: v.count for k, v in metrics.by_severity.items()},
                dict(self.by_severity),
            ),
            ("by type", metrics.by_type, dict(self.by_type)),
            ("open", metrics.open_count, self.open),
            ("private", metrics.private_count, self.private),
            ("update intervals", overall.update_intervals, self.intervals),
            ("updates on time", overall.updates_on_time, self.kept),
            ("longest update gap", overall.longest_update_gap_seconds, self.longest),
            ("post-mortems due", metrics.postmortems_due, self.postmortems_due),
            ("post-mortems on time", metrics.postmortems_on_time, self.postmortems_on_time),
            ("action items open", metrics.actions_open, self.actions_open),
            ("action items done", metrics.actions_done, self.actions_done),
            ("action items overdue", metrics.actions_overdue, self.actions_overdue),
        ]
        wrong = [
            f"{name}: read {got!r}, generated {want!r}" for name, got, want in pairs if got != want
        ]
        checks = len(pairs)
        for measure in repo_metrics.MEASURES:
            want_spread = _spread(self.measures.get(measure, []))
            got = overall.spread(measure)
            checks += 1
            if want_spread is None:
                if got.count:
                    wrong.append(f"{measure}: read {got.count} values, generated none")
                continue
            n, mean, median, p90 = want_spread
            close = got.count == n and all(
                value is not None and math.isclose(value, target, abs_tol=0.01)
                for value, target in ((got.mean, mean), (got.median, median), (got.p90, p90))
            )
            if not close:
                wrong.append(
                    f"{measure}: read n={got.count} mean={got.mean} median={got.median} "
                    f"p90={got.p90}, generated n={n} mean={mean:.3f} median={median:.3f} "
                    f"p90={p90:.3f}"
                )
        return checks, wrong


# -- one database -------------------------------------------------------------------------------


async def seed(engine: AsyncEngine, sizes: Sizes, expected: Expected) -> float:
    """Insert the generated rows (migrated schema); seconds taken."""
    started = time.perf_counter()
    tables = (  # parents first
        (TABLES["incidents"], "incidents"),
        (TABLES["status_updates"], "updates"),
        (TABLES["action_items"], "actions"),
        (TABLES["timeline_events"], "events"),
    )
    for block in generate(sizes):
        expected.add(block)
        async with engine.begin() as conn:
            for table, name in tables:
                rows = getattr(block, name)
                if rows:
                    await conn.execute(insert(table), rows)
    if engine.dialect.name == "postgresql":
        async with engine.begin() as conn:
            for table, _name in tables:
                await conn.execute(text(f"ANALYZE {table.name}"))
    return time.perf_counter() - started


async def table_sizes(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        return {
            name: int(
                (await conn.execute(select(func.count()).select_from(TABLES[name]))).scalar_one()
            )
            for name in ("incidents", "timeline_events", "status_updates", "action_items")
        }


class Statements:
    """Counts and times the SQL statements on an engine (`before/after_cursor_execute`)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.count = 0
        self.timings: list[tuple[str, float]] = []
        self._started = 0.0
        self._engine = engine.sync_engine
        event.listen(self._engine, "before_cursor_execute", self._before)
        event.listen(self._engine, "after_cursor_execute", self._after)

    def _before(self, *_args: Any) -> None:
        self.count += 1
        self._started = time.perf_counter()

    def _after(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.timings.append((_statement_name(statement), time.perf_counter() - self._started))

    def close(self) -> None:
        event.remove(self._engine, "before_cursor_execute", self._before)
        event.remove(self._engine, "after_cursor_execute", self._after)


def _statement_name(sql: str) -> str:
    if "percentile_cont" in sql or SPREADS in sql:  # Postgres's, and SQLite's registered one
        return "spread"
    if "action_items" in sql:
        return "actions"
    if "coalesce(type" in sql:
        return "counts"
    return " ".join(sql.split()[:3])


def _stats_renderer() -> Callable[..., Any] | None:
    """`bot.templates.stats.stats_message`, when it exists."""
    try:
        module = importlib.import_module("bot.templates.stats")
    except ImportError:
        return None
    renderer = getattr(module, "stats_message", None)
    return renderer if callable(renderer) else None


@dataclass(frozen=True)
class Sample:
    read: float  # seconds
    render: float
    statements: int


@dataclass
class Side:
    """One database: its sizes, what the generator put there, and the samples taken."""

    label: str
    sizes: Sizes
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    expected: Expected
    seeded_seconds: float = 0.0
    tables: dict[str, int] = field(default_factory=dict)
    samples: dict[str, list[Sample]] = field(default_factory=dict)
    metrics: store.IncidentMetrics | None = None


def operations() -> dict[str, Callable[[store.IncidentMetrics, Period], Any]]:
    renderer = _stats_renderer()
    stats_name = f"/incident stats {PERIOD}"
    ops: dict[str, Callable[[store.IncidentMetrics, Period], Any]] = {}
    if renderer is not None:
        ops[stats_name] = lambda m, p: renderer(m, period=p, zone_name="UTC")
    else:
        ops[stats_name + " (read only)"] = lambda _m, _p: None
    ops[f"report --since {PERIOD} markdown"] = lambda m, _p: render_report(m, "markdown")
    ops[f"report --since {PERIOD} json"] = lambda m, _p: render_report(m, "json")
    return ops


async def one_call(
    side: Side,
    policy: Policy,
    period: Period,
    render: Callable[[store.IncidentMetrics, Period], Any],
    counter: Statements,
) -> Sample:
    gc.collect()
    before = counter.count
    started = time.perf_counter()
    metrics = await read_metrics(side.sessions, policy, period)
    read = time.perf_counter()
    render(metrics, period)
    ended = time.perf_counter()
    side.metrics = metrics
    return Sample(read - started, ended - read, counter.count - before)


@dataclass
class Result:
    database: str
    sides: list[Side]  # baseline first
    ops: list[str]
    spread_ms: dict[str, float]  # the big side's statements: name → median ms
    plans: dict[str, list[str]]
    stats_rendered: bool


async def measure(database: str, urls: dict[str, str], plan: Plan, policy: Policy) -> Result:
    period = bench_period()
    windows = postmortem_windows(policy)
    sides: list[Side] = []
    try:
        for label, sizes in (("baseline", plan.baseline), ("big", plan.big)):
            url = urls[label]
            await asyncio.to_thread(store.upgrade, url)
            engine = store.make_engine(url)
            side = Side(
                label, sizes, engine, store.session_factory(engine), Expected(period, windows)
            )
            sides.append(side)
            side.seeded_seconds = await seed(engine, sizes, side.expected)
            side.tables = await table_sizes(engine)
        ops = operations()
        counters = {side.label: Statements(side.engine) for side in sides}
        try:
            for side in sides:  # uncounted: connect, compile, warm the caches
                for render in ops.values():
                    await one_call(side, policy, period, render, counters[side.label])
            for side in sides:
                counters[side.label].timings.clear()
                side.samples = {name: [] for name in ops}
            for _ in range(plan.runs):
                for side in sides:
                    for name, render in ops.items():
                        sample = await one_call(side, policy, period, render, counters[side.label])
                        side.samples[name].append(sample)
            big_timings = counters["big"].timings
        finally:
            for counter in counters.values():
                counter.close()
        by_name: dict[str, list[float]] = {}
        for name, seconds in big_timings:
            by_name.setdefault(name, []).append(seconds * 1000)
        plans = await query_plans(sides[-1].engine, policy, period)
    finally:
        for side in sides:
            await side.engine.dispose()
    return Result(
        database,
        sides,
        list(ops),
        {name: statistics.median(values) for name, values in by_name.items()},
        plans,
        _stats_renderer() is not None,
    )


def metric_statements(dialect: str, policy: Policy) -> dict[str, TextClause]:
    """The three statements `store.incident_metrics` runs, built by its own helpers."""
    return {
        "spread": repo_metrics._spread_sql(dialect),
        "counts": repo_metrics._counts_sql(dialect, postmortem_windows(policy)),
        "actions": repo_metrics._period(repo_metrics._ACTIONS_SQL),
    }


async def query_plans(engine: AsyncEngine, policy: Policy, period: Period) -> dict[str, list[str]]:
    """Each statement's plan: the statement compiled and bound by SQLAlchemy as usual, with
    `EXPLAIN QUERY PLAN ` (SQLite) or `EXPLAIN ` (Postgres) put in front on its way to the
    driver."""
    dialect = engine.dialect.name
    prefix = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "

    def explain(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_a: Any) -> Any:
        return prefix + statement, parameters

    params = {"since": period.since, "until": period.until}
    plans: dict[str, list[str]] = {}
    async with engine.connect() as conn:
        sync = conn.sync_connection
        assert sync is not None
        event.listen(sync, "before_cursor_execute", explain, retval=True)
        try:
            for name, statement in metric_statements(dialect, policy).items():
                rows = (await conn.execute(statement, params)).all()
                if dialect == "sqlite":  # (id, parent, notused, detail): indent by parent
                    depth: dict[int, int] = {0: -1}
                    lines = []
                    for node, parent, _unused, detail in rows:
                        depth[node] = depth.get(parent, -1) + 1
                        lines.append("  " * depth[node] + str(detail))
                    plans[name] = lines
                else:
                    plans[name] = [str(row[0]) for row in rows]
        finally:
            event.remove(sync, "before_cursor_execute", explain)
    return plans


# -- databases ----------------------------------------------------------------------------------


def _admin(url: str, sql: str) -> None:
    engine = create_engine(store.sync_url(url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(sql))
    finally:
        engine.dispose()


async def on_postgres(admin_url: str, plan: Plan, policy: Policy) -> Result:
    """In schemas of their own (selected with `-csearch_path`), dropped whatever happens."""
    stem = f"bench_stats_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    schemas = {label: f"{stem}_{label}" for label in ("baseline", "big")}
    created: list[str] = []
    try:
        urls = {}
        for label, schema in schemas.items():
            await asyncio.to_thread(_admin, admin_url, f'CREATE SCHEMA "{schema}"')
            created.append(schema)
            url = make_url(admin_url).update_query_dict({"options": f"-csearch_path={schema}"})
            urls[label] = url.render_as_string(hide_password=False)
        return await measure("postgres", urls, plan, policy)
    finally:
        for schema in created:
            await asyncio.to_thread(_admin, admin_url, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


async def run(plan: Plan, workdir: Path) -> list[Result]:
    policy = default_policy()
    urls = {label: f"sqlite:///{workdir / label}.db" for label in ("baseline", "big")}
    results = [await measure("sqlite", urls, plan, policy)]
    admin_url = os.environ.get(PG_ENV, "").strip()
    if admin_url:
        results.append(await on_postgres(admin_url, plan, policy))
    return results


# -- the report ---------------------------------------------------------------------------------


def _n(value: int) -> str:
    return f"{value:,}".replace(",", " ")


def _median_ms(samples: list[Sample], pick: Callable[[Sample], float]) -> float:
    return 1000 * statistics.median(pick(s) for s in samples) if samples else math.nan


def report(results: list[Result], plan: Plan) -> list[Target]:
    period = bench_period()
    print(
        f"period: {period.name}, {period.since:%Y-%m-%d %H:%M} to {period.until:%Y-%m-%d %H:%M} "
        f"UTC; incidents declared over the {SPAN_DAYS} days before"
    )
    targets: list[Target] = []
    for result in results:
        db = result.database
        print(f"{db}: databases")
        for side in result.sides:
            tables = side.tables
            print(
                f"  {side.sizes.label:<18} {_n(tables['timeline_events']):>9} events "
                f"{_n(tables['status_updates']):>7} updates {_n(tables['action_items']):>7} "
                f"action items; {_n(side.expected.in_period)} counted in the period; "
                f"seeded in {side.seeded_seconds:.1f} s"
            )
            wanted = (side.sizes.incidents, side.sizes.events)
            if (tables["incidents"], tables["timeline_events"]) != wanted:
                print(f"  (!) {side.sizes.label}: the tables hold {tables}, not {wanted}")
        if not result.stats_rendered:
            print(
                "  (bot.templates.stats.stats_message not importable: /incident stats is "
                "measured as read_metrics only)"
            )
        print(
            f"{db}: per call, fresh session, median of {plan.runs} runs after a warm-up "
            "(the databases alternating)"
        )
        width = max(len(name) for name in result.ops)
        print(
            f"  {'operation':<{width}}  {'database':<18} {'read':>9} {'render':>9} "
            f"{'total':>9}  {'× baseline':>10}  SQL"
        )
        base = result.sides[0]
        for name in result.ops:
            base_total = _median_ms(base.samples[name], lambda s: s.read + s.render)
            for side in result.sides:
                samples = side.samples[name]
                total = _median_ms(samples, lambda s: s.read + s.render)
                statements = sorted({s.statements for s in samples})
                print(
                    f"  {name:<{width}}  {side.sizes.label:<18} "
                    f"{_median_ms(samples, lambda s: s.read):6.1f} ms "
                    f"{_median_ms(samples, lambda s: s.render):6.2f} ms "
                    f"{total:6.1f} ms  {ratio(total, base_total):8.1f} ×  "
                    f"{','.join(map(str, statements))}"
                )
            big = result.sides[-1]
            targets.append(
                Target(
                    f"{db}: {name} at {big.sizes.label} (ms)",
                    _median_ms(big.samples[name], lambda s: s.read + s.render),
                    TARGET_MS,
                    "{:.1f}",
                )
            )
        each = ", ".join(f"{k} {v:.1f} ms" for k, v in result.spread_ms.items())
        print(f"  each statement at {result.sides[-1].sizes.label} (median): {each}")
        for side in result.sides:
            assert side.metrics is not None
            checks, wrong = side.expected.disagreements(side.metrics)
            verdict = "agree" if not wrong else f"DISAGREE on {len(wrong)}"
            print(
                f"{db}: figures at {side.sizes.label}: {verdict} with the generator's "
                f"({checks} checks; {side.expected.in_period} incidents in the period)"
            )
            for line in wrong:
                print(f"    {line}")
        big = result.sides[-1]
        assert big.metrics is not None
        print(f"{db}: report_json at {big.sizes.label}: {json.dumps(report_json(big.metrics))}")
        print(f"{db}: query plans at {big.sizes.label}")
        for name, lines in result.plans.items():
            uses = any(INDEX in line for line in lines)
            print(f"  {name}: period filter through {INDEX}: {'yes' if uses else 'NO'}")
            for line in lines:
                print(f"    {line}")
    return targets


# -- main ---------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, help="the big database's incidents (100 000)")
    parser.add_argument("--events", type=int, help="the big database's timeline events (1 000 000)")
    parser.add_argument("--baseline", type=int, help="the baseline's incidents (1 000)")
    parser.add_argument("--runs", type=int, help="counted runs per operation (9; quick 3)")
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: 2 000 incidents against 200"
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    preset = QUICK if args.quick else FULL
    incidents = args.incidents or preset.big.incidents
    events = args.events or incidents * preset.big.events // preset.big.incidents
    baseline = args.baseline or preset.baseline.incidents
    plan = Plan(
        big=Sizes(incidents, max(events, incidents)),
        baseline=Sizes(baseline, max(baseline * events // incidents, baseline)),
        runs=max(1, args.runs or preset.runs),
    )
    with tempfile.TemporaryDirectory(prefix="bench-stats-") as tmp:
        results = asyncio.run(run(plan, Path(tmp)))
    missed = report_targets(report(results, plan))
    return missed if args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
