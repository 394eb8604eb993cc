"""Paging PagerDuty (Events API v2) as jobs, against a small PagerDuty stand-in: the trigger's
documented fields, acknowledge and resolve once each, a 500 retried into one delivery, a 400
told to the commander once and not retried."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

import store
from bot.flows.declare import DeclareRequest
from bot.flows.operations import IncidentOperations
from bot.flows.resolution import Resolution
from bot.jobs import JobRunner
from bot.pagerduty import PagerDutySettings
from bot.policy import Policy, parse_policy
from tests.flows.conftest import default_policy_text
from tests.world import World

ROUTING_KEY = "R" * 32


@dataclass
class PagerDuty:
    """Answers like PagerDuty's Events API v2; `answers` are used first (then 202)."""

    events: list[dict[str, Any]] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    url: str = ""

    async def enqueue(self, request: web.Request) -> web.Response:
        status = self.answers.pop(0) if self.answers else 202
        if status != 202:
            return web.json_response({"status": "error", "message": "no"}, status=status)
        event = await request.json()
        self.events.append(event)
        return web.json_response(
            {"status": "success", "message": "Event processed", "dedup_key": event["dedup_key"]},
            status=202,
        )


@pytest.fixture
async def pagerduty() -> AsyncIterator[PagerDuty]:
    fake = PagerDuty()
    app = web.Application()
    app.router.add_post("/v2/enqueue", fake.enqueue)
    server = TestServer(app)
    await server.start_server()
    fake.url = str(server.make_url("/v2/enqueue"))
    yield fake
    await server.close()


def _policy() -> Policy:
    text = default_policy_text().replace(
        'notify: ["#leadership", "@eng-lead", "@cto"]', 'notify: ["#leadership", pagerduty]'
    )
    return parse_policy(text, "paging")


def _runner(world: World, policy: Policy, url: str) -> JobRunner:
    return world.runner(
        policy, pagerduty=PagerDutySettings(routing_key=ROUTING_KEY, events_url=url)
    )


async def _run(world: World, runner: JobRunner, seconds: float) -> None:
    world.later(seconds)
    await runner.tick()
    await runner.drain()


async def _declare_p1(world: World, policy: Policy) -> int:
    request = DeclareRequest(declarer="U_ALICE", title="Payments down", severity="P1")
    return await world.declared(policy, request, channel_id="C0PAGED", members=["U_BOB", "U_CAROL"])


async def test_trigger_acknowledge_resolve_once_each(world: World, pagerduty: PagerDuty) -> None:
    policy = _policy()
    runner = _runner(world, policy, pagerduty.url)
    number = await _declare_p1(world, policy)
    pagerduty.answers = [500]  # PagerDuty in trouble once: retried, delivered once
    await _run(world, runner, 1)
    assert pagerduty.events == []
    await _run(world, runner, 10)
    (trigger,) = pagerduty.events
    assert trigger["routing_key"] == ROUTING_KEY
    assert trigger["event_action"] == "trigger"
    assert trigger["dedup_key"] == f"warroom-{world.gateway.team_id}-{number}"
    assert trigger["payload"]["summary"] == f"INC-{number} [P1] Payments down"
    assert trigger["payload"]["source"] == "warroom"
    assert trigger["payload"]["severity"] == "critical"
    assert trigger["links"][0]["href"].endswith("/archives/C0PAGED")

    ops = IncidentOperations(sessions=world.sessions, policy=policy, clock=world.clock)
    await ops.acknowledge(number, user="U_BOB")
    await ops.acknowledge(number, user="U_CAROL")
    await _run(world, runner, 11)
    resolution = Resolution(sessions=world.sessions, policy=policy, clock=world.clock)
    await resolution.resolve(
        number, by="U_ALICE", summary="Fixed", root_cause=None, impact_ended_at=None
    )
    await _run(world, runner, 11)
    await _run(world, runner, 60)
    actions = [(e["event_action"], e["dedup_key"]) for e in pagerduty.events]
    key = trigger["dedup_key"]
    assert actions == [("trigger", key), ("acknowledge", key), ("resolve", key)]
    async with world.sessions() as session:
        events = await store.list_timeline(session, incident_number=number)
    assert [e.text for e in events if e.text.startswith("PagerDuty")] == [
        "PagerDuty: trigger",
        "PagerDuty: acknowledge",
        "PagerDuty: resolve",
    ]


async def test_a_refused_page_is_told_to_the_commander_once(
    world: World, pagerduty: PagerDuty
) -> None:
    policy = _policy()
    runner = _runner(world, policy, pagerduty.url)
    number = await _declare_p1(world, policy)
    pagerduty.answers = [400, 400, 400]
    for seconds in (1, 30, 300):
        await _run(world, runner, seconds)
    assert pagerduty.events == []
    assert pagerduty.answers == [400, 400]  # asked once, never again
    async with world.sessions() as session:
        (job,) = await store.list_jobs(session, incident_number=number, kind="page")
        events = await store.list_timeline(session, incident_number=number)
    assert job.state == "failed"
    told = [e.text for e in events if "PagerDuty refused" in e.text]
    assert len(told) == 1
