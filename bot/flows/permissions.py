"""Who may do what to an incident: one check, from the policy's `permissions`."""

from __future__ import annotations

from bot.policy import PermissionAction, Policy

ACTION_WORDS: dict[str, str] = {
    "resolve": "resolve",
    "close": "close",
    "severity": "change the severity of",
    "assign": "assign roles in",
    "update": "post updates to",
    "note": "add notes to",
    "ack": "acknowledge",
    "action": "add action items to",
    "timeline": "correct the timeline or others' action items of",
}


class Refused(Exception):
    """The user may not do this, or the incident cannot do it now; `str()` says why."""


def authorize(
    policy: Policy,
    *,
    action: PermissionAction,
    user: str,
    roles: dict[str, str],
    label: str,
    member: bool,
) -> None:
    """Raise `Refused`, naming who may, unless `user` may do `action` on the incident.

    `member`: whether `user` is a member of the incident channel, as recorded in the database
    (the caller reads it only when the policy grants `action` to members)."""
    grantees = policy.allowed(action)
    if "anyone" in grantees:
        return
    if any(roles.get(role_id) == user for role_id in grantees if role_id not in ("members",)):
        return
    if "members" in grantees and member:
        return
    raise Refused(f"Only {who_may(policy, grantees)} can {ACTION_WORDS[action]} {label}.")


def who_may(policy: Policy, grantees: tuple[str, ...]) -> str:
    names = []
    for grantee in grantees:
        if grantee == "members":
            names.append("members of the incident channel")
        else:
            role = policy.find_role(grantee)
            names.append(f"the {role.name}" if role is not None else grantee)
    if len(names) <= 1:
        return names[0] if names else "nobody"
    return ", ".join(names[:-1]) + " or " + names[-1]
