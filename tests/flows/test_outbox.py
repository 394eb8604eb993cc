"""Effects are stored with the change that caused them (a transactional outbox)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

import store
from bot.flows.effects import (
    Acknowledged,
    Closed,
    Effect,
    Refresh,
    Reopened,
    Resolved,
    RoleAssigned,
    SeverityChanged,
    UpdatePosted,
    decode,
    encode,
)
from bot.flows.operations import UpdateRequest
from tests.flows.conftest import DECLARER, RESPONDER, Flows

AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "effect",
    [
        Refresh(1, topic=True),
        Acknowledged(2, by="U1", at=AT, first=False),
        RoleAssigned(3, role_id="scribe", user="U2", previous=None, by="U1"),
        SeverityChanged(4, old="P2", new="P1", by="U1", upgrade=True, notify=True),
        UpdatePosted(5, seq=3, share=True),
        Resolved(6, by="U1", summary="s", root_cause=None, duration=timedelta(minutes=83),
                 postmortem_due_at=AT),
        Closed(7, by="U1", archive_at=None),
        Reopened(8, by="U1"),
    ],
)  # fmt: skip
def test_every_effect_survives_the_outbox(effect: Effect) -> None:
    back = decode(encode(effect), job="effect:x")
    assert back == effect
    assert back.job == "effect:x"
    assert type(back) is type(effect)


@pytest.mark.parametrize(
    "payload",
    ["{", "[]", '{"kind": "nope", "number": 1}', '{"kind": "refresh"}', '{"kind": "closed"}'],
)
def test_anything_else_is_refused_by_the_codec(payload: str) -> None:
    with pytest.raises(ValidationError):
        decode(payload)


async def _outbox(flows: Flows, number: int) -> dict[str, store.Job]:
    async with flows.sessions() as session:
        jobs = await store.list_jobs(session, incident_number=number, kind="effect")
    return {job.key: job for job in jobs}


async def test_a_change_stores_its_effects_in_the_same_transaction(flows: Flows) -> None:
    n = await flows.declare(severity="P2")
    effects = await flows.ops.acknowledge(n, user=RESPONDER)
    outbox = await _outbox(flows, n)
    assert sorted(outbox) == sorted(str(e.job) for e in effects)
    for effect in effects:
        stored = outbox[str(effect.job)]
        assert stored.state == "pending"
        assert stored.payload is not None
        assert decode(stored.payload, job=stored.key) == effect


async def test_nothing_is_queued_when_nothing_changes(flows: Flows) -> None:
    n = await flows.declare(severity="P2")
    request = UpdateRequest(status="identified", impact="i", actions="a", next_in=None, share=False)
    first = await flows.ops.post_update(n, by=DECLARER, request=request, key="k")
    again = await flows.ops.post_update(n, by=DECLARER, request=request, key="k")
    assert again == []
    assert len(await _outbox(flows, n)) == len(first) == 2
