"""Benchmark: the post-mortem draft of a long incident, read and rendered.

An incident with 10 000 timeline events (every tenth a captured message with a permalink)
and 200 status updates, plus roles with a hand-over and 20 action items, bulk-inserted;
beside it the baseline, an incident of 10 events and 2 updates in the same database. Each
run reads the draft with `load_draft` in a fresh session and renders it with
`render_postmortem` (the built-in template), as `warroom postmortem` and the Slack job do;
the two incidents are measured alternately, after one uncounted run each (compiling the
template, warming the connection pool), so a change in the machine's load hits both alike.

SQLite (a temporary file) always; Postgres too when `TEST_DATABASE_URL` is set, in a schema
of its own that is dropped afterwards.

Target, on each database: the long incident's median load + render ≤ 500 ms. The ratio to
the baseline says how the cost grows with the records (it should grow no faster than them).
Exits 1 if a target is missed.

    python -m bench.postmortem [--runs N] [--events N] [--updates N] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

import store
from bench._common import Target, ratio, report_targets
from bot.flows.postmortem import load_draft
from bot.policy import Policy, load_policy
from bot.templates.postmortem import render_postmortem

TARGET_MS = 500.0
PG_ENV = "TEST_DATABASE_URL"
BATCH = 1000
STARTED = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
PEOPLE = ("U0ALICE", "U0BOB", "U0CAROL", "U0DAVE", "U0ERIN")


@dataclass(frozen=True)
class Figures:
    database: str
    label: str
    load_ms: float
    render_ms: float
    total_ms: float
    markdown_chars: int


# -- seeding ---------------------------------------------------------------------------------


async def seed_incident(engine: AsyncEngine, *, title: str, events: int, updates: int) -> int:
    sessions = store.session_factory(engine)
    async with sessions() as session:
        incident = await store.create_incident(
            session,
            title=title,
            severity="P1",
            status="resolved",
            declared_by=PEOPLE[0],
            declared_at=STARTED,
            started_at=STARTED - timedelta(minutes=10),
            acknowledged_at=STARTED + timedelta(minutes=3),
            acknowledged_by=PEOPLE[1],
            resolved_at=STARTED + timedelta(hours=6),
            resolution_summary="Rolled back.\n\nError rate normal within 5 minutes.",
            root_cause="The connection pool was too small for the traffic.",
        )
        number = incident.number
        assert number is not None
        await store.add_role_holder(
            session,
            incident_number=number,
            role="commander",
            user_id=PEOPLE[0],
            assigned_by=None,
            now=STARTED,
        )
        await store.assign_role(
            session,
            incident_number=number,
            role="commander",
            user_id=PEOPLE[2],
            assigned_by=PEOPLE[0],
            now=STARTED + timedelta(hours=1),
        )
        for i in range(20):
            await store.add_action_item(
                session,
                incident_number=number,
                text=f"Follow-up {i}: add an alert | check [the] runbook",
                now=STARTED,
                owner=PEOPLE[i % len(PEOPLE)],
                priority=1 + i % 4,
            )
        await session.commit()
    async with engine.begin() as conn:
        rows = [_event_row(number, i) for i in range(events)]
        for start in range(0, len(rows), BATCH):
            await conn.execute(insert(store.TimelineEvent.__table__), rows[start : start + BATCH])
        if updates:
            await conn.execute(
                insert(store.StatusUpdate.__table__),
                [_update_row(number, seq) for seq in range(1, updates + 1)],
            )
    return number


def _event_row(number: int, i: int) -> dict[str, Any]:
    captured = i % 10 == 0
    return {
        "incident_number": number,
        "kind": "message" if captured else "note",
        "at": STARTED + timedelta(seconds=2 * i),
        "actor": PEOPLE[i % len(PEOPLE)],
        "text": (
            f"Message {i}: pool at 20/20 <!here>\nsee [dash](http://x) | p99 {i} ms"
            if captured
            else f"Note {i}: restarted worker {i % 7}, error rate {i % 100}%"
        ),
        "permalink": (
            f"https://acme.slack.com/archives/C0INC/p{1763906400000000 + i}" if captured else None
        ),
        "message_ts": f"{1763906400 + i}.000000" if captured else None,
    }


def _update_row(number: int, seq: int) -> dict[str, Any]:
    return {
        "incident_number": number,
        "seq": seq,
        "status": "identified" if seq % 2 else "monitoring",
        "impact": f"Update {seq}: checkouts fail for about {seq % 40}% of customers.",
        "actions": "Rolling back the release.\n\nWatching the error rate.",
        "posted_at": STARTED + timedelta(minutes=seq),
        "author": PEOPLE[seq % len(PEOPLE)],
        "shared": False,
    }


# -- measuring -------------------------------------------------------------------------------


async def one_run(
    sessions: async_sessionmaker[AsyncSession], policy: Policy, number: int
) -> tuple[float, float, int]:
    """(load seconds, render seconds, characters) of one draft."""
    gc.collect()
    started = time.perf_counter()
    async with sessions() as session:
        draft = await load_draft(session, policy, number=number)
    loaded = time.perf_counter()
    assert draft is not None
    markdown = render_postmortem(
        draft, template=policy.templates.postmortem, generated_at=datetime.now(UTC)
    )
    return loaded - started, time.perf_counter() - loaded, len(markdown)


async def measure(
    database: str, url: str, policy: Policy, args: argparse.Namespace
) -> list[Figures]:
    await asyncio.to_thread(store.upgrade, url)
    engine = store.make_engine(url)
    try:
        cases = {
            "10 events, 2 updates (baseline)": await seed_incident(
                engine, title="Short incident", events=10, updates=2
            ),
            f"{args.events:_} events, {args.updates} updates".replace("_", " "): (
                await seed_incident(
                    engine, title="Long incident", events=args.events, updates=args.updates
                )
            ),
        }
        sessions = store.session_factory(engine)
        samples: dict[str, list[tuple[float, float, int]]] = {label: [] for label in cases}
        for number in cases.values():
            await one_run(sessions, policy, number)  # uncounted: compile, connect, warm up
        for _ in range(args.runs):
            for label, number in cases.items():
                samples[label].append(await one_run(sessions, policy, number))
    finally:
        await engine.dispose()
    return [
        Figures(
            database=database,
            label=label,
            load_ms=1000 * statistics.median(s[0] for s in runs),
            render_ms=1000 * statistics.median(s[1] for s in runs),
            total_ms=1000 * statistics.median(s[0] + s[1] for s in runs),
            markdown_chars=runs[-1][2],
        )
        for label, runs in samples.items()
    ]


# -- databases -------------------------------------------------------------------------------


def _admin(url: str, sql: str) -> None:
    engine = create_engine(store.sync_url(url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(sql))
    finally:
        engine.dispose()


async def on_postgres(admin_url: str, policy: Policy, args: argparse.Namespace) -> list[Figures]:
    """In a schema of its own (selected with `-csearch_path`), dropped whatever happens."""
    schema = f"bench_postmortem_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    await asyncio.to_thread(_admin, admin_url, f'CREATE SCHEMA "{schema}"')
    try:
        url = make_url(admin_url).update_query_dict({"options": f"-csearch_path={schema}"})
        return await measure("postgres", url.render_as_string(hide_password=False), policy, args)
    finally:
        await asyncio.to_thread(_admin, admin_url, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


async def run(args: argparse.Namespace, workdir: Path) -> list[Figures]:
    policy = load_policy(None)
    figures = await measure("sqlite", f"sqlite:///{workdir / 'bench.db'}", policy, args)
    admin_url = os.environ.get(PG_ENV, "").strip()
    if admin_url:
        figures += await on_postgres(admin_url, policy, args)
    return figures


def report(figures: list[Figures], runs: int) -> list[Target]:
    print(f"post-mortem draft: load_draft + render_postmortem, median of {runs} runs")
    width = max(len(f.label) for f in figures)
    print(
        f"  {'database':<9} {'incident':<{width}}  {'load':>9}  {'render':>9}  {'total':>9}"
        f"  {'× baseline':>10}  {'Markdown':>10}"
    )
    targets = []
    for database in dict.fromkeys(f.database for f in figures):
        rows = [f for f in figures if f.database == database]
        baseline, long = rows[0], rows[-1]
        for f in rows:
            print(
                f"  {f.database:<9} {f.label:<{width}}  {f.load_ms:6.1f} ms  {f.render_ms:6.1f} ms"
                f"  {f.total_ms:6.1f} ms  {ratio(f.total_ms, baseline.total_ms):8.1f} ×"
                f"  {f.markdown_chars / 1024:7.0f} KiB"
            )
        targets.append(
            Target(f"{database}: draft of {long.label} (ms)", long.total_ms, TARGET_MS, "{:.1f}")
        )
    return targets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="counted runs per incident")
    parser.add_argument("--events", type=int, default=10_000, help="the long incident's events")
    parser.add_argument("--updates", type=int, default=200, help="the long incident's updates")
    parser.add_argument(
        "--quick", action="store_true", help="3 runs (the incident keeps its full size)"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.runs = 3
    with tempfile.TemporaryDirectory(prefix="bench-postmortem-") as tmp:
        figures = asyncio.run(run(args, Path(tmp)))
    return report_targets(report(figures, args.runs))


if __name__ == "__main__":
    sys.exit(main())
