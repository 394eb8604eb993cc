"""`/incident stats`: the period's figures as a compact table, one row per severity.

Pure: figures (`store.IncidentMetrics`) in, an ephemeral message out. No incident titles at
all (so nothing private can show); the period is named in the reader's time zone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, SectionBlock

import store
from bot.flows.metrics import Period
from bot.report import duration_words, percent
from bot.templates.incident import SECTION_TEXT_LIMIT, clip, mrkdwn, plain, to_dicts
from bot.templates.text import escape_mrkdwn

STATS_ROWS_SHOWN = 12  # severities in the table (policies have a handful)
_COLUMNS = ("Severity", "Count", "MTTA", "MTTR", "MTTR p90", "Updates")


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _row(name: str, found: store.SeverityMetrics) -> tuple[str, ...]:
    tta, ttr = found.spread("tta"), found.spread("ttr")
    return (
        name,
        str(found.count),
        duration_words(tta.median),
        duration_words(ttr.median),
        duration_words(ttr.p90),
        percent(found.update_adherence),
    )


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    lines = [
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows
    ]
    # Inside a code block mrkdwn is not read, but &, < and > still must be escaped.
    return "```" + escape_mrkdwn("\n".join(lines)) + "```"


def stats_message(
    metrics: store.IncidentMetrics, *, period: Period, zone_name: str
) -> dict[str, Any]:
    """The ephemeral answer: the period (in `zone_name`), the table, the overall spreads,
    post-mortems and action items. MTTA/MTTR are medians; "Updates" is update adherence."""
    zone = ZoneInfo(zone_name)
    severities = sorted(metrics.by_severity.items())
    # A backtick could close the code block early: never in a cell.
    cells = [(s.replace("`", "'")[:12], f) for s, f in severities[:STATS_ROWS_SHOWN]]
    rows = [_COLUMNS, *(_row(name, found) for name, found in cells)]
    rows.append(_row("All", metrics.overall))
    when = (
        f"{period.name}: {_local(period.since, zone)} to {_local(period.until, zone)} "
        f"({escape_mrkdwn(zone_name)})"
    )
    overall = metrics.overall
    ttd, ttm = overall.spread("ttd"), overall.spread("ttm")
    facts = [
        f"*{overall.count}* incidents, {metrics.open_count} still open; drills and declined "
        "ones not counted",
        f"Time to detect (median) {duration_words(ttd.median)} · to mitigate "
        f"{duration_words(ttm.median)} · longest gap between updates "
        f"{duration_words(overall.longest_update_gap_seconds)}",
        f"Post-mortems on time: {metrics.postmortems_on_time} of {metrics.postmortems_due} due · "
        f"action items: {metrics.actions_open} open ({metrics.actions_overdue} overdue), "
        f"{metrics.actions_done} done",
    ]
    blocks: list[Block] = [
        HeaderBlock(text=plain("Incident figures", 150)),
        ContextBlock(elements=[mrkdwn(clip(when, 2000))]),
        SectionBlock(text=mrkdwn(clip(_table(rows), SECTION_TEXT_LIMIT))),
        SectionBlock(text=mrkdwn(clip("\n".join(facts), SECTION_TEXT_LIMIT))),
        ContextBlock(
            elements=[
                mrkdwn(
                    "MTTA and MTTR are medians (MTTR from the impact's start); Updates: the share "
                    "of update intervals kept to the severity's cadence (+10 %)."
                )
            ]
        ),
    ]
    text = (
        f"Incident figures, {period.name}: {overall.count} incidents, MTTA "
        f"{duration_words(overall.spread('tta').median)}, MTTR "
        f"{duration_words(overall.spread('ttr').median)}"
    )
    return {"response_type": "ephemeral", "text": text, "blocks": list(to_dicts(blocks))}
