"""Declaring: validation, what is stored, private types, drills, duplicate submissions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import yaml
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

import store
from bot.flows.declare import Declared, DeclareRequest, declare, validate
from bot.flows.provisioning import planned_steps
from bot.policy import Policy, default_policy, policy_from_data
from tests.flows.conftest import NOW, Flows, default_policy_text

PUBLIC_STEPS = [
    "create_channel",
    "set_topic",
    "set_purpose",
    "invite",
    "post_panel",
    "pin_panel",
    "announce",
    "notify",
    "tell_declarer",
]
QUIET_STEPS = [s for s in PUBLIC_STEPS if s not in ("announce", "notify")]


def req(**fields: Any) -> DeclareRequest:
    fields.setdefault("declarer", "U_DECL")
    fields.setdefault("title", "Checkout is down")
    fields.setdefault("severity", "P2")
    return DeclareRequest(**fields)


def errors(**fields: Any) -> dict[str, str]:
    return validate(req(**fields), default_policy(), now=NOW)


# --- validate ---------------------------------------------------------------------------------


def test_a_good_request_has_no_errors() -> None:
    assert errors() == {}
    assert errors(title="x" * 150) == {}
    assert errors(title="  " + "x" * 150 + "  ") == {}  # counted after stripping
    assert errors(started_at=NOW - timedelta(days=1)) == {}
    assert errors(started_at=NOW + timedelta(minutes=2)) == {}  # clock skew tolerance


@pytest.mark.parametrize("title", ["", "   ", "\n\t"])
def test_title_is_required(title: str) -> None:
    assert errors(title=title) == {"title": "Give the incident a title."}


def test_title_length() -> None:
    assert errors(title="x" * 151) == {"title": "Keep the title to 150 characters (it has 151)."}


def test_start_in_the_future() -> None:
    assert errors(started_at=NOW + timedelta(minutes=2, seconds=1)) == {
        "started_at": "The impact cannot start in the future."
    }


def test_unknown_type() -> None:
    assert errors(type_id="meteor") == {"type": "Pick one of the listed incident types."}
    assert errors(type_id="meteor", severity=None) == {
        "type": "Pick one of the listed incident types.",
        "severity": "Pick a severity.",
    }


def test_severity_from_the_type_or_required() -> None:
    assert errors(severity=None, type_id="performance") == {}  # default P2
    assert errors(severity=None, type_id="outage") == {"severity": "Pick a severity."}
    assert errors(severity=None) == {"severity": "Pick a severity."}
    assert errors(severity="P9") == {"severity": "Pick a severity."}


def test_everything_wrong_at_once() -> None:
    assert set(
        errors(title="", type_id="x", severity=None, started_at=NOW + timedelta(hours=1))
    ) == {"title", "type", "severity", "started_at"}


# --- declare ----------------------------------------------------------------------------------


async def stored(
    sessions: async_sessionmaker[AsyncSession], number: int
) -> tuple[store.Incident, dict[str, str], list[store.TimelineEvent], list[str]]:
    async with sessions() as session:
        incident = await store.get_incident(session, number=number)
        roles = await store.current_roles(session, incident_number=number)
        timeline = await store.list_timeline(session, incident_number=number)
        jobs = await store.list_jobs(session, incident_number=number)
    assert incident is not None
    # One provisioning job, due after the request's grace (the request runs it after its
    # ack), and the incident's clock, due at its first alarm (a drill has none: it is quiet).
    clock = [] if incident.drill else [(f"clock:{number}", "clock", "pending")]
    assert sorted((job.key, job.kind, job.state) for job in jobs) == [
        *clock,
        (f"provision:{number}", "provision", "pending"),
    ]
    return incident, roles, timeline, planned_steps(default_policy(), incident)


async def test_declare_stores_the_incident(flows: Flows) -> None:
    request = req(
        title="  Checkout is down ",
        description="  500s everywhere \n",
        affected_services=" checkout, payments ,, ",
        started_at=NOW - timedelta(minutes=15),
        commander="U_IC",
        source_link="https://example.slack.com/archives/C1/p1",
    )
    declared = await declare(
        flows.sessions, flows.policy, request, idempotency_key="view:1", now=NOW
    )
    assert declared == Declared(number=declared.number, duplicate=False)

    incident, roles, timeline, steps = await stored(flows.sessions, declared.number)
    assert incident.title == "Checkout is down"
    assert incident.description == "500s everywhere"
    assert incident.affected_services == ["checkout", "payments"]
    assert (incident.status, incident.severity) == ("investigating", "P2")
    assert (incident.declared_by, incident.declared_at, incident.detected_at) == (
        "U_DECL",
        NOW,
        NOW,
    )
    assert incident.started_at == NOW - timedelta(minutes=15)
    assert (incident.private, incident.drill, incident.type) == (False, False, None)
    assert incident.source_message_link == "https://example.slack.com/archives/C1/p1"
    assert roles == {"commander": "U_IC"}
    assert [(e.kind, e.actor, e.text) for e in timeline] == [
        ("declared", "U_DECL", "Declared as P2")
    ]
    assert sorted(steps) == sorted(PUBLIC_STEPS)
    # Declaring writes the deadlines too.
    p2 = flows.policy.severity("P2")
    assert p2.update_every is not None
    assert p2.ack_within is not None
    assert incident.cadence_from_at == NOW
    assert incident.next_update_due_at == NOW + p2.update_every
    assert incident.ack_due_at == NOW + p2.ack_within
    assert incident.next_escalation_at == (NOW + p2.escalation[0].after if p2.escalation else None)
    assert (incident.postmortem_due_at, incident.archive_at) == (None, None)


async def test_start_within_tolerance_is_clamped_to_now(flows: Flows) -> None:
    request = req(started_at=NOW + timedelta(minutes=1))
    declared = await declare(flows.sessions, flows.policy, request, idempotency_key="k", now=NOW)
    incident, roles, _timeline, _steps = await stored(flows.sessions, declared.number)
    assert incident.started_at == NOW
    assert roles == {"commander": "U_DECL"}  # no commander given: the declarer


@pytest.mark.parametrize("type_id", ["security", "data-privacy"])
async def test_private_types_are_always_private(flows: Flows, type_id: str) -> None:
    request = req(type_id=type_id, severity=None, private=False)
    declared = await declare(flows.sessions, flows.policy, request, idempotency_key="k", now=NOW)
    incident, _roles, _timeline, steps = await stored(flows.sessions, declared.number)
    assert (incident.private, incident.severity, incident.type) == (True, "P1", type_id)
    assert sorted(steps) == sorted(QUIET_STEPS)


async def test_private_on_request(flows: Flows) -> None:
    declared = await declare(
        flows.sessions, flows.policy, req(private=True), idempotency_key="k", now=NOW
    )
    incident, _roles, _timeline, steps = await stored(flows.sessions, declared.number)
    assert incident.private is True
    assert "announce" not in steps
    assert "notify" not in steps


async def test_drill(flows: Flows) -> None:
    declared = await declare(
        flows.sessions, flows.policy, req(drill=True), idempotency_key="k", now=NOW
    )
    incident, _roles, timeline, steps = await stored(flows.sessions, declared.number)
    assert (incident.drill, incident.private) == (True, False)
    assert timeline[0].text == "Declared as P2 (drill)"
    assert sorted(steps) == sorted(QUIET_STEPS)


async def test_duplicate_submission_returns_the_same_incident(flows: Flows) -> None:
    first = await declare(
        flows.sessions, flows.policy, req(title="One"), idempotency_key="view:9", now=NOW
    )
    again = await declare(
        flows.sessions, flows.policy, req(title="Two"), idempotency_key="view:9", now=NOW
    )
    other = await declare(
        flows.sessions, flows.policy, req(title="Three"), idempotency_key="view:10", now=NOW
    )
    assert again == Declared(number=first.number, duplicate=True)
    assert other.duplicate is False
    assert other.number != first.number
    async with flows.sessions() as session:
        titles = [i.title for i in await store.list_incidents(session)]
    assert titles == ["One", "Three"]


async def test_declare_refuses_an_unvalidated_request(flows: Flows) -> None:
    with pytest.raises(ValueError, match="validate"):
        await declare(
            flows.sessions, flows.policy, req(severity="P9"), idempotency_key="k", now=NOW
        )
    async with flows.sessions() as session:
        assert await store.list_incidents(session) == []
        assert await store.get_idempotency_key(session, key="k") is None


# --- planned_steps ----------------------------------------------------------------------------


def policy_with_runbook() -> Policy:
    data: dict[str, Any] = yaml.safe_load(default_policy_text())
    for kind in data["types"]:
        if kind["id"] in ("outage", "security"):
            kind["runbook"] = "https://runbooks.example.com/" + kind["id"]
    return policy_from_data(data)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, PUBLIC_STEPS),
        ({"private": True}, QUIET_STEPS),
        ({"drill": True}, QUIET_STEPS),
        ({"private": True, "drill": True}, QUIET_STEPS),
        ({"type": "outage"}, [*PUBLIC_STEPS[:6], "bookmark_runbook", *PUBLIC_STEPS[6:]]),
        (
            {"type": "security", "private": True},
            [*QUIET_STEPS[:6], "bookmark_runbook", "tell_declarer"],
        ),
    ],
)
def test_planned_steps(fields: dict[str, Any], expected: list[str]) -> None:
    incident = store.Incident(
        title="t", severity="P2", declared_by="U", declared_at=NOW, updated_at=NOW, **fields
    )
    assert planned_steps(policy_with_runbook(), incident) == expected
    if "type" not in fields:
        assert planned_steps(default_policy(), incident) == expected
