"""Making user text safe for mrkdwn and bounded to Slack's limits.

Every template passes what people typed through `escape_mrkdwn` (or `safe_mrkdwn`) or
`defuse_plain`, so those are also where bidi controls are removed from public text.
"""

from __future__ import annotations

import re

from bot.flows.invisible import strip_bidi_controls

ELLIPSIS = "…"


def escape_mrkdwn(text: str) -> str:
    """Escape the three characters Slack treats as control sequences.

    With `&`, `<` and `>` escaped nobody can write `<!channel>`, `<@U…>` or `<https://x|y>`:
    Slack renders them as the literal characters instead of pings or links. Bidi controls
    go too: an override could make a title read as something else in the channel.
    """
    text = strip_bidi_controls(text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` characters, marking the cut with an ellipsis."""
    if limit < 1:
        raise ValueError("limit must be positive")
    if len(text) <= limit:
        return text
    return text[: limit - 1] + ELLIPSIS


def safe_mrkdwn(text: str, limit: int) -> str:
    """Escaped, then bounded so the escaped form fits `limit` without cutting an entity."""
    escaped = escape_mrkdwn(text)
    if len(escaped) <= limit:
        return escaped
    cut = escaped[: limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]  # never leave half an `&amp;` behind
    return cut + ELLIPSIS


def defuse_plain(text: str) -> str:
    """For plain_text and channel purposes: Slack does not parse them, but nothing that looks
    like `<!channel>` or `<https://x|y>` should leave the bot at all, so the angle brackets
    become look-alike quotes; bidi controls are removed as in `escape_mrkdwn`."""
    return strip_bidi_controls(text).replace("<", "‹").replace(">", "›")


# Slack's markup in a message's text: <https://x|label>, <https://x>, <@U1|name>, <#C1|name>,
# <!here>, <!subteam^S1|@team>, <!date^…|fallback>.
_SLACK_MARKUP = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")
# A free-standing web address in text that was already escaped (its `&` are `&amp;`); one
# right after an escaped `<` was typed as Slack markup (`<https://evil|click>`) and stays text.
_ESCAPED_URL = re.compile(r"(?<!&lt;)https?://(?:[^\s<>|&()]|&amp;)+(?<![.,;:!?])")


def plain_from_slack(text: str) -> str:
    """A Slack message's text as plain words, for reuse as typed text: a link keeps its
    address in sight (`dashboard (https://…)`, so no label can hide where it goes), mentions
    become inert words (`@alice`, `#general`, `@here`)."""

    def words(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if target.startswith(("http://", "https://", "mailto:")):
            return f"{label} ({target})" if label and label != target else target
        if target.startswith("@"):
            return "@" + (label or target[1:]).lstrip("@")
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!subteam^"):
            return "@" + (label or "team").lstrip("@")
        if target.startswith("!date^"):
            return label or ""
        if target.startswith("!"):
            return "@" + target[1:]
        return match.group(0)

    plain = _SLACK_MARKUP.sub(words, text)
    # Slack escapes these three in message text; typed text has them plain.
    return plain.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def linkify(escaped: str) -> str:
    """Web addresses in escaped mrkdwn made clickable, the address itself shown (`<url>`):
    verbatim text objects are not auto-linked by Slack."""
    return _ESCAPED_URL.sub(lambda m: f"<{m.group(0)}>", escaped)
