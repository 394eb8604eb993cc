"""Functions warroom adds to SQLite on each connection (`store/db.py` registers them): what
Postgres has built in and the metrics need. No imports from the rest of `store`."""

from __future__ import annotations

import json

__all__ = ["PERCENTILES", "Percentiles"]

#: The SQLite aggregate giving each of its arguments' median and p90 (`Percentiles`).
PERCENTILES = "warroom_percentiles"


class Percentiles:
    """An SQLite aggregate over rows of measures: per measure (argument), its median and p90
    by linear interpolation between the closest ranks (Postgres's percentile_cont), as a JSON
    list of [median, p90] (or null when no row has the measure). SQLite streams the values
    through `step`; only the finished figures leave the database call."""

    def __init__(self) -> None:
        self.values: list[list[float]] = []

    def step(self, *measures: float | None) -> None:
        if not self.values:
            self.values = [[] for _ in measures]
        for kept, value in zip(self.values, measures, strict=True):
            if value is not None:
                kept.append(float(value))

    def finalize(self) -> str:
        out: list[list[float] | None] = []
        for kept in self.values:
            kept.sort()
            out.append([_at_rank(kept, 5), _at_rank(kept, 9)] if kept else None)
        return json.dumps(out)


def _at_rank(ordered: list[float], tenths: int) -> float:
    """The value at rank (n-1)·p of a sorted list, between its two closest ranks."""
    low, fraction = divmod((len(ordered) - 1) * tenths, 10)
    if fraction == 0 or low + 1 >= len(ordered):
        return ordered[low]
    return ordered[low] + (ordered[low + 1] - ordered[low]) * (fraction / 10)
