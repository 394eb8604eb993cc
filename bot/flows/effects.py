"""What must happen in Slack after a state change: plain data, applied by `bot/effects.py`.

The flows decide *what* (and store it); the effect runner renders and sends it. Keeping the
two apart lets the flows be tested without Slack and keeps `slack_*` out of `bot/flows/`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Refresh:
    """Edit the pinned panel and the announcement in place; reset the topic when asked."""

    number: int
    topic: bool = False


@dataclass(frozen=True)
class Acknowledged:
    number: int
    by: str
    at: datetime
    first: bool


@dataclass(frozen=True)
class RoleAssigned:
    number: int
    role_id: str
    user: str
    previous: str | None
    by: str


@dataclass(frozen=True)
class SeverityChanged:
    number: int
    old: str
    new: str
    by: str
    upgrade: bool


@dataclass(frozen=True)
class UpdatePosted:
    number: int
    seq: int
    share: bool


@dataclass(frozen=True)
class Resolved:
    number: int
    by: str
    summary: str
    root_cause: str | None
    duration: timedelta
    postmortem_due_at: datetime | None


@dataclass(frozen=True)
class Closed:
    number: int
    by: str
    archive_at: datetime | None


@dataclass(frozen=True)
class Reopened:
    number: int
    by: str


Effect = (
    Refresh
    | Acknowledged
    | RoleAssigned
    | SeverityChanged
    | UpdatePosted
    | Resolved
    | Closed
    | Reopened
)
