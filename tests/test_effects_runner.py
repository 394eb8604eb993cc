"""The effect runner against the fake Slack: outbox delivery, replay, recognition, crashes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import store
from bot.clock import FixedClock
from bot.effects import EffectRunner
from bot.flows.declare import DeclareRequest, declare
from bot.flows.effects import is_effect_step
from bot.flows.operations import IncidentOperations
from bot.gateway import SlackGateway, build_web_client
from bot.policy import default_policy
from bot.templates.incident import IncidentTemplates
from tests.fakeslack import FakeSlack

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class World:
    def __init__(self, sessions: Any, gateway: SlackGateway, fake: FakeSlack) -> None:
        self.sessions = sessions
        self.gateway = gateway
        self.fake = fake
        self.clock = FixedClock(START)
        policy = default_policy()
        self.ops = IncidentOperations(
            sessions=sessions, policy=policy, clock=self.clock, membership=gateway
        )
        self.runner = EffectRunner(
            sessions=sessions,
            policy=policy,
            gateway=gateway,
            clock=self.clock,
            templates=IncidentTemplates(),
        )
        self.channel = ""

    async def incident(self) -> int:
        declared = await declare(
            self.sessions,
            default_policy(),
            DeclareRequest(declarer="U_ALICE", title="Disk full", severity="P2"),
            idempotency_key="declare:1",
            now=self.clock.now(),
        )
        created = await self.gateway.create_channel(name="inc-1-disk-full", private=False)
        await self.gateway.invite(channel=created.id, users=["U_ALICE", "U_BOB"])
        self.channel = created.id
        async with self.sessions() as session:
            await store.update_incident(
                session,
                number=declared.number,
                expected_version=None,
                now=self.clock.now(),
                channel_id=created.id,
            )
            await session.commit()
        return declared.number

    async def outbox(self, number: int) -> dict[str, store.ProvisioningStep]:
        async with self.sessions() as session:
            steps = await store.get_steps(session, incident_number=number)
        return {name: step for name, step in steps.items() if is_effect_step(name)}

    def acks_posted(self) -> list[str]:
        return [
            m.text for m in self.fake.channel(self.channel).messages if "acknowledged" in m.text
        ]


@pytest.fixture
async def world(tmp_path: Path, fake: FakeSlack) -> AsyncIterator[World]:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    store.upgrade(url)
    engine = store.make_engine(url)
    gateway = SlackGateway(build_web_client(token=fake.bot_token, base_url=fake.api_url))
    await gateway.identify()
    yield World(store.session_factory(engine), gateway, fake)
    await engine.dispose()


async def test_what_a_crash_left_in_the_outbox_is_delivered_later_and_once(world: World) -> None:
    number = await world.incident()
    await world.ops.acknowledge(number, user="U_BOB")  # stored, never delivered: a crash
    assert await world.runner.deliver_due() == 0  # young pending: its request owns it
    world.clock.set(START + timedelta(seconds=30))
    assert await world.runner.deliver_due() == 2  # the acknowledgement and the refresh
    assert len(world.acks_posted()) == 1
    assert {s.state for s in (await world.outbox(number)).values()} == {"done"}
    assert await world.runner.deliver_due() == 0


async def test_a_replay_recognises_what_was_posted(world: World) -> None:
    number = await world.incident()
    effects = await world.ops.acknowledge(number, user="U_BOB")
    await world.runner.apply(effects)
    assert len(world.acks_posted()) == 1
    # The answer was lost: the step still looks unfinished to the database.
    async with world.sessions() as session:
        for effect in effects:
            await store.fail_step(
                session,
                incident_number=number,
                step=str(effect.step),
                now=world.clock.now(),
                error="lost",
                retry_at=None,
            )
        await session.commit()
    await world.runner.apply(effects)
    assert len(world.acks_posted()) == 1  # found by its metadata, not posted again
    assert {s.attempts for s in (await world.outbox(number)).values()} == {2}


async def test_a_crashing_effect_is_recorded_not_retried_in_a_loop(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    number = await world.incident()
    effects = await world.ops.acknowledge(number, user="U_BOB")

    async def boom(_delivery: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(world.runner, "_apply", boom)
    await world.runner.apply(effects)
    steps = await world.outbox(number)
    assert {s.state for s in steps.values()} == {"failed"}
    assert all(
        s.next_attempt_at is not None and s.next_attempt_at > START + timedelta(days=300)
        for s in steps.values()
    )
    async with world.sessions() as session:
        kinds = [e.kind for e in await store.list_timeline(session, incident_number=number)]
    assert "slack_failure" in kinds


async def test_a_transient_failure_is_retried_after_retry_after(world: World) -> None:
    number = await world.incident()
    effects = await world.ops.acknowledge(number, user="U_BOB")
    world.fake.fail_next("chat.postMessage", status=429, retry_after=30)
    await world.runner.apply(effects[:1])
    (step,) = [s for s in (await world.outbox(number)).values() if s.step == effects[0].step]
    assert step.state == "failed"
    assert step.next_attempt_at == START + timedelta(seconds=30)
    world.clock.set(START + timedelta(seconds=31))
    await world.runner.deliver_due()
    assert len(world.acks_posted()) == 1
