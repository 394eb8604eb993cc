"""Policy time values: durations (parse/format round trip), cron expressions, time zones."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from bot.policy import (
    CronExpr,
    Duration,
    DurationError,
    TimeZoneName,
    format_duration,
    parse_duration,
)

DURATION = TypeAdapter(Duration)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("15m", timedelta(minutes=15)),
        ("2h", timedelta(hours=2)),
        ("5d", timedelta(days=5)),
        ("1h30m", timedelta(minutes=90)),
        ("1d2h3m4s", timedelta(days=1, hours=2, minutes=3, seconds=4)),
        (" 1h 30m ", timedelta(minutes=90)),
        ("90m", timedelta(minutes=90)),
        ("0h5m", timedelta(minutes=5)),
    ],
)
def test_parse_reads_units_and_combinations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0m", "must be > 0"),
        ("0h0m", "must be > 0"),
        ("-5m", "negative"),
        ("15", "has no unit"),
        ("1h30", "has no unit"),
        ("15x", "unknown unit 'x'"),
        ("2w", "unknown unit 'w'"),
        ("15M", "unknown unit 'M'"),
        ("15 minutes", "unknown unit 'minutes'"),
        ("1.5h", "fractions are not supported"),
        ("30m1h", "largest to smallest"),
        ("1h1h", "largest to smallest"),
        ("", "is empty"),
        ("h", "is not a duration"),
        ("99999999999999d", "too large"),
    ],
)
def test_parse_refuses_with_a_clear_message(text: str, message: str) -> None:
    with pytest.raises(DurationError, match=message):
        parse_duration(text)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(minutes=90), "1h30m"),
        (timedelta(minutes=15), "15m"),
        (timedelta(hours=48), "2d"),
        (timedelta(days=1, seconds=1), "1d1s"),
        (timedelta(seconds=59, microseconds=999_999), "59s"),
        (timedelta(0), "0s"),
    ],
)
def test_format_gives_the_shortest_form(value: timedelta, text: str) -> None:
    assert format_duration(value) == text


def test_format_refuses_negative_durations() -> None:
    with pytest.raises(ValueError, match="negative"):
        format_duration(timedelta(seconds=-1))


@given(st.integers(min_value=1, max_value=10**9))
def test_format_then_parse_is_the_identity(seconds: int) -> None:
    value = timedelta(seconds=seconds)
    text = format_duration(value)
    assert parse_duration(text) == value
    # canonical: each unit at most once, largest first, none that fits into a larger one
    match = re.fullmatch(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", text)
    assert match is not None
    hours, minutes, secs = (int(part or 0) for part in match.groups()[1:])
    assert hours < 24
    assert minutes < 60
    assert secs < 60
    assert "0" not in {part[:1] for part in match.groups() if part}


@given(
    st.tuples(*(st.integers(min_value=0, max_value=10_000) for _ in range(4))).filter(any),
)
def test_any_spelling_parses_to_its_sum_and_formats_canonically(
    parts: tuple[int, int, int, int],
) -> None:
    days, hours, minutes, seconds = parts
    text = "".join(f"{n}{unit}" for n, unit in zip(parts, "dhms", strict=True) if n)
    value = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    assert parse_duration(text) == value
    canonical = format_duration(value)
    assert format_duration(parse_duration(canonical)) == canonical


def test_duration_field_validates_and_serializes_as_text() -> None:
    assert DURATION.validate_python("1h30m") == timedelta(minutes=90)
    assert DURATION.validate_python(timedelta(minutes=5)) == timedelta(minutes=5)
    assert DURATION.dump_python(timedelta(minutes=90)) == "1h30m"
    assert DURATION.dump_json(timedelta(hours=48)) == b'"2d"'


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0m", "must be > 0"),
        (timedelta(0), "must be > 0"),
        (15, "bare number 15 has no unit"),
        (None, "must be a duration"),
        (True, "must be a duration"),
        ("5 weeks", "unknown unit 'weeks'"),
    ],
)
def test_duration_field_refuses(value: object, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        DURATION.validate_python(value)
    assert message in caught.value.errors()[0]["msg"]


@pytest.mark.parametrize("cron", ["0 9 * * MON", "*/15 * * * *", "30 8 1 * MON-FRI", "0 9 * * *"])
def test_cron_accepts_five_field_expressions(cron: str) -> None:
    assert TypeAdapter(CronExpr).validate_python(cron) == cron


@pytest.mark.parametrize(
    ("cron", "message"),
    [
        ("0 9 * *", "needs 5 fields"),
        ("0 9 * * MON extra", "needs 5 fields"),
        ("61 9 * * MON", "invalid cron expression"),
        ("0 9 * 13 *", "invalid cron expression"),
        ("0 9 * * FUNDAY", "invalid cron expression"),
        ("0 9 * * 1-5", "weekdays as names"),
    ],
)
def test_cron_refuses(cron: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        TypeAdapter(CronExpr).validate_python(cron)


def test_time_zone_must_be_known() -> None:
    adapter = TypeAdapter(TimeZoneName)
    assert adapter.validate_python("Europe/Berlin") == "Europe/Berlin"
    for bad in ("Mars/Olympus_Mons", "", "../etc/passwd"):
        with pytest.raises(ValidationError, match="unknown time zone"):
            adapter.validate_python(bad)
