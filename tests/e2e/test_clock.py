"""The clock end to end, on a seconds-scale policy: update reminders on the cadence (moved by
an update or a snooze, stopped by resolving), the acknowledgement notice and escalation,
post-mortem reminders, a kill -9 and an outage, two replicas on one Postgres."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from sandbox.slack import FakeSlack
from sandbox.slack.records import Message
from tests.e2e.driver import REPO_ROOT, SlackDriver, WarroomServer, fill_modal, wait_for
from tests.e2e.incidents import db_rows, declare, opened_view, wait_provisioned

CADENCE = 4  # seconds between update reminders (P2 and P1)
ON_TIME = 2.0  # a reminder is posted within this long of its due time


def _policy(path: Path) -> Path:
    policy = yaml.safe_load((REPO_ROOT / "bot" / "policy" / "default.yaml").read_text("utf-8"))
    for severity in policy["severities"]:
        severity["notify"] = []
        severity.pop("escalation", None)
        severity.pop("ack_within", None)
        severity["update_every"] = f"{CADENCE}s"
        if severity["id"] == "P1":
            severity["ack_within"] = "4s"
            severity["escalation"] = [
                {"after": "4s", "notify": ["U0ESCONE"]},
                {"after": "8s", "notify": ["U0ESCTWO"]},
            ]
            severity["postmortem"] = {"required": True, "due": "10s", "remind_before": "4s"}
    policy.update(snooze=["10s", "30s"], roles_nudge_after=None, stale_after=None)
    path.write_text(yaml.safe_dump(policy, sort_keys=False), "utf-8")
    return path


def _escalation_people(fake: FakeSlack) -> None:
    """The P1 chain's two people (policy targets need Slack-shaped ids)."""
    fake.add_user(id="U0ESCONE", name="first-escalation")
    fake.add_user(id="U0ESCTWO", name="second-escalation")


@pytest.fixture
def clocked(fake: FakeSlack, tmp_path: Path) -> Iterator[tuple[WarroomServer, SlackDriver]]:
    _escalation_people(fake)
    server = WarroomServer(fake=fake, workdir=tmp_path / "w", policy=_policy(tmp_path / "p.yaml"))
    with server.running():
        yield server, SlackDriver(server, fake)


def _alarms(fake: FakeSlack, channel: str, alarm: str) -> list[tuple[float, Message]]:
    """(slot, message) of every `alarm` message in the channel, oldest first."""
    found = []
    for message in fake.channel(channel).messages:
        kind = str(((message.metadata or {}).get("event_payload") or {}).get("kind", ""))
        parts = kind.split("#")[0].split(":")
        if len(parts) >= 4 and parts[0] == "alarm" and parts[2] == alarm:
            found.append((float(parts[3]), message))
    return found


def _declared(slack: SlackDriver, fake: FakeSlack, title: str, severity: str) -> str:
    """INC-1, declared by U_ALICE (its commander); its channel's id once provisioned."""
    declare(slack, fake, "U_ALICE", {"Title": title, "Severity": severity})
    return wait_provisioned(fake, 1).id


def _declared_at(server: WarroomServer, number: int = 1) -> float:
    [(at,)] = db_rows(server, f"select declared_at from incidents where number = {number}")
    return _epoch(at)


def _epoch(value: Any) -> float:
    from datetime import UTC, datetime

    text = str(value).replace(" ", "T")
    moment = datetime.fromisoformat(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _on_time(slot: float, message: Message) -> None:
    late = float(message.ts) - slot
    assert -0.5 <= late <= ON_TIME, f"posted {late:.2f}s after its due time"


def _wait_resolved(server: WarroomServer) -> None:
    wait_for(
        lambda: db_rows(server, "select status from incidents") == [("resolved",)],
        what="INC-1 resolved",
    )


def _post_update(slack: SlackDriver, fake: FakeSlack, cid: str) -> None:
    assert slack.slash("U_ALICE", "update", channel=cid).status == 200
    view = opened_view(fake, "U_ALICE", "incident_update")
    values = fill_modal(view, {"Impact": "Still failing", "What is being done": "Rolling back"})
    assert slack.view_submission("U_ALICE", view, values).status == 200


def test_update_reminders_follow_the_cadence_until_resolved(
    clocked: tuple[WarroomServer, SlackDriver], fake: FakeSlack
) -> None:
    server, slack = clocked
    cid = _declared(slack, fake, "Checkout failing", "P2")
    declared = _declared_at(server)

    reminders = wait_for(
        lambda: r if len(r := _alarms(fake, cid, "update")) >= 2 else None,
        what="two update reminders",
        timeout=3 * CADENCE + 5,
    )
    assert [slot - declared for slot, _ in reminders] == pytest.approx(
        [CADENCE, 2 * CADENCE], abs=0.01
    )
    for slot, message in reminders:
        _on_time(slot, message)
    assert "<@U_ALICE>" in reminders[-1][1].text  # the commander
    # The older reminder says it was superseded; only the newest has buttons.
    first = wait_for(
        lambda: m if "superseded" in (m := fake.message(cid, reminders[0][1].ts)).text else None,
        what="the older reminder superseded",
    )
    assert "button" not in json.dumps(first.blocks)

    _post_update(slack, fake, cid)
    wait_for(
        lambda: db_rows(server, "select count(*) from status_updates") == [(1,)], what="update"
    )
    [(posted,)] = db_rows(server, "select posted_at from status_updates")
    moved = wait_for(
        lambda: r[2:] if len(r := _alarms(fake, cid, "update")) >= 3 else None,
        what="the reminder after the update",
        timeout=CADENCE + 5,
    )
    assert moved[0][0] == pytest.approx(_epoch(posted) + CADENCE, abs=1.0)

    assert slack.slash("U_ALICE", "resolve", channel=cid).status == 200
    view = opened_view(fake, "U_ALICE", "incident_resolve")
    slack.view_submission("U_ALICE", view, fill_modal(view, {"Resolution summary": "Fixed"}))
    wait_for(
        lambda: db_rows(server, "select status from incidents") == [("resolved",)], what="resolved"
    )
    count = len(_alarms(fake, cid, "update"))
    time.sleep(CADENCE + 1.5)
    assert len(_alarms(fake, cid, "update")) == count  # resolving stopped them


def test_snooze_delays_the_next_reminder_once(
    clocked: tuple[WarroomServer, SlackDriver], fake: FakeSlack
) -> None:
    server, slack = clocked
    cid = _declared(slack, fake, "Checkout failing", "P2")
    [(_slot, reminder)] = wait_for(
        lambda: _alarms(fake, cid, "update") or None, what="the first reminder", timeout=10
    )
    snooze = next(
        element
        for block in reminder.blocks or []
        if block["type"] == "actions"
        for element in block["elements"]
        if element["text"]["text"] == "Snooze 10s"
    )
    clicked = time.time()
    slack.block_action("U_BOB", snooze, channel=cid, message_ts=reminder.ts)
    wait_for(lambda: "snoozed" in fake.message(cid, reminder.ts).text, what="the snoozed note")

    later = wait_for(
        lambda: r[1:] if len(r := _alarms(fake, cid, "update")) >= 2 else None,
        what="the snoozed reminder",
        timeout=15,
    )
    assert later[0][0] == pytest.approx(clicked + 10, abs=1.5)  # not the cadence's next slot
    then = wait_for(
        lambda: r[2:] if len(r := _alarms(fake, cid, "update")) >= 3 else None,
        what="the cadence again",
        timeout=CADENCE + 5,
    )
    assert then[0][0] == pytest.approx(later[0][0] + CADENCE, abs=0.01)
    assert db_rows(server, "select count(*) from timeline_events where text like '%snoozed%'") == [
        (1,)
    ]


def test_unacknowledged_incidents_are_noticed_and_escalated_until_the_ack(
    clocked: tuple[WarroomServer, SlackDriver], fake: FakeSlack
) -> None:
    server, slack = clocked
    cid = _declared(slack, fake, "Payments down", "P1")
    [(slot, notice)] = wait_for(
        lambda: _alarms(fake, cid, "ack") or None, what="the unacknowledged notice", timeout=8
    )
    _on_time(slot, notice)
    assert "Nobody has acknowledged" in notice.text
    wait_for(lambda: fake.dms("U0ESCONE"), what="the first step's DM", timeout=8)
    wait_for(lambda: "U0ESCONE" in fake.channel(cid).members, what="the first step invited")
    assert slack.slash("U_BOB", "ack", channel=cid).status == 200
    time.sleep(max(0.0, _declared_at(server) + 9.5 - time.time()))
    assert fake.dms("U0ESCTWO") == []  # acknowledged before the second step
    assert len(fake.dms("U0ESCONE")) == 1
    assert len(_alarms(fake, cid, "ack")) == 1
    escalated = "select count(*) from timeline_events where kind = 'escalated'"
    assert db_rows(server, escalated) == [(1,)]


def test_post_mortem_reminders_until_it_is_written(
    clocked: tuple[WarroomServer, SlackDriver], fake: FakeSlack
) -> None:
    server, slack = clocked
    cid = _declared(slack, fake, "Payments down", "P1")
    slack.slash("U_ALICE", "ack", channel=cid)
    assert slack.slash("U_ALICE", "resolve", channel=cid).status == 200
    view = opened_view(fake, "U_ALICE", "incident_resolve")
    slack.view_submission("U_ALICE", view, fill_modal(view, {"Resolution summary": "Fixed"}))
    wait_for(
        lambda: db_rows(server, "select status from incidents") == [("resolved",)], what="resolved"
    )
    [(resolved,)] = db_rows(server, "select resolved_at from incidents")

    def reminders() -> list[Message]:
        return [
            m
            for m in fake.dms("U_ALICE")
            if ("post-mortem" in m.text and "is due" in m.text) or "was due" in m.text
        ]

    early = wait_for(lambda: reminders() or None, what="the reminder before", timeout=12)
    assert float(early[0].ts) - _epoch(resolved) == pytest.approx(6, abs=ON_TIME)
    due = wait_for(
        lambda: r if len(r := reminders()) >= 2 else None, what="the reminder at due", timeout=10
    )
    assert float(due[1].ts) - _epoch(resolved) == pytest.approx(10, abs=ON_TIME)
    slack.slash("U_ALICE", "postmortem done <https://docs.example.com/pm/1>", channel=cid)
    wait_for(
        lambda: (
            db_rows(server, "select state from jobs where key = 'clock:1'")
            in ([("cancelled",)], [("done",)])
        ),
        what="the clock to stop",
    )


def test_a_restart_or_an_outage_sends_one_reminder_promptly_never_a_burst(
    clocked: tuple[WarroomServer, SlackDriver], fake: FakeSlack
) -> None:
    server, slack = clocked
    cid = _declared(slack, fake, "Checkout failing", "P2")
    declared = _declared_at(server)
    time.sleep(max(0.0, declared + CADENCE - 2 - time.time()))
    server.kill()  # 2 s before the first reminder is due
    time.sleep(5)
    server.start()
    started = time.time()
    [(slot, first)] = wait_for(
        lambda: _alarms(fake, cid, "update") or None, what="the missed reminder", timeout=5
    )
    assert slot == pytest.approx(declared + CADENCE, abs=0.01)
    assert float(first.ts) - started < ON_TIME  # promptly after the start

    server.kill()
    time.sleep(3 * CADENCE + 1)  # an outage spanning three due times
    server.start()
    started = time.time()
    wait_for(lambda: len(_alarms(fake, cid, "update")) >= 2, what="the overdue reminder", timeout=5)
    time.sleep(CADENCE / 2)
    after = _alarms(fake, cid, "update")
    assert len(after) == 2  # one overdue reminder, not three
    assert float(after[1][1].ts) - started < ON_TIME


@pytest.mark.postgres
def test_two_replicas_remind_and_escalate_exactly_once(fake: FakeSlack, tmp_path: Path) -> None:
    from tests.store.conftest import EmptyDatabases

    databases = EmptyDatabases(tmp_path)
    url = databases.new("postgres")  # skips, visibly, without TEST_DATABASE_URL
    _escalation_people(fake)
    policy = _policy(tmp_path / "p.yaml")
    replicas = [
        WarroomServer(fake=fake, workdir=tmp_path / name, database_url=url, policy=policy)
        for name in ("a", "b")
    ]
    try:
        for replica in replicas:
            replica.start()
        first, second = (SlackDriver(replica, fake) for replica in replicas)
        declare(first, fake, "U_ALICE", {"Title": "Checkout failing", "Severity": "P2"})
        declare(second, fake, "U_BOB", {"Title": "Search slow", "Severity": "P2"})
        declare(first, fake, "U_CAROL", {"Title": "Payments down", "Severity": "P1"})
        channels = [wait_provisioned(fake, n).id for n in (1, 2, 3)]
        time.sleep(2 * CADENCE + ON_TIME + 1)
        for number, cid in enumerate(channels, start=1):
            reminders = _alarms(fake, cid, "update")
            slots = [slot for slot, _ in reminders]
            assert len(slots) == len(set(slots)), f"INC-{number}: a reminder posted twice"
            assert len(slots) >= 2, f"INC-{number}: {len(slots)} reminders"
        assert len(_alarms(fake, channels[2], "ack")) == 1
        assert len(fake.dms("U0ESCONE")) == 1
        assert len(fake.dms("U0ESCTWO")) == 1
    finally:
        for replica in replicas:
            replica.stop()
        databases.close()
