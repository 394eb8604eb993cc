"""The database tables (SQLModel, ``table=True``).

Every datetime column is :class:`store.types.UTCDateTime`: aware UTC in, aware UTC out. Enum-like
columns (``status``, ``state``) are plain strings; the allowed values are the constants below and
the repository functions check them.

Keep this module and ``store/migrations/versions`` in step: ``tests/store`` fails when the
migrated schema and these models disagree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import JSON, ForeignKey, Index, Integer, Text, UniqueConstraint, text
from sqlmodel import Column, Field, SQLModel

from store.types import UTCDateTime

__all__ = [
    "INCIDENT_STATUSES",
    "JOB_STATES",
    "NAMING_CONVENTION",
    "ActionItem",
    "ChannelMember",
    "IdempotencyKey",
    "Incident",
    "IncidentAlert",
    "IncidentAudience",
    "Job",
    "RoleAssignment",
    "StatusUpdate",
    "TimelineEvent",
    "TimelineHold",
]

#: Incident lifecycle, in order, plus ``declined``.
INCIDENT_STATUSES: Final = (
    "triage",
    "investigating",
    "identified",
    "monitoring",
    "resolved",
    "closed",
    "declined",
)

#: Job states: pending → running → done; failed (given up) and cancelled are final too.
JOB_STATES: Final = ("pending", "running", "done", "failed", "cancelled")

#: Constraint names are deterministic so SQLite batch migrations can address them.
NAMING_CONVENTION: Final = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION

_CURRENT = text("ended_at IS NULL")


def _utc(*, nullable: bool = True, **kwargs: Any) -> Any:
    """A UTCDateTime field (nullable unless told otherwise)."""
    if nullable:
        kwargs.setdefault("default", None)
    return Field(sa_type=UTCDateTime(), nullable=nullable, **kwargs)


def _incident_fk(*, primary_key: bool = False, nullable: bool = False, ondelete: str) -> Any:
    return Field(
        sa_column=Column(
            "incident_number",
            Integer,
            ForeignKey("incidents.number", ondelete=ondelete),
            primary_key=primary_key,
            nullable=nullable,
        ),
        default=None if nullable else ...,
    )


class Incident(SQLModel, table=True):
    """One incident. ``number`` is chosen by the database and never reused.

    ``version`` increases on every :func:`store.update_incident`; pass the version you read as
    ``expected_version`` to make a change conditional (compare-and-set).
    """

    __tablename__ = "incidents"
    __table_args__ = (
        Index("ix_incidents_channel_id", "channel_id", unique=True),
        Index("ix_incidents_status", "status"),
        Index("ix_incidents_declared_at", "declared_at"),  # metrics read a period
        {"sqlite_autoincrement": True},
    )

    number: int | None = Field(default=None, primary_key=True)
    title: str
    description: str = Field(default="", sa_type=Text)
    severity: str
    status: str = "triage"
    type: str | None = None
    private: bool = False
    drill: bool = False
    affected_services: list[str] = Field(default_factory=list, sa_type=JSON)
    declared_by: str
    source_message_link: str | None = None
    channel_id: str | None = None
    channel_name: str | None = None

    declared_at: datetime = _utc(nullable=False)
    started_at: datetime | None = _utc()
    detected_at: datetime | None = _utc()
    acknowledged_at: datetime | None = _utc()
    acknowledged_by: str | None = None
    identified_at: datetime | None = _utc()
    mitigated_at: datetime | None = _utc()
    resolved_at: datetime | None = _utc()
    closed_at: datetime | None = _utc()
    declined_at: datetime | None = _utc()
    impact_ended_at: datetime | None = _utc()

    resolution_summary: str | None = Field(default=None, sa_type=Text)
    root_cause: str | None = Field(default=None, sa_type=Text)
    # What the post-mortem draft is built from beyond the timeline (the resolve modal's
    # optional fields), and the final document once the team has written it.
    contributing_factors: str | None = Field(default=None, sa_type=Text)
    went_well: str | None = Field(default=None, sa_type=Text)
    went_badly: str | None = Field(default=None, sa_type=Text)
    postmortem_link: str | None = None
    postmortem_done_at: datetime | None = _utc()

    panel_ts: str | None = None
    announcement_channel_id: str | None = None
    announcement_ts: str | None = None

    # Deadlines (bot/flows/deadlines.py computes all of them from the state on every change).
    # The update cadence counts from `cadence_from_at` (declaration, last update, reopening);
    # `update_interval_seconds` is what the last update asked for ("next update in"), None
    # meaning the severity's cadence.
    cadence_from_at: datetime | None = _utc()
    update_interval_seconds: int | None = None
    next_update_due_at: datetime | None = _utc()
    ack_due_at: datetime | None = _utc()
    escalation_level: int = 0
    next_escalation_at: datetime | None = _utc()
    reminder_sent_for: datetime | None = _utc()  # the slot of the last update reminder
    snoozed_until: datetime | None = _utc()  # a one-off delay of the pending reminder
    reminder_ts: str | None = None  # the last update reminder's message (superseded in place)
    # When each one-off alarm went (None: not yet); the daily ones keep their last slot.
    ack_noticed_at: datetime | None = _utc()
    roles_nudged_at: datetime | None = _utc()
    postmortem_reminded_at: datetime | None = _utc()
    stale_nudged_at: datetime | None = _utc()
    postmortem_due_at: datetime | None = _utc()
    archive_at: datetime | None = _utc()
    update_count: int = 0
    # The latest status update's impact and time: what the panel and announcement show.
    last_update_impact: str | None = Field(default=None, sa_type=Text)
    last_update_at: datetime | None = _utc()
    # Update adherence, kept as the incident runs: each interval the severity's cadence asked
    # for (declaration or reopening → update, update → update, last update → resolution),
    # how many were no longer than the cadence (+10 %), and the longest.
    update_intervals: int = 0
    update_intervals_kept: int = 0
    longest_update_gap_seconds: int | None = None
    # The public status page's incident (Statuspage), once the first publication created it.
    statuspage_incident_id: str | None = None
    statuspage_link: str | None = None

    version: int = 1
    updated_at: datetime = _utc(nullable=False)


class RoleAssignment(SQLModel, table=True):
    """Who held which role when. ``ended_at is None`` marks the current holder; the partial
    unique index allows at most one current holder per (incident, role)."""

    __tablename__ = "role_assignments"
    __table_args__ = (
        Index("ix_role_assignments_incident_number", "incident_number", "role", "assigned_at"),
        Index(
            "uq_role_assignments_current",
            "incident_number",
            "role",
            unique=True,
            sqlite_where=_CURRENT,
            postgresql_where=_CURRENT,
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    incident_number: int = _incident_fk(ondelete="CASCADE")
    role: str
    user_id: str
    assigned_by: str | None = None
    assigned_at: datetime = _utc(nullable=False)
    ended_at: datetime | None = _utc()


class TimelineEvent(SQLModel, table=True):
    """Something that happened. ``dedupe_key`` (unique when not null) records an event once even
    when a Slack event is retried or a provisioning step re-runs.

    A captured Slack message (📌, pin, "Add to timeline") has its own ``message_ts`` and is
    stamped ``at`` the message's time, not the capture's; ``recorded_at`` is when warroom
    learnt of it (also when a commander corrected ``at``)."""

    __tablename__ = "timeline_events"
    __table_args__ = (
        Index("ix_timeline_events_incident_number_at", "incident_number", "at"),
        Index("ix_timeline_events_dedupe_key", "dedupe_key", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    incident_number: int = _incident_fk(ondelete="CASCADE")
    kind: str
    at: datetime = _utc(nullable=False)
    actor: str | None = None
    text: str = Field(default="", sa_type=Text)
    permalink: str | None = None
    dedupe_key: str | None = None
    message_ts: str | None = None
    recorded_at: datetime | None = _utc()


class TimelineHold(SQLModel, table=True):
    """Why a captured message is on the timeline: each 📌 reaction (holder = the reacting user's
    id), a pin (``pin``) or the "Add to timeline" shortcut (``shortcut``). The entry goes when
    its last reaction or pin goes; the shortcut's hold is never taken back."""

    __tablename__ = "timeline_holds"

    incident_number: int = _incident_fk(primary_key=True, ondelete="CASCADE")
    message_ts: str = Field(primary_key=True)
    holder: str = Field(primary_key=True)
    since: datetime = _utc(nullable=False)


_OPEN_ALERT = text("is_open")


class IncidentAlert(SQLModel, table=True):
    """An alert group (Alertmanager's `groupKey`, Grafana's, a generic `dedup_key`) and the
    incident it opened. At most one *open* row per (source, group key): every delivery of the
    group while its incident is open lands here; once the incident is over (resolved, closed,
    declined) the row is closed and the next firing opens a new incident."""

    __tablename__ = "incident_alerts"
    __table_args__ = (
        Index(
            "uq_incident_alerts_open_group",
            "source",
            "group_key",
            unique=True,
            sqlite_where=_OPEN_ALERT,
            postgresql_where=_OPEN_ALERT,
        ),
        Index("ix_incident_alerts_incident_number", "incident_number"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str
    group_key: str = Field(sa_type=Text)
    incident_number: int = _incident_fk(ondelete="CASCADE")
    is_open: bool = True
    status: str = "firing"  # firing or resolved, as the last delivery said
    firing: int = 0
    resolved: int = 0
    deliveries: int = 1
    first_seen_at: datetime = _utc(nullable=False)
    last_seen_at: datetime = _utc(nullable=False)
    severity_value: str | None = None
    # What the triage message shows: title, description, labels, links (JSON).
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    message_channel_id: str | None = None
    message_ts: str | None = None
    declined_by: str | None = None
    decline_reason: str | None = Field(default=None, sa_type=Text)


class IncidentAudience(SQLModel, table=True):
    """A channel told of the incident because a severity's or type's `notify` names it
    (``target`` as the policy writes it, e.g. ``#leadership``). ``message_ts`` is the first
    message there, under which later news (lowered, raised, resolved, reopened) is threaded;
    None until that message is posted."""

    __tablename__ = "incident_audiences"

    incident_number: int = _incident_fk(primary_key=True, ondelete="CASCADE")
    target: str = Field(primary_key=True)
    channel_id: str | None = None
    message_ts: str | None = None
    since: datetime = _utc(nullable=False)


class StatusPagePost(SQLModel, table=True):
    """One publication to the public status page, stored with the update (or resolution) that
    asked for it; ``seq`` orders an incident's publications, which go out one after another.
    ``components``: component id → its status. ``published_at`` is None until it is out."""

    __tablename__ = "status_page_posts"

    incident_number: int = _incident_fk(primary_key=True, ondelete="CASCADE")
    seq: int = Field(primary_key=True)
    status: str
    body: str = Field(sa_type=Text)
    components: dict[str, str] = Field(default_factory=dict, sa_type=JSON)
    author: str
    created_at: datetime = _utc(nullable=False)
    published_at: datetime | None = _utc()


class StatusUpdate(SQLModel, table=True):
    """A posted status update; ``seq`` is the "Update #n" number, unique per incident."""

    __tablename__ = "status_updates"
    __table_args__ = (UniqueConstraint("incident_number", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_number: int = _incident_fk(ondelete="CASCADE")
    seq: int
    status: str
    impact: str = Field(default="", sa_type=Text)
    actions: str = Field(default="", sa_type=Text)
    next_update_at: datetime | None = _utc()
    posted_at: datetime = _utc(nullable=False)
    author: str
    message_ts: str | None = None
    shared: bool = False


class ActionItem(SQLModel, table=True):
    """A follow-up task (usually from the post-mortem)."""

    __tablename__ = "action_items"
    __table_args__ = (
        Index("ix_action_items_incident_number", "incident_number"),
        Index("ix_action_items_owner_done", "owner", "done"),
    )

    id: int | None = Field(default=None, primary_key=True)
    incident_number: int = _incident_fk(ondelete="CASCADE")
    text: str = Field(sa_type=Text)
    owner: str | None = None
    due_at: datetime | None = _utc()  # the due date, at 00:00 UTC
    done: bool = False
    done_at: datetime | None = _utc()
    done_by: str | None = None
    created_at: datetime = _utc(nullable=False)
    created_by: str | None = None
    # Seed procedures sort follow-ups by what they improve and by impact × effort.
    category: str | None = None  # detection, response, recovery, prevention
    priority: int | None = None  # 1 immediate … 4 consider an alternative


class IdempotencyKey(SQLModel, table=True):
    """A claimed idempotency key, e.g. ``view_submission:<view_id>:<hash>``.

    The first :func:`store.claim_idempotency_key` wins; ``result`` is JSON text the winner may
    store so that duplicates can answer the same way.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("ix_idempotency_keys_created_at", "created_at"),)

    key: str = Field(primary_key=True)
    incident_number: int | None = _incident_fk(nullable=True, ondelete="SET NULL")
    created_at: datetime = _utc(nullable=False)
    result: str | None = Field(default=None, sa_type=Text)


class Job(SQLModel, table=True):
    """One unit of durable work: a provisioning run, an effect to deliver, an archive, later
    reminders, escalations and digests. ``key`` makes it exactly-once (a second enqueue of the
    same key is a no-op).

    ``due_at`` is when the job can next be claimed and is the only column a tick filters on
    (indexed): pending → its scheduled time; running → its lease expiry (a crashed worker's job
    becomes due again); done, failed and cancelled → NULL, so finished jobs never cost a tick
    anything. ``attempts`` counts claims and fences a worker whose lease was taken over.
    ``payload`` is the job's input and ``progress`` what it already did (JSON text), so a retry
    recognises its earlier attempt's work.
    """

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_key", "key", unique=True),
        Index("ix_jobs_due_at", "due_at"),
        Index("ix_jobs_incident_number_kind", "incident_number", "kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str
    kind: str
    incident_number: int | None = _incident_fk(nullable=True, ondelete="CASCADE")
    state: str = "pending"
    due_at: datetime | None = _utc()
    attempts: int = 0
    payload: str | None = Field(default=None, sa_type=Text)
    progress: str | None = Field(default=None, sa_type=Text)
    last_error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = _utc(nullable=False)
    updated_at: datetime = _utc(nullable=False)


class ChannelMember(SQLModel, table=True):
    """Who is in which incident channel, as far as warroom knows: recorded when it invites,
    kept current from member_joined/left_channel events and a background refresh, so that
    permission checks and lists never ask Slack before the ack."""

    __tablename__ = "channel_members"

    channel_id: str = Field(primary_key=True)
    user_id: str = Field(primary_key=True)
    since: datetime = _utc(nullable=False)
