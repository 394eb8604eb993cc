"""Incident channel names: the policy's pattern, a safe slug, a suffix when a name is taken.

Slack accepts lowercase letters, digits, `-` and `_`, at most 80 characters. The incident
number is never cut: when the name is too long, the slug gives way.
"""

from __future__ import annotations

import re
from datetime import date

from anyascii import anyascii

from bot.policy import CHANNEL_NAME_MAX, Policy

FALLBACK_SLUG = "incident"
_NOT_ALLOWED = re.compile(r"[^a-z0-9]+")


def slugify(text: str) -> str:
    """Lowercase ASCII (transliterated where possible), everything else `-`, trimmed."""
    slug = _NOT_ALLOWED.sub("-", anyascii(text).lower()).strip("-")
    return slug or FALLBACK_SLUG


def incident_channel_name(
    policy: Policy,
    *,
    number: int,
    title: str,
    severity: str,
    type_id: str | None,
    on: date,
    suffix: int | None = None,
) -> str:
    """The name for incident `number`; `suffix` (2, 3 …) when a foreign channel has it."""
    slug = slugify(title)
    tail = f"-{suffix}" if suffix is not None else ""
    while True:
        name = policy.channel_name_for(
            number, slug, severity=severity, type_id=type_id or "", on=on
        )
        if len(name) + len(tail) <= CHANNEL_NAME_MAX or not slug:
            return (name + tail)[:CHANNEL_NAME_MAX] if slug else name + tail
        slug = slug[: len(slug) - (len(name) + len(tail) - CHANNEL_NAME_MAX)].rstrip("-")
