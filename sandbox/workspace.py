"""The demo workspace the sandbox starts with: the fake Slack's people, channels and groups,
plus the groups and channels the built-in policy names (so its notifications reach someone
instead of being reported as unreachable)."""

from __future__ import annotations

from sandbox.slack import FakeSlack

# handle → members: the built-in policy's escalation chain and notify targets.
POLICY_GROUPS = {
    "eng-lead": ["U_DAVE"],
    "vp-engineering": ["U_ERIN"],
    "cto": ["U_CAROL"],
}
POLICY_CHANNELS = ("engineering",)
PEOPLE = ("U_ALICE", "U_BOB", "U_CAROL", "U_DAVE", "U_ERIN", "U_BACKUP")


def seed_demo(fake: FakeSlack) -> None:
    """Add what the built-in policy names; the fake's own seed has the rest."""
    known = set(fake.usergroups().values())
    for handle, members in POLICY_GROUPS.items():
        if handle not in known:
            group_id = "S_" + handle.upper().replace("-", "_")
            fake.add_usergroup(id=group_id, handle=handle, users=members)
    names = {c.name for c in fake.channels()}
    for name in POLICY_CHANNELS:
        if name not in names:
            fake.add_channel(name=name, members=list(PEOPLE), bot_member=False)
