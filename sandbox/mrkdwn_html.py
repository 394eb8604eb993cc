"""Slack mrkdwn and text objects → safe HTML, as Slack's clients show a bot's text.

Every piece of text is HTML-escaped exactly once: Slack's own `&amp;`/`&lt;`/`&gt;` are
decoded first, then escaped; `<…>` control sequences become markup only when valid.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

__all__ = [
    "EMOJI",
    "Directory",
    "emojize",
    "mrkdwn_html",
    "plain_html",
    "safe_href",
    "text_html",
    "text_words",
    "unescape_slack",
]


@dataclass(frozen=True)
class Directory:
    """What the renderer knows of the workspace, for mentions and dates."""

    users: Mapping[str, str] = field(default_factory=dict)  # user id → display name
    channels: Mapping[str, str] = field(default_factory=dict)  # channel id → name
    groups: Mapping[str, str] = field(default_factory=dict)  # subteam id → handle
    tz: str = "UTC"  # the viewer's IANA time zone
    now: datetime | None = None  # aware; for today/yesterday and {ago}; None = real now

    def zone(self) -> tzinfo:
        return zone(self.tz)

    def moment(self) -> datetime:
        now = self.now or datetime.now(UTC)
        return now.replace(tzinfo=UTC) if now.tzinfo is None else now


def zone(name: str) -> tzinfo:
    """The IANA zone, or UTC when the name is unknown."""
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
        return UTC


EMOJI = {
    "warning": "⚠️",
    "white_check_mark": "✅",
    "rotating_light": "🚨",
    "pushpin": "📌",
    "lock": "🔒",
    "book": "📖",
    "speech_balloon": "💬",
    "globe_with_meridians": "🌐",
    "fire": "🔥",
    "red_circle": "🔴",
    "large_orange_circle": "🟠",
    "large_yellow_circle": "🟡",
    "large_blue_circle": "🔵",
    "hourglass": "⏳",
    "bell": "🔔",
    "memo": "📝",
    "clipboard": "📋",
    "x": "❌",
    "eyes": "👀",
}

_ENTITY = re.compile(r"&(amp|lt|gt);")
_CONTROL = re.compile(r"<([^<>]*)>")
_PLACEHOLDER = re.compile(r"\x00(.)\x01", re.S)
_PRE = re.compile(r"```(.*?)```", re.S)
_CODE = re.compile(r"`([^`\n]+)`")
_EMOJI = re.compile(r":([a-z0-9_+\-]+):")
_QUOTE = re.compile(r"(?:&gt;|>) ?")
_QUOTE_REST = re.compile(r"(?:&gt;|>){3} ?")
_SAFE_SCHEME = re.compile(r"(?:https?://|mailto:)[^\s\x00-\x1f\x7f\"'<>`]+\Z", re.I)
_ANY_SCHEME = re.compile(r"[a-z][a-z0-9+.\-]*:", re.I)
_ID = re.compile(r"[A-Za-z0-9_.\-]+")
_TOKEN = re.compile(r"\{(\w+)\}")
_TAGS = ("b", "i", "s")


def _styles() -> list[tuple[re.Pattern[str], str]]:
    out = []
    for marker, tag in (("*", "b"), ("_", "i"), ("~", "s")):
        m = re.escape(marker)
        pattern = rf"(?<![\w{m}]){m}(?=[^\s{m}])([^{m}\n]*?[^\s{m}]){m}(?![\w{m}])"
        out.append((re.compile(pattern), tag))
    return out


_STYLES = _styles()


def unescape_slack(text: str) -> str:
    """Slack's three escapes (`&amp;` `&lt;` `&gt;`) undone, nothing else."""
    return _ENTITY.sub(lambda m: {"amp": "&", "lt": "<", "gt": ">"}[m[1]], text)


def _esc(text: str) -> str:
    """Slack-escaped text → HTML-escaped text (placeholders pass through untouched)."""
    return html.escape(unescape_slack(text), quote=True)


def emojize(text: str) -> str:
    """Known `:shortcodes:` → their emoji; others stay as typed."""
    return _EMOJI.sub(lambda m: EMOJI.get(m[1], m[0]), text)


def safe_href(url: Any) -> str | None:
    """The URL when it is http(s) or mailto and has nothing odd in it, else None."""
    return url if isinstance(url, str) and _SAFE_SCHEME.match(url) else None


def plain_html(text: str) -> str:
    """A plain_text object's text: escaped, newlines as <br>."""
    return html.escape(text, quote=True).replace("\r\n", "\n").replace("\n", "<br>")


def text_html(obj: Mapping[str, Any] | None, d: Directory) -> str:
    """A text object (mrkdwn or plain_text, emoji shortcodes honoured) → HTML."""
    if not isinstance(obj, Mapping):
        return ""
    text = obj.get("text")
    text = text if isinstance(text, str) else ""
    if obj.get("type") == "mrkdwn":
        return mrkdwn_html(text, d)
    return plain_html(emojize(text) if obj.get("emoji", True) is not False else text)


def text_words(obj: Any) -> str:
    """A text object as plain words, for places that hold only text (<option>, labels)."""
    o = obj if isinstance(obj, Mapping) else {}
    text = o.get("text")
    text = text if isinstance(text, str) else ""
    if o.get("type") == "mrkdwn":
        return unescape_slack(text)
    return emojize(text) if o.get("emoji", True) is not False else text


class _Stash:
    """Finished HTML pieces, replaced in the text by \\x00<private-use char>\\x01."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def put(self, piece: str) -> str:
        self.items.append(piece)
        return f"\x00{chr(0xF0000 + len(self.items) - 1)}\x01"

    def restore(self, text: str) -> str:
        for _ in range(3):  # code spans may hold mentions: at most two levels
            if "\x00" not in text:
                break
            text = _PLACEHOLDER.sub(lambda m: self.items[ord(m[1]) - 0xF0000], text)
        return text


def mrkdwn_html(text: str, d: Directory) -> str:
    """Slack mrkdwn as a bot sends it → safe HTML."""
    text = text.replace("\x00", "").replace("\x01", "").replace("\r\n", "\n")
    stash = _Stash()
    text = _CONTROL.sub(lambda m: _control(m, d, stash), text)
    pieces: list[str] = []
    parts = _PRE.split(text)
    for i, part in enumerate(parts):
        if i % 2:
            body = part.removeprefix("\n").removesuffix("\n")
            pieces.append(f"<pre>{_esc(body)}</pre>")
            continue
        if i > 0:
            part = part.removeprefix("\n")
        if i < len(parts) - 1:
            part = part.removesuffix("\n")
        if part:
            pieces.append(_lines(part, stash))
    return stash.restore("".join(pieces))


def _lines(text: str, stash: _Stash) -> str:
    out: list[str] = []
    quote: list[str] = []
    last_was_line = False
    lines = text.split("\n")
    for n, line in enumerate(lines):
        rest = _QUOTE_REST.match(line)
        if rest:  # `>>>`: everything from here on is quoted
            quote.extend(_inline(x, stash) for x in [line[rest.end() :], *lines[n + 1 :]])
            break
        q = _QUOTE.match(line)
        if q:
            quote.append(_inline(line[q.end() :], stash))
            continue
        if quote:
            out.append("<blockquote>" + "<br>".join(quote) + "</blockquote>")
            quote, last_was_line = [], False
        out.append(("<br>" if last_was_line else "") + _inline(line, stash))
        last_was_line = True
    if quote:
        out.append("<blockquote>" + "<br>".join(quote) + "</blockquote>")
    return "".join(out)


def _inline(line: str, stash: _Stash) -> str:
    line = _CODE.sub(lambda m: stash.put(f"<code>{_esc(m[1])}</code>"), line)
    out = emojize(_esc(line))
    for pattern, tag in _STYLES:
        out = pattern.sub(_styler(tag), out)
    return out


def _styler(tag: str) -> Callable[[re.Match[str]], str]:
    def wrap(m: re.Match[str]) -> str:
        inner = m[1]
        if any(inner.count(f"<{t}>") != inner.count(f"</{t}>") for t in _TAGS):
            return m[0]  # would cross another style's tags
        return f"<{tag}>{inner}</{tag}>"

    return wrap


# -- control sequences ----------------------------------------------------------------------


def _control(m: re.Match[str], d: Directory, stash: _Stash) -> str:
    head, bar, label = m[1].partition("|")
    piece = _sequence(head, label if bar else None, d)
    return m[0] if piece is None else stash.put(piece)


def _span(cls: str, text: str, data: str = "") -> str:
    return f'<span class="{cls}"{data}>{html.escape(text)}</span>'


def _sequence(head: str, label: str | None, d: Directory) -> str | None:
    """The HTML for `<head|label>`, or None when it is no control sequence (shown as text)."""
    if head[:1] in ("@", "#") and _ID.fullmatch(head[1:]):
        ident = head[1:]
        names = d.users if head[0] == "@" else d.channels
        name = names.get(ident) or unescape_slack(label or "").lstrip(head[0]) or ident
        if head[0] == "@":
            return _span("mention", "@" + name, f' data-user="{html.escape(ident)}"')
        return _span("channel", "#" + name, f' data-channel="{html.escape(ident)}"')
    if head.startswith("!subteam^") and _ID.fullmatch(head[9:]):
        name = d.groups.get(head[9:]) or unescape_slack(label or "").lstrip("@") or head[9:]
        return _span("mention mention-group", "@" + name, f' data-group="{html.escape(head[9:])}"')
    if head in ("!here", "!channel", "!everyone"):
        return _span("mention mention-broadcast", "@" + head[1:])
    if head.startswith("!date^"):
        return _date(head, label, d)
    href = safe_href(unescape_slack(head))
    if href is not None:
        shown = _esc(label or head)
        attrs = 'target="_blank" rel="noopener noreferrer"'
        return f'<a href="{html.escape(href)}" {attrs}>{shown}</a>'
    if _ANY_SCHEME.match(head):  # javascript:, data:, slack:… shown as their words only
        return _esc(label or head)
    return None


_MONTHS = "January February March April May June July August September October November December"
_MONTH_NAMES = tuple(_MONTHS.split(" "))
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _ago(seconds: float) -> str:
    past, s = seconds >= 0, abs(seconds)
    if s < 45:
        return "just now"
    units = ((31536000, "year"), (2592000, "month"), (86400, "day"), (3600, "hour"))
    size, unit = next(((n, u) for n, u in units if s >= n), (60, "minute"))
    n = max(1, round(s / size))
    words = f"{n} {unit}{'' if n == 1 else 's'}"
    return f"{words} ago" if past else f"in {words}"


def _token(name: str, t: datetime, now: datetime) -> str | None:
    day = f"{_MONTH_NAMES[t.month - 1]} {_ordinal(t.day)}, {t.year}"
    plain = {
        "date_num": t.strftime("%Y-%m-%d"),
        "date": day,
        "date_short": f"{_MONTH_NAMES[t.month - 1][:3]} {t.day}, {t.year}",
        "date_long": f"{_DAYS[t.weekday()]}, {day}",
        "time": t.strftime("%H:%M"),
        "time_secs": t.strftime("%H:%M:%S"),
        "ago": _ago((now - t).total_seconds()),
    }
    if name.endswith("_pretty") and name != "_pretty":
        offset = (t.date() - now.astimezone(t.tzinfo).date()).days
        pretty = {0: "Today", -1: "Yesterday", 1: "Tomorrow"}.get(offset)
        return pretty or plain.get(name.removesuffix("_pretty"))
    return plain.get(name)


def _date(head: str, fallback: str | None, d: Directory) -> str | None:
    parts = head.split("^")
    if len(parts) not in (3, 4) or not parts[1].isdigit() or len(parts[1]) > 12:
        return None if fallback is None else _esc(fallback)
    moment = datetime.fromtimestamp(int(parts[1]), UTC)
    local, now = moment.astimezone(d.zone()), d.moment()
    out: list[str] = []
    pos = 0
    for m in _TOKEN.finditer(parts[2]):
        value = _token(m[1], local, now)
        if value is None:
            return _esc(fallback if fallback is not None else head)
        out.extend((_esc(parts[2][pos : m.start()]), html.escape(value)))
        pos = m.end()
    out.append(_esc(parts[2][pos:]))
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    piece = f'<time datetime="{stamp}">{"".join(out)}</time>'
    link = safe_href(unescape_slack(parts[3])) if len(parts) == 4 else None
    if link:
        return (
            f'<a href="{html.escape(link)}" target="_blank" rel="noopener noreferrer">{piece}</a>'
        )
    return piece
