"""Publishing to Statuspage as jobs, against the fake Statuspage: the first publication creates
the status page incident, the next update it, resolving resolves it; each exactly once under a
lost answer, a rate limit and two posts queued at once; a refusal is told once; private
incidents and drills never publish."""

from __future__ import annotations

import pytest

import store
from bot.flows.declare import DeclareRequest
from bot.flows.operations import IncidentOperations, UpdateRequest
from bot.flows.publishing import PublicUpdate, component_status
from bot.flows.resolution import Resolution
from bot.jobs import JobRunner
from bot.policy import Policy, parse_policy
from bot.statuspage import StatuspageSettings, marker
from tests.fakestatuspage import FakeStatuspage
from tests.flows.conftest import default_policy_text
from tests.world import World

STATUSPAGE_POLICY = """
statuspage:
  severities: [P1, P2]
  components: {api: cmpapi000001, website: cmpweb000001}
"""


def _policy() -> Policy:
    return parse_policy(default_policy_text() + STATUSPAGE_POLICY, "statuspage")


def _runner(world: World, policy: Policy, fake: FakeStatuspage, *, key: str = "") -> JobRunner:
    return world.runner(
        policy,
        statuspage=StatuspageSettings(
            api_key=key or fake.api_key, page_id=fake.page_id, api_url=fake.api_url
        ),
    )


async def _run(world: World, runner: JobRunner, seconds: float = 1) -> None:
    world.later(seconds)
    await runner.tick()
    await runner.drain()


async def _declare(
    world: World, policy: Policy, *, severity: str = "P1", private: bool = False,
    drill: bool = False,
) -> int:  # fmt: skip
    request = DeclareRequest(
        declarer="U_ALICE", title="Checkout errors", severity=severity, private=private, drill=drill
    )
    channel = f"C0SP{severity}{int(private)}{int(drill)}"
    return await world.declared(policy, request, channel_id=channel, members=["U_ALICE", "U_BOB"])


async def _update(
    world: World, policy: Policy, number: int, message: str, *, status: str = "investigating",
    components: tuple[str, ...] = ("api",), key: str | None = None,
) -> None:  # fmt: skip
    ops = IncidentOperations(sessions=world.sessions, policy=policy, clock=world.clock)
    await ops.post_update(
        number,
        by="U_ALICE",
        request=UpdateRequest(
            status=status,
            impact="Checkout failing for some",
            actions="Rolling back",
            next_in=None,
            share=False,
            public=PublicUpdate(message=message, components=components),
        ),
        key=key or f"update:{message}",
    )


async def _resolve(world: World, policy: Policy, number: int, message: str | None) -> None:
    resolution = Resolution(sessions=world.sessions, policy=policy, clock=world.clock)
    await resolution.resolve(
        number,
        by="U_ALICE",
        summary="Rolled back",
        root_cause=None,
        impact_ended_at=None,
        public=PublicUpdate(message=message) if message else None,
    )


def _writes(fake: FakeStatuspage) -> list[tuple[str, int]]:
    return [(r.method, r.status) for r in fake.requests if r.method in ("POST", "PATCH")]


async def test_create_update_resolve_once_each(
    world: World, fake_statuspage: FakeStatuspage
) -> None:
    policy = _policy()
    runner = _runner(world, policy, fake_statuspage)
    number = await _declare(world, policy)
    await _update(world, policy, number, "We are looking into checkout errors.")
    await _run(world, runner)
    (created,) = fake_statuspage.incidents.values()
    assert created["name"] == "Checkout errors"
    assert created["status"] == "investigating"
    assert created["metadata"] == marker(world.gateway.team_id or "T", number)
    assert created["incident_updates"][0]["body"] == "We are looking into checkout errors."
    assert fake_statuspage.components["cmpapi000001"]["status"] == "major_outage"
    assert fake_statuspage.components["cmpweb000001"]["status"] == "operational"
    assert all(r.authorized for r in fake_statuspage.requests)

    await _update(world, policy, number, "A fix is rolling out.", status="identified")
    await _run(world, runner)
    await _resolve(world, policy, number, "Checkout works again.")
    await _run(world, runner)
    await _run(world, runner, 60)
    assert _writes(fake_statuspage) == [("POST", 201), ("PATCH", 200), ("PATCH", 200)]
    (final,) = fake_statuspage.incidents.values()
    assert [u["status"] for u in reversed(final["incident_updates"])] == [
        "investigating",
        "identified",
        "resolved",
    ]
    assert final["incident_updates"][0]["body"] == "Checkout works again."
    assert fake_statuspage.components["cmpapi000001"]["status"] == "operational"
    assert fake_statuspage.violations == []
    async with world.sessions() as session:
        incident = await store.get_incident(session, number=number)
        events = await store.list_timeline(session, incident_number=number)
    assert incident is not None
    assert incident.statuspage_incident_id == final["id"]
    assert incident.statuspage_link == final["shortlink"]
    assert [e.text for e in events if e.kind == "status_page"] == [
        "Status page created (investigating): We are looking into checkout errors.",
        "Status page updated (identified): A fix is rolling out.",
        "Status page updated (resolved): Checkout works again.",
    ]


async def test_a_lost_answer_is_recognised_not_repeated(
    world: World, fake_statuspage: FakeStatuspage
) -> None:
    policy = _policy()
    runner = _runner(world, policy, fake_statuspage)
    number = await _declare(world, policy)
    fake_statuspage.fail_after(1, 500)  # created, then the answer is lost
    await _update(world, policy, number, "Investigating.")
    await _run(world, runner)
    await _run(world, runner, 10)
    assert len(fake_statuspage.incidents) == 1
    fake_statuspage.fail_after(1, 502)  # updated, then the answer is lost
    await _update(world, policy, number, "Fixed, watching.", status="monitoring")
    await _run(world, runner)
    await _run(world, runner, 10)
    (incident,) = fake_statuspage.incidents.values()
    assert [u["body"] for u in reversed(incident["incident_updates"])] == [
        "Investigating.",
        "Fixed, watching.",
    ]


async def test_rate_limit_waits_and_posts_go_out_in_order(
    world: World, fake_statuspage: FakeStatuspage
) -> None:
    policy = _policy()
    runner = _runner(world, policy, fake_statuspage)
    number = await _declare(world, policy)
    fake_statuspage.fail_next(1, 429, retry_after=3)
    # Two updates stored before either went out: one create, then one update, in that order.
    await _update(world, policy, number, "First.")
    await _update(world, policy, number, "Second.", status="identified")
    for seconds in (1, 4, 4, 10):
        await _run(world, runner, seconds)
    assert _writes(fake_statuspage) == [("POST", 429), ("POST", 201), ("PATCH", 200)]
    (incident,) = fake_statuspage.incidents.values()
    assert [u["body"] for u in reversed(incident["incident_updates"])] == ["First.", "Second."]


async def test_a_refused_key_is_told_once_and_not_retried(
    world: World, fake_statuspage: FakeStatuspage
) -> None:
    policy = _policy()
    runner = _runner(world, policy, fake_statuspage, key="wrong-key")
    number = await _declare(world, policy)
    await _update(world, policy, number, "Investigating.")
    for seconds in (1, 30, 300):
        await _run(world, runner, seconds)
    assert [r.status for r in fake_statuspage.requests] == [401]
    assert fake_statuspage.incidents == {}
    async with world.sessions() as session:
        (job,) = await store.list_jobs(session, incident_number=number, kind="statuspage")
        events = await store.list_timeline(session, incident_number=number)
    assert job.state == "failed"
    told = [e.text for e in events if "STATUSPAGE_API_KEY" in e.text]
    assert len(told) == 1


@pytest.mark.parametrize(("private", "drill"), [(True, False), (False, True)])
async def test_private_incidents_and_drills_never_publish(
    world: World, fake_statuspage: FakeStatuspage, private: bool, drill: bool
) -> None:
    policy = _policy()
    runner = _runner(world, policy, fake_statuspage)
    number = await _declare(world, policy, private=private, drill=drill)
    await _update(world, policy, number, "Should stay inside.")
    await _resolve(world, policy, number, "Inside too.")
    await _run(world, runner)
    await _run(world, runner, 30)
    assert fake_statuspage.requests == []
    async with world.sessions() as session:
        assert await store.last_status_page_post(session, incident_number=number) is None


async def test_only_listed_severities_publish_until_published(
    world: World, fake_statuspage: FakeStatuspage
) -> None:
    policy = _policy()
    runner = _runner(world, policy, fake_statuspage)
    minor = await _declare(world, policy, severity="P3")
    await _update(world, policy, minor, "Not for the public.")
    await _run(world, runner)
    assert fake_statuspage.requests == []
    assert component_status(policy, "P2") == "partial_outage"
    assert component_status(policy, "P3") == "degraded_performance"
