"""The SQLite spreads aggregate, on a bare sqlite3 connection: what percentile_cont gives."""

from __future__ import annotations

import json
import sqlite3

import pytest

from store.sqlite_functions import OVERALL, SPREADS, Spreads


@pytest.fixture
def connection() -> sqlite3.Connection:
    connection = sqlite3.connect(":memory:")
    connection.create_aggregate(SPREADS, -1, Spreads)
    connection.execute("create table m (severity text, a real, b real)")
    return connection


def spreads(connection: sqlite3.Connection) -> dict[str, list[list[float] | None]] | None:
    (figures,) = connection.execute(f"select {SPREADS}(severity, a, b) from m").fetchone()
    return json.loads(figures) if figures is not None else None


def test_count_mean_median_and_p90_per_group_and_overall(connection: sqlite3.Connection) -> None:
    rows = [("P1", 10.0, None), ("P1", 40.0, None), ("P1", 20.0, None), ("P2", 100.0, 7.0)]
    connection.executemany("insert into m values (?, ?, ?)", rows)

    figures = spreads(connection)

    assert figures is not None
    # P1's a: 10, 20, 40 → median at rank 1 (20), p90 at rank 1.8 (20 + 0.8·20 = 36).
    assert figures["P1"] == [[3, pytest.approx(70 / 3), 20.0, pytest.approx(36.0)], None]
    assert figures["P2"] == [[1, 100.0, 100.0, 100.0], [1, 7.0, 7.0, 7.0]]
    # Overall a: 10, 20, 40, 100 → median at rank 1.5 (30), p90 at rank 2.7 (40 + 0.7·60 = 82).
    assert figures[OVERALL] == [
        [4, 42.5, 30.0, pytest.approx(82.0)],
        [1, 7.0, 7.0, 7.0],
    ]


def test_no_rows_give_null(connection: sqlite3.Connection) -> None:
    # sqlite3 never builds the aggregate without a row: NULL (the metrics read it as none).
    assert spreads(connection) is None


def test_a_measure_no_row_has_is_null_everywhere(connection: sqlite3.Connection) -> None:
    connection.execute("insert into m values ('P3', null, 5.0)")

    assert spreads(connection) == {
        "P3": [None, [1, 5.0, 5.0, 5.0]],
        OVERALL: [None, [1, 5.0, 5.0, 5.0]],
    }
