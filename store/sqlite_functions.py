"""Functions warroom adds to SQLite on each connection (`store/db.py` registers them): what
Postgres has built in and the metrics need. No imports from the rest of `store`."""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["OVERALL", "SPREADS", "Spreads"]

#: The SQLite aggregate giving every group's count, mean, median and p90 of each measure
#: (`Spreads`).
SPREADS = "warroom_spreads"
#: The group key of the figures over every row.
OVERALL = "*"


class Spreads:
    """An SQLite aggregate over rows of (group, measure, measure, …): for each group and over
    every row (`OVERALL`), each measure's count, mean, and median and p90 by linear
    interpolation between the closest ranks (Postgres's percentile_cont), as a JSON object
    {group: [[count, mean, median, p90] or null (no row has the measure), …]}.

    One pass: SQLite hands each row over once, and the groups and the overall figures are
    worked out together at the end. Grouping in SQL instead (`group by` plus a second scan
    for the overall row) costs a Python call per row per grouping, and those calls are most
    of the time at tens of thousands of incidents."""

    def __init__(self) -> None:
        self.rows: list[tuple[Any, ...]] = []

    def step(self, *row: Any) -> None:
        self.rows.append(row)

    def finalize(self) -> str:
        width = len(self.rows[0]) if self.rows else 1
        figures: dict[str, list[list[float] | None]] = {}
        for i in range(1, width):
            # The measures are SQL arithmetic on julianday(): REAL already (or NULL).
            overall: list[float] = []
            groups: dict[Any, list[float]] = {OVERALL: overall}
            for row in self.rows:
                value = row[i]
                if value is not None:
                    overall.append(value)
                    kept = groups.get(row[0])
                    if kept is None:
                        kept = groups[row[0]] = []
                    kept.append(value)
            for group, kept in groups.items():
                measures = figures.setdefault(str(group), [None] * (width - 1))
                if kept:
                    kept.sort()
                    measures[i - 1] = [
                        len(kept),
                        math.fsum(kept) / len(kept),
                        _at_rank(kept, 5),
                        _at_rank(kept, 9),
                    ]
        return json.dumps(figures)


def _at_rank(ordered: list[float], tenths: int) -> float:
    """The value at rank (n-1)·p of a sorted list, between its two closest ranks."""
    low, fraction = divmod((len(ordered) - 1) * tenths, 10)
    if fraction == 0 or low + 1 >= len(ordered):
        return ordered[low]
    return ordered[low] + (ordered[low + 1] - ordered[low]) * (fraction / 10)
