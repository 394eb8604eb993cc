"""Declaring survives a crash at the worst moment, a failing Slack and rate limits."""

from __future__ import annotations

from typing import Any

from sandbox.slack import FakeSlack
from tests.e2e.driver import SlackDriver, WarroomServer, wait_for
from tests.e2e.incidents import (
    db_rows,
    declare,
    incident_channels,
    metadata_posts,
    panel_messages,
    provisioning,
    wait_provisioned,
)

# After a SIGKILL the dead process's lease (15 s) must run out before another takes over.
RECOVERY_TIMEOUT = 45


def _assert_exactly_once(fake: FakeSlack, number: int) -> None:
    (channel,) = incident_channels(fake, number)
    assert len(panel_messages(channel)) == 1
    assert len(channel.pins) == 1
    assert len(metadata_posts(fake.channel("incident-response"), "announcement", number)) == 1
    assert len(metadata_posts(fake.channel("leadership"), "notify", number)) == 1


def _dms(fake: FakeSlack, user: str) -> list[str]:
    return [s.text or "" for s in fake.seen_by(user) if s.kind == "dm"]


def test_killed_while_slack_holds_the_channel_creation(
    slack: SlackDriver, fake: FakeSlack, warroom: WarroomServer
) -> None:
    hold = fake.hold("conversations.create")
    submitted = declare(slack, fake, "U_ALICE", {"Title": "Disk full", "Severity": "P1"})
    assert submitted.submit_reply.status == 200
    assert hold.wait_arrived(10)
    warroom.kill()
    hold.release()  # Slack still creates the channel; the bot never hears about it
    wait_for(lambda: incident_channels(fake, 1), what="the held channel creation", timeout=5)
    warroom.start()
    wait_provisioned(fake, 1, timeout=RECOVERY_TIMEOUT)
    _assert_exactly_once(fake, 1)
    assert [c.name for c in fake.channels() if c.name.startswith("inc-1")] == ["inc-1-disk-full"]


def test_killed_while_slack_holds_the_announcement(
    slack: SlackDriver, fake: FakeSlack, warroom: WarroomServer
) -> None:
    announce_id = fake.channel_id("incident-response")

    def is_announcement(args: dict[str, Any]) -> bool:
        return args.get("channel") in ("#incident-response", "incident-response", announce_id)

    hold = fake.hold("chat.postMessage", where=is_announcement)
    declare(slack, fake, "U_ALICE", {"Title": "Queue backlog", "Severity": "P1"})
    assert hold.wait_arrived(10)
    warroom.kill()
    hold.release()  # the announcement lands, but its `ts` never reaches the bot
    wait_for(
        lambda: metadata_posts(fake.channel("incident-response"), "announcement", 1),
        what="the held announcement",
        timeout=5,
    )
    warroom.start()
    wait_provisioned(fake, 1, timeout=RECOVERY_TIMEOUT)
    wait_for(
        lambda: provisioning(warroom, 1).get("announce") == "done",
        what="the announcement step to be recognised as done",
        timeout=RECOVERY_TIMEOUT,
    )
    _assert_exactly_once(fake, 1)
    (announcement,) = metadata_posts(fake.channel("incident-response"), "announcement", 1)
    stored = db_rows(warroom, "select announcement_ts from incidents where number = 1")
    assert stored == [(announcement.ts,)]


def test_slack_failing_and_rate_limiting_delays_but_completes_every_declaration(
    slack: SlackDriver, fake: FakeSlack
) -> None:
    fake.fail_next("conversations.create", 3, status=500, error=None)
    fake.fail_next("chat.postMessage", 2, status=429, retry_after=2)
    for user, title in (("U_ALICE", "Login broken"), ("U_BOB", "Search slow")):
        declare(slack, fake, user, {"Title": title, "Severity": "P1"})
    for number in (1, 2):
        wait_provisioned(fake, number, timeout=40)
        _assert_exactly_once(fake, number)
    # Whoever waited was told, in plain words, what was late and why.
    told = _dms(fake, "U_ALICE") + _dms(fake, "U_BOB")
    assert any("delayed" in text and "Slack" in text for text in told), told
    # …and then that everything is in place.
    wait_for(
        lambda: all(any("is declared" in t for t in _dms(fake, u)) for u in ("U_ALICE", "U_BOB")),
        what="the all-set DMs",
    )
    assert len(fake.calls("conversations.create")) == 5  # 3 failures, then one each
