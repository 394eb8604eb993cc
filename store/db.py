"""Engine and session setup, URL handling and schema upgrades.

``DATABASE_URL`` is the only switch an operator turns:

* ``sqlite:///./warroom.db`` (the default) → ``sqlite+aiosqlite:///./warroom.db`` for the app,
  ``sqlite:///./warroom.db`` for Alembic. Every SQLite connection runs in WAL mode with a busy
  timeout and foreign keys on.
* ``postgresql://…`` or ``postgres://…`` → ``postgresql+psycopg://…`` (psycopg 3, which is both
  the async driver of the app and the sync driver of Alembic).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any, Final

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool
from sqlmodel.ext.asyncio.session import AsyncSession

from store.sqlite_functions import SPREADS, Spreads

__all__ = [
    "DEFAULT_DATABASE_URL",
    "SQLITE_BUSY_TIMEOUT_MS",
    "UnsupportedDatabaseURL",
    "alembic_config",
    "async_url",
    "make_engine",
    "ping",
    "session_factory",
    "sync_url",
    "upgrade",
]

log = logging.getLogger(__name__)

DEFAULT_DATABASE_URL: Final = "sqlite:///./warroom.db"
SQLITE_BUSY_TIMEOUT_MS: Final = 5000
#: Key of the Postgres advisory lock held while migrating (any constant; "warroom" in ASCII).
MIGRATION_LOCK_KEY: Final = 0x77617272_6F6F6D
MIGRATIONS_DIR: Final = Path(__file__).resolve().parent / "migrations"

_SQLITE_DRIVERS: Final = {"sqlite", "sqlite+pysqlite", "sqlite+aiosqlite"}
_POSTGRES_DRIVERS: Final = {
    "postgres",
    "postgresql",
    "postgresql+psycopg",
    "postgresql+psycopg2",
    "postgresql+asyncpg",
    "postgresql+pg8000",
}


class UnsupportedDatabaseURL(ValueError):
    """The URL names a database other than SQLite or Postgres, or does not parse."""


def _parse(url: str | URL) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise UnsupportedDatabaseURL(f"cannot parse database URL: {exc}") from None
    driver = parsed.drivername
    if driver not in _SQLITE_DRIVERS and driver not in _POSTGRES_DRIVERS:
        raise UnsupportedDatabaseURL(
            f"unsupported database URL scheme {driver!r}: use sqlite:///… or postgresql://…"
        )
    return parsed


def _render(url: URL) -> str:
    return url.render_as_string(hide_password=False)


def _is_sqlite(url: URL) -> bool:
    return url.drivername in _SQLITE_DRIVERS


def async_url(url: str) -> str:
    """The URL the application engine uses (``sqlite+aiosqlite`` / ``postgresql+psycopg``)."""
    parsed = _parse(url)
    driver = "sqlite+aiosqlite" if _is_sqlite(parsed) else "postgresql+psycopg"
    return _render(parsed.set(drivername=driver))


def sync_url(url: str) -> str:
    """The URL Alembic uses (``sqlite`` / ``postgresql+psycopg``)."""
    parsed = _parse(url)
    driver = "sqlite" if _is_sqlite(parsed) else "postgresql+psycopg"
    return _render(parsed.set(drivername=driver))


def _use_wal(dbapi_connection: Any, _record: Any = None) -> None:
    """Waits for locks up to the busy timeout, and puts the file in WAL mode if it is not.

    WAL is kept in the file (`upgrade` sets it before migrating). Switching takes an exclusive
    lock, so asking again on every new connection made connections opened at once (a replica's
    first requests) fail with "database is locked": only a file not in WAL yet is switched."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode")
        (mode,) = cursor.fetchone()
        if str(mode).lower() != "wal":
            cursor.execute("PRAGMA journal_mode=WAL")
    finally:
        cursor.close()


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    _use_wal(dbapi_connection)
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()
    _register_aggregates(dbapi_connection)


def _register_aggregates(dbapi_connection: Any) -> None:
    """The metrics' spreads aggregate (SQLite has no percentiles). aiosqlite runs its sqlite3
    connection in a thread of its own and exposes no `create_aggregate`: the registration is
    sent to that thread (its `_execute`, what its own `create_function` does)."""
    raw = getattr(dbapi_connection, "driver_connection", dbapi_connection)
    if hasattr(raw, "create_aggregate"):  # the plain sqlite3 driver (migrations, tools)
        raw.create_aggregate(SPREADS, -1, Spreads)
        return
    dbapi_connection.run_async(
        lambda conn: conn._execute(conn._conn.create_aggregate, SPREADS, -1, Spreads)
    )


def make_engine(url: str = DEFAULT_DATABASE_URL, **kwargs: Any) -> AsyncEngine:
    """An async engine for ``url`` (see the module doc for the URL forms).

    Extra keyword arguments go to :func:`sqlalchemy.ext.asyncio.create_async_engine`.
    """
    parsed = _parse(url)
    target = async_url(url)
    if _is_sqlite(parsed):
        kwargs.setdefault("connect_args", {}).setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
        engine = create_async_engine(target, **kwargs)
        event.listen(engine.sync_engine, "connect", _set_sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(target, **kwargs)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded attributes after commit (``expire_on_commit=False``)."""
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


async def ping(engine: AsyncEngine, *, max_wait: float = 5.0) -> bool:
    """True when the database answers ``SELECT 1`` within ``max_wait`` seconds (for /healthz)."""
    try:
        async with asyncio.timeout(max_wait), engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:  # any failure means "not healthy"; the caller only needs the bit
        log.warning("database ping failed", exc_info=True)
        return False
    return True


def alembic_config(url: str) -> Config:
    """An Alembic config for ``url`` without an ini file (and without ``fileConfig``).

    Useful for authoring a revision::

        from alembic import command
        command.revision(alembic_config(url), message="...", autogenerate=True)
    """
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    # ConfigParser interpolation: a literal % (e.g. in an escaped password) must be doubled.
    cfg.set_main_option("sqlalchemy.url", sync_url(url).replace("%", "%%"))
    return cfg


def _release_migration_lock(conn: Connection) -> None:
    try:
        conn.rollback()
        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_KEY})
        conn.commit()
    except Exception:  # the lock dies with the connection, which is closed next anyway
        log.warning("could not release the migration lock explicitly", exc_info=True)


def upgrade(url: str = DEFAULT_DATABASE_URL, revision: str = "head") -> None:
    """Migrate the database at ``url`` to ``revision`` (synchronous; blocking).

    Safe to run from several processes at once on Postgres: the migration runs while holding a
    session-level ``pg_advisory_lock``, so the second process waits and then finds nothing to do.
    From async code call it via ``asyncio.to_thread``.
    """
    cfg = alembic_config(url)
    engine = create_engine(sync_url(url), poolclass=NullPool)
    if _is_sqlite(_parse(url)):  # not foreign_keys: batch migrations copy tables
        event.listen(engine, "connect", _use_wal)
    try:
        with engine.connect() as conn:
            postgres = conn.dialect.name == "postgresql"
            if postgres:
                conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
                conn.commit()
            try:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
                conn.commit()
            finally:
                if postgres:
                    _release_migration_lock(conn)
    finally:
        engine.dispose()
