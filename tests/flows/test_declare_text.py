"""Declaring with invisible characters: a title of nothing visible is no title, and a title is
stored without bidi controls (issue point 12)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

import store
from bot.flows.declare import DeclareRequest, declare, validate
from bot.flows.invisible import BIDI_CONTROLS, is_blank, strip_bidi_controls, tidy_line
from bot.policy import default_policy

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ZERO_WIDTH_ONLY = ["\u200b", "\u200c\u200d", "\u2060", "\ufeff", "\u200b \u200b\t\ufeff"]
BIDI_ONLY = ["\u202e", "\u202a\u202b\u202c\u202d", "\u2066\u2067\u2068\u2069", " \u202e\n"]


def _errors(title: str) -> dict[str, str]:
    request = DeclareRequest(declarer="U_DECL", title=title, severity="P2")
    return validate(request, default_policy(), now=NOW)


@pytest.mark.parametrize("title", ["", "  ", "\n\t", *ZERO_WIDTH_ONLY, *BIDI_ONLY, "\u200b\u202e "])
def test_a_title_with_nothing_visible_is_refused(title: str) -> None:
    assert _errors(title) == {"title": "Give the incident a title."}


def test_visible_titles_with_invisible_characters_are_fine() -> None:
    assert _errors("\u200bDB down\u200b") == {}
    assert _errors("👩\u200d💻 laptops down") == {}  # a joiner inside an emoji is text
    # The length counts what is stored: 150 visible characters and bidi controls are fine.
    assert _errors("\u202e" * 10 + "x" * 150) == {}
    assert "title" in _errors("x" * 151)


def test_tidy_line_strips_bidi_everywhere_and_invisibles_at_the_ends() -> None:
    assert tidy_line(" \u200b\u202eliaf tuokcehC\u202c \ufeff") == "liaf tuokcehC"
    assert tidy_line("a\u2066b\u2069c") == "abc"
    assert tidy_line("a\u200db") == "a\u200db"
    assert tidy_line("\u200b \u200b x \u200b \u200b") == "x"


def test_bidi_controls_are_exactly_embeddings_overrides_and_isolates() -> None:
    assert sorted(f"U+{ord(c):04X}" for c in BIDI_CONTROLS) == [
        "U+202A", "U+202B", "U+202C", "U+202D", "U+202E",
        "U+2066", "U+2067", "U+2068", "U+2069",
    ]  # fmt: skip
    assert strip_bidi_controls("\u200e\u200f") == "\u200e\u200f"  # marks reorder nothing
    assert is_blank("\u200e")
    assert not is_blank("\u200bx")


async def test_the_stored_title_has_no_bidi_controls(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    request = DeclareRequest(
        declarer="U_DECL", title="  \u202eCheckout\u202c \u2067down\u2069\u200b ", severity="P2"
    )
    declared = await declare(
        sessions, default_policy(), request, idempotency_key="declare:bidi", now=NOW
    )
    async with sessions() as session:
        incident = await store.get_incident(session, number=declared.number)
    assert incident is not None
    assert incident.title == "Checkout down"
