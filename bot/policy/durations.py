"""Time values in a policy: durations, cron expressions and time zones.

Durations read ``30s``, ``15m``, ``2h``, ``5d`` or combinations (``1h30m``).

Units are lowercase ``d``, ``h``, ``m``, ``s``, written largest first, each at most once; spaces
between the parts are allowed (``1h 30m``). A policy duration is always strictly positive: ``0m``,
negatives, fractions, bare numbers and unknown units are refused with a message saying how to
write it instead.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BeforeValidator, PlainSerializer, WithJsonSchema
from pydantic_core import PydanticCustomError

__all__ = [
    "CronExpr",
    "Duration",
    "DurationError",
    "TimeZoneName",
    "format_duration",
    "parse_duration",
]

UNIT_SECONDS: dict[str, int] = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}
_HINT = "write e.g. '15m' or '1h30m' (units: d, h, m, s)"
_PART = re.compile(r"(\d+)\s*([^\d\s]*)\s*")
_NUMBER = re.compile(r"[+-]?\d+(?:\.\d*)?")


class DurationError(ValueError):
    """A duration text that cannot be read; the message says how to write it."""


def parse_duration(text: str) -> timedelta:
    """Read ``15m``, ``2h``, ``1h30m`` … into a positive :class:`timedelta`.

    Raises :class:`DurationError` (a ``ValueError``) for anything else, including zero.
    """
    if not isinstance(text, str):
        raise DurationError(f"must be a duration text, not {type(text).__name__}; {_HINT}")
    stripped = text.strip()
    if not stripped:
        raise DurationError(f"is empty; {_HINT}")
    if stripped.startswith("-"):
        raise DurationError("must be > 0 (negative durations are not allowed)")
    if _NUMBER.fullmatch(stripped):
        raise DurationError(f"{stripped!r} has no unit; {_HINT}")
    if re.search(r"\d[.,]\d", stripped):
        raise DurationError(f"{stripped!r}: fractions are not supported; {_HINT}")
    if not stripped[0].isdigit():
        raise DurationError(f"{stripped!r} is not a duration; {_HINT}")
    total = 0
    previous_rank = -1
    position = 0
    ranks = list(UNIT_SECONDS)
    while position < len(stripped):
        match = _PART.match(stripped, position)
        if match is None:
            raise DurationError(f"{stripped!r} is not a duration; {_HINT}")
        number, unit = match.groups()
        if not unit:
            raise DurationError(f"{stripped!r}: {number!r} has no unit; {_HINT}")
        if unit not in UNIT_SECONDS:
            raise DurationError(f"unknown unit {unit!r} in {stripped!r}; {_HINT}")
        rank = ranks.index(unit)
        if rank <= previous_rank:
            raise DurationError(
                f"{stripped!r}: units must go from largest to smallest, each once (e.g. '1h30m')"
            )
        previous_rank = rank
        total += int(number) * UNIT_SECONDS[unit]
        position = match.end()
    if total == 0:
        raise DurationError("must be > 0")
    try:
        return timedelta(seconds=total)
    except OverflowError:
        raise DurationError(f"{stripped!r} is too large") from None


def format_duration(value: timedelta) -> str:
    """The shortest policy spelling of ``value``: ``timedelta(minutes=90)`` → ``"1h30m"``.

    The inverse of :func:`parse_duration` for positive whole seconds. Sub-second parts are
    dropped (so elapsed times can be shown too); zero gives ``"0s"``; negatives raise
    ``ValueError``.
    """
    if value < timedelta(0):
        raise ValueError(f"cannot format a negative duration: '{value}'")
    remaining = value.days * 86_400 + value.seconds
    if remaining == 0:
        return "0s"
    parts: list[str] = []
    for unit, seconds in UNIT_SECONDS.items():
        count, remaining = divmod(remaining, seconds)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def _validate_duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        if value <= timedelta(0):
            raise PydanticCustomError("duration", "must be > 0")
        return value
    if isinstance(value, bool) or value is None:
        raise PydanticCustomError("duration", f"must be a duration; {_HINT}")
    if isinstance(value, int | float):
        raise PydanticCustomError(
            "duration", "bare number {number} has no unit; " + _HINT, {"number": value}
        )
    if not isinstance(value, str):
        raise PydanticCustomError("duration", f"must be a duration; {_HINT}")
    try:
        return parse_duration(value)
    except DurationError as exc:
        raise PydanticCustomError("duration", str(exc)) from None


Duration = Annotated[
    timedelta,
    BeforeValidator(_validate_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\s*(\d+\s*d)?\s*(\d+\s*h)?\s*(\d+\s*m)?\s*(\d+\s*s)?\s*$",
            "examples": ["30s", "15m", "2h", "5d", "1h30m"],
        }
    ),
]
"""A strictly positive duration; YAML/JSON form is the text (``15m``), Python form a timedelta."""


def _cron(value: str) -> str:
    from apscheduler.triggers.cron import CronTrigger

    fields = value.split()
    if len(fields) != 5:
        raise PydanticCustomError(
            "cron",
            "needs 5 fields (minute hour day-of-month month day-of-week), got {count}",
            {"count": len(fields)},
        )
    if re.search(r"\d", fields[4]):
        raise PydanticCustomError(
            "cron",
            "write weekdays as names (MON, MON-FRI, SAT,SUN), not numbers: cron counts from"
            " Sunday = 0 but the scheduler from Monday = 0",
        )
    try:
        CronTrigger.from_crontab(" ".join(fields), timezone="UTC")
    except ValueError as exc:
        raise PydanticCustomError(
            "cron", "invalid cron expression: {error}", {"error": str(exc)}
        ) from None
    return " ".join(fields)


def _time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise PydanticCustomError(
            "timezone",
            "unknown time zone '{value}'; use an IANA name such as 'UTC' or 'Europe/Berlin'",
            {"value": value},
        ) from None
    return value


CronExpr = Annotated[str, AfterValidator(_cron)]
"""Five-field crontab text (minute hour day-of-month month day-of-week), weekdays by name."""

TimeZoneName = Annotated[str, AfterValidator(_time_zone)]
"""An IANA time zone name known to ``zoneinfo``."""
