"""The state machine: every (current, target) pair, the refused examples, `legal_next` order."""

from __future__ import annotations

import itertools

import pytest

from bot.flows.lifecycle import (
    DECLARED_STATUS,
    OPEN_STATUSES,
    TRANSITIONS,
    WORKING,
    Status,
    can_move,
    legal_next,
)

S = Status
# Written out by hand from the module docstring, independently of TRANSITIONS.
LEGAL = {
    (S.TRIAGE, S.INVESTIGATING),
    (S.TRIAGE, S.IDENTIFIED),
    (S.TRIAGE, S.MONITORING),
    (S.TRIAGE, S.RESOLVED),
    (S.TRIAGE, S.DECLINED),
    (S.INVESTIGATING, S.IDENTIFIED),
    (S.INVESTIGATING, S.MONITORING),
    (S.INVESTIGATING, S.RESOLVED),
    (S.IDENTIFIED, S.INVESTIGATING),
    (S.IDENTIFIED, S.MONITORING),
    (S.IDENTIFIED, S.RESOLVED),
    (S.MONITORING, S.INVESTIGATING),
    (S.MONITORING, S.IDENTIFIED),
    (S.MONITORING, S.RESOLVED),
    (S.RESOLVED, S.CLOSED),
    (S.RESOLVED, S.INVESTIGATING),
    (S.CLOSED, S.INVESTIGATING),
}
ALL_PAIRS = list(itertools.product(Status, Status))


def test_every_status_has_an_entry() -> None:
    assert set(TRANSITIONS) == set(Status)


@pytest.mark.parametrize(("current", "target"), ALL_PAIRS, ids=lambda s: s.value)
def test_can_move_matches_transitions(current: Status, target: Status) -> None:
    assert can_move(current, target) is (target in TRANSITIONS[current])
    assert can_move(current, target) is ((current, target) in LEGAL)


def test_no_status_moves_to_itself() -> None:
    assert not any(can_move(s, s) for s in Status)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.CLOSED, S.MONITORING),
        (S.DECLINED, S.RESOLVED),
        (S.INVESTIGATING, S.CLOSED),
        (S.TRIAGE, S.CLOSED),
    ],
)
def test_docstring_examples_are_refused(current: Status, target: Status) -> None:
    assert not can_move(current, target)


def test_declined_is_final() -> None:
    assert legal_next(S.DECLINED) == ()
    assert not any(can_move(S.DECLINED, s) for s in Status)


def test_resolved_reachable_from_every_working_status_closed_only_from_resolved() -> None:
    assert all(can_move(s, S.RESOLVED) for s in WORKING)
    assert [s for s in Status if can_move(s, S.CLOSED)] == [S.RESOLVED]


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        (S.TRIAGE, (S.INVESTIGATING, S.IDENTIFIED, S.MONITORING, S.RESOLVED, S.DECLINED)),
        (S.INVESTIGATING, (S.IDENTIFIED, S.MONITORING, S.RESOLVED)),
        (S.IDENTIFIED, (S.INVESTIGATING, S.MONITORING, S.RESOLVED)),
        (S.MONITORING, (S.INVESTIGATING, S.IDENTIFIED, S.RESOLVED)),
        (S.RESOLVED, (S.INVESTIGATING, S.CLOSED)),
        (S.CLOSED, (S.INVESTIGATING,)),
        (S.DECLINED, ()),
    ],
    ids=lambda v: v.value if isinstance(v, Status) else "",
)
def test_legal_next_in_lifecycle_order(current: Status, expected: tuple[Status, ...]) -> None:
    assert legal_next(current) == expected


def test_constants_and_labels() -> None:
    assert DECLARED_STATUS is S.INVESTIGATING
    assert set(OPEN_STATUSES) == {S.TRIAGE, S.INVESTIGATING, S.IDENTIFIED, S.MONITORING}
    assert S.INVESTIGATING.label == "Investigating"
