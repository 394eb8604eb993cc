"""Fixtures of the store contract suite: every backend test runs on SQLite and on Postgres.

SQLite always runs (a temporary file). Postgres runs when ``TEST_DATABASE_URL`` is set, e.g.
``postgresql://postgres@127.0.0.1:5432/test``; each test session works in its own freshly
created schema (selected with ``-csearch_path``) and drops it at the end.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, delete, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

import store
from store.db import sync_url

PG_ENV = "TEST_DATABASE_URL"
PG_SKIP_REASON = "TEST_DATABASE_URL not set: Postgres contract suite skipped"
BACKENDS = ["sqlite", "postgres"]

#: The fixed "now" of the suite (a clock is always passed in).
NOW = datetime(2025, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)


def postgres_url_or_skip() -> str:
    url = os.environ.get(PG_ENV, "").strip()
    if not url:
        pytest.skip(PG_SKIP_REASON)
    return url


def with_search_path(url: str, schema: str) -> str:
    """``url`` whose connections use ``schema`` (created beforehand) as their search path."""
    parsed = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return parsed.render_as_string(hide_password=False)


class EmptyDatabases:
    """Makes empty databases (a SQLite file or a Postgres schema) and removes them at the end."""

    def __init__(self, tmp: Path) -> None:
        self._tmp = tmp
        self._schemas: list[tuple[str, str]] = []

    def new(self, backend: str) -> str:
        name = f"warroom_test_{os.getpid()}_{uuid.uuid4().hex[:10]}"
        if backend == "sqlite":
            return f"sqlite:///{self._tmp / name}.db"
        admin = postgres_url_or_skip()
        self._admin(admin, f'CREATE SCHEMA "{name}"')
        self._schemas.append((admin, name))
        return with_search_path(admin, name)

    def close(self) -> None:
        for admin, name in self._schemas:
            self._admin(admin, f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        self._schemas.clear()

    @staticmethod
    def _admin(url: str, sql: str) -> None:
        engine = create_engine(sync_url(url), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(sql))
        finally:
            engine.dispose()


@pytest.fixture(scope="session")
def empty_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmptyDatabases]:
    databases = EmptyDatabases(tmp_path_factory.mktemp("store"))
    yield databases
    databases.close()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    if name == "postgres":
        postgres_url_or_skip()
    return name


@pytest.fixture(scope="session")
def migrated_url(backend: str, empty_databases: EmptyDatabases) -> str:
    """One database per backend and test session, migrated to head."""
    url = empty_databases.new(backend)
    store.upgrade(url)
    return url


@pytest.fixture
async def engine(migrated_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on the migrated database; every table is emptied after the test."""
    eng = store.make_engine(migrated_url)
    yield eng
    async with eng.begin() as conn:
        for table in reversed(SQLModel.metadata.sorted_tables):
            await conn.execute(delete(table))
    await eng.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return store.session_factory(engine)


@pytest.fixture
async def session(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessions() as s:
        yield s


@pytest.fixture
def now() -> datetime:
    return NOW


MakeIncident = Callable[..., Awaitable[store.Incident]]


@pytest.fixture
def make_incident(sessions: async_sessionmaker[AsyncSession]) -> MakeIncident:
    """Create and commit an incident in its own session."""

    async def _make(**fields: Any) -> store.Incident:
        fields.setdefault("title", "Checkout is down")
        fields.setdefault("severity", "sev1")
        fields.setdefault("declared_by", "U_DECLARER")
        fields.setdefault("declared_at", NOW)
        async with sessions() as s:
            incident = await store.create_incident(s, **fields)
            await s.commit()
        return incident

    return _make
