"""Channel names: slugs, the 80-character limit, the number kept whole, suffixes."""

from __future__ import annotations

import re
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.flows.naming import FALLBACK_SLUG, incident_channel_name, slugify
from bot.policy import default_policy

SLACK_NAME = re.compile(r"^[a-z0-9_-]{1,80}$")
DAY = date(2025, 3, 4)


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("Café down", "cafe-down"),
        ("Checkout is DOWN!!", "checkout-is-down"),
        ("  API -- 500s / EU  ", "api-500s-eu"),
        ("Straße gesperrt", "strasse-gesperrt"),
        ("Ünïcödé — ÆØ", "unicode-aeo"),
        ("snake_case_title", "snake-case-title"),
        # transliterated, not dropped: CJK to pinyin, emoji to their names
        ("数据库", "shujuku"),
        ("🔥🔥", "fire-fire"),
        # nothing left: the fallback
        ("", FALLBACK_SLUG),
        ("   ", FALLBACK_SLUG),
        ("!!! ???", FALLBACK_SLUG),
        ("\u200b\u200b", FALLBACK_SLUG),
    ],
)
def test_slugify(text: str, slug: str) -> None:
    assert slugify(text) == slug


def name(number: int, title: str, suffix: int | None = None) -> str:
    return incident_channel_name(
        default_policy(),
        number=number,
        title=title,
        severity="P1",
        type_id=None,
        on=DAY,
        suffix=suffix,
    )


def test_short_title() -> None:
    assert name(7, "Café down") == "inc-7-cafe-down"
    assert name(7, "Café down", suffix=2) == "inc-7-cafe-down-2"
    assert name(7, "🙈") == "inc-7-see-no-evil"
    assert name(7, "???") == "inc-7-incident"


def test_long_title_keeps_the_number() -> None:
    long = name(123456, "Database failover " * 17)  # 306 characters
    assert len(long) <= 80
    assert long.startswith("inc-123456-database-failover-")
    assert not long.endswith("-")

    suffixed = name(123456, "Database failover " * 17, suffix=2)
    assert len(suffixed) <= 80
    assert suffixed.startswith("inc-123456-database-failover-")
    assert suffixed.endswith("-2")
    assert "--" not in suffixed


def test_exactly_80_with_suffix() -> None:
    full = name(12345, "x" * 300, suffix=2)
    assert full == "inc-12345-" + "x" * 68 + "-2"
    assert len(full) == 80


@settings(max_examples=200, deadline=None)
@given(
    number=st.integers(min_value=0, max_value=10**9),
    title=st.text(max_size=300),
    suffix=st.none() | st.integers(min_value=2, max_value=999),
)
def test_names_are_always_slack_safe(number: int, title: str, suffix: int | None) -> None:
    result = name(number, title, suffix)
    assert SLACK_NAME.fullmatch(result), result
    assert result.startswith(f"inc-{number}-")
    if suffix is not None:
        assert result.endswith(f"-{suffix}")
