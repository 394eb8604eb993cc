"""Channel names from the policy's `channel_name` pattern: always valid for Slack.

Slack accepts lowercase letters, digits, `-` and `_`, at most 80 characters. The incident
number is never cut: when the name is too long, the slug gives way.
"""

from __future__ import annotations

import re
from datetime import datetime

from anyascii import anyascii

MAX_CHANNEL_NAME = 80
FALLBACK_SLUG = "incident"
_NOT_ALLOWED = re.compile(r"[^a-z0-9]+")


def slugify(text: str) -> str:
    """Lowercase ASCII (transliterated where possible), everything else `-`, trimmed."""
    ascii_text = anyascii(text).lower()
    slug = _NOT_ALLOWED.sub("-", ascii_text).strip("-")
    return slug or FALLBACK_SLUG


def _clean_part(text: str) -> str:
    return _NOT_ALLOWED.sub("-", anyascii(text).lower()).strip("-")


def channel_name(
    pattern: str,
    *,
    number: int,
    title: str,
    severity: str = "",
    incident_type: str | None = None,
    declared_at: datetime | None = None,
    suffix: int | None = None,
) -> str:
    """Render `pattern`; `suffix` (2, 3 …) tells apart a name another channel already took."""
    fields = {
        "number": str(number),
        "severity": _clean_part(severity),
        "type": _clean_part(incident_type or ""),
        "date": declared_at.strftime("%Y%m%d") if declared_at else "",
    }
    tail = f"-{suffix}" if suffix is not None else ""
    without_slug = pattern.replace("{slug}", "")
    fixed = _render(without_slug, fields)
    room = MAX_CHANNEL_NAME - len(fixed) - len(tail)
    slug = slugify(title)[: max(room, 0)].strip("-") if "{slug}" in pattern else ""
    if "{slug}" in pattern and not slug:
        slug = FALLBACK_SLUG[: max(room, 0)]
    name = _render(pattern, {**fields, "slug": slug})
    name = re.sub(r"-{2,}", "-", name).strip("-_")
    return (name + tail)[:MAX_CHANNEL_NAME]


def _render(pattern: str, fields: dict[str, str]) -> str:
    out = pattern
    for key, value in fields.items():
        out = out.replace("{" + key + "}", value)
    return out
