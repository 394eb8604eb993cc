"""`warroom report`: the period's incident metrics as JSON (a documented contract), Markdown or
CSV, from the same SQL figures `/incident stats` shows (`store.incident_metrics`)."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from typing import Any

import store
from bot.templates.ops_common import format_elapsed

# The JSON contract's measure keys (README, "Incident metrics"); more keys may be added.
JSON_MEASURES = {
    "mttd_seconds": "ttd",
    "mtta_seconds": "tta",
    "mttm_seconds": "ttm",
    "mttr_seconds": "ttr",
    "mttr_from_declared_seconds": "ttr_declared",
}


def _spread(spread: store.Spread) -> dict[str, float] | None:
    if spread.mean is None or spread.median is None or spread.p90 is None:
        return None
    return {
        "mean": round(spread.mean, 3),
        "median": round(spread.median, 3),
        "p90": round(spread.p90, 3),
    }


def _ratio(value: float | None) -> float | None:
    return round(value, 4) if value is not None else None


def report_json(metrics: store.IncidentMetrics) -> dict[str, Any]:
    overall = metrics.overall
    figures: dict[str, Any] = {
        "since": metrics.since.isoformat(),
        "until": metrics.until.isoformat(),
        "incidents": overall.count,
        "open": metrics.open_count,
        "private": metrics.private_count,
    }
    for key, measure in JSON_MEASURES.items():
        figures[key] = _spread(overall.spread(measure))
    figures["update_adherence"] = _ratio(overall.update_adherence)
    figures["longest_update_gap_seconds"] = overall.longest_update_gap_seconds
    figures["by_severity"] = {
        severity: {
            "count": found.count,
            "mtta_seconds": _spread(found.spread("tta")),
            "mttr_seconds": _spread(found.spread("ttr")),
            "update_adherence": _ratio(found.update_adherence),
        }
        for severity, found in sorted(metrics.by_severity.items())
    }
    figures["by_type"] = {
        kind or "none": {"count": n} for kind, n in sorted(metrics.by_type.items())
    }
    figures["postmortems"] = {
        "due": metrics.postmortems_due,
        "on_time": metrics.postmortems_on_time,
    }
    figures["action_items"] = {
        "open": metrics.actions_open,
        "done": metrics.actions_done,
        "overdue": metrics.actions_overdue,
    }
    return figures


def duration_words(seconds: float | None) -> str:
    """`1h 5m`, `45s`, `2d 3h`; `—` when unknown."""
    return format_elapsed(timedelta(seconds=seconds)) if seconds is not None else "—"


def percent(value: float | None) -> str:
    return f"{value * 100:.0f}%" if value is not None else "—"


_ROWS = (("MTTD", "ttd"), ("MTTA", "tta"), ("MTTM", "ttm"), ("MTTR", "ttr"))


def report_markdown(metrics: store.IncidentMetrics) -> str:
    lines = [
        f"# Incidents from {metrics.since:%Y-%m-%d %H:%M} to {metrics.until:%Y-%m-%d %H:%M} UTC",
        "",
        f"{metrics.overall.count} incidents ({metrics.open_count} still open); drills and "
        "declined incidents are not counted.",
        "",
        "| Severity | Incidents | MTTA (median) | MTTR (median) | MTTR p90 | Update adherence |",
        "|---|---|---|---|---|---|",
    ]
    rows = [*sorted(metrics.by_severity.items()), ("All", metrics.overall)]
    for name, found in rows:
        tta, ttr = found.spread("tta"), found.spread("ttr")
        lines.append(
            f"| {name} | {found.count} | {duration_words(tta.median)} | "
            f"{duration_words(ttr.median)} | {duration_words(ttr.p90)} | "
            f"{percent(found.update_adherence)} |"
        )
    lines += ["", "| Measure | Mean | Median | p90 |", "|---|---|---|---|"]
    for label, measure in _ROWS:
        spread = metrics.overall.spread(measure)
        lines.append(
            f"| {label} | {duration_words(spread.mean)} | {duration_words(spread.median)} | "
            f"{duration_words(spread.p90)} |"
        )
    gap = metrics.overall.longest_update_gap_seconds
    lines += [
        "",
        f"- Longest gap between updates: {duration_words(gap)}",
        f"- Post-mortems on time: {metrics.postmortems_on_time} of {metrics.postmortems_due} due",
        f"- Action items: {metrics.actions_open} open ({metrics.actions_overdue} overdue), "
        f"{metrics.actions_done} done",
        "",
    ]
    return "\n".join(lines)


def report_csv(metrics: store.IncidentMetrics) -> str:
    """One row per severity and one for all: counts and each measure's mean/median/p90."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = ["severity", "incidents", "update_adherence", "longest_update_gap_seconds"]
    for _label, measure in _ROWS:
        header += [f"{measure}_mean_seconds", f"{measure}_median_seconds", f"{measure}_p90_seconds"]
    writer.writerow(header)
    for name, found in [*sorted(metrics.by_severity.items()), ("all", metrics.overall)]:
        row: list[Any] = [
            name,
            found.count,
            _ratio(found.update_adherence),
            found.longest_update_gap_seconds,
        ]
        for _label, measure in _ROWS:
            spread = found.spread(measure)
            row += [_round(spread.mean), _round(spread.median), _round(spread.p90)]
        writer.writerow(["" if value is None else value for value in row])
    return out.getvalue()


def _round(value: float | None) -> float | None:
    return round(value, 3) if value is not None else None


def render_report(metrics: store.IncidentMetrics, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(report_json(metrics), indent=2) + "\n"
    if fmt == "csv":
        return report_csv(metrics)
    return report_markdown(metrics)
