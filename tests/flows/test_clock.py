"""The clock: alarm slots from stored state, rung once each, never a burst, re-checked."""

from __future__ import annotations

from datetime import timedelta

import pytest

import store
from bot.flows.alarms import AlarmKind, due_alarms, next_alarm_at
from bot.flows.clock import IncidentClock, alarm_key
from bot.flows.effects import AlarmRang
from bot.flows.operations import UpdateRequest
from bot.flows.permissions import Refused
from bot.policy import Policy, parse_policy
from tests.flows.conftest import DECLARER, NOW, RESPONDER, Flows, default_policy_text

FAST = """
snooze: [30s, 1m]
roles_nudge_after: {roles}
stale_after: {stale}
severities:
  - id: P1
    name: Critical
    update_every: 6s
    ack_within: 4s
    escalation:
      - {{after: 4s, notify: ["U0FIRST"]}}
      - {{after: 8s, notify: ["U0SECOND"]}}
    postmortem: {{required: true, due: 20s, remind_before: 5s}}
  - id: P2
    name: High
    update_every: 10s
"""


def fast_policy(extra: str = "", *, roles: str = "null", stale: str = "null") -> Policy:
    return parse_policy(FAST.format(roles=roles, stale=stale) + extra, "fast policy")


@pytest.fixture
def ringer(flows: Flows) -> IncidentClock:
    flows.use_policy(fast_policy())
    return IncidentClock(sessions=flows.sessions, policy=flows.policy, clock=flows.clock)


async def ring_at(flows: Flows, ringer: IncidentClock, n: int, seconds: float) -> list[AlarmRang]:
    flows.clock.set(NOW + timedelta(seconds=seconds))
    rung = await ringer.ring(n)
    return [e for e in rung.effects if isinstance(e, AlarmRang)]


def kinds(effects: list[AlarmRang]) -> list[tuple[str, int | None]]:
    return [(e.alarm, e.step) for e in effects]


async def test_update_reminders_come_once_per_cadence_until_an_update(
    flows: Flows, ringer: IncidentClock
) -> None:
    n = await flows.declare(severity="P2")
    incident = await flows.incident(n)
    assert next_alarm_at(incident, flows.policy) == NOW + timedelta(seconds=10)

    assert await ring_at(flows, ringer, n, 9.9) == []
    [first] = await ring_at(flows, ringer, n, 10.2)
    assert (first.alarm, first.slot) == ("update", NOW + timedelta(seconds=10))
    assert first.job == alarm_key(n, "update", NOW + timedelta(seconds=10))
    assert await ring_at(flows, ringer, n, 12) == []  # never more often than the cadence
    [second] = await ring_at(flows, ringer, n, 20.5)
    assert second.slot == NOW + timedelta(seconds=20)

    flows.clock.set(NOW + timedelta(seconds=24))
    request = UpdateRequest("investigating", "Still down", "Rolling back", None, False)
    await flows.ops.post_update(n, by=DECLARER, request=request, key="u1")
    assert next_alarm_at(await flows.incident(n), flows.policy) == NOW + timedelta(seconds=34)
    assert await ring_at(flows, ringer, n, 30) == []
    [third] = await ring_at(flows, ringer, n, 34)
    assert third.slot == NOW + timedelta(seconds=34)


async def test_a_long_outage_sends_one_overdue_reminder_not_a_burst(
    flows: Flows, ringer: IncidentClock
) -> None:
    n = await flows.declare(severity="P2")
    rung = await ring_at(flows, ringer, n, 75)  # seven cadences missed
    assert kinds(rung) == [("update", None)]
    assert await ring_at(flows, ringer, n, 80) == []
    [next_one] = await ring_at(flows, ringer, n, 85)
    assert next_one.slot == NOW + timedelta(seconds=85)


async def test_the_same_slot_rung_twice_tells_once(flows: Flows, ringer: IncidentClock) -> None:
    n = await flows.declare(severity="P2")
    other = IncidentClock(sessions=flows.sessions, policy=flows.policy, clock=flows.clock)
    first = await ring_at(flows, ringer, n, 11)
    flows.clock.set(NOW + timedelta(seconds=11))
    second = (await other.ring(n)).effects
    assert len(first) == 1
    assert second == []
    async with flows.sessions() as session:
        jobs = await store.list_jobs(session, incident_number=n)
    assert len([j for j in jobs if j.key.startswith(f"alarm:{n}:update:")]) == 1


async def test_snooze_moves_the_pending_reminder_once_not_the_cadence(
    flows: Flows, ringer: IncidentClock
) -> None:
    n = await flows.declare(severity="P2")
    await ring_at(flows, ringer, n, 10)
    flows.clock.set(NOW + timedelta(seconds=11))
    await ringer.snooze(n, by=RESPONDER, seconds=30)
    assert next_alarm_at(await flows.incident(n), flows.policy) == NOW + timedelta(seconds=41)
    assert await ring_at(flows, ringer, n, 20) == []
    [snoozed] = await ring_at(flows, ringer, n, 41)
    assert snoozed.slot == NOW + timedelta(seconds=41)
    [after] = await ring_at(flows, ringer, n, 51)  # the cadence again
    assert after.slot == NOW + timedelta(seconds=51)
    with pytest.raises(Refused, match="Snooze for one of"):
        await ringer.snooze(n, by=RESPONDER, seconds=7)


async def test_ack_notice_once_and_escalation_steps_until_the_ack(
    flows: Flows, ringer: IncidentClock
) -> None:
    n = await flows.declare(severity="P1")
    assert kinds(await ring_at(flows, ringer, n, 4.1)) == [("ack", None), ("escalation", 0)]
    assert await ring_at(flows, ringer, n, 5) == []
    flows.clock.set(NOW + timedelta(seconds=6))
    await flows.ops.acknowledge(n, user=RESPONDER)
    rung = await ring_at(flows, ringer, n, 8.5)
    assert [k for k in kinds(rung) if k[0] != "update"] == []  # the second step never fires
    kinds_on_timeline = await flows.kinds(n)
    assert kinds_on_timeline.count("escalated") == 1


async def test_a_late_ring_fires_only_the_latest_passed_step(
    flows: Flows, ringer: IncidentClock
) -> None:
    n = await flows.declare(severity="P1")
    rung = await ring_at(flows, ringer, n, 9)
    assert ("escalation", 1) in kinds(rung)
    assert ("escalation", 0) not in kinds(rung)
    assert (await flows.incident(n)).escalation_level == 2


async def test_raising_the_severity_moves_onto_the_new_chain(
    flows: Flows, ringer: IncidentClock
) -> None:
    n = await flows.declare(severity="P2")
    flows.clock.set(NOW + timedelta(seconds=9))
    await flows.ops.change_severity(n, new="P1", by=DECLARER)
    rung = await ring_at(flows, ringer, n, 9.2)
    escalations = [e for e in rung if e.alarm == "escalation"]
    assert [e.step for e in escalations] == [1]  # the latest passed step only


async def test_an_update_committed_first_wins(flows: Flows, ringer: IncidentClock) -> None:
    n = await flows.declare(severity="P2")
    flows.clock.set(NOW + timedelta(seconds=10))
    request = UpdateRequest("investigating", "x", "y", None, False)
    await flows.ops.post_update(n, by=DECLARER, request=request, key="u1")
    assert await ring_at(flows, ringer, n, 10) == []


async def test_resolving_stops_update_reminders_and_starts_the_post_mortems(
    flows: Flows, ringer: IncidentClock
) -> None:
    n = await flows.declare(severity="P1")
    await flows.ops.acknowledge(n, user=RESPONDER)
    flows.clock.set(NOW + timedelta(seconds=2))
    await flows.resolution.resolve(
        n, by=DECLARER, summary="Fixed", root_cause=None, impact_ended_at=None
    )
    due = NOW + timedelta(seconds=22)
    incident = await flows.incident(n)
    assert [a.kind for a in due_alarms(incident, flows.policy, due)] == [AlarmKind.POSTMORTEM]
    assert kinds(await ring_at(flows, ringer, n, 17)) == [("postmortem", None)]  # 5 s before
    assert kinds(await ring_at(flows, ringer, n, 22)) == [("postmortem", None)]  # at the due time
    assert await ring_at(flows, ringer, n, 30) == []
    assert kinds(await ring_at(flows, ringer, n, 22 + 86400)) == [("postmortem", None)]  # daily
    await flows.followups.postmortem_done(n, by=DECLARER, link="https://docs.example.com/pm")
    assert next_alarm_at(await flows.incident(n), flows.policy) is None


async def test_nobody_in_command_is_nudged_once(flows: Flows) -> None:
    flows.use_policy(fast_policy(roles="3s"))
    ringer = IncidentClock(sessions=flows.sessions, policy=flows.policy, clock=flows.clock)
    led = await flows.declare(severity="P2")
    rung = await ring_at(flows, ringer, led, 3.5)
    assert ("roles", None) not in kinds(rung)  # the declarer leads: no nudge
    leaderless = await flows.declare(severity="P2")
    async with flows.sessions() as session:
        await store.end_role(session, incident_number=leaderless, role="commander", now=NOW)
        await session.commit()
    # Declared at 3.5 s: its nudge is due at 6.5 s, once.
    assert kinds(await ring_at(flows, ringer, leaderless, 6.6)) == [("roles", None)]
    assert ("roles", None) not in kinds(await ring_at(flows, ringer, leaderless, 600))


async def test_stale_incidents_are_nudged_daily(flows: Flows) -> None:
    flows.use_policy(fast_policy(stale="1d"))
    ringer = IncidentClock(sessions=flows.sessions, policy=flows.policy, clock=flows.clock)
    n = await flows.declare(severity="P2")
    day = 86400
    stale = [e for e in await ring_at(flows, ringer, n, day + 1) if e.alarm == "stale"]
    assert len(stale) == 1
    assert [e for e in await ring_at(flows, ringer, n, day + 60) if e.alarm == "stale"] == []
    again = [e for e in await ring_at(flows, ringer, n, 2 * day + 1) if e.alarm == "stale"]
    assert len(again) == 1


async def test_drills_are_quiet_unless_the_policy_says(flows: Flows) -> None:
    flows.use_policy(fast_policy())
    n = await flows.declare(severity="P2", drill=True)
    assert next_alarm_at(await flows.incident(n), flows.policy) is None
    loud = fast_policy("drills: {reminders: true}\n")
    assert next_alarm_at(await flows.incident(n), loud) is not None


def test_the_default_policy_loads_with_the_clock_keys() -> None:
    policy = parse_policy(default_policy_text(), "default")
    assert policy.snooze
    assert policy.roles_nudge_after == timedelta(minutes=5)


async def test_a_ring_late_by_half_a_cadence_counts_the_next_from_now(
    flows: Flows, ringer: IncidentClock
) -> None:
    n = await flows.declare(severity="P2")  # every 10 s
    [late] = await ring_at(flows, ringer, n, 16)  # due at 10 s: 6 s late (a restart)
    assert late.slot == NOW + timedelta(seconds=10)
    assert await ring_at(flows, ringer, n, 21) == []  # not 20 s: no second one moments later
    [next_one] = await ring_at(flows, ringer, n, 26)
    assert next_one.slot == NOW + timedelta(seconds=26)
