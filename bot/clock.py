"""Time comes from a clock that tests can replace; always timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ScaledClock:
    """Time running `speed` times faster than the system's from the moment it is made (the
    sandbox's `--speed`: a 15-minute cadence rehearsed in 15 seconds at 60)."""

    def __init__(self, speed: float, *, start: datetime | None = None) -> None:
        if speed <= 0:
            raise ValueError("the speed must be positive")
        self.speed = speed
        self._real_start = datetime.now(UTC)
        self._start = start.astimezone(UTC) if start is not None else self._real_start

    def now(self) -> datetime:
        return self.at(datetime.now(UTC))

    def at(self, real: datetime) -> datetime:
        """The clock's time for a real moment (e.g. a Slack message's timestamp)."""
        return self._start + (real - self._real_start) * self.speed


class FixedClock:
    """A clock for tests: it stays where it is put and moves only when told."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self._at = at.astimezone(UTC)
