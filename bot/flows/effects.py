"""What must happen in Slack after a state change: plain data, delivered by `bot/effects.py`.

The flows decide *what* and store it, in the same transaction as the change, as a job (kind
`effect`, the effect as its payload): a transactional outbox. The request runs it right after
its ack; the job runner's tick runs whatever a crash left behind. Keeping the two apart lets
the flows be tested without Slack and keeps `slack_*` out of `bot/flows/`.

Each effect is a frozen dataclass with a literal `kind`; the payload codec is derived from the
types (a pydantic discriminated union), so adding an effect is adding a class to `Effect`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

EFFECT_JOB = "effect"


# Each effect carries its `kind` (the codec's discriminator, not part of what the effect says)
# and the `job` it is stored as (neither part of what it is nor of its payload).
OutboxKey = Annotated[str | None, Field(exclude=True)]


@dataclass(frozen=True)
class Refresh:
    """Edit the pinned panel and the announcement in place; reset the topic when asked."""

    number: int
    topic: bool = False
    kind: Literal["refresh"] = field(default="refresh", kw_only=True, repr=False)
    job: OutboxKey = field(default=None, compare=False, kw_only=True)


@dataclass(frozen=True)
class Acknowledged:
    number: int
    by: str
    at: datetime
    first: bool
    kind: Literal["acknowledged"] = field(default="acknowledged", kw_only=True, repr=False)
    job: OutboxKey = field(default=None, compare=False, kw_only=True)


@dataclass(frozen=True)
class RoleAssigned:
    number: int
    role_id: str
    user: str
    previous: str | None
    by: str
    kind: Literal["role_assigned"] = field(default="role_assigned", kw_only=True, repr=False)
    job: OutboxKey = field(default=None, compare=False, kw_only=True)


@dataclass(frozen=True)
class SeverityChanged:
    number: int
    old: str
    new: str
    by: str
    upgrade: bool
    notify: bool = False  # the first upgrade to `new`: the people it notifies are DM'd
    # Channels (bot/flows/audiences.py): told of the incident for the first time; told in
    # their thread while they follow it; told in their thread that they stop following it.
    fresh: tuple[str, ...] = ()
    following: tuple[str, ...] = ()
    leaving: tuple[str, ...] = ()
    kind: Literal["severity_changed"] = field(default="severity_changed", kw_only=True, repr=False)
    job: OutboxKey = field(default=None, compare=False, kw_only=True)


@dataclass(frozen=True)
class UpdatePosted:
    number: int
    seq: int
    share: bool
    kind: Literal["update_posted"] = field(default="update_posted", kw_only=True, repr=False)
    job: OutboxKey = field(default=None, compare=False, kw_only=True)


@dataclass(frozen=True)
class Resolved:
    number: int
    by: str
    summary: str
    root_cause: str | None
    duration: timedelta
    postmortem_due_at: datetime | None
    kind: Literal["resolved"] = field(default="resolved", kw_only=True, repr=False)
    job: OutboxKey = field(default=None, compare=False, kw_only=True)


@dataclass(frozen=True)
class Closed:
    number: int
    by: str
    archive_at: datetime | None
    kind: Literal["closed"] = field(default="closed", kw_only=True, repr=False)
    job: OutboxKey = field(default=None, compare=False, kw_only=True)


@dataclass(frozen=True)
class Reopened:
    number: int
    by: str
    kind: Literal["reopened"] = field(default="reopened", kw_only=True, repr=False)
    job: OutboxKey = field(default=None, compare=False, kw_only=True)


@dataclass(frozen=True)
class ActionItemAdded:
    """Tell the owner of a new action item (by DM, once) and refresh the panel's count."""

    number: int
    item_id: int
    owner: str | None
    by: str
    kind: Literal["action_item_added"] = field(
        default="action_item_added", kw_only=True, repr=False
    )
    job: OutboxKey = field(default=None, compare=False, kw_only=True)


@dataclass(frozen=True)
class PostmortemRequested:
    """Post the post-mortem draft into the incident channel: at resolution (`resolved`) or on
    request (`requested`); each request is a new version."""

    number: int
    by: str
    reason: Literal["resolved", "requested"]
    kind: Literal["postmortem_requested"] = field(
        default="postmortem_requested", kw_only=True, repr=False
    )
    job: OutboxKey = field(default=None, compare=False, kw_only=True)


@dataclass(frozen=True)
class AlarmRang:
    """The clock rang (bot/flows/alarms.py): remind, notice, escalate or nudge, once per slot."""

    number: int
    alarm: str  # an AlarmKind value
    slot: datetime
    step: int | None = None  # escalation: the step of the severity's chain
    kind: Literal["alarm_rang"] = field(default="alarm_rang", kw_only=True, repr=False)
    job: OutboxKey = field(default=None, compare=False, kw_only=True)


Effect = Annotated[
    Refresh
    | Acknowledged
    | RoleAssigned
    | SeverityChanged
    | UpdatePosted
    | Resolved
    | Closed
    | Reopened
    | ActionItemAdded
    | PostmortemRequested
    | AlarmRang,
    Field(discriminator="kind"),
]

CODEC: TypeAdapter[Effect] = TypeAdapter(Effect)


def new_job_key() -> str:
    return f"{EFFECT_JOB}:{uuid.uuid4().hex}"


def encode(effect: Effect) -> str:
    return CODEC.dump_json(effect).decode()


def decode(payload: str, *, job: str | None = None) -> Effect:
    """The effect stored in a job's payload; raises on anything that is not one."""
    return replace(CODEC.validate_json(payload), job=job)
