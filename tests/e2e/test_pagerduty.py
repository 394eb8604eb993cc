"""Paging PagerDuty end to end: `warroom serve` with a policy that pages, signed Slack requests,
the fake Slack and the fake PagerDuty (tests/fakepagerduty.py).

A P1 is triggered once with the documented fields, acknowledged and resolved once each; a 500
(before or after PagerDuty acted) is retried into one PagerDuty incident; a 400 is not retried
and told once in the incident channel; a P3, a drill and a private incident's title never reach
PagerDuty; a double-clicked acknowledge is one event; an acknowledge never overtakes its
trigger; a slow Slack delays the page a moment (for the channel link), a stuck one no longer;
without a routing key the commander is told once.

One server (with one fake Slack and one fake PagerDuty) serves the module: each test declares
its own incidents (their numbers come from the database), and between tests every job is left
settled and the fake PagerDuty is reset. Only the routing-key test starts a server of its own.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.policy import load_policy
from sandbox.slack import FakeSlack
from sandbox.slack.records import ChannelView
from tests.e2e.driver import REPO_ROOT, SlackDriver, WarroomServer, fill_modal, wait_for
from tests.e2e.incidents import (
    db_rows,
    declare,
    open_declare_form,
    panel_messages,
    unsettled,
    wait_provisioned,
)
from tests.fakepagerduty import FakePagerDuty

ROUTING_KEY = "R0UT1NGKEY0F0RWARR00MTESTS00001"  # 32 characters, as PagerDuty's are
DEFAULT_POLICY = REPO_ROOT / "bot" / "policy" / "default.yaml"
TEAM_ID = "T_FAKE"  # the fake Slack's auth.test `team_id`
TEAM_URL = "https://fake.slack.com/"  # and its `url`


def _write_policy(path: Path) -> Path:
    """The built-in policy, paging PagerDuty for P1 (default PagerDuty severity) and P2 (with
    `pagerduty_severity: warning`); P3 and P4 never page. No escalation chains and no notify
    targets the fake workspace lacks (@eng-lead, #engineering …)."""
    policy = yaml.safe_load(DEFAULT_POLICY.read_text("utf-8"))
    for severity in policy["severities"]:
        severity.pop("escalation", None)
        if severity["id"] == "P1":
            severity["notify"] = ["#leadership", "pagerduty"]
        elif severity["id"] == "P2":
            severity["notify"] = ["pagerduty"]
            severity["pagerduty_severity"] = "warning"
        else:
            severity["notify"] = []
    path.write_text(yaml.safe_dump(policy, sort_keys=False), "utf-8")
    return path


@dataclass
class Paging:
    fake: FakeSlack
    pagerduty: FakePagerDuty
    server: WarroomServer
    slack: SlackDriver


@pytest.fixture(scope="module")
def paging(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Paging]:
    """One fake Slack, one fake PagerDuty and one `warroom serve` for the module."""
    tmp = tmp_path_factory.mktemp("pagerduty")
    policy = _write_policy(tmp / "policy.yaml")
    load_policy(policy)  # a policy the bot refuses would make every test here meaningless
    with FakePagerDuty() as pagerduty:
        fake = FakeSlack()
        fake.start()
        server = WarroomServer(
            fake=fake,
            workdir=tmp / "w",
            policy=policy,
            extra_env={"PAGERDUTY_ROUTING_KEY": ROUTING_KEY, "PAGERDUTY_EVENTS_URL": pagerduty.url},
        )
        try:
            server.start()
            yield Paging(fake, pagerduty, server, SlackDriver(server, fake))
        finally:
            server.stop_showing_log(8000)
            fake.stop()


@pytest.fixture(autouse=True)
def _settled(paging: Paging) -> Iterator[None]:
    """Each test starts from a quiet PagerDuty and leaves every job settled and no rule broken."""
    paging.pagerduty.reset()
    yield
    wait_for(lambda: unsettled(paging.server) == 0, what="every job to settle", timeout=20)
    assert paging.pagerduty.take_violations() == []
    assert paging.fake.take_violations() == [], "the bot broke Slack's rules"
    paging.pagerduty.reset()


# -- helpers ----------------------------------------------------------------------------------


def _number(server: WarroomServer, title: str) -> int:
    """The number of the incident declared with `title` (each test uses its own titles)."""
    rows: list[tuple[Any, ...]] = wait_for(
        lambda: db_rows(server, "select number from incidents where title = ?", title),
        what=f"the incident {title!r}",
        timeout=5,
    )
    ((number,),) = rows
    return int(number)


def _declare(
    paging: Paging, title: str, severity: str, *, user: str = "U_ALICE", **answers: Any
) -> tuple[int, ChannelView]:
    declare(paging.slack, paging.fake, user, {"Title": title, "Severity": severity, **answers})
    number = _number(paging.server, title)
    private = "Incident type" in answers
    channel = wait_provisioned(paging.fake, number, announced=not private)
    return number, channel


def _key(number: int) -> str:
    return f"warroom-{TEAM_ID}-{number}"


def _sent(pagerduty: FakePagerDuty, key: str, action: str | None = None) -> list[dict[str, Any]]:
    """The requests that reached the fake for `key` (whatever they were answered)."""
    return [
        r.body
        for r in pagerduty.requests
        if isinstance(r.body, dict)
        and r.body.get("dedup_key") == key
        and (action is None or r.body.get("event_action") == action)
    ]


def _accepted(pagerduty: FakePagerDuty, key: str) -> list[str]:
    return [e["event_action"] for e in pagerduty.events if e.get("dedup_key") == key]


def _page_timeline(server: WarroomServer, number: int) -> list[str]:
    rows = db_rows(
        server,
        "select text from timeline_events where incident_number = ? and text like 'PagerDuty:%'"
        " order by id",
        number,
    )
    return [text for (text,) in rows]


def _page_jobs(server: WarroomServer, number: int) -> dict[str, tuple[str, int]]:
    """{action: (state, attempts)} of the incident's `page` jobs."""
    rows = db_rows(
        server, "select key, state, attempts from jobs where kind = 'page' and incident_number = ?",
        number,
    )  # fmt: skip
    return {key.rsplit(":", 1)[-1]: (state, attempts) for key, state, attempts in rows}


def _wait_accepted(paging: Paging, key: str, actions: list[str]) -> None:
    wait_for(
        lambda: _accepted(paging.pagerduty, key) == actions,
        what=f"PagerDuty to have {actions} for {key} (has {_accepted(paging.pagerduty, key)})",
        timeout=15,
    )


def _resolve(paging: Paging, channel: ChannelView, user: str = "U_ALICE") -> None:
    """`/incident resolve` and its modal (this one: the module's fake Slack keeps older ones)."""
    seen = {v.payload["id"] for v in paging.fake.views(user)}
    assert paging.slack.slash(user, "resolve", channel=channel.id).status == 200
    view: dict[str, Any] = wait_for(
        lambda: next(
            (
                dict(v.payload)
                for v in paging.fake.views(user)
                if v.payload.get("callback_id") == "incident_resolve"
                and v.payload["id"] not in seen
            ),
            None,
        ),
        what="the resolve modal",
        timeout=5,
    )
    values = fill_modal(view, {"Resolution summary": "Rolled back"})
    assert paging.slack.view_submission(user, view, values).status == 200


def _texts(fake: FakeSlack, channel_id: str) -> list[str]:
    return [m.text for m in fake.channel(channel_id).messages]


# -- the tests -------------------------------------------------------------------------------


def test_a_p1_is_triggered_acknowledged_and_resolved_once_each(paging: Paging) -> None:
    title = "Payments API down"
    number, channel = _declare(paging, title, "P1")
    key = _key(number)
    _wait_accepted(paging, key, ["trigger"])

    (trigger,) = _sent(paging.pagerduty, key)
    assert trigger["routing_key"] == ROUTING_KEY
    assert trigger["event_action"] == "trigger"
    assert trigger["dedup_key"] == f"warroom-{paging.fake.team_id}-{number}"
    payload = trigger["payload"]
    assert payload["summary"] == f"INC-{number} [P1] {title}"
    assert len(payload["summary"]) <= 1024
    assert payload["source"] == "warroom"
    assert payload["severity"] == "critical"  # the most severe, no pagerduty_severity
    assert trigger["links"] == [
        {"href": f"{TEAM_URL}archives/{channel.id}", "text": f"INC-{number} in Slack"}
    ]
    incident = paging.pagerduty.incident(key)
    assert (incident.status, incident.trigger_count) == ("triggered", 1)
    wait_for(
        lambda: _page_timeline(paging.server, number) == ["PagerDuty: trigger"],
        what="the trigger on the timeline",
    )

    # Acknowledge with the panel's button.
    (panel,) = panel_messages(paging.fake.channel(channel.id))
    click = {"action_id": "incident_ack", "value": str(number), "type": "button"}
    reply = paging.slack.block_action("U_BOB", click, channel=channel.id, message_ts=panel.ts)
    assert reply.status == 200
    _wait_accepted(paging, key, ["trigger", "acknowledge"])
    assert paging.pagerduty.incident(key).status == "acknowledged"
    (ack,) = _sent(paging.pagerduty, key, "acknowledge")
    assert ack == {"routing_key": ROUTING_KEY, "event_action": "acknowledge", "dedup_key": key}

    # Resolve with `/incident resolve` and its modal.
    _resolve(paging, channel)
    _wait_accepted(paging, key, ["trigger", "acknowledge", "resolve"])
    (resolve,) = _sent(paging.pagerduty, key, "resolve")
    assert resolve == {"routing_key": ROUTING_KEY, "event_action": "resolve", "dedup_key": key}
    assert paging.pagerduty.incident(key).history == ["triggered", "acknowledged", "resolved"]
    assert len(paging.pagerduty.all_incidents) == 1

    wait_for(
        lambda: (
            _page_timeline(paging.server, number)
            == ["PagerDuty: trigger", "PagerDuty: acknowledge", "PagerDuty: resolve"]
        ),
        what="one timeline event per page",
    )
    assert _page_jobs(paging.server, number) == {
        "trigger": ("done", 1),
        "acknowledge": ("done", 1),
        "resolve": ("done", 1),
    }


def test_the_policys_pagerduty_severity_is_sent(paging: Paging) -> None:
    number, _channel = _declare(paging, "Search slow everywhere", "P2")
    _wait_accepted(paging, _key(number), ["trigger"])
    (trigger,) = _sent(paging.pagerduty, _key(number))
    assert trigger["payload"]["severity"] == "warning"  # P2's pagerduty_severity, not "error"
    assert trigger["payload"]["summary"] == f"INC-{number} [P2] Search slow everywhere"


def _only(title: str) -> Callable[[Any], bool]:
    """A fault for this incident's trigger only."""
    return lambda body: isinstance(body, dict) and title in json.dumps(body)


def test_a_500_is_retried_into_one_pagerduty_incident(paging: Paging) -> None:
    """500 before PagerDuty acted (`fail_next`), or after it acted and the answer was lost
    (`fail_after`): the retry carries the same dedup_key, so PagerDuty has one incident each,
    and nobody is told of a failure. (Both at once: their backoffs overlap.)"""
    titles = {"before": "Checkout errors (lost request)", "after": "Checkout errors (lost answer)"}
    paging.pagerduty.fail_next(1, 500, where=_only(titles["before"]))
    paging.pagerduty.fail_after(1, 500, where=_only(titles["after"]))
    declared = {fault: _declare(paging, title, "P1") for fault, title in titles.items()}
    for number, _channel in declared.values():
        wait_for(lambda n=number: _page_jobs(paging.server, n).get("trigger") == ("done", 2),
                 what=f"INC-{number}'s trigger delivered on its retry", timeout=15)  # fmt: skip

    for fault, (number, channel) in declared.items():
        key = _key(number)
        answers = [
            (r.status, r.outcome)
            for r in paging.pagerduty.requests
            if isinstance(r.body, dict) and r.body.get("dedup_key") == key
        ]
        if fault == "before":
            assert answers == [(500, "fault"), (202, "created")]
            assert _accepted(paging.pagerduty, key) == ["trigger"]
        else:
            assert answers == [(500, "created"), (202, "deduplicated")]
            assert _accepted(paging.pagerduty, key) == ["trigger", "trigger"]
        (incident,) = [i for i in paging.pagerduty.all_incidents if i.dedup_key == key]
        assert incident.trigger_count == (1 if fault == "before" else 2)
        assert incident.status == "triggered"
        # Both attempts sent the same event (the timestamp is taken per attempt).
        first, second = (dict(body, payload={**body["payload"], "timestamp": None})
                         for body in _sent(paging.pagerduty, key))  # fmt: skip
        assert first == second
        assert _page_timeline(paging.server, number) == ["PagerDuty: trigger"]
        # Not a failure anybody is told about.
        assert not [t for t in _texts(paging.fake, channel.id) if "PagerDuty" in t]
        failed = db_rows(
            paging.server,
            "select count(*) from timeline_events where incident_number = ? "
            "and kind = 'slack_failure'",
            number,
        )
        assert failed == [(0,)]
    assert len(paging.pagerduty.all_incidents) == 2


def test_a_400_is_not_retried_and_told_once_in_the_channel(paging: Paging) -> None:
    title = "Ledger mismatch"
    paging.pagerduty.fail_next(1, 400, where=_only(title))
    number, channel = _declare(paging, title, "P1")
    wait_for(lambda: _page_jobs(paging.server, number).get("trigger", ("",))[0] == "failed",
             what="the trigger to be given up", timeout=15)  # fmt: skip
    told = wait_for(
        lambda: [t for t in _texts(paging.fake, channel.id) if "PagerDuty" in t],
        what="the notice in the incident channel",
    )
    (notice,) = told
    assert f"INC-{number}" in notice
    assert "Paging PagerDuty (trigger) did not work" in notice
    assert "PagerDuty refused the event (400" in notice
    assert "PAGERDUTY_ROUTING_KEY" in notice
    assert "won't retry" in notice

    # Never retried (a failed job is never due again), never reported as a success.
    assert _page_jobs(paging.server, number) == {"trigger": ("failed", 1)}
    assert [(r.status, r.outcome) for r in paging.pagerduty.requests] == [(400, "fault")]
    assert paging.pagerduty.all_incidents == []
    assert _page_timeline(paging.server, number) == []
    assert len([t for t in _texts(paging.fake, channel.id) if "PagerDuty" in t]) == 1
    assert not [m for m in paging.fake.dms("U_ALICE") if "PagerDuty" in m.text]
    ((failure,),) = db_rows(
        paging.server,
        "select text from timeline_events where incident_number = ? and kind = 'slack_failure'",
        number,
    )
    assert "PagerDuty refused the event" in failure

    # Never paged: acknowledging and resolving send nothing and claim nothing.
    assert paging.slack.slash("U_BOB", "ack", channel=channel.id).status == 200
    _resolve(paging, channel)
    wait_for(
        lambda: (
            _page_jobs(paging.server, number)
            == {"trigger": ("failed", 1), "acknowledge": ("done", 1), "resolve": ("done", 1)}
        ),
        what="the acknowledge and resolve jobs to finish",
    )
    assert len(paging.pagerduty.requests) == 1
    assert _page_timeline(paging.server, number) == []
    assert len([t for t in _texts(paging.fake, channel.id) if "PagerDuty" in t]) == 1


def test_a_p3_is_not_paged(paging: Paging) -> None:
    number, _channel = _declare(paging, "Typo on the pricing page", "P3")
    wait_for(lambda: unsettled(paging.server) == 0, what="every job to settle")
    # No page job at all: nothing can ever be sent for it.
    assert _page_jobs(paging.server, number) == {}
    assert paging.pagerduty.requests == []


def test_a_drill_is_not_paged(paging: Paging) -> None:
    _reply, view = open_declare_form(paging.slack, paging.fake, "U_ALICE", "drill Failover drill")
    assert view["title"]["text"] == "Declare drill"
    paging.slack.view_submission("U_ALICE", view, fill_modal(view, {"Severity": "P1"}))
    number = _number(paging.server, "Failover drill")
    wait_provisioned(paging.fake, number, announced=False)
    wait_for(lambda: unsettled(paging.server) == 0, what="every job to settle")
    # No page job at all: nothing can ever be sent for it.
    assert _page_jobs(paging.server, number) == {}
    assert paging.pagerduty.requests == []


def test_a_private_incident_is_paged_without_its_title(paging: Paging) -> None:
    title = "Customer tokens leaked via debug endpoint"
    number, channel = _declare(paging, title, "P1", **{"Incident type": "security"})
    assert channel.is_private
    key = _key(number)
    _wait_accepted(paging, key, ["trigger"])
    (trigger,) = _sent(paging.pagerduty, key)
    assert trigger["payload"]["summary"] == f"INC-{number} [P1] (private incident)"
    sent = json.dumps(trigger)
    for word in ("tokens", "leaked", "debug"):
        assert word not in sent.lower()


def test_a_double_clicked_acknowledge_is_one_event(paging: Paging) -> None:
    number, channel = _declare(paging, "Queue backlog growing", "P1")
    key = _key(number)
    _wait_accepted(paging, key, ["trigger"])
    (panel,) = panel_messages(paging.fake.channel(channel.id))
    click = {"action_id": "incident_ack", "value": str(number), "type": "button"}
    for _ in range(2):  # a double click, or Slack retrying the same click
        paging.slack.block_action("U_BOB", click, channel=channel.id, message_ts=panel.ts)
    assert paging.slack.slash("U_CAROL", "ack", channel=channel.id).status == 200  # late
    _wait_accepted(paging, key, ["trigger", "acknowledge"])
    wait_for(lambda: unsettled(paging.server) == 0, what="every job to settle")
    # One job per incident and action, and it is done: nothing else can come.
    assert _page_jobs(paging.server, number) == {
        "trigger": ("done", 1),
        "acknowledge": ("done", 1),
    }
    assert _accepted(paging.pagerduty, key) == ["trigger", "acknowledge"]
    assert len(_sent(paging.pagerduty, key, "acknowledge")) == 1
    assert db_rows(
        paging.server, "select acknowledged_by from incidents where number = ?", number
    ) == [("U_BOB",)]
    assert _page_timeline(paging.server, number) == ["PagerDuty: trigger", "PagerDuty: acknowledge"]


def test_an_acknowledge_while_the_trigger_is_retried_follows_it(paging: Paging) -> None:
    """Acknowledged in Slack while PagerDuty's throttling (429, Retry-After: 1) has the trigger
    waiting for its retry: the acknowledge waits for the trigger (sent first, PagerDuty would
    ignore it, and the retried trigger would open an incident nobody acknowledges)."""
    title = "Acked during the retry"
    paging.pagerduty.fail_next(1, 429, retry_after=1, where=_only(title))
    number, channel = _declare(paging, title, "P1")
    key = _key(number)
    wait_for(lambda: _sent(paging.pagerduty, key, "trigger"), what="the first trigger")
    assert paging.slack.slash("U_BOB", "ack", channel=channel.id).status == 200
    _wait_accepted(paging, key, ["trigger", "acknowledge"])
    answers = [(r.body["event_action"], r.status, r.outcome) for r in paging.pagerduty.requests]
    assert answers == [
        ("trigger", 429, "fault"),
        ("trigger", 202, "created"),
        ("acknowledge", 202, "acknowledged"),
    ]
    assert paging.pagerduty.incident(key).status == "acknowledged"
    wait_for(
        lambda: (
            _page_timeline(paging.server, number)
            == ["PagerDuty: trigger", "PagerDuty: acknowledge"]
        ),
        what="the timeline",
    )
    assert not [t for t in _texts(paging.fake, channel.id) if "PagerDuty" in t]


def _named(word: str) -> Callable[[dict[str, Any]], bool]:
    """The conversations.create call of the channel whose name has `word`."""
    return lambda args: word in str(args.get("name"))


def test_a_slow_slack_delays_the_page_a_moment_and_a_stuck_one_no_longer(
    paging: Paging,
) -> None:
    """Slack slow to create the channel (1.5 s): the trigger waits for it and links it (sent at
    once, it would race provisioning and often go without the link). Slack stuck: PagerDuty is
    paged anyway, without the link, after a short wait (CHANNEL_WAIT_SECONDS, 3 s)."""
    titles = {"slow": "Slack slow while paging", "stuck": "Slack stuck while paging"}
    holds = {case: paging.fake.hold("conversations.create", where=_named(case)) for case in titles}
    try:
        numbers = {}
        for case, title in titles.items():
            declare(paging.slack, paging.fake, "U_ALICE", {"Title": title, "Severity": "P1"})
            numbers[case] = _number(paging.server, title)
            assert holds[case].wait_arrived(5)
        started = time.monotonic()
        time.sleep(1.5)  # more than a tick: a trigger sent without waiting would be out
        assert paging.pagerduty.requests == []
        holds["slow"].release()
        slow = wait_provisioned(paging.fake, numbers["slow"])
        _wait_accepted(paging, _key(numbers["stuck"]), ["trigger"])
        assert time.monotonic() - started < 5  # 3 s and a tick
    finally:
        for hold in holds.values():
            hold.release()
    (trigger,) = _sent(paging.pagerduty, _key(numbers["slow"]))
    assert trigger["links"][0]["href"] == f"{TEAM_URL}archives/{slow.id}"
    (trigger,) = _sent(paging.pagerduty, _key(numbers["stuck"]))
    assert "links" not in trigger
    assert trigger["payload"]["summary"] == f"INC-{numbers['stuck']} [P1] {titles['stuck']}"
    wait_provisioned(paging.fake, numbers["stuck"])


# -- paging without a routing key: a server of its own -----------------------------------------


def test_without_a_routing_key_the_commander_is_told_once(
    fake_pagerduty: FakePagerDuty,
    tmp_path: Path,
) -> None:
    fake = FakeSlack()
    fake.start()
    policy = _write_policy(tmp_path / "policy.yaml")
    server = WarroomServer(
        fake=fake,
        workdir=tmp_path / "w",
        policy=policy,
        extra_env={"PAGERDUTY_EVENTS_URL": fake_pagerduty.url},  # no PAGERDUTY_ROUTING_KEY
    )
    try:
        server.start()
        slack = SlackDriver(server, fake)
        declare(slack, fake, "U_ALICE", {"Title": "Unconfigured paging", "Severity": "P1"})
        channel = wait_provisioned(fake, 1)
        (notice,) = wait_for(
            lambda: [t for t in _texts(fake, channel.id) if "PagerDuty" in t],
            what="the notice",
        )
        assert "PAGERDUTY_ROUTING_KEY is not set" in notice
        assert slack.slash("U_BOB", "ack", channel=channel.id).status == 200
        wait_for(lambda: unsettled(server) == 0, what="every job to settle")
        assert _page_jobs(server, 1) == {"trigger": ("failed", 1), "acknowledge": ("done", 1)}
        assert len([t for t in _texts(fake, channel.id) if "PagerDuty" in t]) == 1  # once
        assert fake_pagerduty.requests == []
        assert fake.take_violations() == []
    finally:
        server.stop_showing_log()
        fake.stop()
