"""User text is escaped for mrkdwn and bounded without breaking an entity."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from bot.templates.text import defuse_plain, escape_mrkdwn, safe_mrkdwn, truncate


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


# -- bidi controls (issue point 12) ----------------------------------------------------------

BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def test_bidi_controls_are_stripped_from_mrkdwn_and_plain_text() -> None:
    # "INC-1 ‮exe.txt" shows as "INC-1 txt.exe": an override makes text read as other text.
    hostile = "INC-1 \u202eexe.txt\u202c & <!here> \u2066x\u2069"
    assert escape_mrkdwn(hostile) == "INC-1 exe.txt &amp; &lt;!here&gt; x"
    assert safe_mrkdwn(hostile, 300) == "INC-1 exe.txt &amp; &lt;!here&gt; x"
    assert defuse_plain(hostile) == "INC-1 exe.txt & ‹!here› x"


def test_text_in_other_scripts_and_joined_emoji_is_kept() -> None:
    text = "שלום مرحبا 👩\u200d💻 \u200b"
    assert defuse_plain(text) == text
    assert escape_mrkdwn(text) == text


@given(st.text(alphabet=st.sampled_from(BIDI + "ab<>&\u200d ")), st.integers(1, 300))
def test_no_bidi_control_survives_any_helper(text: str, limit: int) -> None:
    for out in (escape_mrkdwn(text), safe_mrkdwn(text, limit), defuse_plain(text)):
        assert not set(out) & set(BIDI)


def test_no_bidi_control_reaches_any_incident_message() -> None:
    from tests.test_templates_incident import all_messages, make_card

    hostile = f"\u202eevil\u202c {BIDI} <!channel>"
    card = make_card(title=hostile, description=hostile, affected_services=hostile)
    for message in all_messages(card):
        rendered = json.dumps([message.text, list(message.blocks)], ensure_ascii=False)
        assert not set(rendered) & set(BIDI), rendered[:200]
