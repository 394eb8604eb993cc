"""A world for job tests: the real job kinds over a migrated SQLite file, a fixed clock and
the fake Slack (the `world` fixture, shared through tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import store
from bot.app import build_jobs
from bot.clock import FixedClock
from bot.flows.declare import DeclareRequest, declare
from bot.flows.operations import IncidentOperations
from bot.gateway import SlackGateway
from bot.jobs import JobRunner
from bot.policy import Policy, default_policy
from bot.slack_client import build_web_client
from bot.templates.incident import IncidentTemplates
from sandbox.slack import FakeSlack

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class World:
    def __init__(self, sessions: Any, gateway: SlackGateway, fake: FakeSlack) -> None:
        self.sessions = sessions
        self.gateway = gateway
        self.fake = fake
        self.clock = FixedClock(START)
        policy = default_policy()
        self.ops = IncidentOperations(sessions=sessions, policy=policy, clock=self.clock)
        self.jobs = self.runner(policy)
        self.channel = ""

    def runner(self, policy: Policy, **integrations: Any) -> JobRunner:
        """A job runner (a replica) over this world, under `policy`; `integrations`: the
        `pagerduty=` / `statuspage=` settings `build_jobs` takes."""
        return build_jobs(
            sessions=self.sessions,
            policy=policy,
            gateway=self.gateway,
            clock=self.clock,
            templates=IncidentTemplates(),
            **integrations,
        )

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
            await store.add_channel_members(
                session, channel_id=created.id, user_ids=["U_ALICE", "U_BOB"], now=START
            )
            # Provisioning is not what these tests are about: done.
            job = await store.claim_job(
                session,
                key=f"provision:{declared.number}",
                now=START,
                lease=timedelta(1),
                early=True,
            )
            assert job is not None
            assert job.id is not None
            await store.finish_job(session, job_id=job.id, attempts=1, now=START)
            # Nor are the incident's reminders (tests/e2e/test_clock.py is): no clock.
            await store.cancel_job(session, key=f"clock:{declared.number}", now=START)
            await session.commit()
        return declared.number

    async def declared(
        self, policy: Policy, request: DeclareRequest, *, channel_id: str, members: list[str]
    ) -> int:
        """Declared under `policy`, its channel recorded as `channel_id` with `members`, and
        neither provisioning nor the clock left to run (what the caller tests is elsewhere)."""
        declared = await declare(
            self.sessions,
            policy,
            request,
            idempotency_key=f"declare:{request.title}:{channel_id}",
            now=self.clock.now(),
        )
        number = declared.number
        async with self.sessions() as session:
            await store.update_incident(
                session,
                number=number,
                expected_version=None,
                now=self.clock.now(),
                channel_id=channel_id,
            )
            await store.add_channel_members(
                session, channel_id=channel_id, user_ids=members, now=self.clock.now()
            )
            for key in (f"provision:{number}", f"clock:{number}"):
                await store.cancel_job(session, key=key, now=self.clock.now())
            await session.commit()
        return number

    async def jobs_of(self, number: int, kind: str = "effect") -> list[store.Job]:
        async with self.sessions() as session:
            return await store.list_jobs(session, incident_number=number, kind=kind)

    def acks_posted(self) -> list[str]:
        return [
            m.text for m in self.fake.channel(self.channel).messages if "acknowledged" in m.text
        ]

    def later(self, seconds: float) -> None:
        self.clock.set(self.clock.now() + timedelta(seconds=seconds))


@pytest.fixture
async def world(tmp_path: Path, fake: FakeSlack) -> AsyncIterator[World]:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    store.upgrade(url)
    engine = store.make_engine(url)
    gateway = SlackGateway(build_web_client(token=fake.bot_token, base_url=fake.api_url))
    await gateway.identify()
    yield World(store.session_factory(engine), gateway, fake)
    await engine.dispose()
