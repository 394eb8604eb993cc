"""Incident metrics on a seeded database, against figures computed by hand.

The incidents are run through the real flows on a fixed clock (so every stamp and adherence
column is what production would store), on SQLite and on Postgres; `warroom report --format
json` prints the same figures.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import store
from bot.cli import main
from bot.flows.followups import ActionRequest
from bot.flows.metrics import Period, read_metrics
from bot.flows.operations import UpdateRequest
from bot.report import report_json
from tests.flows.conftest import DECLARER, NOW, RESPONDER, Flows
from tests.store.conftest import EmptyDatabases

T0 = NOW  # 2025-03-04 12:00 UTC
SINCE, UNTIL = datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 5, 1, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    databases = EmptyDatabases(tmp_path)
    url = databases.new(request.param)
    store.upgrade(url)
    yield url
    databases.close()


async def _update(flows: Flows, n: int, at: timedelta, status: str = "investigating") -> None:
    flows.clock.set(T0 + at)
    request = UpdateRequest(status=status, impact="x", actions="y", next_in=None, share=False)
    await flows.ops.post_update(n, by=DECLARER, request=request, key=f"u:{n}:{at}")


async def _at(flows: Flows, at: timedelta) -> None:
    flows.clock.set(T0 + at)


async def seed(flows: Flows) -> None:
    """Eight incidents; the comments give each one's figures (seconds)."""
    m, h, d = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
    resolve = flows.resolution.resolve

    # 1 · P1, impact from T0-10m: TTD 600, TTA 300, TTM 3000, TTR 4200 (3600 from declared);
    #     P1 cadence 15m: gaps 15m (kept), 25m, 20m → 3 intervals, 1 kept, longest 1500.
    #     Post-mortem done on time; two action items: one done, one open and overdue.
    one = await flows.declare("Payments down", severity="P1", started_at=T0 - 10 * m)
    await _at(flows, 5 * m)
    await flows.ops.acknowledge(one, user=RESPONDER)
    await _update(flows, one, 15 * m)
    await _update(flows, one, 40 * m, "monitoring")
    await _at(flows, h)
    await resolve(one, by=DECLARER, summary="ok", root_cause=None, impact_ended_at=None)
    await _at(flows, d)
    await flows.followups.postmortem_done(one, by=DECLARER, link="https://docs.example/pm1")
    done, _ = await flows.followups.add_action(
        one, by=DECLARER, request=ActionRequest(text="Alert on card errors")
    )
    overdue, _ = await flows.followups.add_action(
        one, by=DECLARER, request=ActionRequest(text="Runbook", due_on=date(2025, 3, 6))
    )
    assert done is not None
    assert overdue is not None
    await flows.followups.set_action_done(done.id, by=DECLARER)

    # 2 · P2 at T0+1d: TTA 600, TTR 7200; cadence 30m: gaps 20m, 30m (kept), 70m → 3/2,
    #     longest 4200. Post-mortem done late; one open item without a due date.
    await _at(flows, d)
    two = await flows.declare("Search slow", severity="P2")
    await _at(flows, d + 10 * m)
    await flows.ops.acknowledge(two, user=RESPONDER)
    await _update(flows, two, d + 20 * m)
    await _update(flows, two, d + 50 * m)
    await _at(flows, d + 2 * h)
    await resolve(two, by=DECLARER, summary="ok", root_cause=None, impact_ended_at=None)
    await flows.followups.add_action(two, by=DECLARER, request=ActionRequest(text="Index"))
    await _at(flows, d + 2 * h + 3 * d)
    await flows.followups.postmortem_done(two, by=DECLARER, link="https://docs.example/pm2")

    # 3 · P2, private (security) at T0+2d: TTA 120, TTR 1800; one gap of 30m (kept).
    #     Post-mortem never done.
    await _at(flows, 2 * d)
    three = await flows.declare("Leaked key", severity="P2", type_id="security")
    await _at(flows, 2 * d + 2 * m)
    await flows.ops.acknowledge(three, user=RESPONDER)
    await _at(flows, 2 * d + 30 * m)
    await resolve(three, by=DECLARER, summary="ok", root_cause=None, impact_ended_at=None)

    # 4 · P2 at T0+3d, resolved, reopened, resolved again: TTA 60, TTR 5400 (the last
    #     resolution); gaps 10m (kept), reopen → update 40m, 30m (kept) → 3/2, longest 2400.
    #     Post-mortem done on time.
    await _at(flows, 3 * d)
    four = await flows.declare("Queue stuck", severity="P2")
    await _at(flows, 3 * d + m)
    await flows.ops.acknowledge(four, user=RESPONDER)
    await _at(flows, 3 * d + 10 * m)
    await resolve(four, by=DECLARER, summary="ok", root_cause=None, impact_ended_at=None)
    await _at(flows, 3 * d + 20 * m)
    await flows.resolution.reopen(four, by=DECLARER)
    await _update(flows, four, 3 * d + h)
    await _at(flows, 3 * d + 90 * m)
    await resolve(four, by=DECLARER, summary="ok", root_cause=None, impact_ended_at=None)
    await _at(flows, 3 * d + 2 * h)
    await flows.followups.postmortem_done(four, by=DECLARER, link="https://docs.example/pm4")

    # 5 · a drill and 6 · a declined incident: not counted at all.
    await _at(flows, 4 * d)
    drill = await flows.declare("Practice", severity="P1", drill=True)
    await flows.ops.acknowledge(drill, user=RESPONDER)
    declined = await flows.declare("False alarm", severity="P3")
    await flows.set_fields(declined, status="declined", declined_at=flows.clock.now())

    # 7 · P1 still open at T0+4d: counted, TTD 0, in no resolution time.
    await flows.declare("Still burning", severity="P1")

    # 8 · P3 at T0+5d, impact from an hour before: TTD 3600, TTA 1800, TTR 14400 (10800).
    #     P3 has no cadence (no intervals) and no post-mortem rule.
    await _at(flows, 5 * d)
    eight = await flows.declare("Old reports", severity="P3", started_at=T0 + 5 * d - h)
    await _at(flows, 5 * d + 30 * m)
    await flows.ops.acknowledge(eight, user=RESPONDER)
    await _at(flows, 5 * d + 3 * h)
    await resolve(eight, by=DECLARER, summary="ok", root_cause=None, impact_ended_at=None)


def spread(mean: float, median: float, p90: float) -> dict[str, float]:
    return {"mean": mean, "median": median, "p90": p90}


EXPECTED: dict[str, Any] = {
    "since": SINCE.isoformat(),
    "until": UNTIL.isoformat(),
    "incidents": 6,
    "open": 1,
    "private": 1,
    # TTD 600, 0, 0, 0, 0, 3600: median between ranks 2 and 3; p90 at rank 4.5.
    "mttd_seconds": spread(700, 0, 2100),
    # TTA 60, 120, 300, 600, 1800: p90 at rank 3.6 = 600 + 0.6 × 1200.
    "mtta_seconds": spread(576, 300, 1320),
    "mttm_seconds": spread(3000, 3000, 3000),
    # TTR 1800, 4200, 5400, 7200, 14400: p90 = 7200 + 0.6 × 7200.
    "mttr_seconds": spread(6600, 5400, 11520),
    # 3600, 7200, 1800, 5400, 10800.
    "mttr_from_declared_seconds": spread(5760, 5400, 9360),
    "update_adherence": 0.6,  # (1 + 2 + 1 + 2) of (3 + 3 + 1 + 3)
    "longest_update_gap_seconds": 4200,
    "by_severity": {
        "P1": {
            "count": 2,
            "mtta_seconds": spread(300, 300, 300),
            "mttr_seconds": spread(4200, 4200, 4200),
            "update_adherence": 0.3333,
        },
        "P2": {
            "count": 3,
            # 60, 120, 600: p90 at rank 1.8 = 120 + 0.8 × 480.
            "mtta_seconds": spread(260, 120, 504),
            # 1800, 5400, 7200: p90 = 5400 + 0.8 × 1800.
            "mttr_seconds": spread(4800, 5400, 6840),
            "update_adherence": 0.7143,
        },
        "P3": {
            "count": 1,
            "mtta_seconds": spread(1800, 1800, 1800),
            "mttr_seconds": spread(14400, 14400, 14400),
            "update_adherence": None,
        },
    },
    "by_type": {"none": {"count": 5}, "security": {"count": 1}},
    "postmortems": {"due": 4, "on_time": 2},
    "action_items": {"open": 2, "done": 1, "overdue": 1},
}


async def test_the_figures_match_those_computed_by_hand(flows: Flows) -> None:
    await seed(flows)
    period = Period(SINCE, UNTIL, "test")
    metrics = await read_metrics(flows.sessions, flows.policy, period)
    assert report_json(metrics) == EXPECTED


async def test_warroom_report_prints_the_same_json(
    flows: Flows, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    await seed(flows)
    monkeypatch.setenv("DATABASE_URL", db_url)
    since, until = SINCE.date().isoformat(), (UNTIL.date() - timedelta(days=1)).isoformat()
    args = ["report", "--since", since, "--until", until, "--format", "json"]
    capsys.readouterr()
    assert await asyncio.to_thread(main, args) == 0
    assert json.loads(capsys.readouterr().out) == EXPECTED


@pytest.mark.parametrize("since", ["yesterday", "0d", "2025-02-30", "30"])
def test_a_bad_period_is_one_line_and_exit_2(
    since: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--since", since]) == 2
    err = capsys.readouterr().err
    assert err.startswith("warroom: ")
    assert len(err.strip().splitlines()) == 1
