"""Engine setup, URL handling, health ping and migrations."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

import store
from bot.flows.effects import decode
from store.db import sync_url
from tests.store.conftest import EmptyDatabases

REPO_ROOT = Path(__file__).resolve().parents[2]

# --- URLs -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "async_form", "sync_form"),
    [
        (
            "sqlite:///./warroom.db",
            "sqlite+aiosqlite:///./warroom.db",
            "sqlite:///./warroom.db",
        ),
        ("sqlite:////var/lib/w.db", "sqlite+aiosqlite:////var/lib/w.db", "sqlite:////var/lib/w.db"),
        ("sqlite+aiosqlite:///w.db", "sqlite+aiosqlite:///w.db", "sqlite:///w.db"),
        (
            "postgresql://u:p@db:5432/warroom",
            "postgresql+psycopg://u:p@db:5432/warroom",
            "postgresql+psycopg://u:p@db:5432/warroom",
        ),
        (
            "postgres://u:p@db/warroom?sslmode=require",
            "postgresql+psycopg://u:p@db/warroom?sslmode=require",
            "postgresql+psycopg://u:p@db/warroom?sslmode=require",
        ),
        (
            "postgresql+asyncpg://u@db/w",
            "postgresql+psycopg://u@db/w",
            "postgresql+psycopg://u@db/w",
        ),
        (
            "postgresql+psycopg://u:p%40ss@db/w",
            "postgresql+psycopg://u:p%40ss@db/w",
            "postgresql+psycopg://u:p%40ss@db/w",
        ),
    ],
)
def test_url_normalisation(given: str, async_form: str, sync_form: str) -> None:
    assert store.async_url(given) == async_form
    assert store.sync_url(given) == sync_form


def test_default_url_is_a_sqlite_file_in_the_working_directory() -> None:
    assert store.DEFAULT_DATABASE_URL == "sqlite:///./warroom.db"


@pytest.mark.parametrize("url", ["mysql://u@h/db", "not a url", "oracle+cx_oracle://h/x"])
def test_unsupported_urls_are_refused(url: str) -> None:
    with pytest.raises(store.UnsupportedDatabaseURL):
        store.make_engine(url)
    with pytest.raises(store.UnsupportedDatabaseURL):
        store.sync_url(url)


def test_make_engine_picks_the_async_driver() -> None:
    assert store.make_engine("postgres://u@h/db").url.drivername == "postgresql+psycopg"
    assert store.make_engine("sqlite:///./x.db").url.drivername == "sqlite+aiosqlite"


def test_alembic_config_escapes_percent_signs() -> None:
    cfg = store.alembic_config("postgresql://u:p%25x@h/db")
    assert cfg.get_main_option("sqlalchemy.url") == "postgresql+psycopg://u:p%25x@h/db"


# --- SQLite connection settings ---------------------------------------------------------------


async def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    engine = store.make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar() == 5000
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
    finally:
        await engine.dispose()


async def test_a_migrated_sqlite_file_is_in_wal_so_connections_open_beside_a_reader(
    tmp_path: Path,
) -> None:
    """Switching to WAL needs an exclusive lock. `upgrade` leaves the file in WAL, so a new
    connection (a replica's first request) opens while another connection is reading instead
    of waiting out the busy timeout and failing with "database is locked"."""
    path = tmp_path / "migrated.db"
    store.upgrade(f"sqlite:///{path}")
    reader = sqlite3.connect(path, isolation_level=None)
    try:
        assert reader.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM incidents").fetchone()  # holds a read lock
        engine = store.make_engine(f"sqlite:///{path}")
        try:
            started = time.monotonic()
            async with engine.connect() as conn:
                assert (await conn.execute(text("SELECT count(*) FROM incidents"))).scalar() == 0
            assert time.monotonic() - started < 2  # no wait for a lock
        finally:
            await engine.dispose()
    finally:
        reader.close()


# --- ping -------------------------------------------------------------------------------------


async def test_ping_true_when_the_database_answers(engine: AsyncEngine) -> None:
    assert await store.ping(engine) is True


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///./no-such-directory/deeper/warroom.db",
        "postgresql://postgres@127.0.0.1:1/nothing?connect_timeout=2",
    ],
)
async def test_ping_false_when_the_database_is_unreachable(url: str) -> None:
    engine = store.make_engine(url)
    try:
        assert await store.ping(engine, max_wait=5) is False
    finally:
        await engine.dispose()


# --- migrations -------------------------------------------------------------------------------


def _head() -> str:
    head = ScriptDirectory.from_config(store.alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def _version(url: str) -> str | None:
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def _schema_diff(url: str) -> list[object]:
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(context, SQLModel.metadata))
    finally:
        engine.dispose()


def test_migrations_run_from_empty_to_head_and_back(
    backend: str, empty_databases: EmptyDatabases
) -> None:
    url = empty_databases.new(backend)
    assert _version(url) is None
    store.upgrade(url)
    assert _version(url) == _head()
    engine = create_engine(sync_url(url))
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert set(SQLModel.metadata.tables) <= tables
    store.upgrade(url)  # a second run is a no-op
    command.downgrade(store.alembic_config(url), "base")
    assert _version(url) is None
    store.upgrade(url)
    assert _version(url) == _head()


def test_models_and_migrations_agree(migrated_url: str) -> None:
    assert _schema_diff(migrated_url) == []


def test_the_schema_comparison_notices_a_difference(
    backend: str, empty_databases: EmptyDatabases
) -> None:
    url = empty_databases.new(backend)
    store.upgrade(url)
    engine = create_engine(sync_url(url))
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP INDEX ix_incidents_status"))
    finally:
        engine.dispose()
    diff = _schema_diff(url)
    assert [d[0] for d in diff if isinstance(d, tuple)] == ["add_index"]


def test_concurrent_upgrades_from_several_processes_on_postgres(
    backend: str, empty_databases: EmptyDatabases
) -> None:
    """Two replicas starting at once: the advisory lock makes the second wait, then no-op.

    Separate processes, as in production (Alembic's ``context``/``op`` proxies are
    process-global, so threads would not be a faithful test). Without the lock one of them
    fails on ``CREATE TABLE`` most of the time.
    """
    if backend != "postgres":
        pytest.skip("concurrent upgrades are serialised with a Postgres advisory lock")
    url = empty_databases.new(backend)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), *sys.path])}
    code = "import sys, store; store.upgrade(sys.argv[1])"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, url],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outcomes = []
    for proc in procs:
        try:
            _, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        outcomes.append((proc.returncode, err.strip().splitlines()[-3:]))
    assert [code for code, _ in outcomes] == [0, 0, 0], outcomes
    assert _version(url) == _head()


def test_upgrade_leaves_application_logging_alone(
    backend: str, empty_databases: EmptyDatabases
) -> None:
    root = logging.getLogger()
    app_logger = logging.getLogger("warroom.test.app")
    before = (list(root.handlers), root.level, app_logger.disabled)
    store.upgrade(empty_databases.new(backend))
    assert (list(root.handlers), root.level, app_logger.disabled) == before
    alembic_handlers = logging.getLogger("alembic").handlers
    assert all(isinstance(h, logging.NullHandler) for h in alembic_handlers)


def test_0002_moves_unfinished_work_into_jobs(
    backend: str, empty_databases: EmptyDatabases
) -> None:
    """Upgrading a database with work in flight loses none of it: unfinished provisioning
    becomes a provisioning job (finished steps as its progress), an undelivered effect an
    effect job the new codec reads, a closed incident not yet archived an archive job."""
    url = empty_databases.new(backend)
    store.upgrade(url, "0001")
    engine = create_engine(sync_url(url))
    at = "2025-03-04 05:06:07"
    try:
        with engine.begin() as conn:
            for number, status, archive_at in ((1, "investigating", None), (2, "closed", at)):
                conn.execute(
                    text(
                        "INSERT INTO incidents (number, title, description, severity, status,"
                        " private, drill, affected_services, declared_by, declared_at,"
                        " escalation_level, update_count, version, updated_at, channel_id,"
                        " archive_at) VALUES (:n, 't', '', 'P2', :status, false, false, '[]',"
                        " 'U1', :at, 0, 0, 1, :at, :channel, :archive_at)"
                    ),
                    {"n": number, "status": status, "at": at, "channel": f"C{number}",
                     "archive_at": archive_at},
                )  # fmt: skip
            steps = [
                (1, "create_channel", "done", None),
                (1, "announce", "failed", None),
                (1, "effect:abc", "pending",
                 '{"kind": "Acknowledged", "values": {"number": 1, "by": "U2",'
                 ' "at": {"datetime": "2025-03-04T05:06:07+00:00"}, "first": true}}'),
                (2, "effect:old", "done", '{"kind": "Refresh", "values": {"number": 2}}'),
            ]  # fmt: skip
            for number, step, state, result in steps:
                conn.execute(
                    text(
                        "INSERT INTO provisioning_steps (incident_number, step, state, attempts,"
                        " result, updated_at) VALUES (:n, :step, :state, 1, :result, :at)"
                    ),
                    {"n": number, "step": step, "state": state, "result": result, "at": at},
                )
        store.upgrade(url, "0002")
        with engine.connect() as conn:
            jobs = {
                row.key: row
                for row in conn.execute(
                    text("SELECT key, kind, state, payload, progress FROM jobs")
                )
            }
        # 0004: every unfinished incident gets its clock, due at once.
        store.upgrade(url)
        with engine.connect() as conn:
            clocks = conn.execute(
                text("SELECT key, state FROM jobs WHERE kind = 'clock' ORDER BY key")
            ).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in clocks] == [("clock:1", "pending")]
    assert sorted(jobs) == ["archive:2", "effect:abc", "provision:1"]
    assert json.loads(jobs["provision:1"].progress) == {"done": {"create_channel": True}}
    effect = decode(jobs["effect:abc"].payload)
    assert (effect.kind, effect.number) == ("acknowledged", 1)
    assert {row.state for row in jobs.values()} == {"pending"}
