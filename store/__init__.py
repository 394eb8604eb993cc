"""warroom's persistence layer: SQLModel tables, repository functions, engine and migrations.

No Slack imports and nothing from ``bot`` here. Typical use::

    engine = store.make_engine(settings.database_url)
    sessions = store.session_factory(engine)
    async with sessions() as session:
        incident = await store.create_incident(session, title=..., ...)
        await session.commit()

Repository functions live in ``repo_incidents``, ``repo_records`` and ``repo_steps`` and are
imported from here. Conventions for every one of them:

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
    STEP_STATES,
    ActionItem,
    IdempotencyKey,
    Incident,
    ProvisioningStep,
    RoleAssignment,
    StatusUpdate,
    TimelineEvent,
)
from store.repo_common import ContentionError
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
from store.repo_records import (
    add_action_item,
    add_status_update,
    add_timeline_event,
    assign_role,
    current_roles,
    end_role,
    list_action_items,
    list_status_updates,
    list_timeline,
    role_history,
    set_action_item_done,
    set_status_update_message,
)
from store.repo_steps import (
    claim_step,
    complete_step,
    due_steps,
    ensure_steps,
    extend_step_lease,
    fail_step,
    get_steps,
    record_step_result,
)
from store.types import NaiveDatetimeError, UTCDateTime

__all__ = [
    "DEFAULT_DATABASE_URL",
    "INCIDENT_STATUSES",
    "STEP_STATES",
    "ActionItem",
    "ContentionError",
    "IdempotencyKey",
    "Incident",
    "NaiveDatetimeError",
    "ProvisioningStep",
    "RoleAssignment",
    "StatusUpdate",
    "TimelineEvent",
    "UTCDateTime",
    "UnsupportedDatabaseURL",
    "add_action_item",
    "add_status_update",
    "add_timeline_event",
    "alembic_config",
    "assign_role",
    "async_url",
    "claim_idempotency_key",
    "claim_step",
    "complete_step",
    "create_incident",
    "current_roles",
    "delete_idempotency_keys",
    "due_steps",
    "end_role",
    "ensure_steps",
    "extend_step_lease",
    "fail_step",
    "get_idempotency_key",
    "get_incident",
    "get_incident_by_channel",
    "get_steps",
    "list_action_items",
    "list_incidents",
    "list_status_updates",
    "list_timeline",
    "make_engine",
    "ping",
    "record_step_result",
    "role_history",
    "session_factory",
    "set_action_item_done",
    "set_idempotency_result",
    "set_status_update_message",
    "sync_url",
    "update_incident",
    "upgrade",
]
