"""Alerts in, end to end: Alertmanager, Grafana and generic webhooks against `warroom serve`,
the triage message in the fake Slack, Declare and Decline, de-duplication, refusals."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.slack import FakeSlack
from tests.e2e.driver import SlackDriver, WarroomServer, fill_modal, wait_for
from tests.e2e.incidents import db_rows, opened_view, unsettled, wait_provisioned
from tests.flows.conftest import default_policy_text

TOKEN = "alerts-token-for-tests"
STARTS = "2026-11-30T10:00:00.123456789Z"
GROUP = '{}/{severity="critical"}:{alertname="ProbeFailure"}'


def alertmanager(status: str = "firing", *, firing: int = 1, key: str = GROUP) -> dict[str, Any]:
    alerts = [
        {
            "status": status,
            "labels": {"alertname": "ProbeFailure", "severity": "critical", "instance": f"web-{i}"},
            "annotations": {
                "summary": "Checkout probe failing",
                "description": "HTTP probe <!channel> fails on web",
                "runbook_url": "https://runbooks.example/probe",
            },
            "startsAt": STARTS,
            "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-11-30T11:00:00Z",
            "generatorURL": "https://prometheus.example/graph?g0.expr=up",
            "fingerprint": f"f{i}",
        }
        for i in range(firing)
    ]
    return {
        "version": "4",
        "groupKey": key,
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "warroom",
        "groupLabels": {"alertname": "ProbeFailure"},
        "commonLabels": {"alertname": "ProbeFailure", "severity": "critical"},
        "commonAnnotations": {"summary": "Checkout probe failing"},
        "externalURL": "https://alertmanager.example",
        "alerts": alerts,
    }


def post(
    server: WarroomServer,
    source: str,
    body: Any,
    *,
    token: str | None = TOKEN,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    sent = {"Content-Type": "application/json", **(headers or {})}
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        f"{server.url}/alerts/{source}", data=raw, headers=sent, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


@pytest.fixture
def alerting(fake: FakeSlack, tmp_path: Path) -> Iterator[WarroomServer]:
    server = WarroomServer(
        fake=fake, workdir=tmp_path / "alerting", extra_env={"WARROOM_ALERTS_TOKEN": TOKEN}
    )
    with server.running():
        yield server


def _triage(fake: FakeSlack) -> list[Any]:
    return [m for m in fake.channel("incident-response").messages if "Alert" in m.text]


def _buttons(message: Any) -> dict[str, dict[str, Any]]:
    return {
        e["action_id"]: e
        for b in message.blocks or []
        if b["type"] == "actions"
        for e in b["elements"]
    }


def test_a_firing_group_is_one_triage_incident_then_declared(
    alerting: WarroomServer, fake: FakeSlack
) -> None:
    slack = SlackDriver(alerting, fake)
    started = time.monotonic()
    status, answer = post(alerting, "alertmanager", alertmanager())
    assert (status, answer["incident"], answer["created"]) == (202, 1, True)
    assert time.monotonic() - started < 1
    (message,) = wait_for(lambda: _triage(fake), what="the triage message")
    shown = json.dumps(message.blocks)
    assert "Checkout probe failing" in shown
    assert "&lt;!channel&gt;" in shown  # the sender's text is inert
    assert "https://runbooks.example/probe" in shown
    assert "silences/new" in shown
    assert set(_buttons(message)) == {"alert_declare", "alert_decline"}

    # Alertmanager re-sends the group (repeat_interval, changes, retries): the same incident.
    for firing in (2, 3, 3):
        status, answer = post(alerting, "alertmanager", alertmanager(firing=firing))
        assert (status, answer["incident"], answer["created"]) == (202, 1, False)
    wait_for(
        lambda: "3 firing" in json.dumps(fake.message(message.channel, message.ts).blocks),
        what="the message updated",
    )
    assert len(_triage(fake)) == 1
    assert db_rows(alerting, "select count(*) from incidents") == [(1,)]
    assert db_rows(alerting, "select status from incidents") == [("triage",)]

    # Declare: the form prefilled from the alert (critical → P1), then the channel.
    slack.block_action("U_ALICE", _buttons(message)["alert_declare"], channel=message.channel)
    view = opened_view(fake, "U_ALICE", "declare_incident")
    severity = next(b for b in view["blocks"] if b.get("block_id") == "severity")
    assert severity["element"]["initial_option"]["value"] == "P1"
    slack.view_submission("U_ALICE", view, fill_modal(view, {}))
    channel = wait_provisioned(fake, 1)
    assert channel.name.startswith("inc-1-checkout-probe-failing")
    ((state, started_at, declared_by),) = db_rows(
        alerting, "select status, started_at, declared_by from incidents"
    )
    assert (state, declared_by) == ("investigating", "U_ALICE")
    assert str(started_at).startswith("2026-11-30 10:00:00")  # the alert's startsAt
    wait_for(
        lambda: "Declared as" in json.dumps(fake.message(message.channel, message.ts).blocks),
        what="the triage message to say declared",
    )
    assert "alert_declare" not in _buttons(fake.message(message.channel, message.ts))

    # Resolved alerts: a timeline event, the incident stays open (a human resolves).
    status, _ = post(alerting, "alertmanager", alertmanager("resolved", firing=3))
    assert status == 202
    events = "select text from timeline_events where kind = 'alert' order by id"
    wait_for(
        lambda: ("Alerts resolved (alertmanager)",) in db_rows(alerting, events),
        what="the resolved alerts on the timeline",
    )
    assert db_rows(alerting, "select status from incidents") == [("investigating",)]


def test_declined_then_firing_again_is_a_new_incident(
    alerting: WarroomServer, fake: FakeSlack
) -> None:
    slack = SlackDriver(alerting, fake)
    post(alerting, "alertmanager", alertmanager())
    (message,) = wait_for(lambda: _triage(fake), what="the triage message")
    slack.block_action("U_BOB", _buttons(message)["alert_decline"], channel=message.channel)
    view = opened_view(fake, "U_BOB", "alert_decline_reason")
    values = {"reason": {"reason": {"type": "plain_text_input", "value": "Known flapping probe"}}}
    assert slack.view_submission("U_BOB", view, values).status == 200
    wait_for(
        lambda: (
            "Known flapping probe" in json.dumps(fake.message(message.channel, message.ts).blocks)
        ),
        what="the message to say declined",
    )
    assert db_rows(alerting, "select status from incidents") == [("declined",)]
    status, answer = post(alerting, "alertmanager", alertmanager())
    assert (status, answer["incident"], answer["created"]) == (202, 2, True)


def test_refusals_store_nothing(alerting: WarroomServer, fake: FakeSlack) -> None:
    assert post(alerting, "alertmanager", alertmanager(), token="wrong")[0] == 401
    assert post(alerting, "alertmanager", alertmanager(), token=None)[0] == 401
    assert post(alerting, "alertmanager", b"{not json")[0] == 400
    broken = copy.deepcopy(alertmanager())
    del broken["groupKey"]
    status, answer = post(alerting, "alertmanager", broken)
    assert (status, answer["error"]) == (400, "missing groupKey (a string)")
    assert post(alerting, "generic", {"severity": "critical"})[0] == 400
    assert post(alerting, "alertmanager", b" " * (1024 * 1024 + 10))[0] == 413
    assert post(alerting, "nagios", alertmanager())[0] == 404
    assert db_rows(alerting, "select count(*) from incidents") == [(0,)]
    assert _triage(fake) == []


def test_generic_alerts_take_an_hmac_signature(alerting: WarroomServer, fake: FakeSlack) -> None:
    body = json.dumps(
        {"title": "Disk 95% on db-1", "severity": "warning", "dedup_key": "disk-db-1"}
    )
    good = hmac.new(TOKEN.encode(), body.encode(), hashlib.sha256).hexdigest()
    bad = hmac.new(b"other", body.encode(), hashlib.sha256).hexdigest()
    signed = {"X-Warroom-Signature": f"sha256={bad}"}
    assert post(alerting, "generic", body.encode(), token=None, headers=signed)[0] == 401
    signed = {"X-Warroom-Signature": f"sha256={good}"}
    status, answer = post(alerting, "generic", body.encode(), token=None, headers=signed)
    assert (status, answer["created"]) == (202, True)
    assert (
        post(alerting, "generic", body.encode(), token=None, headers=signed)[1]["created"] is False
    )
    (message,) = wait_for(lambda: _triage(fake), what="the triage message")
    assert "Disk 95% on db-1" in message.text


def test_grafana_alerts_open_a_triage_incident(alerting: WarroomServer, fake: FakeSlack) -> None:
    grafana = {
        **alertmanager(key="grafana-group-1"),
        "version": "1",
        "orgId": 1,
        "title": "[FIRING:1] High latency",
        "state": "alerting",
        "message": "p99 latency above 2s",
    }
    grafana["alerts"][0]["silenceURL"] = "https://grafana.example/alerting/silence/new"
    status, answer = post(alerting, "grafana", grafana)
    assert (status, answer["created"]) == (202, True)
    (message,) = wait_for(lambda: _triage(fake), what="the triage message")
    assert "[FIRING:1] High latency" in json.dumps(message.blocks)
    assert "grafana.example/alerting/silence" in json.dumps(message.blocks)


def test_intake_is_off_without_a_token(warroom: WarroomServer) -> None:
    assert post(warroom, "alertmanager", alertmanager())[0] == 404


@pytest.fixture
def auto_declaring(fake: FakeSlack, tmp_path: Path) -> Iterator[WarroomServer]:
    policy = tmp_path / "policy.yaml"
    text = default_policy_text()
    assert "  auto_declare: []\n" in text
    policy.write_text(text.replace("  auto_declare: []\n", "  auto_declare: [critical]\n"))
    server = WarroomServer(
        fake=fake,
        workdir=tmp_path / "auto",
        policy=policy,
        extra_env={"WARROOM_ALERTS_TOKEN": TOKEN},
    )
    with server.running():
        yield server


def test_the_policy_declares_a_critical_alert_at_once(
    auto_declaring: WarroomServer, fake: FakeSlack
) -> None:
    status, answer = post(auto_declaring, "alertmanager", alertmanager())
    assert (status, answer["incident"], answer["created"]) == (202, 1, True)
    channel = wait_provisioned(fake, 1)
    assert channel.name.startswith("inc-1-checkout-probe-failing")
    ((state, severity, started_at),) = db_rows(
        auto_declaring, "select status, severity, started_at from incidents"
    )
    assert (state, severity) == ("investigating", "P1")
    assert str(started_at).startswith("2026-11-30 10:00:00")
    (message,) = wait_for(lambda: _triage(fake), what="the triage message")
    wait_for(
        lambda: "automatically" in json.dumps(fake.message(message.channel, message.ts).blocks),
        what="the triage message to say declared automatically",
    )
    assert "alert_declare" not in _buttons(fake.message(message.channel, message.ts))
    # Nobody was made commander, and the bot told nobody "all set" (there is no declarer).
    assert db_rows(auto_declaring, "select count(*) from role_assignments") == [(0,)]
    wait_for(lambda: unsettled(auto_declaring) == 0, what="provisioning to finish")
    told = [m.text for c in fake.channels() if c.is_im for m in c.messages]
    assert not any("is declared" in text for text in told), told
    # The same group again: still one incident, no second channel.
    assert post(auto_declaring, "alertmanager", alertmanager(firing=2))[0] == 202
    assert db_rows(auto_declaring, "select count(*) from incidents") == [(1,)]
    assert len([c for c in fake.channels() if c.name.startswith("inc-")]) == 1
