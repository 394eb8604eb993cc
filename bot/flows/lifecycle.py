"""The incident's state machine: which status changes are legal, read top to bottom.

    triage ──▶ investigating ──▶ identified ──▶ monitoring ──▶ resolved ──▶ closed
      │             ▲ ╲______________╱ ▲ ╲__________╱              │           │
      ▼             └──────────────── reopen ◀──────────────────────┴───────────┘
   declined

- A declared incident starts in `investigating` (someone is already looking); `triage` is
  for incidents reported but not yet confirmed, which may be `declined` (no incident).
- Work moves forward, or back to an earlier working status when a theory turns out wrong.
- `resolved` can be reached from any working status; `closed` only from `resolved`.
- `reopen` brings a resolved or closed incident back to `investigating`.
- `declined` is final. Refused, for example: closed → monitoring, declined → resolved,
  investigating → closed, triage → closed.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    TRIAGE = "triage"
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"
    CLOSED = "closed"
    DECLINED = "declined"

    @property
    def label(self) -> str:
        return self.value.capitalize()


DECLARED_STATUS = Status.INVESTIGATING
WORKING = (Status.INVESTIGATING, Status.IDENTIFIED, Status.MONITORING)
OPEN_STATUSES = frozenset({Status.TRIAGE, *WORKING})

TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.TRIAGE: frozenset({*WORKING, Status.RESOLVED, Status.DECLINED}),
    Status.INVESTIGATING: frozenset({Status.IDENTIFIED, Status.MONITORING, Status.RESOLVED}),
    Status.IDENTIFIED: frozenset({Status.INVESTIGATING, Status.MONITORING, Status.RESOLVED}),
    Status.MONITORING: frozenset({Status.INVESTIGATING, Status.IDENTIFIED, Status.RESOLVED}),
    Status.RESOLVED: frozenset({Status.CLOSED, Status.INVESTIGATING}),
    Status.CLOSED: frozenset({Status.INVESTIGATING}),
    Status.DECLINED: frozenset(),
}


def legal_next(current: Status) -> tuple[Status, ...]:
    """The statuses `current` may move to, in lifecycle order."""
    return tuple(s for s in Status if s in TRANSITIONS[current])


def can_move(current: Status, target: Status) -> bool:
    return target in TRANSITIONS[current]
