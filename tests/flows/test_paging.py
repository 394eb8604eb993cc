"""PagerDuty pages as jobs: a trigger at declaration (or a raise, or an escalation step) when
the severity's `notify` names `pagerduty`; acknowledge and resolve only after a trigger; each
once; never for drills."""

from __future__ import annotations

from datetime import timedelta

import store
from bot.flows.clock import IncidentClock
from bot.flows.paging import PAGE_JOB
from bot.policy import parse_policy
from tests.flows.conftest import DECLARER, RESPONDER, Flows, default_policy_text


def paging_policy() -> str:
    return default_policy_text().replace(
        'notify: ["#leadership", "@eng-lead", "@cto"]', 'notify: ["#leadership", pagerduty]'
    )


async def pages(flows: Flows, number: int) -> list[str]:
    async with flows.sessions() as session:
        jobs = await store.list_jobs(session, incident_number=number, kind=PAGE_JOB)
    return [job.key.rsplit(":", 1)[-1] for job in jobs]


async def test_a_paging_severity_triggers_then_acknowledges_and_resolves_once(
    flows: Flows,
) -> None:
    flows.use_policy(parse_policy(paging_policy(), "paging"))
    n = await flows.declare(severity="P1")
    assert await pages(flows, n) == ["trigger"]
    await flows.ops.acknowledge(n, user=RESPONDER)
    await flows.ops.acknowledge(n, user=RESPONDER)
    await flows.resolution.resolve(
        n, by=DECLARER, summary="ok", root_cause=None, impact_ended_at=None
    )
    assert await pages(flows, n) == ["trigger", "acknowledge", "resolve"]


async def test_unpaged_incidents_and_drills_page_nobody(flows: Flows) -> None:
    flows.use_policy(parse_policy(paging_policy(), "paging"))
    quiet = await flows.declare(severity="P2")
    await flows.ops.acknowledge(quiet, user=RESPONDER)
    drill = await flows.declare(severity="P1", drill=True)
    assert await pages(flows, quiet) == []
    assert await pages(flows, drill) == []
    # Raised to P1 while unacknowledged: paged then.
    raised = await flows.declare(severity="P2")
    await flows.ops.change_severity(raised, new="P1", by=DECLARER)
    assert await pages(flows, raised) == ["trigger"]


async def test_an_escalation_step_pages(flows: Flows) -> None:
    p2_chain = '- { after: 15m, notify: ["@backup-oncall"] }\n      - { after: 30m, notify: ["@eng'
    assert p2_chain in default_policy_text()
    text = default_policy_text().replace(
        p2_chain, '- { after: 15m, notify: [pagerduty] }\n      - { after: 30m, notify: ["@eng'
    )
    policy = parse_policy(text, "escalation pages")
    assert policy.severity("P2").escalation[0].pages
    flows.use_policy(policy)
    n = await flows.declare(severity="P2")
    assert await pages(flows, n) == []
    flows.advance(timedelta(minutes=16))
    await IncidentClock(sessions=flows.sessions, policy=policy, clock=flows.clock).ring(n)
    assert await pages(flows, n) == ["trigger"]
