"""`/incident stats`'s message: a golden table, hostile severity ids kept inert."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from slack_sdk.models.blocks import Block

import store
from bot.flows.metrics import parse_period
from bot.templates.stats import stats_message
from tests.conftest import assert_golden

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _metrics(severities: dict[str, store.SeverityMetrics]) -> store.IncidentMetrics:
    period = parse_period("30d", now=NOW)
    overall = store.SeverityMetrics(
        count=sum(s.count for s in severities.values()),
        spreads={"tta": store.Spread(3, 300, 240, 600), "ttr": store.Spread(3, 7200, 5400, 9000)},
        update_intervals=10,
        updates_on_time=7,
        longest_update_gap_seconds=4200,
    )
    return store.IncidentMetrics(
        since=period.since,
        until=period.until,
        overall=overall,
        by_severity=severities,
        by_type={"": 3},
        open_count=1,
        private_count=1,
        postmortems_due=2,
        postmortems_on_time=1,
        actions_open=3,
        actions_done=4,
        actions_overdue=1,
    )


def test_stats_match_golden() -> None:
    p1 = store.SeverityMetrics(
        count=1, spreads={"tta": store.Spread(1, 120, 120, 120)}, update_intervals=0
    )
    p2 = store.SeverityMetrics(
        count=2,
        spreads={"ttr": store.Spread(2, 5400, 5400, 6840)},
        update_intervals=4,
        updates_on_time=3,
    )
    message = stats_message(
        _metrics({"P2": p2, "P1": p1}),
        period=parse_period("30d", now=NOW),
        zone_name="Europe/Paris",
    )
    for raw in message["blocks"]:
        block = Block.parse(raw)
        assert block is not None
        block.validate_json()
    body = json.dumps(message["blocks"])
    assert "2026-10-31 13:00 to 2026-11-30 13:00 (Europe/Paris)" in body  # Paris time
    assert message["response_type"] == "ephemeral"
    assert_golden("stats", message)


def test_hostile_severity_ids_cannot_break_the_table() -> None:
    evil = "<!channel>```*x*"
    message = stats_message(
        _metrics({evil: store.SeverityMetrics(count=1)}),
        period=parse_period("7d", now=NOW),
        zone_name="UTC",
    )
    table = next(b["text"]["text"] for b in message["blocks"] if "```" in str(b))
    assert "<!channel>" not in table
    assert table.count("```") == 2
