"""Incident metrics: the update-adherence bookkeeping done as an incident runs, and the
periods people ask about (`/incident stats 30d`, `warroom report --since 30d`).

The figures themselves are aggregated in SQL (`store.incident_metrics`); the definitions are
in the README ("Incident metrics").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

import store
from bot.policy import Policy

GRACE = 1.10  # an update up to 10 % late still counts as on cadence


def closed_interval(incident: store.Incident, policy: Policy, *, now: datetime) -> dict[str, Any]:
    """The adherence columns after an update or the resolution ends the interval that started
    at the last update (or the declaration, or the reopening); nothing when the severity
    asks for no cadence."""
    severity = policy.find_severity(incident.severity)
    cadence = severity.update_every if severity is not None else None
    start = incident.cadence_from_at or incident.declared_at
    if cadence is None or start is None:
        return {}
    gap = max(int((now - start).total_seconds()), 0)
    kept = gap <= cadence.total_seconds() * GRACE
    return {
        "update_intervals": incident.update_intervals + 1,
        "update_intervals_kept": incident.update_intervals_kept + (1 if kept else 0),
        "longest_update_gap_seconds": max(gap, incident.longest_update_gap_seconds or 0),
    }


class PeriodError(ValueError):
    """Text that is not a period; the message says what is."""


PERIOD_HINT = "a period is 7d, 30d, 90d, quarter or YYYY-MM-DD..YYYY-MM-DD"
_DAYS = re.compile(r"(\d{1,4})d")
_RANGE = re.compile(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})")


@dataclass(frozen=True)
class Period:
    since: datetime  # aware UTC, inclusive
    until: datetime  # aware UTC, exclusive
    name: str  # "the last 30 days", "2026-10-01 to 2026-10-31", "this quarter"

    @property
    def previous(self) -> Period:
        """The period of the same length just before (for "against the previous period")."""
        length = self.until - self.since
        return Period(self.since - length, self.since, f"the {length.days} days before")


def parse_period(text: str, *, now: datetime, zone: tzinfo = UTC) -> Period:
    """`7d`, `30d`, `90d` (up to now), `quarter` (this calendar quarter in `zone`, up to now)
    or `YYYY-MM-DD..YYYY-MM-DD` (whole days in `zone`, both included). Raises PeriodError."""
    word = text.strip().lower() or "30d"
    if days := _DAYS.fullmatch(word):
        count = int(days[1])
        if not 1 <= count <= 3660:
            raise PeriodError(f"`{word}`: between 1d and 3660d; {PERIOD_HINT}")
        return Period(now - timedelta(days=count), now, f"the last {count} days")
    if word == "quarter":
        local = now.astimezone(zone)
        first = date(local.year, 3 * ((local.month - 1) // 3) + 1, 1)
        return Period(_start_of(first, zone), now, f"this quarter (since {first.isoformat()})")
    if found := _RANGE.fullmatch(word):
        try:
            start, end = date.fromisoformat(found[1]), date.fromisoformat(found[2])
        except ValueError:
            raise PeriodError(f"`{word}` is not a real date range; {PERIOD_HINT}") from None
        if end < start:
            raise PeriodError(f"`{word}` ends before it starts; {PERIOD_HINT}")
        name = f"{start.isoformat()} to {end.isoformat()}"
        return Period(_start_of(start, zone), _start_of(end + timedelta(days=1), zone), name)
    raise PeriodError(f"`{text.strip()[:40]}` is not a period: {PERIOD_HINT}")


def _start_of(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def report_period(since: str, until: str | None, *, now: datetime) -> Period:
    """`warroom report --since 30d|quarter|YYYY-MM-DD|A..B [--until YYYY-MM-DD]` (UTC days,
    `--until` included). Raises PeriodError."""
    end = now
    if until is not None:
        if not _DATE.fullmatch(until.strip()):
            raise PeriodError(f"--until `{until.strip()[:40]}` is not a date (YYYY-MM-DD)")
        try:
            end = _start_of(date.fromisoformat(until.strip()) + timedelta(days=1), UTC)
        except ValueError:
            raise PeriodError(f"--until `{until.strip()}` is not a real date") from None
    word = since.strip().lower()
    if _DATE.fullmatch(word):
        try:
            start = _start_of(date.fromisoformat(word), UTC)
        except ValueError:
            raise PeriodError(f"--since `{word}` is not a real date") from None
        if start >= end:
            raise PeriodError(f"--since `{word}` is not before the end of the period")
        return Period(start, end, f"{word} to {end:%Y-%m-%d %H:%M} UTC")
    return parse_period(word, now=end)


def postmortem_windows(policy: Policy) -> dict[str, int]:
    """Severity → seconds from resolution to the post-mortem's due time (required ones)."""
    return {
        severity.id: int(severity.postmortem.due.total_seconds())
        for severity in policy.severities
        if severity.postmortem.required and severity.postmortem.due is not None
    }


async def read_metrics(
    sessions: async_sessionmaker[AsyncSession], policy: Policy, period: Period
) -> store.IncidentMetrics:
    """The period's figures: three statements, whatever the number of incidents."""
    async with sessions() as session:
        return await store.incident_metrics(
            session,
            since=period.since,
            until=period.until,
            postmortem_windows=postmortem_windows(policy),
        )
