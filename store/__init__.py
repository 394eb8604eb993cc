"""warroom's persistence layer: SQLModel tables, repository functions, engine and migrations.

No Slack imports and nothing from ``bot`` here. Typical use::

    engine = store.make_engine(settings.database_url)
    sessions = store.session_factory(engine)
    async with sessions() as session:
        incident = await store.create_incident(session, title=..., ...)
        await session.commit()

Repository functions live in the ``repo_*`` modules (incidents, records, summary, jobs,
members, timeline, actions, audiences, alerts, status page …) and are imported
from here. Conventions for every one of them:

* ``async``, the session first, everything else keyword-only.
* Time is passed in (``now``, ``at`` …) as an aware datetime; the store never reads the clock.
  Naive datetimes raise :class:`store.types.NaiveDatetimeError`.
* Functions flush; the caller commits (or rolls back). No function commits.
* Concurrency is handled with single conditional statements (``INSERT … ON CONFLICT DO
  NOTHING``, ``UPDATE … WHERE … RETURNING``), never with SAVEPOINTs, so a lost race does not
  poison the caller's transaction and the same code is correct on SQLite and Postgres.
* Don't mutate returned model objects and flush them; use the update functions (they bump
  versions and keep claims race-free).
"""

from store.db import (
    DEFAULT_DATABASE_URL,
    UnsupportedDatabaseURL,
    alembic_config,
    async_url,
    make_engine,
    ping,
    session_factory,
    sync_url,
    upgrade,
)
from store.models import (
    INCIDENT_STATUSES,
    JOB_STATES,
    ActionItem,
    ChannelMember,
    IdempotencyKey,
    Incident,
    IncidentAlert,
    IncidentAudience,
    Job,
    RoleAssignment,
    StatusPagePost,
    StatusUpdate,
    TimelineEvent,
    TimelineHold,
)
from store.repo_actions import (
    OwnedActionItem,
    add_action_item,
    get_action_item,
    list_action_items,
    list_owned_action_items,
    set_action_item_done,
)
from store.repo_alerts import (
    add_incident_alert,
    alert_of_incident,
    close_incident_alert,
    open_incident_alert,
    set_alert_message,
    update_incident_alert,
)
from store.repo_audiences import (
    add_audiences,
    drop_audience,
    list_audiences,
    set_audience_message,
)
from store.repo_common import ContentionError
from store.repo_digest import DigestLists, digest_lists
from store.repo_home import HomeActionItem, HomeIncident, HomeRecords, home_records
from store.repo_incidents import (
    claim_idempotency_key,
    create_incident,
    delete_idempotency_keys,
    get_idempotency_key,
    get_incident,
    get_incident_by_channel,
    list_incidents,
    set_idempotency_result,
    update_incident,
)
from store.repo_jobs import (
    cancel_job,
    claim_job,
    due_jobs,
    enqueue_job,
    extend_job_lease,
    fail_job,
    finish_job,
    get_job,
    list_jobs,
    record_job_progress,
    repeat_job,
    reschedule_job,
    retry_job,
)
from store.repo_members import (
    VisibleIncident,
    add_channel_members,
    channel_members,
    is_channel_member,
    list_visible_incidents,
    remove_channel_member,
    replace_channel_members,
)
from store.repo_metrics import IncidentMetrics, SeverityMetrics, Spread, incident_metrics
from store.repo_records import (
    TimelineRow,
    add_role_holder,
    add_status_update,
    add_timeline_event,
    assign_role,
    current_roles,
    end_role,
    list_status_updates,
    list_timeline,
    list_timeline_rows,
    role_history,
    set_status_update_message,
)
from store.repo_status_page import (
    add_status_page_post,
    get_status_page_post,
    last_status_page_post,
    set_status_page_incident,
    set_status_page_post_published,
)
from store.repo_summary import IncidentRecords, incident_records
from store.repo_timeline import (
    CAPTURED_KIND,
    add_captured_message,
    add_timeline_hold,
    captured_message,
    delete_timeline_event,
    get_timeline_event,
    page_timeline,
    release_timeline_hold,
    set_timeline_event_time,
    timeline_holds,
)
from store.types import NaiveDatetimeError, UTCDateTime

__all__ = [
    "CAPTURED_KIND",
    "DEFAULT_DATABASE_URL",
    "INCIDENT_STATUSES",
    "JOB_STATES",
    "ActionItem",
    "ChannelMember",
    "ContentionError",
    "DigestLists",
    "HomeActionItem",
    "HomeIncident",
    "HomeRecords",
    "IdempotencyKey",
    "Incident",
    "IncidentAlert",
    "IncidentAudience",
    "IncidentMetrics",
    "IncidentRecords",
    "Job",
    "NaiveDatetimeError",
    "OwnedActionItem",
    "RoleAssignment",
    "SeverityMetrics",
    "Spread",
    "StatusPagePost",
    "StatusUpdate",
    "TimelineEvent",
    "TimelineHold",
    "TimelineRow",
    "UTCDateTime",
    "UnsupportedDatabaseURL",
    "VisibleIncident",
    "add_action_item",
    "add_audiences",
    "add_captured_message",
    "add_channel_members",
    "add_incident_alert",
    "add_role_holder",
    "add_status_page_post",
    "add_status_update",
    "add_timeline_event",
    "add_timeline_hold",
    "alembic_config",
    "alert_of_incident",
    "assign_role",
    "async_url",
    "cancel_job",
    "captured_message",
    "channel_members",
    "claim_idempotency_key",
    "claim_job",
    "close_incident_alert",
    "create_incident",
    "current_roles",
    "delete_idempotency_keys",
    "delete_timeline_event",
    "digest_lists",
    "drop_audience",
    "due_jobs",
    "end_role",
    "enqueue_job",
    "extend_job_lease",
    "fail_job",
    "finish_job",
    "get_action_item",
    "get_idempotency_key",
    "get_incident",
    "get_incident_by_channel",
    "get_job",
    "get_status_page_post",
    "get_timeline_event",
    "home_records",
    "incident_metrics",
    "incident_records",
    "is_channel_member",
    "last_status_page_post",
    "list_action_items",
    "list_audiences",
    "list_incidents",
    "list_jobs",
    "list_owned_action_items",
    "list_status_updates",
    "list_timeline",
    "list_timeline_rows",
    "list_visible_incidents",
    "make_engine",
    "open_incident_alert",
    "page_timeline",
    "ping",
    "record_job_progress",
    "release_timeline_hold",
    "remove_channel_member",
    "repeat_job",
    "replace_channel_members",
    "reschedule_job",
    "retry_job",
    "role_history",
    "session_factory",
    "set_action_item_done",
    "set_alert_message",
    "set_audience_message",
    "set_idempotency_result",
    "set_status_page_incident",
    "set_status_page_post_published",
    "set_status_update_message",
    "set_timeline_event_time",
    "sync_url",
    "timeline_holds",
    "update_incident",
    "update_incident_alert",
    "upgrade",
]
