"""Block Kit for running an incident: updates, roles, severity, resolution, status, lists.

Pure builders, in the style of :mod:`bot.templates.incident`: cards from
:mod:`bot.flows.cards` and plain values in, a view dict or a
:class:`~bot.flows.cards.RenderedMessage` out. Every block is built with `slack_sdk.models`
and validated; every mrkdwn text object is `verbatim`; what people typed is escaped with
`safe_mrkdwn` (mrkdwn) or `defuse_plain` + `truncate` (plain text) and bounded to Slack's
limits. The code lives in five modules, all re-exported here:

- :mod:`bot.templates.ops_common` — ids, `private_metadata`, `format_elapsed`, phrases;
- :mod:`bot.templates.ops_modals` — the five modals and the parsers of their submissions;
- :mod:`bot.templates.ops_updates` — status updates, severity changes, the resolution;
- :mod:`bot.templates.ops_notices` — one-line notices, the role DM, refusals;
- :mod:`bot.templates.ops_overview` — `/incident status` and `/incident list`.
"""

from __future__ import annotations

from bot.templates.ops_common import (
    ASSIGN_CALLBACK,
    CLOSE_CONFIRM_CALLBACK,
    MAX_INCIDENT_NUMBER,
    RESOLVE_CALLBACK,
    SEVERITY_CALLBACK,
    TAKE_ROLE_ACTION,
    UPDATE_CALLBACK,
    format_elapsed,
    modal_metadata,
    parse_incident_number,
    parse_modal_metadata,
    parse_take_role_value,
    take_role_value,
)
from bot.templates.ops_modals import (
    ACTIONS_BLOCK,
    IMPACT_BLOCK,
    IMPACT_ENDED_BLOCK,
    NEXT_UPDATE_BLOCK,
    NEXT_UPDATE_MAX_MINUTES,
    ROLE_BLOCK_PREFIX,
    ROOT_CAUSE_BLOCK,
    SEVERITY_BLOCK,
    SHARE_BLOCK,
    SHARE_OPTION,
    STATUS_BLOCK,
    SUMMARY_BLOCK,
    ResolveAnswers,
    UpdateAnswers,
    assign_modal,
    close_confirm_modal,
    parse_assign_submission,
    parse_resolve_submission,
    parse_severity_submission,
    parse_update_submission,
    resolve_modal,
    role_block_id,
    severity_modal,
    update_modal,
)
from bot.templates.ops_notices import (
    acknowledged_message,
    already_acknowledged_message,
    closed_message,
    gave_up_notice,
    refusal,
    reopened_message,
    role_assigned_message,
    role_dm,
    status_changed_message,
    unreachable_target_notice,
)
from bot.templates.ops_overview import (
    NO_INCIDENTS,
    incident_list,
    not_in_incident_channel,
    status_summary,
)
from bot.templates.ops_updates import (
    audience_notice,
    resolution_message,
    severity_changed_message,
    severity_notify_message,
    status_update_message,
    status_update_share,
)

__all__ = [
    "ACTIONS_BLOCK",
    "ASSIGN_CALLBACK",
    "CLOSE_CONFIRM_CALLBACK",
    "IMPACT_BLOCK",
    "IMPACT_ENDED_BLOCK",
    "MAX_INCIDENT_NUMBER",
    "NEXT_UPDATE_BLOCK",
    "NEXT_UPDATE_MAX_MINUTES",
    "NO_INCIDENTS",
    "RESOLVE_CALLBACK",
    "ROLE_BLOCK_PREFIX",
    "ROOT_CAUSE_BLOCK",
    "SEVERITY_BLOCK",
    "SEVERITY_CALLBACK",
    "SHARE_BLOCK",
    "SHARE_OPTION",
    "STATUS_BLOCK",
    "SUMMARY_BLOCK",
    "TAKE_ROLE_ACTION",
    "UPDATE_CALLBACK",
    "ResolveAnswers",
    "UpdateAnswers",
    "acknowledged_message",
    "already_acknowledged_message",
    "assign_modal",
    "audience_notice",
    "close_confirm_modal",
    "closed_message",
    "format_elapsed",
    "gave_up_notice",
    "incident_list",
    "modal_metadata",
    "not_in_incident_channel",
    "parse_assign_submission",
    "parse_incident_number",
    "parse_modal_metadata",
    "parse_resolve_submission",
    "parse_severity_submission",
    "parse_take_role_value",
    "parse_update_submission",
    "refusal",
    "reopened_message",
    "resolution_message",
    "resolve_modal",
    "role_assigned_message",
    "role_block_id",
    "role_dm",
    "severity_changed_message",
    "severity_modal",
    "severity_notify_message",
    "status_changed_message",
    "status_summary",
    "status_update_message",
    "status_update_share",
    "take_role_value",
    "unreachable_target_notice",
    "update_modal",
]
