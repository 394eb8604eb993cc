"""Helpers shared by the repository modules (not public API)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final, TypeVar, cast

from sqlalchemy import func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from store.db import UnsupportedDatabaseURL
from store.models import Incident
from store.types import NaiveDatetimeError

#: How often a statement that lost a race on a unique index is retried before giving up.
MAX_RACE_RETRIES: Final = 20

#: Execution options for ``UPDATE … RETURNING <entity>``: refresh objects already in the session.
RETURNING_OPTIONS: Final[Mapping[str, Any]] = {
    "populate_existing": True,
    "synchronize_session": False,
}


class ContentionError(RuntimeError):
    """A write kept losing races against concurrent writers (should not happen in practice)."""


def require_aware(name: str, value: datetime | None) -> None:
    """Refuse a naive datetime at the API boundary (the column type refuses it too)."""
    if value is not None and (value.tzinfo is None or value.tzinfo.utcoffset(value) is None):
        raise NaiveDatetimeError(f"{name}={value.isoformat()} is naive: pass an aware datetime")


def check_fields(
    model: type[SQLModel], fields: Mapping[str, Any], *, forbidden: frozenset[str]
) -> None:
    """Refuse unknown column names and columns the repository manages itself."""
    unknown = set(fields) - set(model.model_fields)
    if unknown:
        raise TypeError(f"{model.__name__} has no field(s) {sorted(unknown)}")
    managed = set(fields) & forbidden
    if managed:
        raise TypeError(f"{model.__name__} field(s) {sorted(managed)} are set by the store")
    for name, value in fields.items():
        if isinstance(value, datetime):
            require_aware(name, value)


def insert_ignoring_conflict(
    session: AsyncSession,
    model: type[SQLModel],
    values: Mapping[str, Any],
    *,
    index_elements: Sequence[str],
    index_where: ColumnElement[bool] | None = None,
) -> postgresql.Insert | sqlite.Insert:
    """``INSERT … ON CONFLICT (index_elements) [WHERE …] DO NOTHING`` for the session's dialect.

    A single statement, so it is race-free without a SAVEPOINT: on Postgres a concurrent insert
    of the same key waits for the other transaction and then does nothing (or inserts, if that
    transaction rolled back); SQLite serialises writers. Add ``.returning(...)`` to learn whether
    the row was inserted.
    """
    dialect = session.get_bind().dialect.name
    stmt: postgresql.Insert | sqlite.Insert
    if dialect == "postgresql":
        stmt = postgresql.insert(model).values(dict(values))
    elif dialect == "sqlite":
        stmt = sqlite.insert(model).values(dict(values))
    else:  # pragma: no cover - make_engine only builds these two
        raise UnsupportedDatabaseURL(f"warroom runs on SQLite or Postgres, not {dialect!r}")
    return stmt.on_conflict_do_nothing(index_elements=list(index_elements), index_where=index_where)


async def lock_incident(session: AsyncSession, number: int) -> None:
    """Queue writers of one incident's records behind each other (Postgres).

    ``SELECT … FOR NO KEY UPDATE`` on the incident row until the caller's transaction ends, so
    "read the current state, then insert" sequences of concurrent transactions take turns
    instead of racing and retrying. It does not conflict with the key-share locks that foreign
    key checks take, and every function takes it before touching the records, so there is no
    lock-order deadlock. SQLite ignores it (its writers are serialised anyway).
    """
    stmt = (
        select(col(Incident.number))
        .where(col(Incident.number) == number)
        .with_for_update(key_share=True)
    )
    await session.exec(stmt)


_Numbered = TypeVar("_Numbered", bound=SQLModel)


async def insert_numbered(
    session: AsyncSession, model: type[_Numbered], values: dict[str, Any], *, what: str
) -> _Numbered:
    """Insert an incident's next numbered record: ``seq`` = the incident's previous maximum
    + 1, computed inside the INSERT and guarded by the (incident, seq) unique constraint.
    Writers of one incident queue on its row (`lock_incident`); should one still take the
    same seq, this one retries with the next."""
    number = values["incident_number"]
    seq_column = col(model.seq)  # type: ignore[attr-defined]
    owner = col(model.incident_number)  # type: ignore[attr-defined]
    next_seq = (
        select(func.coalesce(func.max(seq_column), 0) + 1).where(owner == number).scalar_subquery()
    )
    await lock_incident(session, number)
    for _ in range(MAX_RACE_RETRIES):
        stmt = insert_ignoring_conflict(
            session, model, {**values, "seq": next_seq}, index_elements=["incident_number", "seq"]
        ).returning(model)
        row = cast(_Numbered | None, (await session.exec(stmt)).scalars().first())
        if row is not None:
            return row
    raise ContentionError(f"could not number a {what} of incident {number}")
