"""What must happen in Slack after a state change: plain data, applied by `bot/effects.py`.

The flows decide *what* and store it, in the same transaction as the change, as a step row
(`effect:<id>`, payload in its result): a transactional outbox. The effect runner renders and
sends it right after the ack, and the reconciler sends whatever a crash left behind. Keeping
the two apart lets the flows be tested without Slack and keeps `slack_*` out of `bot/flows/`.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

EFFECT_STEP_PREFIX = "effect:"


def _outbox() -> Any:
    # The outbox step this effect is stored as; not part of what the effect *is*.
    return field(default=None, compare=False, kw_only=True)


@dataclass(frozen=True)
class Refresh:
    """Edit the pinned panel and the announcement in place; reset the topic when asked."""

    number: int
    topic: bool = False
    step: str | None = _outbox()


@dataclass(frozen=True)
class Acknowledged:
    number: int
    by: str
    at: datetime
    first: bool
    step: str | None = _outbox()


@dataclass(frozen=True)
class RoleAssigned:
    number: int
    role_id: str
    user: str
    previous: str | None
    by: str
    step: str | None = _outbox()


@dataclass(frozen=True)
class SeverityChanged:
    number: int
    old: str
    new: str
    by: str
    upgrade: bool
    step: str | None = _outbox()


@dataclass(frozen=True)
class UpdatePosted:
    number: int
    seq: int
    share: bool
    step: str | None = _outbox()


@dataclass(frozen=True)
class Resolved:
    number: int
    by: str
    summary: str
    root_cause: str | None
    duration: timedelta
    postmortem_due_at: datetime | None
    step: str | None = _outbox()


@dataclass(frozen=True)
class Closed:
    number: int
    by: str
    archive_at: datetime | None
    step: str | None = _outbox()


@dataclass(frozen=True)
class Reopened:
    number: int
    by: str
    step: str | None = _outbox()


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


EFFECT_TYPES: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (
        Refresh,
        Acknowledged,
        RoleAssigned,
        SeverityChanged,
        UpdatePosted,
        Resolved,
        Closed,
        Reopened,
    )
}


def new_step_name() -> str:
    return EFFECT_STEP_PREFIX + uuid.uuid4().hex


def is_effect_step(step: str) -> bool:
    return step.startswith(EFFECT_STEP_PREFIX)


def encode(effect: Effect) -> str:
    """JSON for the outbox row (datetimes as ISO text, durations as seconds)."""
    values: dict[str, Any] = {}
    for item in dataclasses.fields(effect):
        if item.name == "step":
            continue
        value = getattr(effect, item.name)
        if isinstance(value, datetime):
            value = {"datetime": value.isoformat()}
        elif isinstance(value, timedelta):
            value = {"seconds": value.total_seconds()}
        values[item.name] = value
    return json.dumps({"kind": type(effect).__name__, "values": values})


def decode(payload: str, *, step: str | None = None) -> Effect:
    data = json.loads(payload)
    values: dict[str, Any] = {}
    for name, value in data["values"].items():
        if isinstance(value, dict) and "datetime" in value:
            value = datetime.fromisoformat(value["datetime"])
        elif isinstance(value, dict) and "seconds" in value:
            value = timedelta(seconds=value["seconds"])
        values[name] = value
    effect: Effect = EFFECT_TYPES[data["kind"]](**values, step=step)
    return effect
