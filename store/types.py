"""Column types shared by the models and the migrations.

Migrations import this module by name (``store.types.UTCDateTime``), so keep the class name and
its constructor stable.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

__all__ = ["NaiveDatetimeError", "UTCDateTime"]


class NaiveDatetimeError(ValueError):
    """A naive datetime was given where an aware (UTC) one is required."""


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    * Write: refuses naive datetimes (:class:`NaiveDatetimeError`), converts aware ones to UTC.
      SQLite has no time zone storage, so the value is stored as naive UTC there; Postgres gets
      ``timestamp with time zone``.
    * Read: always returns an aware datetime in UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"UTCDateTime expects a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
            raise NaiveDatetimeError(
                f"naive datetime {value.isoformat()} refused: pass an aware UTC datetime"
            )
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # defensive: a raw SQLite string that bypassed the impl
            value = datetime.fromisoformat(value)
        if not isinstance(value, datetime):
            raise TypeError(f"UTCDateTime read a {type(value).__name__}")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    @property
    def python_type(self) -> type[datetime]:
        return datetime

    def __repr__(self) -> str:
        return "UTCDateTime()"
