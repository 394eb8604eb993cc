"""The declare benchmark runs, reports, and fails when the critical path grows."""

from __future__ import annotations

import pytest

from bench import declare as bench


def test_benchmark_reports_and_keeps_three_round_trips(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--n", "2", "--latency", "0.1"]) == 0
    out = capsys.readouterr().out
    assert "submit → ack" in out
    assert "submit → announcement" in out
    assert "sequential round trips   max 3 (limit 3)" in out or "max 2 (limit 3)" in out
    assert "pinned p50 / ideal" in out


def test_percentile() -> None:
    assert bench.percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert bench.percentile([1.0, 2.0, 3.0, 4.0], 99) == 4.0
