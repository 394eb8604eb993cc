"""Repository functions: the only way the bot reads and writes the database.

Conventions for every function here:

* ``async``, the session first, everything else keyword-only.
* Time is passed in (``now``, ``at`` …) as an aware datetime; the store never reads the clock.
  Naive datetimes raise :class:`store.types.NaiveDatetimeError`.
* Functions flush; the caller commits (or rolls back). No function commits.
* Concurrency is handled with single conditional statements (``INSERT … ON CONFLICT DO
  NOTHING``, ``UPDATE … WHERE … RETURNING``), never with SAVEPOINTs, so a lost race does not
  poison the caller's transaction and the same code is correct on SQLite and Postgres.
* Don't mutate returned model objects and flush them; use the update functions (they bump
  versions and keep claims race-free).

The functions live in ``repo_incidents``, ``repo_records`` and ``repo_steps``; import them from
here or from :mod:`store`.
"""

from __future__ import annotations

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

__all__ = [
    "ContentionError",
    "add_action_item",
    "add_status_update",
    "add_timeline_event",
    "assign_role",
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
    "record_step_result",
    "role_history",
    "set_action_item_done",
    "set_idempotency_result",
    "set_status_update_message",
    "update_incident",
]
