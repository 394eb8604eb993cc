"""A policy naming people or places Slack does not know: the commander is told once each, in
plain words, in the incident channel; nothing claims they were told."""

from __future__ import annotations

from pathlib import Path

import yaml

from sandbox.slack import FakeSlack
from tests.e2e.driver import REPO_ROOT, SlackDriver, WarroomServer, wait_for
from tests.e2e.incidents import declare, wait_provisioned


def test_missing_policy_targets_are_told_to_the_commander_once(
    fake: FakeSlack, tmp_path: Path
) -> None:
    policy = yaml.safe_load((REPO_ROOT / "bot" / "policy" / "default.yaml").read_text("utf-8"))
    for severity in policy["severities"]:
        severity.pop("escalation", None)
        severity["notify"] = (
            ["@no-such-team", "#no-such-channel", "U0NOBODY"] if severity["id"] == "P2" else []
        )
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy, sort_keys=False), "utf-8")
    server = WarroomServer(fake=fake, workdir=tmp_path / "w", policy=path)
    server.start()
    try:
        slack = SlackDriver(server, fake)
        declare(slack, fake, "U_ALICE", {"Title": "Checkout failing", "Severity": "P2"})
        cid = wait_provisioned(fake, 1).id

        def told() -> list[str]:
            return [m.text for m in fake.channel(cid).messages if "nobody from it" in m.text]

        notices = wait_for(lambda: t if len(t := told()) >= 3 else None, what="three notices")
        for target in ("@no-such-team", "#no-such-channel", "U0NOBODY"):
            [line] = [n for n in notices if target in n]
            assert "<@U_ALICE>" in line  # the commander
        assert "does not exist in this workspace" in next(n for n in notices if "team" in n)
        # The declarer's "all set" DM says what did not happen.
        ready = wait_for(
            lambda: [m.text for m in fake.dms("U_ALICE") if "is declared" in m.text],
            what="the declarer's DM",
        )
        for target in ("@no-such-team", "#no-such-channel", "U0NOBODY"):
            assert target in ready[0]
        assert "Not done" in ready[0]
        slack.slash("U_ALICE", "severity P1", channel=cid)
        slack.slash("U_ALICE", "severity P2", channel=cid)
        wait_for(lambda: "P2" in fake.channel(cid).topic, what="back to P2")
        assert len(told()) == 3  # once each, however often the targets come up
    finally:
        server.stop_showing_log()


def test_a_missing_scope_is_named_with_what_an_admin_must_do(
    fake: FakeSlack, slack: SlackDriver
) -> None:
    """Slack refuses to list @oncall's members (the token lacks usergroups:read): the commander
    is told which permission and that the app must be reinstalled from the manifest."""
    manifest = yaml.safe_load((REPO_ROOT / "manifest.yml").read_text("utf-8"))
    scopes = manifest["oauth_config"]["scopes"]["bot"]
    fake.granted_scopes = [s for s in scopes if s != "usergroups:read"]
    declare(slack, fake, "U_ALICE", {"Title": "Checkout failing", "Severity": "P2"})
    cid = wait_provisioned(fake, 1).id
    notices = wait_for(
        lambda: [m.text for m in fake.channel(cid).messages if "@oncall" in m.text],
        what="the notice about @oncall",
    )
    assert "`usergroups:read`" in notices[0]
    assert "reinstall" in notices[0]
    assert "manifest.yml" in notices[0]
