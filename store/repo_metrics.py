"""How incidents went over a period, aggregated in SQL (never by loading incidents).

Three statements whatever the number of incidents, each reading the incidents declared in the
period through ``ix_incidents_declared_at``: the time spreads (mean, median, p90 of each
measure, per severity and overall: Postgres's percentile_cont, and on SQLite an aggregate
warroom registers on each connection), the counts (by severity and type, update adherence,
post-mortems) and the action items. Drills, declined incidents and alerts still in triage are
left out; a reopened incident has one (its last) resolution. The definitions are the README's
("Incident metrics"); `bot/flows/metrics.py` shapes them for people.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import TextClause
from sqlmodel.ext.asyncio.session import AsyncSession

from store.repo_common import require_aware
from store.sqlite_functions import OVERALL, SPREADS
from store.types import UTCDateTime

__all__ = [
    "MEASURES",
    "IncidentMetrics",
    "SeverityMetrics",
    "Spread",
    "incident_metrics",
]

#: Each measure, as seconds between two of an incident's stamps (None when either is missing).
MEASURES = {
    "ttd": ("coalesce(detected_at, declared_at)", "coalesce(started_at, declared_at)"),
    "tta": ("acknowledged_at", "declared_at"),
    "ttm": ("mitigated_at", "coalesce(started_at, declared_at)"),
    "ttr": ("resolved_at", "coalesce(started_at, declared_at)"),
    "ttr_declared": ("resolved_at", "declared_at"),
}


@dataclass(frozen=True)
class Spread:
    """Mean, median and p90 (linear interpolation between closest ranks) in seconds; all None
    when no incident has the measure."""

    count: int = 0
    mean: float | None = None
    median: float | None = None
    p90: float | None = None


@dataclass(frozen=True)
class SeverityMetrics:
    count: int = 0
    spreads: dict[str, Spread] = field(default_factory=dict)  # measure → spread
    update_intervals: int = 0  # the intervals the cadence asked for …
    updates_on_time: int = 0  # … and those no longer than the cadence (+ grace)
    longest_update_gap_seconds: int | None = None

    @property
    def update_adherence(self) -> float | None:
        return self.updates_on_time / self.update_intervals if self.update_intervals else None

    def spread(self, measure: str) -> Spread:
        return self.spreads.get(measure, Spread())


@dataclass(frozen=True)
class IncidentMetrics:
    since: datetime
    until: datetime
    overall: SeverityMetrics
    by_severity: dict[str, SeverityMetrics]
    by_type: dict[str, int]  # type id ("" for none) → count
    open_count: int  # still open at `until` (counted, not in the resolution times)
    private_count: int
    postmortems_due: int
    postmortems_on_time: int
    actions_open: int
    actions_done: int
    actions_overdue: int


def _seconds(dialect: str, later: str, earlier: str) -> str:
    if dialect == "postgresql":
        return f"extract(epoch from ({later} - {earlier}))"
    return f"((julianday({later}) - julianday({earlier})) * 86400.0)"


# An alert's triage incident nobody has declared yet is not an incident (yet) either.
_COUNTED = (
    "declared_at >= :since and declared_at < :until and not drill "
    "and status not in ('declined', 'triage')"
)


def _period(sql: str) -> TextClause:
    return text(sql).bindparams(
        bindparam("since", type_=UTCDateTime()), bindparam("until", type_=UTCDateTime())
    )


def _spread_sql(dialect: str) -> TextClause:
    """Per severity and over every severity (`OVERALL`): each measure's count, mean, and
    median and p90 (interpolated between the closest ranks, like percentile_cont). One row
    per counted incident, read once, with its five measures side by side."""
    # Postgres's extract() gives numeric; percentile_cont and avg are faster on floats.
    as_float = "cast({} as double precision)" if dialect == "postgresql" else "{}"
    measures = ", ".join(
        f"{as_float.format(_seconds(dialect, later, earlier))} as m{i}"
        for i, (later, earlier) in enumerate(MEASURES.values())
    )
    counted = f"select severity, {measures} from incidents where {_COUNTED}"
    if dialect == "postgresql":
        # Grouping sets give the overall row from the same scan; the two percentiles of a
        # measure share one sort (same ordering), so five sorts per group.
        figures = ", ".join(
            f"count(m{i}), avg(m{i}), percentile_cont(0.5) within group (order by m{i}), "
            f"percentile_cont(0.9) within group (order by m{i})"
            for i in range(len(MEASURES))
        )
        return _period(
            f"select coalesce(severity, '{OVERALL}'), {figures} from ({counted}) as counted "
            "group by grouping sets ((severity), ())"
        )
    # SQLite has no percentile aggregate: warroom registers one (`SPREADS`) on each SQLite
    # connection, which also groups by severity, so each row costs one Python call.
    values = ", ".join(f"m{i}" for i in range(len(MEASURES)))
    return _period(f"select {SPREADS}(severity, {values}) from ({counted})")


def _counts_sql(dialect: str, windows: Mapping[str, int]) -> TextClause:
    # A post-mortem is due `window` after the (last) resolution; the window is the policy's,
    # by severity (none: not required).
    cases = " ".join(f"when :sev{i} then :win{i}" for i in range(len(windows)))
    window = f"(case severity {cases} else null end)" if windows else "null"
    since_resolved = _seconds(dialect, ":until", "resolved_at")
    written_after = _seconds(dialect, "postmortem_done_at", "resolved_at")
    due = f"resolved_at is not null and {since_resolved} >= {window}"
    sql = f"""
    select severity, coalesce(type, ''), count(*),
           sum(case when status in ('resolved', 'closed') then 0 else 1 end),
           sum(case when private then 1 else 0 end),
           sum(update_intervals), sum(update_intervals_kept), max(longest_update_gap_seconds),
           sum(case when {due} then 1 else 0 end),
           sum(case when {due} and postmortem_done_at is not null
                     and {written_after} <= {window} then 1 else 0 end)
    from incidents where {_COUNTED}
    group by severity, coalesce(type, '')
    """
    names = {f"sev{i}": s for i, s in enumerate(windows)}
    seconds = {f"win{i}": w for i, w in enumerate(windows.values())}
    return _period(sql).bindparams(**names, **seconds)


_ACTIONS_SQL = """
    select sum(case when a.done then 0 else 1 end),
           sum(case when a.done then 1 else 0 end),
           sum(case when not a.done and a.due_at is not null and a.due_at < :until
                    then 1 else 0 end)
    from action_items a join incidents i on i.number = a.incident_number
    where i.declared_at >= :since and i.declared_at < :until and not i.drill
      and i.status not in ('declined', 'triage')
"""


async def incident_metrics(
    session: AsyncSession,
    *,
    since: datetime,
    until: datetime,
    postmortem_windows: Mapping[str, int] | None = None,
) -> IncidentMetrics:
    """The figures of the incidents declared in [since, until). `postmortem_windows`: severity
    → seconds from resolution to the post-mortem's due time (the policy's required ones)."""
    require_aware("since", since)
    require_aware("until", until)
    dialect = session.get_bind().dialect.name
    connection = await session.connection()  # plain rows: no ORM objects are built
    params = {"since": since, "until": until}
    spreads = await _spreads(connection, dialect, params)
    counts: dict[str, list[int]] = {}
    gaps: dict[str, int | None] = {}
    by_type: dict[str, int] = {}
    totals = [0] * 7
    counts_sql = _counts_sql(dialect, postmortem_windows or {})
    for row in (await connection.execute(counts_sql, params)).all():
        severity, type_id, count, still_open, private, intervals, kept, gap, due, on_time = row
        numbers = [int(v or 0) for v in (count, still_open, private, intervals, kept, due, on_time)]
        mine = counts.setdefault(str(severity), [0] * 7)
        for i, value in enumerate(numbers):
            mine[i] += value
            totals[i] += value
        by_type[str(type_id)] = by_type.get(str(type_id), 0) + int(count)
        if gap is not None:
            gaps[str(severity)] = max(int(gap), gaps.get(str(severity)) or 0)
    actions = (await connection.execute(_period(_ACTIONS_SQL), params)).one()
    open_items, done_items, overdue_items = (int(v or 0) for v in actions)

    def figures(key: str, numbers: list[int], gap: int | None) -> SeverityMetrics:
        return SeverityMetrics(
            count=numbers[0],
            spreads=spreads.get(key, {}),
            update_intervals=numbers[3],
            updates_on_time=numbers[4],
            longest_update_gap_seconds=gap,
        )

    longest = max((g for g in gaps.values() if g is not None), default=None)
    return IncidentMetrics(
        since=since,
        until=until,
        overall=figures(OVERALL, totals, longest),
        by_severity={s: figures(s, n, gaps.get(s)) for s, n in counts.items()},
        by_type=by_type,
        open_count=totals[1],
        private_count=totals[2],
        postmortems_due=totals[5],
        postmortems_on_time=totals[6],
        actions_open=open_items,
        actions_done=done_items,
        actions_overdue=overdue_items,
    )


def _f(value: Any) -> float | None:
    return float(value) if value is not None else None


async def _spreads(
    connection: AsyncConnection, dialect: str, params: dict[str, Any]
) -> dict[str, dict[str, Spread]]:
    """severity (or `OVERALL`) → measure → its spread."""
    rows = (await connection.execute(_spread_sql(dialect), params)).all()
    if dialect == "postgresql":
        grouped = {str(severity): _quartets(figures) for severity, *figures in rows}
    else:
        figures = rows[0][0] if rows else None
        grouped = json.loads(figures) if figures else {}
    spreads: dict[str, dict[str, Spread]] = {}
    for severity, measured in grouped.items():
        for name, quartet in zip(MEASURES, measured, strict=True):
            if quartet and quartet[0]:
                count, mean, median, p90 = quartet
                spreads.setdefault(severity, {})[name] = Spread(
                    count=int(count), mean=_f(mean), median=_f(median), p90=_f(p90)
                )
    return spreads


def _quartets(figures: list[Any]) -> list[list[Any]]:
    """A flat row of (count, mean, median, p90) per measure, split per measure."""
    return [figures[i : i + 4] for i in range(0, len(figures), 4)]
