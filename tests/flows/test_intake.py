"""Alerts read and stored: the three payload shapes, refusals in one line, one incident per
open group however the deliveries race, and a new one once the group's incident is over."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import store
from bot.flows.alerts import AlertError, parse_alert
from bot.flows.intake import AlertIntake, mapped_severity
from bot.flows.metrics import Period, read_metrics
from bot.policy import policy_from_data
from tests.flows.conftest import DECLARER, Flows
from tests.store.conftest import EmptyDatabases


def am(status: str = "firing", key: str = '{}:{alertname="Down"}') -> dict[str, Any]:
    return {
        "version": "4",
        "groupKey": key,
        "status": status,
        "commonLabels": {"alertname": "Down", "severity": "Critical"},
        "commonAnnotations": {},
        "externalURL": "https://am.example",
        "alerts": [
            {
                "status": status,
                "labels": {"alertname": "Down"},
                "annotations": {"summary": "API down", "description": "5xx everywhere"},
                "startsAt": "2025-03-04T11:50:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "javascript:alert(1)",
            }
        ],
    }


def test_alertmanager_payloads_are_read() -> None:
    group = parse_alert("alertmanager", am(), severity_label="severity")
    assert (group.title, group.description, group.severity_value) == (
        "API down",
        "5xx everywhere",
        "Critical",
    )
    assert group.started_at == datetime(2025, 3, 4, 11, 50, tzinfo=UTC)
    assert [what for what, _url in group.links] == ["Silence"]  # javascript: is no link
    assert (group.firing, group.resolved) == (1, 0)
    long_key = parse_alert("alertmanager", am(key="k" * 5000), severity_label="severity")
    assert long_key.group_key.startswith("sha256:")


@pytest.mark.parametrize(
    ("source", "body", "reason"),
    [
        ("alertmanager", [], "the body must be a JSON object"),
        ("alertmanager", {**am(), "status": "odd"}, "status must be firing or resolved"),
        ("alertmanager", {**am(), "alerts": "x"}, "alerts must be a list of objects"),
        ("grafana", {**am(), "groupKey": 3}, "missing groupKey (a string)"),
        ("generic", {"title": " "}, "missing title (a non-empty string)"),
        ("generic", {"title": "x", "severity": 1}, "severity must be a string"),
    ],
)
def test_bad_payloads_are_refused_in_one_line(source: Any, body: Any, reason: str) -> None:
    with pytest.raises(AlertError) as refused:
        parse_alert(source, body, severity_label="severity")
    assert str(refused.value) == reason


def test_severity_labels_map_case_insensitively(flows: Flows) -> None:
    assert mapped_severity(flows.policy, "CRITICAL") == "P1"
    assert mapped_severity(flows.policy, "page-me") is None


async def test_racing_deliveries_open_one_incident(flows: Flows) -> None:
    intake = AlertIntake(sessions=flows.sessions, policy=flows.policy, clock=flows.clock)
    group = parse_alert("alertmanager", am(), severity_label="severity")
    received = await asyncio.gather(*(intake.receive(group, opened_by="U_BOT") for _ in range(6)))
    assert {r.number for r in received} == {1}
    assert sum(r.created for r in received) == 1
    incident = await flows.incident(1)
    assert (incident.status, incident.severity) == ("triage", "P1")
    assert incident.started_at == datetime(2025, 3, 4, 11, 50, tzinfo=UTC)

    # Declined: the group's next firing is a new incident; a resolved delivery alone is not.
    await intake.decline(1, by=DECLARER, reason="flapping")
    again = await intake.receive(group, opened_by="U_BOT")
    assert (again.number, again.created) == (2, True)
    resolved = parse_alert("alertmanager", am("resolved", key="other"), severity_label="severity")
    assert (await intake.receive(resolved, opened_by="U_BOT")).number is None
    async with flows.sessions() as session:
        alert = await store.alert_of_incident(session, incident_number=1)
    assert alert is not None
    assert (alert.is_open, alert.declined_by, alert.decline_reason) == (False, DECLARER, "flapping")


@pytest.fixture(params=["sqlite", "postgres"])
def racing_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    databases = EmptyDatabases(tmp_path)
    url = databases.new(request.param)
    store.upgrade(url)
    yield url
    databases.close()


async def test_replicas_racing_on_one_database_open_one_incident(
    racing_url: str, flows: Flows
) -> None:
    """Two replicas (two engines, as two processes would have) receive the same group at once:
    the unique open-group index lets one incident through (Postgres runs them truly at once)."""
    engines = [store.make_engine(racing_url) for _ in range(2)]
    try:
        intakes = [
            AlertIntake(
                sessions=store.session_factory(engine), policy=flows.policy, clock=flows.clock
            )
            for engine in engines
        ]
        group = parse_alert("alertmanager", am(), severity_label="severity")
        received = await asyncio.gather(
            *(intakes[i % 2].receive(group, opened_by="U_BOT") for i in range(8))
        )
        assert sum(r.created for r in received) == 1
        assert len({r.number for r in received}) == 1
    finally:
        for engine in engines:
            await engine.dispose()


async def test_an_alert_still_in_triage_is_not_counted_as_an_incident(flows: Flows) -> None:
    intake = AlertIntake(sessions=flows.sessions, policy=flows.policy, clock=flows.clock)
    await intake.receive(
        parse_alert("alertmanager", am(), severity_label="severity"), opened_by="U"
    )
    period = Period(
        flows.clock.now() - timedelta(days=1), flows.clock.now() + timedelta(days=1), "t"
    )
    assert (await read_metrics(flows.sessions, flows.policy, period)).overall.count == 0
    await flows.declare(severity="P2")
    assert (await read_metrics(flows.sessions, flows.policy, period)).overall.count == 1


async def test_the_policy_declares_critical_alerts_at_once(flows: Flows) -> None:
    data = flows.policy.model_dump(mode="json")
    data["alerts"] = {
        "severity_map": {"critical": "P1", "warning": "P3"},
        "auto_declare": ["critical"],
    }
    flows.use_policy(policy_from_data(data))
    intake = AlertIntake(sessions=flows.sessions, policy=flows.policy, clock=flows.clock)
    group = parse_alert("alertmanager", am(), severity_label="severity")  # severity Critical
    received = await intake.receive(group, opened_by="U_BOT")
    assert received.jobs == ("alert_message:1", "provision:1")
    incident = await flows.incident(1)
    assert (incident.status, incident.severity, incident.declared_by) == (
        "investigating",
        "P1",
        "U_BOT",
    )
    assert incident.started_at == datetime(2025, 3, 4, 11, 50, tzinfo=UTC)  # the alert's start
    async with flows.sessions() as session:
        roles = await store.current_roles(session, incident_number=1)
        events = await store.list_timeline(session, incident_number=1)
        provision = await store.get_job(session, key="provision:1")
    assert roles == {}  # command is for a human to take (the roles nudge asks)
    assert provision is not None
    assert "Declared as P1 automatically, as the policy says for this alert" in [
        e.text for e in events
    ]
    # Re-sent: the same incident, not declared again.
    again = await intake.receive(group, opened_by="U_BOT")
    assert (again.number, again.created) == (1, False)
    assert [job.startswith("alert_message:1:") for job in again.jobs] == [True]  # an edit
    # A warning is mapped but not declared at once: it waits in triage for a human.
    warning = {**am(key="w"), "commonLabels": {"alertname": "Slow", "severity": "warning"}}
    slow = await intake.receive(
        parse_alert("alertmanager", warning, severity_label="severity"), opened_by="U_BOT"
    )
    assert (await flows.incident(slow.number or 0)).status == "triage"
    assert slow.jobs == ("alert_message:2",)
