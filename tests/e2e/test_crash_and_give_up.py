"""Crashes and Slack failures after Slack acted: every DM is sent once after a kill -9, a
closed incident's channel is archived once (or, when Slack refuses, a human is told once),
and provisioning neither retries what Slack refused for good nor repeats what it did."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from sandbox.slack import FakeSlack
from sandbox.slack.records import Message
from tests.e2e.driver import REPO_ROOT, SlackDriver, WarroomServer, fill_modal, wait_for
from tests.e2e.incidents import (
    db_rows,
    declare,
    job_states,
    metadata_posts,
    provisioning,
    unsettled,
    wait_provisioned,
)

# After a SIGKILL the dead process's lease (15 s) must run out before another takes over.
RECOVERY_TIMEOUT = 40
DEFAULT_POLICY = REPO_ROOT / "bot" / "policy" / "default.yaml"
PEOPLE = ("U_ALICE", "U_BOB", "U_CAROL", "U_DAVE", "U_ERIN", "U_BACKUP")
# Policy targets must look like Slack ids (U0…); the fake's people are U_CAROL, U_DAVE…, so
# the P1 declaration and upgrade reach them through a group handle.
P1_NOTIFY_GROUP = ("S_P1NOTIFY", "p1-notify", ["U_CAROL", "U_DAVE"])

Boot = Callable[..., tuple[WarroomServer, SlackDriver]]


# -- the bot under a policy written for the test --------------------------------------------------


def _write_policy(path: Path, *, archive_after: str | None = None) -> Path:
    """The built-in policy, with notify targets the fake workspace has: a P1 declaration (or
    upgrade) posts in #leadership and DMs U_CAROL and U_DAVE; other severities notify nobody."""
    policy = yaml.safe_load(DEFAULT_POLICY.read_text("utf-8"))
    for severity in policy["severities"]:
        severity["notify"] = ["#leadership", "@p1-notify"] if severity["id"] == "P1" else []
        severity.pop("escalation", None)  # names groups the fake does not have
    if archive_after is not None:
        policy["archive_after"] = archive_after
    path.write_text(yaml.safe_dump(policy, sort_keys=False), "utf-8")
    return path


@pytest.fixture
def boot(fake: FakeSlack, tmp_path: Path) -> Iterator[Boot]:
    """Starts `warroom serve` under a policy made by `_write_policy(**changes)`."""
    servers: list[WarroomServer] = []
    group_id, handle, users = P1_NOTIFY_GROUP
    fake.add_usergroup(id=group_id, handle=handle, users=users)

    def start(**changes: Any) -> tuple[WarroomServer, SlackDriver]:
        from bot.policy import load_policy

        path = _write_policy(tmp_path / "policy.yaml", **changes)
        load_policy(path)  # a policy the bot refuses would make every test here meaningless
        server = WarroomServer(fake=fake, workdir=tmp_path / "w", policy=path)
        servers.append(server)
        server.start()
        return server, SlackDriver(server, fake)

    try:
        yield start
    finally:
        for server in servers:
            server.stop_showing_log(8000)


# -- reading what happened ---------------------------------------------------------------------


def _about(message: Message, number: int) -> bool:
    payload = (message.metadata or {}).get("event_payload") or {}
    return isinstance(payload, dict) and payload.get("incident") == number


def _dms_about(fake: FakeSlack, user: str, number: int = 1) -> list[Message]:
    return [m for m in fake.dms(user) if _about(m, number)]


def _assert_no_dm_sent_twice(fake: FakeSlack) -> None:
    """Every DM carries metadata unique to its job and purpose: none may appear twice."""
    for user in PEOPLE:
        kinds = [
            str(((m.metadata or {}).get("event_payload") or {}).get("kind")) for m in fake.dms(user)
        ]
        assert len(kinds) == len(set(kinds)), (user, [m.text for m in fake.dms(user)])


def _unsettled(server: WarroomServer) -> int:
    return unsettled(server)


def _wait_settled(server: WarroomServer, timeout: float = RECOVERY_TIMEOUT) -> None:
    wait_for(
        lambda: _unsettled(server) == 0,
        what="every job to be settled (none pending or running)",
        timeout=timeout,
    )


def _timeline(server: WarroomServer, number: int = 1) -> list[tuple[str, str]]:
    rows = db_rows(
        server,
        "select kind, text from timeline_events where incident_number = ? order by id",
        number,
    )
    return [(str(kind), str(text)) for kind, text in rows]


def _job(server: WarroomServer, key: str) -> tuple[str, int, str | None]:
    rows = db_rows(server, "select state, attempts, last_error from jobs where key = ?", key)
    assert len(rows) == 1, f"no job {key}: {db_rows(server, 'select key, state from jobs')}"
    state, attempts, last_error = rows[0]
    return str(state), int(attempts), last_error


def _status(server: WarroomServer, number: int = 1) -> str:
    return str(db_rows(server, "select status from incidents where number = ?", number)[0][0])


# -- 1. kill -9 after a DM landed, its answer lost ---------------------------------------------


@dataclass(frozen=True)
class DmCase:
    user: str  # whose DM is held, then lands while the bot is dead
    severity: str  # of the declaration
    command: str | None  # typed by the declarer in the incident channel once provisioned
    says: str  # in the DM's text
    counts: Callable[[Message], bool] = lambda m: True  # which DMs must be there exactly once


DM_CASES = {
    "declarer_ready": DmCase(
        "U_ALICE", "P2", None, "is declared", counts=lambda m: "is declared" in m.text
    ),
    "declaration_notify": DmCase("U_CAROL", "P1", None, "INC-1 declared"),
    "role_assigned": DmCase("U_ERIN", "P2", "assign scribe <@U_ERIN>", "Scribe"),
    "severity_upgrade": DmCase("U_DAVE", "P2", "severity P1", "is now"),
}


@pytest.mark.parametrize("case", list(DM_CASES.values()), ids=list(DM_CASES))
def test_killed_after_a_dm_landed_it_is_sent_once(
    boot: Boot, fake: FakeSlack, case: DmCase
) -> None:
    server, slack = boot()

    def is_the_dm(args: dict[str, Any]) -> bool:
        return args.get("channel") == case.user

    if case.command is None:
        hold = fake.hold("chat.postMessage", where=is_the_dm)
        declare(slack, fake, "U_ALICE", {"Title": "Disk full", "Severity": case.severity})
    else:
        declare(slack, fake, "U_ALICE", {"Title": "Disk full", "Severity": case.severity})
        channel = wait_provisioned(fake, 1)
        _wait_settled(server, timeout=20)
        assert _dms_about(fake, case.user) == []  # the command's DM is the first one
        hold = fake.hold("chat.postMessage", where=is_the_dm)
        reply = slack.slash("U_ALICE", case.command, channel=channel.id)
        assert reply.status == 200, reply.text
    assert hold.wait_arrived(10), "the DM was never sent"
    server.kill()
    hold.release()  # the DM lands, but its answer never reaches the bot
    wait_for(lambda: len(fake.dms(case.user)) >= 1, what="the held DM to land", timeout=5)

    server.start()
    _wait_settled(server)
    wait_provisioned(fake, 1, timeout=5)
    # The clock and the digest wait for their time.
    finished = "select state from jobs where kind not in ('clock', 'digest')"
    assert set(db_rows(server, finished)) == {("done",)}, db_rows(
        server, "select key, state, last_error from jobs"
    )
    sent = [m for m in _dms_about(fake, case.user) if case.counts(m)]
    assert len(sent) == 1, [m.text for m in fake.dms(case.user)]
    assert case.says in sent[0].text
    # The job that sent it was taken over once after the lease ran out, and recognised it.
    job_key = str((sent[0].metadata or {})["event_payload"]["kind"]).split("#")[0]
    assert _job(server, job_key)[:2] == ("done", 2)
    if case.user == "U_DAVE":  # the upgrade's other DM, sent before the crash: also once
        assert len(_dms_about(fake, "U_CAROL")) == 1
    if case.user == "U_CAROL":  # the declaration's other notify DM: also once
        assert len(_dms_about(fake, "U_DAVE")) == 1
    _assert_no_dm_sent_twice(fake)


# -- 2. archiving a closed incident's channel ------------------------------------------------


def _resolve_and_close(
    slack: SlackDriver, fake: FakeSlack, server: WarroomServer, cid: str
) -> None:
    assert slack.slash("U_ALICE", "resolve", channel=cid).status == 200
    view = wait_for(
        lambda: next(
            (
                dict(v.payload)
                for v in fake.views("U_ALICE")
                if v.payload.get("callback_id") == "incident_resolve"
            ),
            None,
        ),
        what="the resolve modal",
        timeout=5,
    )
    values = fill_modal(view, {"Resolution summary": "Freed disk space"})
    assert slack.view_submission("U_ALICE", view, values).status == 200
    wait_for(lambda: _status(server) == "resolved", what="INC-1 resolved", timeout=10)
    assert slack.slash("U_ALICE", "close", channel=cid).status == 200
    wait_for(lambda: _status(server) == "closed", what="INC-1 closed", timeout=10)


def _archive_calls(fake: FakeSlack, cid: str) -> list[Any]:
    return [c for c in fake.calls("conversations.archive") if c.args.get("channel") == cid]


def test_closed_incident_channel_is_archived_once(boot: Boot, fake: FakeSlack) -> None:
    server, slack = boot(archive_after="2s")
    declare(slack, fake, "U_ALICE", {"Title": "Disk full", "Severity": "P2"})
    cid = wait_provisioned(fake, 1).id
    _resolve_and_close(slack, fake, server, cid)

    wait_for(lambda: fake.channel(cid).is_archived, what="the channel archived", timeout=30)
    wait_for(
        lambda: job_states(server, "archive") == ["done"], what="the archive job done", timeout=10
    )
    time.sleep(2)  # ticks keep running: nothing more may happen
    assert [c.ok for c in _archive_calls(fake, cid)] == [True]
    archived = [text for kind, text in _timeline(server) if kind == "archived"]
    assert archived == ["Channel archived"]
    assert [kind for kind, _ in _timeline(server) if kind == "slack_failure"] == []
    assert not [m for m in fake.dms("U_ALICE") if "did not work" in m.text]


@pytest.mark.parametrize("private", [False, True], ids=["public", "private"])
def test_archive_refused_is_told_to_the_declarer_once(
    boot: Boot, fake: FakeSlack, private: bool
) -> None:
    server, slack = boot(archive_after="8s")
    answers = {"Title": "Disk full", "Severity": "P2"}
    if private:
        answers["Incident type"] = "security"  # a private channel
    declare(slack, fake, "U_ALICE", answers)
    channel = wait_provisioned(fake, 1, announced=not private)
    assert channel.is_private == private
    cid = channel.id
    _resolve_and_close(slack, fake, server, cid)
    wait_for(
        lambda: _unsettled(server) == 1,  # only the archive, due later, is left
        what="the close's effects delivered",
        timeout=10,
    )
    assert job_states(server, "archive") == ["pending"], "archived before the test removed the bot"
    fake.remove_member(cid, fake.bot_user_id)

    def told() -> list[Message]:
        return [m for m in fake.dms("U_ALICE") if "did not work" in m.text]

    wait_for(told, what="the declarer told that archiving did not work", timeout=30)
    _wait_settled(server, timeout=10)
    time.sleep(3)  # ticks keep running: nobody is told twice, nothing is retried
    (notice,) = told()
    assert "INC-1" in notice.text
    assert "Archiving" in notice.text
    assert "not_in_channel" in notice.text
    assert not fake.channel(cid).is_archived
    assert [(c.ok, c.error) for c in _archive_calls(fake, cid)] == [(False, "not_in_channel")]
    state, attempts, last_error = _job(server, "archive:1")
    assert (state, attempts) == ("failed", 1)
    assert "not_in_channel" in str(last_error)
    timeline = _timeline(server)
    assert [kind for kind, _ in timeline if kind == "archived"] == []
    failures = [text for kind, text in timeline if kind == "slack_failure"]
    assert len(failures) == 1, timeline
    assert "Archiving" in failures[0]
    assert job_states(server, "notice") == ["done"]
    _assert_no_dm_sent_twice(fake)


# -- 3. Slack refuses a provisioning step for good ----------------------------------------------


def test_refused_topic_is_not_retried_and_told_once(boot: Boot, fake: FakeSlack) -> None:
    server, slack = boot()
    fake.fail_next("conversations.setTopic", error="missing_scope")
    declare(slack, fake, "U_ALICE", {"Title": "Disk full", "Severity": "P2"})
    channel = wait_provisioned(fake, 1)  # panel pinned, announced
    wait_for(
        lambda: job_states(server, "provision") == ["done"],
        what="the provisioning job done",
        timeout=20,
    )
    _wait_settled(server, timeout=10)
    time.sleep(2)  # ticks keep running: the topic is not tried again
    assert len(fake.calls("conversations.setTopic")) == 1
    assert fake.channel(channel.id).topic == ""
    steps = provisioning(server, 1)
    assert steps.pop("set_topic") == "failed"
    assert set(steps.values()) == {"done"}
    assert {"create_channel", "invite", "post_panel", "pin_panel", "announce"} <= set(steps)
    failures = [text for kind, text in _timeline(server) if kind == "slack_failure"]
    assert len(failures) == 1, _timeline(server)
    assert "topic" in failures[0]
    assert "missing_scope" in failures[0]
    (dm,) = _dms_about(fake, "U_ALICE")
    assert "not done" in dm.text
    assert "Slack refused it (missing_scope)" in dm.text
    assert "topic" in dm.text.lower()


# -- 4. Slack acts, then answers 500 --------------------------------------------------------


def test_announcement_answered_500_after_posting_is_recognised(boot: Boot, fake: FakeSlack) -> None:
    server, slack = boot()
    announce_id = fake.channel_id("incident-response")
    announce = ("#incident-response", "incident-response", announce_id)

    def is_announcement(args: dict[str, Any]) -> bool:
        return args.get("channel") in announce

    fake.fail_after("chat.postMessage", status=500, where=is_announcement)
    declare(slack, fake, "U_ALICE", {"Title": "Disk full", "Severity": "P2"})
    wait_provisioned(fake, 1)
    wait_for(
        lambda: job_states(server, "provision") == ["done"],
        what="the provisioning job done after its retry",
        timeout=30,
    )
    _wait_settled(server, timeout=10)
    (announcement,) = metadata_posts(fake.channel("incident-response"), "announcement", 1)
    posts = [c for c in fake.calls("chat.postMessage") if is_announcement(c.args)]
    assert [(c.status, c.applied) for c in posts] == [(500, True)]  # found again, not reposted
    stored = db_rows(server, "select announcement_channel_id, announcement_ts from incidents")
    assert stored == [(announce_id, announcement.ts)]
    _state, attempts, _error = _job(server, "provision:1")
    assert attempts >= 2
    assert provisioning(server, 1).get("announce") == "done"
    ready = [m.text for m in _dms_about(fake, "U_ALICE") if "is declared" in m.text]
    assert len(ready) == 1, [m.text for m in fake.dms("U_ALICE")]
    _assert_no_dm_sent_twice(fake)


def test_a_failed_attempt_leaves_nothing_running_behind_it(boot: Boot, fake: FakeSlack) -> None:
    """When provisioning's last wave fails transiently, the pin started with it must finish
    (or be stopped) before the job is handed back: no attempt works without its lease."""
    server, slack = boot()
    announce_id = fake.channel_id("incident-response")

    def is_announcement(args: dict[str, Any]) -> bool:
        return args.get("channel") in ("#incident-response", "incident-response", announce_id)

    fake.fail_after("chat.postMessage", status=500, where=is_announcement)
    pin = fake.hold("pins.add")  # the first attempt's pin is in flight when it fails
    declare(slack, fake, "U_ALICE", {"Title": "Disk full", "Severity": "P2"})
    assert pin.wait_arrived(10)
    wait_for(
        lambda: any("delayed" in m.text for m in fake.dms("U_ALICE")),
        what="the declarer told the announcement is delayed",
        timeout=10,
    )
    time.sleep(4)  # longer than the 2 s backoff: a second attempt could start meanwhile
    pin.release()
    wait_provisioned(fake, 1, timeout=20)
    wait_for(
        lambda: job_states(server, "provision") == ["done"],
        what="the provisioning job done",
        timeout=20,
    )
    _wait_settled(server, timeout=10)
    calls = [(c.status, c.error, c.ok) for c in fake.calls("pins.add")]
    assert len(calls) == 1, f"the panel was pinned by two attempts at once: {calls}"
