"""User text is escaped for mrkdwn and bounded without breaking an entity."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.templates.text import escape_mrkdwn, safe_mrkdwn, truncate


def test_pings_and_links_are_neutralised() -> None:
    hostile = "<!channel> <!here> <@U123> <https://evil|click> & *bold*"
    escaped = escape_mrkdwn(hostile)
    assert "<" not in escaped
    assert ">" not in escaped
    assert escaped.startswith("&lt;!channel&gt;")
    assert "&amp; *bold*" in escaped


@given(st.text(), st.integers(min_value=1, max_value=300))
def test_safe_mrkdwn_is_bounded_and_never_leaves_raw_brackets(text: str, limit: int) -> None:
    out = safe_mrkdwn(text, limit)
    assert len(out) <= limit
    assert "<" not in out
    assert ">" not in out
    # No half entity at the cut: every & starts a complete entity.
    for index, char in enumerate(out):
        if char == "&":
            assert out[index:].split(";")[0] in ("&amp", "&lt", "&gt")


@given(st.text(), st.integers(min_value=1, max_value=100))
def test_truncate_is_bounded(text: str, limit: int) -> None:
    out = truncate(text, limit)
    assert len(out) <= limit
    assert out == text or out.endswith("…")
