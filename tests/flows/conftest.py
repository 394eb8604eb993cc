"""Fixtures of the incident-flow tests: a migrated SQLite file, a fixed clock, membership.

`flows` bundles everything a test needs: the session factory, the policy, the clock, the
recorded channel membership (in the database, as the flows read it), `IncidentOperations` and
`Resolution` built on them, and helpers to declare a provisioned incident and read back what
was stored.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

import store
from bot.clock import FixedClock
from bot.flows.capture import TimelineCapture
from bot.flows.declare import DeclareRequest, declare
from bot.flows.followups import Followups
from bot.flows.operations import IncidentOperations
from bot.flows.resolution import Resolution
from bot.policy import Policy, default_policy, parse_policy

#: The fixed "now" every test starts at (aware UTC).
NOW = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)

#: Who is who in the tests.
DECLARER = "U_IC"  # declares, and so becomes the Incident Commander
RESPONDER = "U_RESP"  # a channel member without a role
OUTSIDER = "U_OUT"  # not in the channel, no role


def default_policy_text() -> str:
    return resources.files("bot.policy").joinpath("default.yaml").read_text("utf-8")


def archiving_policy() -> Policy:
    """The default policy with `archive_after: 7d` (the default YAML only has it commented)."""
    return parse_policy(default_policy_text() + "\narchive_after: 7d\n", "archiving policy")


class Membership:
    """Channel membership as warroom records it (the `channel_members` table)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: FixedClock) -> None:
        self.sessions = sessions
        self.clock = clock

    async def add(self, channel: str, *users: str) -> None:
        async with self.sessions() as session:
            await store.add_channel_members(
                session, channel_id=channel, user_ids=users, now=self.clock.now()
            )
            await session.commit()

    async def remove(self, channel: str, user: str) -> None:
        async with self.sessions() as session:
            await store.remove_channel_member(session, channel_id=channel, user_id=user)
            await session.commit()


@dataclass
class Flows:
    sessions: async_sessionmaker[AsyncSession]
    policy: Policy
    clock: FixedClock
    membership: Membership
    ops: IncidentOperations = field(init=False)
    resolution: Resolution = field(init=False)
    capture: TimelineCapture = field(init=False)
    followups: Followups = field(init=False)
    _keys: Iterator[int] = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        self.use_policy(self.policy)

    def use_policy(self, policy: Policy) -> None:
        """Rebuild the flows on `policy` (same database, clock and membership)."""
        self.policy = policy
        deps: dict[str, Any] = {
            "sessions": self.sessions,
            "policy": policy,
            "clock": self.clock,
        }
        self.ops = IncidentOperations(**deps)
        self.resolution = Resolution(**deps)
        self.capture = TimelineCapture(**deps)
        self.followups = Followups(**deps)

    def advance(self, delta: timedelta) -> datetime:
        self.clock.set(self.clock.now() + delta)
        return self.clock.now()

    async def declare(
        self,
        title: str = "Checkout is down",
        *,
        severity: str | None = "P2",
        declarer: str = DECLARER,
        members: Iterable[str] = (RESPONDER,),
        channel: str | None = None,
        **request: Any,
    ) -> int:
        """Declare through the real declare flow, then give the incident a channel as
        provisioning would; the declarer and `members` are members of that channel."""
        declared = await declare(
            self.sessions,
            self.policy,
            DeclareRequest(declarer=declarer, title=title, severity=severity, **request),
            idempotency_key=f"declare:{next(self._keys)}",
            now=self.clock.now(),
        )
        number = declared.number
        channel_id = channel or f"C_INC{number}"
        async with self.sessions() as session:
            await store.update_incident(
                session,
                number=number,
                expected_version=None,
                now=self.clock.now(),
                channel_id=channel_id,
                channel_name=f"inc-{number}",
            )
            await session.commit()
        await self.membership.add(channel_id, declarer, *members)
        return number

    async def set_fields(self, number: int, **changes: Any) -> store.Incident:
        async with self.sessions() as session:
            updated = await store.update_incident(
                session, number=number, expected_version=None, now=self.clock.now(), **changes
            )
            await session.commit()
        assert updated is not None
        return updated

    async def incident(self, number: int) -> store.Incident:
        async with self.sessions() as session:
            incident = await store.get_incident(session, number=number)
        assert incident is not None
        return incident

    async def timeline(self, number: int) -> list[store.TimelineEvent]:
        async with self.sessions() as session:
            return await store.list_timeline(session, incident_number=number)

    async def kinds(self, number: int) -> list[str]:
        return [event.kind for event in await self.timeline(number)]

    async def roles(self, number: int) -> dict[str, str]:
        async with self.sessions() as session:
            return await store.current_roles(session, incident_number=number)

    async def role_history(self, number: int, role: str) -> list[store.RoleAssignment]:
        async with self.sessions() as session:
            return await store.role_history(session, incident_number=number, role=role)

    async def updates(self, number: int) -> list[store.StatusUpdate]:
        async with self.sessions() as session:
            return await store.list_status_updates(session, incident_number=number)

    async def add_action_item(self, number: int, text: str) -> store.ActionItem:
        async with self.sessions() as session:
            item = await store.add_action_item(
                session, incident_number=number, text=text, now=self.clock.now()
            )
            await session.commit()
        return item


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/flows.db"
    store.upgrade(url)
    return url


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    eng = store.make_engine(db_url)
    yield eng
    await eng.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return store.session_factory(engine)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def membership(sessions: async_sessionmaker[AsyncSession], clock: FixedClock) -> Membership:
    return Membership(sessions, clock)


@pytest.fixture
def flows(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock, membership: Membership
) -> Flows:
    return Flows(sessions=sessions, policy=default_policy(), clock=clock, membership=membership)
