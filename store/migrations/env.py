"""Alembic environment for warroom, configured programmatically by :func:`store.db.upgrade`.

The URL comes from the config's ``sqlalchemy.url`` option; :func:`store.db.upgrade` also passes
an open connection in ``config.attributes["connection"]`` (it holds the Postgres advisory lock
on it). Logging is left alone: no ``fileConfig`` here.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

import store.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from store.types import UTCDateTime

config = context.config
target_metadata = SQLModel.metadata


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | bool:
    """Render SQLModel's AutoString as ``sa.String()`` and our UTCDateTime by module path."""
    if type_ == "type" and isinstance(obj, AutoString):
        return "sa.String()"
    if type_ == "type" and isinstance(obj, UTCDateTime):
        autogen_context.imports.add("import store.types")
        return "store.types.UTCDateTime()"
    return False


def _options(dialect_name: str) -> dict[str, Any]:
    return {
        "target_metadata": target_metadata,
        "render_as_batch": dialect_name == "sqlite",
        "render_item": render_item,
        "compare_type": True,
    }


def _run(connection: Connection) -> None:
    context.configure(connection=connection, **_options(connection.dialect.name))
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("sqlalchemy.url is not set on the Alembic config")
    dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
    context.configure(
        url=url, literal_binds=True, dialect_opts={"paramstyle": "named"}, **_options(dialect)
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if isinstance(connection, Connection):
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("sqlalchemy.url is not set on the Alembic config")
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
