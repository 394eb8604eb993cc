"""Plain snapshots of an incident for rendering: what templates receive, nothing live."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Protocol


@dataclass(frozen=True)
class RoleLine:
    role_id: str
    role_name: str
    user_id: str | None  # None: nobody holds it yet


@dataclass(frozen=True)
class IncidentCard:
    number: int
    title: str
    severity_id: str
    severity_name: str
    status: str  # triage, investigating, identified, monitoring, resolved, closed, declined
    declared_by: str
    declared_at: datetime
    started_at: datetime
    description: str = ""
    affected_services: str = ""
    type_id: str | None = None
    type_name: str | None = None
    private: bool = False
    drill: bool = False
    channel_id: str | None = None
    commander: str | None = None
    roles: tuple[RoleLine, ...] = ()
    source_link: str | None = None
    runbook: str | None = None
    respond_within: str | None = None  # "15m", for the announcement
    open_action_items: int = 0  # shown on the panel (the refresh counts them)
    next_update_due_at: datetime | None = None  # None: no cadence, or not a working status
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    postmortem_link: str | None = None  # the final document, once recorded
    statuspage_link: str | None = None  # the public status page's incident, once published
    # The latest status update (None: none yet): the panel's and announcement's impact.
    last_update_impact: str | None = None
    last_update_at: datetime | None = None
    update_count: int = 0
    # This incident's own figures (README, "Incident metrics").
    resolved_at: datetime | None = None
    update_intervals: int = 0
    update_intervals_kept: int = 0

    @property
    def label(self) -> str:
        return f"INC-{self.number}"


@dataclass(frozen=True)
class RenderedMessage:
    """A message ready for chat.postMessage: `text` is the notification fallback."""

    text: str
    blocks: tuple[Mapping[str, object], ...] = field(default=())


@dataclass(frozen=True)
class SeverityGuide:
    id: str
    name: str
    description: str
    respond_within: str | None


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class DeclareForm:
    """What the declare modal is built from (the policy's choices and the prefills)."""

    severities: tuple[SeverityGuide, ...]
    types: tuple[Choice, ...]
    private_types: frozenset[str]
    declarer: str
    title: str = ""
    description: str = ""
    source_link: str | None = None
    drill: bool = False
    origin_channel: str | None = None
    severity: str | None = None  # preselected (an alert's mapped severity)
    triage_number: int | None = None  # declaring the triage incident an alert opened


class IncidentRenderer(Protocol):
    """The messages the flows post; `bot/templates/incident.py` implements it."""

    def topic(self, card: IncidentCard) -> str: ...

    def purpose(self, card: IncidentCard) -> str: ...

    def panel(self, card: IncidentCard) -> RenderedMessage: ...

    def announcement(self, card: IncidentCard) -> RenderedMessage: ...

    def declarer_ready(
        self, card: IncidentCard, *, missed: Sequence[tuple[str, str]] = ()
    ) -> RenderedMessage: ...

    def declarer_delayed(
        self,
        card: IncidentCard,
        *,
        done: tuple[str, ...],
        pending: Mapping[str, str],
        failed: Mapping[str, str] | None = None,
    ) -> RenderedMessage: ...


@dataclass(frozen=True)
class UpdateCard:
    """One posted status update (`Update #seq`)."""

    seq: int
    status: str
    impact: str
    actions: str
    next_update_at: datetime | None
    author: str
    posted_at: datetime


@dataclass(frozen=True)
class StatusSummary:
    """What `/incident status` shows."""

    card: IncidentCard
    age: timedelta
    last_update: UpdateCard | None
    next_update_due_at: datetime | None
    open_action_items: tuple[str, ...]
    acknowledged_by: str | None
    acknowledged_at: datetime | None


@dataclass(frozen=True)
class ListedIncident:
    """One line of `/incident list`."""

    number: int
    title: str
    severity_id: str
    severity_name: str
    status: str
    channel_id: str | None
    private: bool
    commander: str | None
    declared_at: datetime
    drill: bool = False


@dataclass(frozen=True)
class TimelineEntry:
    """One line of `/incident timeline`."""

    id: int
    at: datetime
    kind: str
    actor: str | None
    text: str
    permalink: str | None


@dataclass(frozen=True)
class TimelinePage:
    number: int
    entries: tuple[TimelineEntry, ...]
    offset: int
    total: int
    can_edit: bool  # the reader may delete or re-time entries


@dataclass(frozen=True)
class ActionItemView:
    """An action item as lists and DMs show it. `incident_title` is None where the reader
    must not see it (a private incident, outside its channel)."""

    id: int
    number: int
    text: str
    owner: str | None
    due_on: date | None
    done: bool
    category: str | None = None
    priority: int | None = None
    incident_title: str | None = None
