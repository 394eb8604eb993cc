"""The incident policy: severities, roles, incident types, escalation, channels, templates.

Load it with :func:`load_policy` (``None`` gives the built-in ``default.yaml``) or
:func:`default_policy`; check a file with :func:`check_policy_file`, which returns every problem
as ``"<path>: <message>"``.
"""

from bot.policy.durations import (
    CronExpr,
    Duration,
    DurationError,
    TimeZoneName,
    format_duration,
    parse_duration,
)
from bot.policy.loader import (
    PolicyError,
    check_policy_file,
    default_policy,
    load_policy,
    parse_policy,
    policy_from_data,
)
from bot.policy.models import (
    DEFAULT_PERMISSIONS,
    DEFAULT_ROLES,
    Digest,
    EscalationStep,
    IncidentType,
    Permissions,
    Policy,
    PolicyLookupError,
    Postmortem,
    Role,
    Severity,
    Templates,
)
from bot.policy.naming import (
    CHANNEL_NAME_MAX,
    CHANNEL_PLACEHOLDERS,
    Target,
    TargetError,
    TargetKind,
    render_channel_name,
)
from bot.policy.rules import PERMISSION_ACTIONS, SPECIAL_GRANTEES, PermissionAction, lookup_key

__all__ = [
    "CHANNEL_NAME_MAX",
    "CHANNEL_PLACEHOLDERS",
    "DEFAULT_PERMISSIONS",
    "DEFAULT_ROLES",
    "PERMISSION_ACTIONS",
    "SPECIAL_GRANTEES",
    "CronExpr",
    "Digest",
    "Duration",
    "DurationError",
    "EscalationStep",
    "IncidentType",
    "PermissionAction",
    "Permissions",
    "Policy",
    "PolicyError",
    "PolicyLookupError",
    "Postmortem",
    "Role",
    "Severity",
    "Target",
    "TargetError",
    "TargetKind",
    "Templates",
    "TimeZoneName",
    "check_policy_file",
    "default_policy",
    "format_duration",
    "load_policy",
    "lookup_key",
    "parse_duration",
    "parse_policy",
    "policy_from_data",
    "render_channel_name",
]
