"""Exactly once, against the real server and the fake Slack: concurrent identical requests,
DMs under a rate limit, Slack answering 500 after it acted, no Slack call before the ack,
`/incident list` with an unreadable private channel, user ids that are not users."""

from __future__ import annotations

import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

from sandbox.slack import FakeSlack
from tests.e2e.driver import Reply, SlackDriver, WarroomServer, fill_modal, wait_for
from tests.e2e.incidents import db_rows, declare, unsettled, wait_provisioned

LONG_AGO = "2000-01-01 00:00:00.000000"  # due at once: stored as SQLite holds UTC times
POLICY = Path(__file__).resolve().parents[2] / "bot" / "policy" / "default.yaml"


def policy_with(tmp_path: Path, **severity_notify: list[str]) -> Path:
    """The default policy with the given severities' `notify` targets (a group's members and
    user ids get DMs)."""
    data: dict[str, Any] = yaml.safe_load(POLICY.read_text("utf-8"))
    for severity in data["severities"]:
        if severity["id"] in severity_notify:
            severity["notify"] = severity_notify[severity["id"]]
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data), "utf-8")
    return path


def settled(server: WarroomServer) -> bool:
    """No job left to run (every side effect delivered or given up)."""
    return unsettled(server) == 0


def scribe_posts(fake: FakeSlack, channel: str) -> list[str]:
    return [m.text for m in fake.channel(channel).messages if "Scribe" in m.text]


def ephemeral_texts(fake: FakeSlack, user: str) -> list[str]:
    return [s.text or "" for s in fake.seen_by(user) if s.kind in ("ack", "response_url")]


def test_the_same_assignment_five_times_at_once_posts_and_dms_once(
    slack: SlackDriver, fake: FakeSlack, warroom: WarroomServer
) -> None:
    declare(slack, fake, "U_ALICE", {"Title": "Checkout failing", "Severity": "P2"})
    channel = wait_provisioned(fake, 1).id
    with ThreadPoolExecutor(5) as pool:
        replies = list(
            pool.map(
                lambda _: slack.slash("U_ALICE", "assign scribe <@U_CAROL|carol>", channel=channel),
                range(5),
            )
        )
    assert [r.status for r in replies] == [200] * 5
    wait_for(lambda: settled(warroom), what="every job to finish")
    wait_for(lambda: scribe_posts(fake, channel), what="the assignment post")
    assert len(scribe_posts(fake, channel)) == 1
    assert len(fake.dms("U_CAROL")) == 1
    rows = db_rows(warroom, "select count(*) from timeline_events where kind = 'role_assigned'")
    assert rows == [(1,)]
    # The holder again: nothing at all, and the person is told so.
    reply = slack.slash("U_ALICE", "assign scribe <@U_CAROL>", channel=channel)
    assert "already is the Scribe" in reply.text
    time.sleep(1.5)
    assert len(scribe_posts(fake, channel)) == 1
    assert len(fake.dms("U_CAROL")) == 1


def test_a_rate_limited_dm_does_not_re_dm_the_others(fake: FakeSlack, tmp_path: Path) -> None:
    fake.add_usergroup(id="S_LEADS", handle="leads", users=["U_CAROL", "U_DAVE", "U_ERIN"])
    policy = policy_with(tmp_path, P1=["#leadership", "@leads"])
    server = WarroomServer(fake=fake, workdir=tmp_path / "w", policy=policy)
    server.start()
    try:
        slack = SlackDriver(server, fake)
        fake.fail_next(
            "chat.postMessage",
            status=429,
            retry_after=2,
            where=lambda a: a.get("channel") == "U_DAVE",
        )
        declare(slack, fake, "U_ALICE", {"Title": "API down", "Severity": "P1"})
        wait_provisioned(fake, 1)
        wait_for(lambda: fake.dms("U_DAVE"), what="U_DAVE's DM after the rate limit", timeout=30)
        wait_for(lambda: settled(server), what="every job to finish", timeout=30)
        assert [len(fake.dms(u)) for u in ("U_CAROL", "U_DAVE", "U_ERIN")] == [1, 1, 1]
        dave = [c for c in fake.calls("chat.postMessage") if c.args.get("channel") == "U_DAVE"]
        assert [c.status for c in dave] == [429, 200]
    finally:
        server.stop()
        print(server.logs()[-4000:])


def _post_update(slack: SlackDriver, fake: FakeSlack, channel: str, impact: str) -> Reply:
    before = {v.payload["id"] for v in fake.views("U_ALICE")}
    assert slack.slash("U_ALICE", "update", channel=channel).status == 200
    view = wait_for(
        lambda: next(
            (
                dict(v.payload)
                for v in fake.views("U_ALICE")
                if v.payload["id"] not in before
                and v.payload.get("callback_id") == "incident_update"
            ),
            None,
        ),
        what="the update form",
    )
    values = fill_modal(
        view, {"Status": "Identified", "Impact": impact, "What is being done": "Rolling back"}
    )
    return slack.view_submission("U_ALICE", view, values)


def test_slack_answering_500_or_dropping_after_it_posted_does_not_post_twice(
    slack: SlackDriver, fake: FakeSlack, warroom: WarroomServer
) -> None:
    declare(slack, fake, "U_ALICE", {"Title": "Search slow", "Severity": "P2"})
    channel = wait_provisioned(fake, 1).id
    for seq, fault in enumerate(
        ({"status": 500}, {"drop": True}, {"status": 200, "error": "fatal_error"}), 1
    ):
        fake.fail_after(
            "chat.postMessage",
            **fault,  # type: ignore[arg-type]
            where=lambda a, seq=seq: a.get("channel") == channel and f"Update #{seq}" in str(a),
        )
        assert _post_update(slack, fake, channel, f"impact {seq}").status == 200
        wait_for(lambda: settled(warroom), what=f"update #{seq} delivered", timeout=30)
        posts = [m for m in fake.channel(channel).messages if f"Update #{seq}" in m.text]
        assert len(posts) == 1, (fault, [m.text for m in posts])


def test_no_slack_call_before_the_ack_even_when_slack_is_slow(
    slack: SlackDriver, fake: FakeSlack, warroom: WarroomServer
) -> None:
    declare(slack, fake, "U_ALICE", {"Title": "Login broken", "Severity": "P2"})
    channel = wait_provisioned(fake, 1).id
    fake.latency = 1.2  # every Slack call is slow
    fake.fail_next("conversations.members", 5, status=429, retry_after=3)
    try:
        for user, text, where in (
            ("U_BOB", "ack", channel),  # a member (invited with @oncall)
            ("U_BOB", "list", "general"),
            ("U_BOB", "ack", "general"),  # outside an incident channel: where to go
            ("U_BOB", "status", channel),
        ):
            started = time.monotonic()
            reply = slack.slash(user, text, channel=where)
            assert reply.status == 200
            assert time.monotonic() - started < 1.0, (text, reply.elapsed)
            assert "not available" not in reply.text
        assert fake.calls("conversations.members") == []
    finally:
        fake.latency = 0.0
    wait_for(
        lambda: db_rows(warroom, "select acknowledged_by from incidents") == [("U_BOB",)],
        what="the acknowledgement",
    )


def test_list_survives_a_private_channel_the_bot_was_removed_from(
    slack: SlackDriver, fake: FakeSlack, warroom: WarroomServer
) -> None:
    declare(slack, fake, "U_ALICE", {"Title": "Public one", "Severity": "P2"})
    wait_provisioned(fake, 1)
    declare(
        slack, fake, "U_ERIN", {"Title": "Leaked keys", "Incident type": "security"}
    )  # private: @security (U_ERIN) is invited
    private = wait_provisioned(fake, 2, announced=False)
    fake.remove_member(private.id, fake.bot_user_id)
    for user, visible in (("U_ERIN", ["INC-1", "INC-2"]), ("U_DAVE", ["INC-1"])):
        reply = slack.slash(user, "list")
        assert reply.status == 200
        text = reply.text
        assert "Something went wrong" not in text
        assert [label for label in ("INC-1", "INC-2") if label in text] == visible, text
    assert fake.calls("conversations.members") == []


def test_user_ids_slack_does_not_know_change_nothing(
    slack: SlackDriver, fake: FakeSlack, warroom: WarroomServer
) -> None:
    declare(slack, fake, "U_ALICE", {"Title": "Disk full", "Severity": "P2"})
    channel = wait_provisioned(fake, 1).id
    for text in ("assign tech_lead UEVIL999", "assign tech_lead USA", "assign commander WEST"):
        assert slack.slash("U_ALICE", text, channel=channel).status == 200
    wait_for(
        lambda: sum("not a Slack user" in t for t in ephemeral_texts(fake, "U_ALICE")) == 3,
        what="three clear refusals",
    )
    roles = db_rows(warroom, "select role, user_id from role_assignments where ended_at is null")
    assert roles == [("commander", "U_ALICE")]
    # A real user's bare id is believed once Slack confirms it.
    assert slack.slash("U_ALICE", "assign tech_lead U_BOB", channel=channel).status == 200
    wait_for(
        lambda: (
            ("tech_lead", "U_BOB")
            in db_rows(warroom, "select role, user_id from role_assignments where ended_at is null")
        ),
        what="U_BOB as tech lead",
    )


def test_an_unreadable_job_row_fails_and_the_jobs_behind_it_run(
    slack: SlackDriver, fake: FakeSlack, warroom: WarroomServer
) -> None:
    declare(slack, fake, "U_ALICE", {"Title": "Queue backlog", "Severity": "P2"})
    channel = wait_provisioned(fake, 1).id
    with sqlite3.connect(warroom.workdir / "warroom.db") as db:
        db.execute(
            "INSERT INTO jobs (key, kind, incident_number, state, due_at, attempts, payload,"
            " created_at, updated_at) VALUES (?, 'effect', 1, 'pending', ?, 0, ?, ?, ?)",
            ("effect:garbage", LONG_AGO, '{"kind": "nonsense"', LONG_AGO, LONG_AGO),
        )
    assert slack.slash("U_BOB", "ack", channel=channel).status == 200
    wait_for(
        lambda: any("acknowledged" in m.text for m in fake.channel(channel).messages),
        what="the acknowledgement behind the bad row",
    )
    wait_for(
        lambda: (
            db_rows(warroom, "select state from jobs where key = 'effect:garbage'") == [("failed",)]
        ),
        what="the bad row to be failed",
    )
    wait_for(lambda: settled(warroom), what="nothing left to run", timeout=30)


def test_membership_events_keep_a_private_incident_visible_to_its_members(
    slack: SlackDriver, fake: FakeSlack, warroom: WarroomServer
) -> None:
    declare(slack, fake, "U_ERIN", {"Title": "Leaked keys", "Incident type": "security"})
    private = wait_provisioned(fake, 1, announced=False).id
    assert "INC-1" not in slack.slash("U_DAVE", "list").text
    joined = {"type": "member_joined_channel", "user": "U_DAVE", "channel": private,
              "channel_type": "G", "team": fake.team_id}  # fmt: skip
    assert slack.event(joined).status == 200
    wait_for(lambda: "INC-1" in slack.slash("U_DAVE", "list").text, what="INC-1 listed")
    left = {**joined, "type": "member_left_channel"}
    assert slack.event(left).status == 200
    wait_for(lambda: "INC-1" not in slack.slash("U_DAVE", "list").text, what="INC-1 hidden")
    # A members-only action follows the same record: U_DAVE, gone, may not acknowledge.
    assert "Only members" in slack.slash("U_DAVE", "ack", channel=private).text
